// Two-sample statistics for timing metrics: did B get slower than A, by how
// much, and how sure can we be. Rank based (Mann-Whitney U, Hodges-Lehmann):
// one slow echo is one rank among many and cannot move the verdict the way it
// moves a p95 of five samples.

/** Mann-Whitney U test of B against A, with the Hodges-Lehmann shift and its confidence interval. */
export interface ShiftTest {
  nA: number;
  nB: number;
  /** Hodges-Lehmann estimate of the shift B − A: the median of every difference b − a. */
  shift: number;
  /** 95 % distribution-free (Moses) confidence interval of the shift; absent when the samples are too few for one. */
  ciLow?: number;
  ciHigh?: number;
  /** U of B: the pairs (a, b) with b > a, a tie counting one half. */
  u: number;
  /** One-sided p-value for "B tends to be larger than A". */
  pGreater: number;
  /** One-sided p-value for "B tends to be smaller than A". */
  pLess: number;
  /** `exact`: the null distribution of U counted (no ties, small samples); `normal`: its normal approximation with tie correction. */
  method: 'exact' | 'normal';
}

/** Largest n·m for which the exact null distribution of U is counted. */
const EXACT_MAX_PAIRS = 2500;
/** z of the 97.5th percentile: the two-sided 95 % interval. */
const Z_975 = 1.959963984540054;

/** Finite values only, sorted ascending. */
function clean(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
}

/** The median of sorted values (mean of the middle two when even). */
function medianSorted(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Hodges-Lehmann shift of B against A: the median of all b − a; undefined when a side is empty. */
export function hodgesLehmann(a: readonly number[], b: readonly number[]): number | undefined {
  const d = differences(clean(a), clean(b));
  return d.length === 0 ? undefined : medianSorted(d);
}

// Every b − a, sorted.
function differences(a: readonly number[], b: readonly number[]): number[] {
  const d: number[] = [];
  for (const y of b) for (const x of a) d.push(y - x);
  return d.sort((x, y) => x - y);
}

// U of B, counted pair by pair: exact for the sizes timing metrics have.
function uStatistic(a: readonly number[], b: readonly number[]): number {
  let u = 0;
  for (const y of b) for (const x of a) u += y > x ? 1 : y === x ? 0.5 : 0;
  return u;
}

/**
 * How many arrangements of n + m distinct values give each U = 0 … n·m: the
 * coefficients of the Gaussian binomial [n+m choose n]_q, built up as
 * ∏ (1 − q^(m+i)) / (1 − q^i) for i = 1 … n. Every partial product is itself a
 * Gaussian binomial, so the division is exact; BigInt keeps the counts exact.
 */
export function uDistribution(n: number, m: number): bigint[] {
  const deg = n * m;
  const c: bigint[] = new Array<bigint>(deg + 1).fill(0n);
  c[0] = 1n;
  for (let i = 1; i <= n; i++) {
    const up = m + i;
    for (let k = deg; k >= up; k--) c[k] = (c[k] as bigint) - (c[k - up] as bigint);
    for (let k = i; k <= deg; k++) c[k] = (c[k] as bigint) + (c[k - i] as bigint);
  }
  return c;
}

// count / total as a number, without losing small tails to BigInt → Number rounding.
function ratio(count: bigint, total: bigint): number {
  if (count === 0n) return 0;
  const scale = 10n ** 30n;
  return Number((count * scale) / total) / 1e30;
}

/** Standard normal upper tail P(Z > z) (erfc after Numerical Recipes, relative error < 1.2e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * Mann-Whitney U of B against A with the Hodges-Lehmann shift B − A and its
 * 95 % confidence interval. Exact when every value differs and n·m ≤ 2500;
 * otherwise the normal approximation with tie and continuity correction.
 * Undefined when a side has no finite value.
 */
export function shiftTest(aIn: readonly number[], bIn: readonly number[]): ShiftTest | undefined {
  const a = clean(aIn);
  const b = clean(bIn);
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return undefined;
  const pairs = n * m;
  const d = differences(a, b);
  const u = uStatistic(a, b);
  const all = [...a, ...b].sort((x, y) => x - y);
  const ties: number[] = [];
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1] === all[i]) j++;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  const out = { nA: n, nB: m, shift: medianSorted(d), u };
  // k: the rank of the CI's lower end among the sorted differences (1-based); 0 means none.
  let k: number;
  if (ties.length === 0 && pairs <= EXACT_MAX_PAIRS) {
    const counts = uDistribution(Math.min(n, m), Math.max(n, m));
    const total = counts.reduce((s, x) => s + x, 0n);
    // U is an integer here (no ties); its null distribution is symmetric around n·m/2.
    let upper = 0n;
    for (let x = u; x <= pairs; x++) upper += counts[x] as bigint;
    let lower = 0n;
    for (let x = 0; x <= u; x++) lower += counts[x] as bigint;
    // Largest k with P(U ≤ k − 1) ≤ 2.5 %.
    k = 0;
    let cdf = 0n;
    for (let x = 0; x < pairs; x++) {
      cdf += counts[x] as bigint;
      if (ratio(cdf, total) <= 0.025) k = x + 1;
      else break;
    }
    return { ...out, ...interval(d, k), pGreater: ratio(upper, total), pLess: ratio(lower, total), method: 'exact' };
  }
  const big = n + m;
  const tieTerm = ties.reduce((s, t) => s + t ** 3 - t, 0) / (big * (big - 1));
  const sd = Math.sqrt((pairs / 12) * (big + 1 - tieTerm));
  const mean = pairs / 2;
  const pGreater = sd === 0 ? (u > mean ? 0 : 1) : normalUpperTail((u - mean - 0.5) / sd);
  const pLess = sd === 0 ? (u < mean ? 0 : 1) : normalUpperTail((mean - u - 0.5) / sd);
  k = Math.floor(mean - Z_975 * Math.sqrt((pairs * (big + 1)) / 12));
  return { ...out, ...interval(d, k), pGreater, pLess, method: 'normal' };
}

// The Moses interval [D(k), D(nm + 1 − k)] of the sorted differences, when k ≥ 1.
function interval(d: readonly number[], k: number): { ciLow?: number; ciHigh?: number } {
  if (k < 1 || k > d.length) return {};
  return { ciLow: d[k - 1] as number, ciHigh: d[d.length - k] as number };
}
