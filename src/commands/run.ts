// `vnet-harness run`: the stage suites on a board, reports in the run's directory.
import { join, resolve } from 'node:path';
import type { RunCliOptions } from '../cli.ts';
import { loadBoard } from '../config/board.ts';
import { writeReports } from '../reporters/index.ts';
import { parseStageList } from '../stages/plan.ts';
import { executeRun, PROJECT_ROOT, runExitCode } from '../stages/run.ts';
import { streamProgress } from '../util/progress.ts';

export const REPORTS_ROOT = join(PROJECT_ROOT, 'reports');

/** Runs the suites and writes the reports; returns 0/1/2 (pass / check failed / infrastructure). */
export async function runCommand(options: RunCliOptions): Promise<number> {
  const config = loadBoard(options.board, { boardsDir: options.boardsDir });
  const stages = parseStageList(options.stages);
  const progress = streamProgress();
  const outcome = await executeRun({
    config,
    modulesDir: resolve(options.modules),
    stages,
    progress,
    ...(options.transport ? { transport: options.transport } : {}),
  });
  const { results } = outcome;
  const outDir = options.out ? resolve(options.out) : join(REPORTS_ROOT, results.runId);
  const written = await writeReports(results, {
    outDir,
    consoleTranscript: outcome.consoleTranscript,
    ...(options.out ? {} : { reportsRoot: REPORTS_ROOT }),
  });
  for (const e of written.errors) process.stderr.write(`report ${e.reporter} (${e.file}) failed: ${e.message}\n`);
  for (const s of results.stages) {
    const passed = s.checks.filter((c) => c.verdict === 'pass').length;
    process.stdout.write(`stage ${s.stage}: ${s.verdict.toUpperCase()} (${passed}/${s.checks.length} checks)${s.reason ? ` — ${s.reason}` : ''}\n`);
  }
  for (const e of results.errors) process.stderr.write(`error: ${e}\n`);
  process.stdout.write(`run ${results.runId}: ${results.verdict.toUpperCase()}; reports in ${outDir}\n`);
  return runExitCode(results);
}
