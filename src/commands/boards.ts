// `vnet-harness boards`: lists every board in boards/ and validates all of them.
import { boardTransports, formatIssue, listBoards } from '../config/board.ts';
import { displayPath } from '../config/issues.ts';
import { ExitCode } from '../errors.ts';

export interface BoardsCommandOptions {
  boardsDir: string;
  out?: { write(s: string): unknown };
}

/** Prints name, kind and transports of each board, then every validation error; 2 (bad input) if any board is invalid or there is none. */
export function boardsCommand({ boardsDir, out = process.stdout }: BoardsCommandOptions): number {
  const entries = listBoards(boardsDir);
  if (entries.length === 0) {
    out.write(`no board files (*.yaml) in ${displayPath(boardsDir)}\n`);
    return ExitCode.infrastructure;
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
    // Exit 1 means the driver failed a check; a bad board file is bad input, as for every other command.
    return ExitCode.infrastructure;
  }
  return ExitCode.ok;
}
