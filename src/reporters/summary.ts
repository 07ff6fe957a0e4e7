// Facts every report derives from a stage the same way, so that JUnit, HTML
// and Markdown never disagree about what "3 passed, 1 failed" means.

import type { BoardInfo, CheckResult, StageResult } from '../results/model.ts';

export interface CheckCounts {
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  total: number;
}

/** Counts a stage's checks by verdict. */
export function countChecks(checks: readonly CheckResult[]): CheckCounts {
  const counts: CheckCounts = { passed: 0, failed: 0, errored: 0, skipped: 0, total: checks.length };
  for (const check of checks) {
    if (check.verdict === 'pass') counts.passed++;
    else if (check.verdict === 'fail') counts.failed++;
    else if (check.verdict === 'error') counts.errored++;
    else counts.skipped++;
  }
  return counts;
}

// A board name or transport as one package level of a class name: CI views
// split class names at dots.
function segment(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '_') || '_';
}

/**
 * The JUnit suite name and test class of a stage, e.g. "vnet.imx257.ssh.stage3":
 * board and transport included, so the merged reports of several boards keep
 * every case (GitLab keeps one test per class name and name).
 */
export function stageClassName(board: Pick<BoardInfo, 'name' | 'transport'>, stage: number): string {
  return `vnet.${segment(board.name)}.${segment(board.transport)}.stage${stage}`;
}

/** The JUnit class of the run's infrastructure errors, e.g. "vnet.imx257.ssh.run". */
export function runClassName(board: Pick<BoardInfo, 'name' | 'transport'>): string {
  return `vnet.${segment(board.name)}.${segment(board.transport)}.run`;
}

/** All compiler warnings of a stage's build, from both lists, without duplicates. */
export function buildWarnings(stage: StageResult) {
  const build = stage.build;
  if (!build) return [];
  const seen = new Set<string>();
  const out = [];
  for (const d of [...build.warnings, ...build.diagnostics.filter((x) => x.severity === 'warning')]) {
    const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

/** Names of the interface counters reports show, in display order. */
export const COUNTERS = [
  'tx_packets',
  'tx_bytes',
  'tx_dropped',
  'tx_errors',
  'rx_packets',
  'rx_bytes',
  'rx_dropped',
  'rx_errors',
] as const;
