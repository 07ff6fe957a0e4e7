// Small statistics over round-trip times, shared by the reports and compare.

/** The p-th percentile (0..100) by linear interpolation between closest ranks; undefined when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (sorted.length === 0) return undefined;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const low = sorted[lo] as number;
  const high = sorted[hi] as number;
  return low + (high - low) * (rank - lo);
}

/** The median; undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  return percentile(values, 50);
}
