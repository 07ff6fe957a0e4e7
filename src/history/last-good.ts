// `vnet-harness last-good [run]`: prints the last good run before RUN
// (default latest) of its board and transport in the reports folder's
// history.json — the run `compare --against last-good RUN` compares with —
// as one field a shell can use: its run id, the driver revision it tested
// (a nightly's good end for `bisect --good`), or its folder. No good run yet
// prints nothing and exits 0 (a first night is not an error); a history or a
// run that cannot be read exits 2.

import path from 'node:path';
import { ExitCode } from '../errors.ts';
import { loadHistory } from '../reporters/load-history.ts';
import { loadResults } from '../reporters/load-results.ts';
import { resolveRun } from '../compare/resolve.ts';
import { entryDir, lastGood, seriesOf } from '../results/history.ts';

export type LastGoodField = 'run-id' | 'revision' | 'dir';
export const LAST_GOOD_FIELDS = ['run-id', 'revision', 'dir'] as const satisfies readonly LastGoodField[];

export interface LastGoodOptions {
  /** The run whose board and transport are looked up, and before which (default latest). */
  run?: string;
  /** What to print (default run-id). */
  field?: LastGoodField;
  reportsRoot: string;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** Runs the command; returns the exit code (0 printed or no good run yet, 2 unreadable history or run). */
export async function lastGoodCommand(options: LastGoodOptions): Promise<number> {
  const stdout = options.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = options.stderr ?? ((t: string) => void process.stderr.write(t));
  const field = options.field ?? 'run-id';
  try {
    const run = await loadResults(await resolveRun(options.run ?? 'latest', options.reportsRoot));
    const file = path.join(path.resolve(options.reportsRoot), 'history.json');
    const history = await loadHistory(file);
    const series = seriesOf(run.board);
    const entry = lastGood(history, series, run.runId);
    if (!entry) {
      stderr(`last-good: no good run of ${series} before ${run.runId} in ${file}\n`);
      return ExitCode.ok;
    }
    if (field === 'revision') {
      const revision = entry.driver.gitRevision;
      if (revision === undefined) {
        stderr(`last-good: ${entry.runId} (the last good run of ${series}) recorded no driver revision (its driver tree was not in git)\n`);
        return ExitCode.ok;
      }
      if (entry.driver.gitDirty === true) stderr(`last-good: ${entry.runId} tested ${revision} with uncommitted changes\n`);
      stdout(`${revision}\n`);
    } else {
      stdout(`${field === 'dir' ? entryDir(path.dirname(file), entry) : entry.runId}\n`);
    }
    return ExitCode.ok;
  } catch (error) {
    stderr(`last-good: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.infrastructure;
  }
}
