// The comparison as JSON, for tools: the Comparison object as it is.
// Version 2: timing as a rank test (`rtt[].change`, `shiftMs`, `pSlower` …
// instead of `medianRegression`/`p95Regression`), fault counters only (with
// their shares), `onlyInA`/`onlyInB` and `reported`.

import type { Comparison } from './compare.ts';

/** The version of the comparison's JSON shape. */
export const COMPARISON_JSON_VERSION = 2;

/** Renders a comparison as pretty JSON with a trailing newline. */
export function renderComparisonJson(c: Comparison): string {
  return `${JSON.stringify({ kind: 'vnet-harness-comparison', version: COMPARISON_JSON_VERSION, ...c }, null, 2)}\n`;
}
