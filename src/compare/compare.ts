// Compares two runs (A: the baseline, B: the change) and says whether B is a
// regression. A view of two results models, nothing else: it reads no files.

import { HarnessError } from '../errors.ts';
import type {
  BoardInfo,
  CheckVerdict,
  Diagnostic,
  DriverSource,
  KernelEvent,
  KernelEventClass,
  RunResults,
  StageResult,
  StageVerdict,
} from '../results/model.ts';
import { median, percentile } from '../reporters/stats.ts';
import { COUNTERS, buildWarnings } from '../reporters/summary.ts';
import { checkFailureText } from '../results/check-text.ts';
import { eventKey, normalizeEventLine, warningKey } from './normalize.ts';
import { shiftTest } from './significance.ts';

export interface CompareOptions {
  /** A timing change counts only when the shift is at least this percentage of A's median (default 50)... */
  rttThresholdPct?: number;
  /** ... and at least this many milliseconds, so sub-millisecond noise never counts (default 0.5). */
  rttMinDeltaMs?: number;
  /** ... and the one-sided Mann-Whitney U test gives p below this (default 0.01). */
  rttAlpha?: number;
  /** Echoes left out at the start of each run's series: the first one warms caches and routes (default 1). */
  rttWarmup?: number;
  /** Fewest echoes per side, after the warm-up, for a timing verdict (default 8). */
  rttMinSamples?: number;
  /**
   * Whether a timing change fails the comparison when a run is on an emulated
   * board (default false: reported only; an emulator's timing follows the
   * host's load). Between two real boards a timing change always fails.
   */
  perfGate?: boolean;
  /** A dropped/errors counter's share of its direction's frames must grow by more than this percentage (default 50)... */
  counterThresholdPct?: number;
  /** ... and the counter by at least this much (default 2). */
  counterMinDelta?: number;
}

export const DEFAULT_COMPARE_OPTIONS: Required<CompareOptions> = {
  rttThresholdPct: 50,
  rttMinDeltaMs: 0.5,
  rttAlpha: 0.01,
  rttWarmup: 1,
  rttMinSamples: 8,
  perfGate: false,
  counterThresholdPct: 50,
  counterMinDelta: 2,
};

export type CheckChange = 'new-failure' | 'fixed' | 'still-failing' | 'still-passing' | 'added' | 'removed' | 'skipped';

/** A check's change in words, as the plain views (terminal, HTML) show it. */
export const CHECK_CHANGE_LABEL: Record<CheckChange, string> = {
  'new-failure': 'new failure',
  fixed: 'fixed',
  'still-failing': 'still failing',
  'still-passing': 'still passing',
  added: 'added',
  removed: 'removed',
  skipped: 'skipped in B',
};

export interface CheckComparison {
  stage: number;
  id: string;
  title: string;
  change: CheckChange;
  a?: CheckVerdict;
  b?: CheckVerdict;
  /** B's values (A's when the check was removed), for the report. */
  expected?: unknown;
  actual?: unknown;
  message?: string;
  regression: boolean;
}

export type StageChange = 'same' | 'better' | 'worse';

export interface StageComparison {
  stage: number;
  title: string;
  a: StageVerdict;
  b: StageVerdict;
  change: StageChange;
  reasonB?: string;
  regression: boolean;
}

export interface EventComparison {
  stage: number;
  class: KernelEventClass;
  firstLine: string;
  /** Class and normalized first line, what the runs were matched by. */
  key: string;
  countA: number;
  countB: number;
  fatal: boolean;
}

/**
 * A dropped/errors counter. Its raw value depends on how many frames the
 * kernel chose to send (ARP retries), so what is compared is its share of
 * the frames of its direction: packets + dropped + errors.
 */
export interface CounterComparison {
  stage: number;
  counter: string;
  /** Label of the reading compared (A's last reading of the stage). */
  at: string;
  a?: number;
  b?: number;
  delta?: number;
  /** The counter's share (0..1) of its direction's frames; absent when no frame went that way. */
  shareA?: number;
  shareB?: number;
  regression: boolean;
}

/** What the rank test says about B's round-trip times against A's. */
export type TimingChange = 'slower' | 'faster' | 'no-change' | 'too-few-samples';

export interface RttComparison {
  stage: number;
  /** Echoes compared on each side (after the warm-up). */
  samplesA: number;
  samplesB: number;
  /** Echoes left out at the start of each series. */
  warmup: number;
  medianA?: number;
  medianB?: number;
  p95A?: number;
  p95B?: number;
  /** Hodges-Lehmann estimate of B − A in ms, with its 95 % confidence interval. */
  shiftMs?: number;
  shiftCiLowMs?: number;
  shiftCiHighMs?: number;
  /** One-sided Mann-Whitney U p-values: B slower, B faster. */
  pSlower?: number;
  pFaster?: number;
  /** The smallest shift that counts: max(rttMinDeltaMs, rttThresholdPct of A's median). */
  minEffectMs?: number;
  change: TimingChange;
  /** Whether `slower` fails the comparison: both boards real, or perfGate. */
  gated: boolean;
  regression: boolean;
}

export interface WarningComparison {
  stage: number;
  key: string;
  file: string;
  line: number;
  column: number;
  message: string;
  option?: string;
}

export interface DriverComparison {
  a: DriverSource;
  b: DriverSource;
  sameRevision: boolean;
  sameContent: boolean;
}

export interface RunSummary {
  runId: string;
  startedAt: string;
  verdict: RunResults['verdict'];
  harnessVersion: string;
  board: BoardInfo;
  driver: DriverSource;
}

export interface Comparison {
  a: RunSummary;
  b: RunSummary;
  options: Required<CompareOptions>;
  stages: StageComparison[];
  checks: CheckComparison[];
  newKernelEvents: EventComparison[];
  goneKernelEvents: EventComparison[];
  counters: CounterComparison[];
  rtt: RttComparison[];
  newWarnings: WarningComparison[];
  goneWarnings: WarningComparison[];
  driver: DriverComparison;
  /** Stages only one run had (not selected in the other): not compared. */
  onlyInA: number[];
  onlyInB: number[];
  /** Things that make the comparison less meaningful (other board, other kernel, stages not in both...). */
  notes: string[];
  regression: boolean;
  /** Why it is a regression, one line per finding; empty when it is not. */
  reasons: string[];
  /** Changes reported without making a regression: timing on an emulated board without perfGate. */
  reported: string[];
}

// How bad a stage verdict is. `error` is the harness's own failure but still
// not a clean run.
const SEVERITY: Record<StageVerdict, number> = {
  pass: 0,
  fail: 1,
  error: 1,
  hang: 2,
  // A memory or locking bug the kernel reported and survived.
  kasan: 2,
  kmemleak: 2,
  ubsan: 2,
  lockdep: 2,
  'atomic-sleep': 2,
  'build-error': 2,
  crash: 3,
};

const failing = (v: CheckVerdict | undefined) => v === 'fail' || v === 'error';

function summary(r: RunResults): RunSummary {
  return { runId: r.runId, startedAt: r.startedAt, verdict: r.verdict, harnessVersion: r.harnessVersion, board: r.board, driver: r.driver };
}

function byStage(r: RunResults): Map<number, StageResult> {
  return new Map(r.stages.map((s) => [s.stage, s]));
}

// Only stages both runs selected are compared: a `--stages 4` run says nothing about stages 1-3.
function stageSets(a: RunResults, b: RunResults): { common: number[]; onlyInA: number[]; onlyInB: number[] } {
  const inA = new Set(a.stages.map((s) => s.stage));
  const inB = new Set(b.stages.map((s) => s.stage));
  const sorted = (xs: Iterable<number>) => [...xs].sort((x, y) => x - y);
  return {
    common: sorted([...inA].filter((n) => inB.has(n))),
    onlyInA: sorted([...inA].filter((n) => !inB.has(n))),
    onlyInB: sorted([...inB].filter((n) => !inA.has(n))),
  };
}

function compareStage(n: number, sa: StageResult, sb: StageResult): StageComparison {
  const da = SEVERITY[sa.verdict] ?? 1;
  const db = SEVERITY[sb.verdict] ?? 1;
  const change: StageChange = db > da ? 'worse' : db < da ? 'better' : 'same';
  return { stage: n, title: sb.title || sa.title, a: sa.verdict, b: sb.verdict, change, ...(sb.reason ? { reasonB: sb.reason } : {}), regression: change === 'worse' };
}

function classify(a: CheckVerdict | undefined, b: CheckVerdict | undefined): CheckChange {
  if (a === undefined) return 'added';
  if (b === undefined) return 'removed';
  if (b === 'skipped') return 'skipped';
  if (failing(b)) return failing(a) ? 'still-failing' : 'new-failure';
  return failing(a) ? 'fixed' : 'still-passing';
}

function compareChecks(n: number, sa: StageResult | undefined, sb: StageResult | undefined): CheckComparison[] {
  const checksA = new Map((sa?.checks ?? []).map((c) => [c.id, c]));
  const checksB = new Map((sb?.checks ?? []).map((c) => [c.id, c]));
  const ids = [...checksB.keys(), ...[...checksA.keys()].filter((id) => !checksB.has(id))];
  return ids.map((id) => {
    const ca = checksA.get(id);
    const cb = checksB.get(id);
    const shown = cb ?? ca!;
    const change = classify(ca?.verdict, cb?.verdict);
    return {
      stage: n,
      id,
      title: shown.title,
      change,
      ...(ca ? { a: ca.verdict } : {}),
      ...(cb ? { b: cb.verdict } : {}),
      ...('expected' in shown ? { expected: shown.expected } : {}),
      ...('actual' in shown ? { actual: shown.actual } : {}),
      ...(shown.message ? { message: shown.message } : {}),
      // A check that did not exist before and fails now is as new a failure as any.
      regression: change === 'new-failure' || (change === 'added' && failing(cb?.verdict)),
    };
  });
}

function countEvents(events: readonly KernelEvent[]): Map<string, { event: KernelEvent; count: number }> {
  const out = new Map<string, { event: KernelEvent; count: number }>();
  for (const e of events) {
    const key = eventKey(e);
    const entry = out.get(key);
    if (entry) entry.count++;
    else out.set(key, { event: e, count: 1 });
  }
  return out;
}

// Events are matched within a stage: a panic moving from stage 1 to stage 2 is news.
function compareEvents(n: number, sa: StageResult | undefined, sb: StageResult | undefined) {
  const ea = countEvents(sa?.kernelEvents ?? []);
  const eb = countEvents(sb?.kernelEvents ?? []);
  const entry = (key: string, e: KernelEvent, countA: number, countB: number): EventComparison => ({
    stage: n,
    class: e.class,
    firstLine: e.firstLine,
    key,
    countA,
    countB,
    fatal: e.fatal,
  });
  const added: EventComparison[] = [];
  const gone: EventComparison[] = [];
  for (const [key, { event, count }] of eb) {
    const before = ea.get(key)?.count ?? 0;
    if (count > before) added.push(entry(key, event, before, count));
  }
  for (const [key, { event, count }] of ea) {
    const after = eb.get(key)?.count ?? 0;
    if (after < count) gone.push(entry(key, event, count, after));
  }
  return { added, gone };
}

function warningEntry(n: number, d: Diagnostic): WarningComparison {
  return { stage: n, key: warningKey(d), file: d.file, line: d.line, column: d.column, message: d.message, ...(d.option ? { option: d.option } : {}) };
}

function compareWarnings(n: number, sa: StageResult | undefined, sb: StageResult | undefined) {
  const wa = sa ? buildWarnings(sa) : [];
  const wb = sb ? buildWarnings(sb) : [];
  const keysA = new Set(wa.map(warningKey));
  const keysB = new Set(wb.map(warningKey));
  return {
    added: wb.filter((d) => !keysA.has(warningKey(d))).map((d) => warningEntry(n, d)),
    gone: wa.filter((d) => !keysB.has(warningKey(d))).map((d) => warningEntry(n, d)),
  };
}

// The counters that say a frame was lost. Packet and byte counters are not
// compared: how many frames the kernel sends (ARP retries, timing) varies
// from run to run, and each stage's checks judge them exactly anyway.
const FAULT_COUNTERS = COUNTERS.filter((c) => /_(dropped|errors)$/.test(c));

// A counter's share of the frames of its direction (tx or rx); undefined when none went that way.
function share(stats: Record<string, number>, counter: string): number | undefined {
  const dir = counter.split('_')[0];
  const frames = ['packets', 'dropped', 'errors'].reduce((sum, k) => sum + (stats[`${dir}_${k}`] ?? 0), 0);
  const value = stats[counter];
  return value === undefined || frames === 0 ? undefined : value / frames;
}

function compareCounters(n: number, sa: StageResult, sb: StageResult, o: Required<CompareOptions>): CounterComparison[] {
  const ra = sa.readings[sa.readings.length - 1];
  if (!ra) return [];
  // Compare like with like: B's reading taken at the same point as A's last.
  const rb = [...sb.readings].reverse().find((r) => r.at === ra.at);
  const names = FAULT_COUNTERS.filter((c) => c in ra.statistics || (rb && c in rb.statistics));
  return names.map((counter) => {
    const a = ra.statistics[counter];
    const b = rb?.statistics[counter];
    const delta = a !== undefined && b !== undefined ? b - a : undefined;
    const shareA = share(ra.statistics, counter);
    const shareB = rb ? share(rb.statistics, counter) : undefined;
    // More of the frames lost, not merely more frames (the kernel's choice) lost.
    const regression =
      delta !== undefined && delta >= o.counterMinDelta && shareB !== undefined && shareB > (shareA ?? 0) * (1 + o.counterThresholdPct / 100);
    return {
      stage: n,
      counter,
      at: ra.at,
      ...(a !== undefined ? { a } : {}),
      ...(b !== undefined ? { b } : {}),
      ...(delta !== undefined ? { delta } : {}),
      ...(shareA !== undefined ? { shareA } : {}),
      ...(shareB !== undefined ? { shareB } : {}),
      regression,
    };
  });
}

/**
 * Round-trip times: the warm-up echo left out, then a one-sided Mann-Whitney
 * U test (is B slower?) and the Hodges-Lehmann shift, which must be at least
 * the minimum effect. A p95 of a few samples is one echo; it decides nothing.
 */
function compareRtt(n: number, sa: StageResult, sb: StageResult, o: Required<CompareOptions>, gated: boolean): RttComparison | undefined {
  if (sa.rttsMs.length === 0 && sb.rttsMs.length === 0) return undefined;
  const warmup = Math.max(0, Math.floor(o.rttWarmup));
  const ra = sa.rttsMs.slice(warmup).filter((v) => Number.isFinite(v));
  const rb = sb.rttsMs.slice(warmup).filter((v) => Number.isFinite(v));
  const medianA = median(ra);
  const medianB = median(rb);
  const p95A = percentile(ra, 95);
  const p95B = percentile(rb, 95);
  const base = {
    stage: n,
    samplesA: ra.length,
    samplesB: rb.length,
    warmup,
    ...(medianA !== undefined ? { medianA } : {}),
    ...(medianB !== undefined ? { medianB } : {}),
    ...(p95A !== undefined ? { p95A } : {}),
    ...(p95B !== undefined ? { p95B } : {}),
    gated,
  };
  const test = shiftTest(ra, rb);
  if (!test || medianA === undefined || ra.length < o.rttMinSamples || rb.length < o.rttMinSamples) {
    return { ...base, change: 'too-few-samples', regression: false };
  }
  const minEffectMs = Math.max(o.rttMinDeltaMs, (medianA * o.rttThresholdPct) / 100);
  const change: TimingChange =
    test.pGreater < o.rttAlpha && test.shift >= minEffectMs ? 'slower' : test.pLess < o.rttAlpha && -test.shift >= minEffectMs ? 'faster' : 'no-change';
  return {
    ...base,
    shiftMs: test.shift,
    ...(test.ciLow !== undefined ? { shiftCiLowMs: test.ciLow } : {}),
    ...(test.ciHigh !== undefined ? { shiftCiHighMs: test.ciHigh } : {}),
    pSlower: test.pGreater,
    pFaster: test.pLess,
    minEffectMs,
    change,
    regression: change === 'slower' && gated,
  };
}

function notesFor(a: RunResults, b: RunResults): string[] {
  const notes: string[] = [];
  if (a.board.name !== b.board.name) notes.push(`different boards: ${a.board.name} vs ${b.board.name}`);
  if ((a.board.kernelRelease ?? '') !== (b.board.kernelRelease ?? '')) {
    notes.push(`different kernels: ${a.board.kernelRelease ?? '?'} vs ${b.board.kernelRelease ?? '?'}`);
  }
  if (a.board.transport !== b.board.transport) notes.push(`different transports: ${a.board.transport} vs ${b.board.transport}`);
  if (a.harnessVersion !== b.harnessVersion) notes.push(`different harness versions: ${a.harnessVersion} vs ${b.harnessVersion}`);
  if (a.runId === b.runId) notes.push('both sides are the same run');
  for (const [side, r] of [['A', a], ['B', b]] as const) {
    if (r.errors.length > 0) notes.push(`run ${side} ended with infrastructure errors: ${r.errors[0]}`);
  }
  return notes;
}

function fmtMs(v: number | undefined): string {
  return v === undefined ? '—' : `${v.toFixed(3)} ms`;
}

const list = (xs: readonly number[]) => xs.join(', ');

/** One line for a timing change: what moved, by how much, how sure. */
export function describeTiming(t: RttComparison): string {
  const ci = t.shiftCiLowMs !== undefined && t.shiftCiHighMs !== undefined ? `, 95 % CI ${signedMs(t.shiftCiLowMs)} … ${signedMs(t.shiftCiHighMs)}` : '';
  const p = t.change === 'faster' ? t.pFaster : t.pSlower;
  return (
    `stage ${t.stage}: RTT ${t.change === 'faster' ? 'faster' : 'slower'} by ${Math.abs(t.shiftMs ?? 0).toFixed(3)} ms ` +
    `(median ${fmtMs(t.medianA)} → ${fmtMs(t.medianB)}; shift ${signedMs(t.shiftMs)}${ci}; Mann-Whitney ${formatP(p)}, n = ${t.samplesA}/${t.samplesB}; ` +
    `minimum effect ${t.minEffectMs?.toFixed(3)} ms)`
  );
}

/** A shift in ms with its sign: "+2.013 ms", "−0.004 ms". */
export function signedMs(v: number | undefined): string {
  if (v === undefined) return '—';
  const s = Math.abs(v).toFixed(3);
  return `${v < 0 && Number(s) !== 0 ? '−' : '+'}${s} ms`;
}

/** A p-value for people: "p = 0.41", "p = 0.0032", "p < 0.0001". */
export function formatP(p: number | undefined): string {
  if (p === undefined) return 'p = —';
  if (p < 0.0001) return 'p < 0.0001';
  return `p = ${p < 0.01 ? p.toFixed(4) : p.toFixed(2)}`;
}

/** A changed check in one line: "<statement>: expected X, got Y", from the check's own fields. */
export function describeCheck(c: Pick<CheckComparison, 'expected' | 'actual' | 'message' | 'b' | 'id'>): string {
  return checkFailureText({ id: c.id, ...(c.b ? { verdict: c.b } : {}), ...(c.message !== undefined ? { message: c.message } : {}), expected: c.expected, actual: c.actual });
}

/** The rules the comparison applied, in one paragraph for the reports' footers. */
export function criteria(c: Pick<Comparison, 'options' | 'a' | 'b'>): string {
  const o = c.options;
  const emulated = c.a.board.emulated || c.b.board.emulated;
  const gate = !emulated
    ? 'both boards are real: a slowdown fails'
    : o.perfGate
      ? 'emulated board, --perf-gate: a slowdown fails'
      : 'emulated board: a slowdown is reported, not failed (--perf-gate fails it)';
  return (
    `RTT: ${o.rttWarmup === 0 ? 'every echo counted' : o.rttWarmup === 1 ? 'the first (warm-up) echo of each series left out' : `the first ${o.rttWarmup} (warm-up) echoes of each series left out`}; slower when Mann-Whitney U gives p < ${o.rttAlpha} ` +
    `and the Hodges-Lehmann shift is at least ${o.rttMinDeltaMs} ms and ${o.rttThresholdPct} % of A's median, with at least ${o.rttMinSamples} echoes a side; ${gate}. ` +
    `Dropped/error counters: their share of the frames grows by more than ${o.counterThresholdPct} % and the counter by at least ${o.counterMinDelta}. ` +
    'Packet and byte counters are not compared: how many frames the kernel sends (ARP retries) varies from run to run; the checks judge them.'
  );
}

/** Compares run A (baseline) with run B (change) and decides whether B regressed. */
export function compareRuns(a: RunResults, b: RunResults, options: CompareOptions = {}): Comparison {
  // Only the comparison's own options: callers pass wider objects (the command's).
  const given = options as Record<string, unknown>;
  const o = Object.fromEntries(
    Object.entries(DEFAULT_COMPARE_OPTIONS).map(([k, v]) => [k, given[k] === undefined ? v : given[k]]),
  ) as unknown as Required<CompareOptions>;
  const { common, onlyInA, onlyInB } = stageSets(a, b);
  if (common.length === 0) {
    throw new HarnessError(
      `runs ${a.runId} and ${b.runId} have no stage in common (A: ${list(a.stages.map((s) => s.stage)) || 'none'}; B: ${list(b.stages.map((s) => s.stage)) || 'none'}): nothing to compare`,
    );
  }
  // An emulator's timing follows the host's load: there it is only reported unless asked for.
  const gated = o.perfGate || (!a.board.emulated && !b.board.emulated);
  const sa = byStage(a);
  const sb = byStage(b);
  const notes = notesFor(a, b);
  if (onlyInA.length > 0) notes.push(`stage${onlyInA.length > 1 ? 's' : ''} ${list(onlyInA)} only in A: not compared`);
  if (onlyInB.length > 0) notes.push(`stage${onlyInB.length > 1 ? 's' : ''} ${list(onlyInB)} only in B: not compared`);
  const out: Comparison = {
    a: summary(a),
    b: summary(b),
    options: o,
    stages: [],
    checks: [],
    newKernelEvents: [],
    goneKernelEvents: [],
    counters: [],
    rtt: [],
    newWarnings: [],
    goneWarnings: [],
    driver: {
      a: a.driver,
      b: b.driver,
      sameRevision: a.driver.gitRevision !== undefined && a.driver.gitRevision === b.driver.gitRevision && !a.driver.gitDirty && !b.driver.gitDirty,
      sameContent: a.driver.contentHash === b.driver.contentHash,
    },
    onlyInA,
    onlyInB,
    notes,
    regression: false,
    reasons: [],
    reported: [],
  };
  for (const n of common) {
    const x = sa.get(n) as StageResult;
    const y = sb.get(n) as StageResult;
    out.stages.push(compareStage(n, x, y));
    out.checks.push(...compareChecks(n, x, y));
    const events = compareEvents(n, x, y);
    out.newKernelEvents.push(...events.added);
    out.goneKernelEvents.push(...events.gone);
    const warnings = compareWarnings(n, x, y);
    out.newWarnings.push(...warnings.added);
    out.goneWarnings.push(...warnings.gone);
    out.counters.push(...compareCounters(n, x, y, o));
    const rtt = compareRtt(n, x, y, o, gated);
    if (rtt) out.rtt.push(rtt);
  }

  const r = out.reasons;
  for (const s of out.stages.filter((s) => s.regression)) {
    r.push(`stage ${s.stage}: verdict ${s.a} → ${s.b}${s.reasonB ? ` (${s.reasonB})` : ''}`);
  }
  for (const c of out.checks.filter((c) => c.regression)) {
    const what = describeCheck(c);
    r.push(`stage ${c.stage} ${c.id}: ${c.change === 'added' ? 'new check, failing' : 'new failure'}${what ? `: ${what}` : ''}`);
  }
  for (const e of out.newKernelEvents) {
    r.push(`stage ${e.stage}: new kernel event ${e.class}: ${normalizeEventLine(e.firstLine)}${e.countA > 0 ? ` (${e.countA} → ${e.countB})` : ''}`);
  }
  for (const w of out.newWarnings) r.push(`stage ${w.stage}: new build warning ${w.key}`);
  for (const c of out.counters.filter((c) => c.regression)) {
    r.push(`stage ${c.stage}: ${c.counter} ${c.a ?? '—'} → ${c.b} (${c.at}): ${pct(c.shareA)} → ${pct(c.shareB)} of the ${c.counter.split('_')[0]} frames`);
  }
  for (const t of out.rtt.filter((t) => t.change === 'slower')) {
    if (t.regression) r.push(describeTiming(t));
    else out.reported.push(`${describeTiming(t)}: an emulated board's timing is reported, not judged (--perf-gate judges it)`);
  }
  for (const t of out.rtt.filter((t) => t.change === 'faster')) out.reported.push(describeTiming(t));
  out.regression = r.length > 0;
  return out;
}

function pct(v: number | undefined): string {
  return v === undefined ? '0 %' : `${Math.round(v * 100)} %`;
}
