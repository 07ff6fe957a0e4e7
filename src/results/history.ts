// The run history (reports/history.json): one entry per run, appended when
// the run's reports are written. An entry is a view of the run's results
// model (src/results/model.ts) reduced to what a trend needs (verdicts,
// key counters, RTT median and spread) plus the comparison with the run
// before it on the same board and transport, made by src/compare/ when the
// entry was appended. Bump HISTORY_SCHEMA on any incompatible change and
// document it in reports/README.md.

import path from 'node:path';
import type { BoardInfo, DriverSource, RunResults, StageVerdict } from './model.ts';

export const HISTORY_SCHEMA = 1;

/** The counters an entry keeps per stage (from the stage's last reading). */
export const HISTORY_COUNTERS = ['tx_packets', 'tx_dropped', 'tx_errors', 'rx_packets', 'rx_dropped', 'rx_errors'] as const;

/** RTT of a stage's probe echoes: median and spread, the warm-up echo left out (as compare does). */
export interface HistoryRtt {
  /** Echoes counted. */
  n: number;
  medianMs: number;
  /** First and third quartile: the spread. */
  q1Ms: number;
  q3Ms: number;
  minMs: number;
  maxMs: number;
}

export interface HistoryStage {
  stage: number;
  verdict: StageVerdict;
  reason?: string;
  /** Checks passed, and checks in all. */
  checksPassed: number;
  checks: number;
  /** HISTORY_COUNTERS from the stage's last reading, those it had. */
  counters: Record<string, number>;
  /** Label of the reading the counters come from, e.g. `after ping 3.3.3.4`. */
  countersAt?: string;
  rtt?: HistoryRtt;
}

/** The comparison with the previous run of the same board and transport (src/compare/compare.ts). */
export type HistoryComparison =
  | {
      /** The previous run's id. */
      runId: string;
      regression: boolean;
      /** Why it is a regression, one line per finding (compare's own words). */
      reasons: string[];
      /** Changes reported without making a regression (an emulated board's timing). */
      reported: string[];
    }
  | {
      runId: string;
      /** Why the runs could not be compared (previous results unreadable, no stage in common). */
      problem: string;
    };

export interface HistoryEntry {
  runId: string;
  startedAt: string;
  durationMs: number;
  /** The run's folder, relative to the history file's folder (absolute when outside it). */
  dir: string;
  board: Pick<BoardInfo, 'name' | 'transport' | 'emulated' | 'kernelRelease'>;
  driver: Pick<DriverSource, 'gitRevision' | 'gitDirty' | 'contentHash'>;
  verdict: RunResults['verdict'];
  /** The signal that stopped the run, when one did. */
  incomplete?: string;
  /** Infrastructure errors of the run (the first lines). */
  errors: string[];
  stages: HistoryStage[];
  /** Absent for the first run of its board and transport. */
  previous?: HistoryComparison;
}

export interface HistoryFile {
  schema: typeof HISTORY_SCHEMA;
  /** Oldest first, in the order they were appended. */
  runs: HistoryEntry[];
}

/** The series a run belongs to: board and transport (`qemu-imx25/ssh`). Consecutive runs are compared within it. */
export function seriesOf(board: Pick<BoardInfo, 'name' | 'transport'>): string {
  return `${board.name}/${board.transport}`;
}

/** A good run: every selected stage passed and nothing stopped it. */
export function isGood(entry: Pick<HistoryEntry, 'verdict' | 'incomplete'>): boolean {
  return entry.verdict === 'pass' && entry.incomplete === undefined;
}

/** The last good run of a series appended before `beforeRunId` (or of all, without it). */
export function lastGood(history: HistoryFile, series: string, beforeRunId?: string): HistoryEntry | undefined {
  return lastOf(history, series, beforeRunId, isGood);
}

/** The run of a series appended right before `beforeRunId` (or the last, without it). */
export function previousRun(history: HistoryFile, series: string, beforeRunId?: string): HistoryEntry | undefined {
  return lastOf(history, series, beforeRunId, () => true);
}

function lastOf(history: HistoryFile, series: string, beforeRunId: string | undefined, keep: (e: HistoryEntry) => boolean): HistoryEntry | undefined {
  const end = beforeRunId === undefined ? history.runs.length : history.runs.findIndex((e) => e.runId === beforeRunId);
  const upTo = end < 0 ? history.runs.length : end;
  for (let i = upTo - 1; i >= 0; i--) {
    const e = history.runs[i] as HistoryEntry;
    if (seriesOf(e.board) === series && keep(e)) return e;
  }
  return undefined;
}

/** The folder of an entry's run: its `dir` against the folder of the history file. */
export function entryDir(historyFolder: string, entry: Pick<HistoryEntry, 'dir'>): string {
  return path.resolve(historyFolder, entry.dir);
}
