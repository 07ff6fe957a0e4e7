// The comparison as JSON, for tools: the Comparison object as it is.

import type { Comparison } from './compare.ts';

/** Renders a comparison as pretty JSON with a trailing newline. */
export function renderComparisonJson(c: Comparison): string {
  return `${JSON.stringify({ kind: 'vnet-harness-comparison', version: 1, ...c }, null, 2)}\n`;
}
