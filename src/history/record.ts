// Appends a run to the run history (reports/history.json). The entry is a
// view of the run's results model; its `previous` is compare's own verdict
// (src/compare/compare.ts) on the run before it of the same board and
// transport, whose results.json is read from that run's folder.
//
// The file is rewritten whole through a temporary file and a rename, under a
// lock, so readers see the old history or the new one and two runs ending
// together both land. A history that cannot be read is never overwritten:
// appending stops with an error naming the file and what is wrong.

import path from 'node:path';
import { acquireLock } from '../board/lock.ts';
import { compareRuns, DEFAULT_COMPARE_OPTIONS } from '../compare/compare.ts';
import { HarnessError } from '../errors.ts';
import { loadHistory, renderHistory } from '../reporters/load-history.ts';
import { loadResults } from '../reporters/load-results.ts';
import { median, percentile } from '../reporters/stats.ts';
import { entryDir, HISTORY_COUNTERS, previousRun, seriesOf, type HistoryComparison, type HistoryEntry, type HistoryRtt, type HistoryStage } from '../results/history.ts';
import type { RunResults, StageResult } from '../results/model.ts';
import { writeFileAtomic } from '../util/files.ts';

/** The history file of a reports folder. */
export const HISTORY_FILE = 'history.json';

export function historyPath(reportsRoot: string): string {
  return path.join(path.resolve(reportsRoot), HISTORY_FILE);
}

/** RTT median and spread of a stage, the warm-up echoes left out as compare leaves them out. */
export function rttSummary(rttsMs: readonly number[], warmup = DEFAULT_COMPARE_OPTIONS.rttWarmup): HistoryRtt | undefined {
  const xs = rttsMs.slice(warmup).filter((v) => Number.isFinite(v));
  const medianMs = median(xs);
  if (medianMs === undefined) return undefined;
  return {
    n: xs.length,
    medianMs,
    q1Ms: percentile(xs, 25) as number,
    q3Ms: percentile(xs, 75) as number,
    minMs: Math.min(...xs),
    maxMs: Math.max(...xs),
  };
}

function stageEntry(s: StageResult): HistoryStage {
  const last = s.readings[s.readings.length - 1];
  const counters: Record<string, number> = {};
  for (const c of HISTORY_COUNTERS) {
    const v = last?.statistics[c];
    if (v !== undefined) counters[c] = v;
  }
  const rtt = rttSummary(s.rttsMs);
  return {
    stage: s.stage,
    verdict: s.verdict,
    ...(s.reason !== undefined ? { reason: s.reason } : {}),
    checksPassed: s.checks.filter((c) => c.verdict === 'pass').length,
    checks: s.checks.length,
    counters,
    ...(last ? { countersAt: last.at } : {}),
    ...(rtt ? { rtt } : {}),
  };
}

/** The history entry of a run whose folder is `runDir` (stored relative to `reportsRoot` when inside it). */
export function historyEntry(results: RunResults, runDir: string, reportsRoot: string): HistoryEntry {
  const rel = path.relative(path.resolve(reportsRoot), path.resolve(runDir));
  const dir = rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(runDir) : rel.split(path.sep).join('/');
  return {
    runId: results.runId,
    startedAt: results.startedAt,
    durationMs: results.durationMs,
    dir,
    board: {
      name: results.board.name,
      transport: results.board.transport,
      emulated: results.board.emulated,
      ...(results.board.kernelRelease !== undefined ? { kernelRelease: results.board.kernelRelease } : {}),
    },
    driver: {
      ...(results.driver.gitRevision !== undefined ? { gitRevision: results.driver.gitRevision } : {}),
      ...(results.driver.gitDirty !== undefined ? { gitDirty: results.driver.gitDirty } : {}),
      contentHash: results.driver.contentHash,
    },
    verdict: results.verdict,
    ...(results.incomplete ? { incomplete: results.incomplete.signal } : {}),
    errors: results.errors.map((e) => e.split('\n')[0] ?? e),
    stages: results.stages.map(stageEntry),
  };
}

/** Compares a run with the previous one of its series, as `compare` would (default options). */
async function againstPrevious(reportsRoot: string, previous: HistoryEntry, results: RunResults): Promise<HistoryComparison> {
  try {
    const before = await loadResults(path.join(entryDir(reportsRoot, previous), 'results.json'));
    const c = compareRuns(before, results);
    return { runId: previous.runId, regression: c.regression, reasons: c.reasons, reported: c.reported };
  } catch (error) {
    return { runId: previous.runId, problem: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
  }
}

export interface AppendOptions {
  /** Seconds to wait for another run appending at the same time (default 60). */
  lockWait?: number;
}

/**
 * Appends `results` (its reports in `runDir`) to `reportsRoot`/history.json
 * and returns the entry. Throws HarnessError, leaving the file as it was, when
 * the history cannot be read or written.
 */
export async function appendToHistory(reportsRoot: string, results: RunResults, runDir: string, options: AppendOptions = {}): Promise<HistoryEntry> {
  const root = path.resolve(reportsRoot);
  const file = historyPath(root);
  const lock = await acquireLock('history', { dir: path.join(root, '.locks'), wait: options.lockWait ?? 60, command: `vnet-harness: appending run ${results.runId}` });
  try {
    let history;
    try {
      history = await loadHistory(file);
    } catch (error) {
      throw new HarnessError(`${(error as Error).message}\nrun ${results.runId} was not added to the history; ${file} is left as it is (repair or move it aside, and the next run starts a new one)`, {
        cause: error,
      });
    }
    if (history.runs.some((e) => e.runId === results.runId)) throw new HarnessError(`${file}: run ${results.runId} is in the history already`);
    const entry = historyEntry(results, runDir, root);
    const previous = previousRun(history, seriesOf(results.board));
    if (previous) entry.previous = await againstPrevious(root, previous, results);
    history.runs.push(entry);
    await writeFileAtomic(file, renderHistory(history));
    return entry;
  } finally {
    await lock.release();
  }
}
