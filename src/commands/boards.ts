// `vnet-harness boards`: lists every board in boards/ and validates all of them.
import { boardTransports, formatIssue, listBoards } from '../config/board.ts';
import { displayPath } from '../config/issues.ts';
import { ExitCode } from '../errors.ts';

export interface BoardsCommandOptions {
  boardsDir: string;
  out?: { write(s: string): unknown };
}

/** Prints name, kind and transports of each board, then every validation error; 1 if any board is invalid. */
export function boardsCommand({ boardsDir, out = process.stdout }: BoardsCommandOptions): number {
  const entries = listBoards(boardsDir);
  if (entries.length === 0) {
    out.write(`no board files (*.yaml) in ${displayPath(boardsDir)}\n`);
    return ExitCode.checkFailed;
  }
  const width = Math.max(...entries.map((e) => e.name.length));
  for (const e of entries) {
    const b = e.board;
    const desc = b
      ? `${b.kind.padEnd(8)}  ${boardTransports(b).join(',').padEnd(10)}  ${b.description}`
      : `INVALID   (${e.issues.length} error${e.issues.length === 1 ? '' : 's'})`;
    out.write(`${e.name.padEnd(width)}  ${desc}\n`);
  }
  const issues = entries.flatMap((e) => e.issues);
  for (const issue of issues) out.write(`${formatIssue(issue)}\n`);
  if (issues.length > 0) {
    const bad = entries.filter((e) => e.issues.length > 0).length;
    out.write(`${bad} of ${entries.length} board file(s) invalid\n`);
    return ExitCode.checkFailed;
  }
  return ExitCode.ok;
}
