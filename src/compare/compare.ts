// Compares two runs (A: the baseline, B: the change) and says whether B is a
// regression. A view of two results models, nothing else: it reads no files.

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
import { eventKey, normalizeEventLine, warningKey } from './normalize.ts';

export interface CompareOptions {
  /** RTT median/p95 must grow by more than this percentage to count (default 50). */
  rttThresholdPct?: number;
  /** ... and by at least this many milliseconds, so sub-millisecond noise never counts (default 0.5). */
  rttMinDeltaMs?: number;
  /** A dropped/errors counter must grow by more than this percentage of A's value (default 50). */
  counterThresholdPct?: number;
  /** ... and by at least this much (default 2): one extra ARP retry is not a regression. */
  counterMinDelta?: number;
}

export const DEFAULT_COMPARE_OPTIONS: Required<CompareOptions> = {
  rttThresholdPct: 50,
  rttMinDeltaMs: 0.5,
  counterThresholdPct: 50,
  counterMinDelta: 2,
};

export type CheckChange = 'new-failure' | 'fixed' | 'still-failing' | 'still-passing' | 'added' | 'removed' | 'skipped';

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

export type StageChange = 'same' | 'better' | 'worse' | 'added' | 'removed';

export interface StageComparison {
  stage: number;
  title: string;
  a?: StageVerdict;
  b?: StageVerdict;
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

export interface CounterComparison {
  stage: number;
  counter: string;
  /** Label of the reading compared (A's last reading of the stage). */
  at: string;
  a?: number;
  b?: number;
  delta?: number;
  regression: boolean;
}

export interface RttComparison {
  stage: number;
  samplesA: number;
  samplesB: number;
  medianA?: number;
  medianB?: number;
  p95A?: number;
  p95B?: number;
  medianRegression: boolean;
  p95Regression: boolean;
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
  /** Things that make the comparison less meaningful (other board, other kernel...). */
  notes: string[];
  regression: boolean;
  /** Why it is a regression, one line per finding; empty when it is not. */
  reasons: string[];
}

// How bad a stage verdict is. `skipped` and `pass` both say nothing bad about
// the driver; `error` is the harness's own failure but still not a clean run.
const SEVERITY: Record<StageVerdict, number> = {
  pass: 0,
  skipped: 0,
  fail: 1,
  error: 1,
  hang: 2,
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

function stageNumbers(a: RunResults, b: RunResults): number[] {
  return [...new Set([...a.stages.map((s) => s.stage), ...b.stages.map((s) => s.stage)])].sort((x, y) => x - y);
}

function compareStage(n: number, sa: StageResult | undefined, sb: StageResult | undefined): StageComparison {
  const title = sb?.title ?? sa?.title ?? `stage ${n}`;
  if (!sa) return { stage: n, title, b: sb?.verdict, change: 'added', ...(sb?.reason ? { reasonB: sb.reason } : {}), regression: SEVERITY[sb!.verdict] > 0 };
  if (!sb) return { stage: n, title, a: sa.verdict, change: 'removed', regression: false };
  const da = SEVERITY[sa.verdict] ?? 1;
  const db = SEVERITY[sb.verdict] ?? 1;
  const change: StageChange = db > da ? 'worse' : db < da ? 'better' : 'same';
  return { stage: n, title, a: sa.verdict, b: sb.verdict, change, ...(sb.reason ? { reasonB: sb.reason } : {}), regression: change === 'worse' };
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

const isFaultCounter = (name: string) => /_(dropped|errors)$/.test(name);

function compareCounters(n: number, sa: StageResult | undefined, sb: StageResult | undefined, o: Required<CompareOptions>): CounterComparison[] {
  const ra = sa?.readings[sa.readings.length - 1];
  if (!ra) return [];
  // Compare like with like: B's reading taken at the same point as A's last.
  const rb = [...(sb?.readings ?? [])].reverse().find((r) => r.at === ra.at);
  const names = new Set<string>(COUNTERS.filter((c) => c in ra.statistics || (rb && c in rb.statistics)));
  return [...names].map((counter) => {
    const a = ra.statistics[counter];
    const b = rb?.statistics[counter];
    const delta = a !== undefined && b !== undefined ? b - a : undefined;
    const regression =
      isFaultCounter(counter) && delta !== undefined && delta >= o.counterMinDelta && delta > ((a ?? 0) * o.counterThresholdPct) / 100;
    return { stage: n, counter, at: ra.at, ...(a !== undefined ? { a } : {}), ...(b !== undefined ? { b } : {}), ...(delta !== undefined ? { delta } : {}), regression };
  });
}

function beyond(a: number | undefined, b: number | undefined, o: Required<CompareOptions>): boolean {
  if (a === undefined || b === undefined) return false;
  return b - a >= o.rttMinDeltaMs && b > a * (1 + o.rttThresholdPct / 100);
}

function compareRtt(n: number, sa: StageResult | undefined, sb: StageResult | undefined, o: Required<CompareOptions>): RttComparison | undefined {
  const ra = sa?.rttsMs ?? [];
  const rb = sb?.rttsMs ?? [];
  if (ra.length === 0 && rb.length === 0) return undefined;
  const medianA = median(ra);
  const medianB = median(rb);
  const p95A = percentile(ra, 95);
  const p95B = percentile(rb, 95);
  const medianRegression = beyond(medianA, medianB, o);
  const p95Regression = beyond(p95A, p95B, o);
  return {
    stage: n,
    samplesA: ra.length,
    samplesB: rb.length,
    ...(medianA !== undefined ? { medianA } : {}),
    ...(medianB !== undefined ? { medianB } : {}),
    ...(p95A !== undefined ? { p95A } : {}),
    ...(p95B !== undefined ? { p95B } : {}),
    medianRegression,
    p95Regression,
    regression: medianRegression || p95Regression,
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

/** Compares run A (baseline) with run B (change) and decides whether B regressed. */
export function compareRuns(a: RunResults, b: RunResults, options: CompareOptions = {}): Comparison {
  const o: Required<CompareOptions> = { ...DEFAULT_COMPARE_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const sa = byStage(a);
  const sb = byStage(b);
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
    notes: notesFor(a, b),
    regression: false,
    reasons: [],
  };
  for (const n of stageNumbers(a, b)) {
    const x = sa.get(n);
    const y = sb.get(n);
    out.stages.push(compareStage(n, x, y));
    out.checks.push(...compareChecks(n, x, y));
    const events = compareEvents(n, x, y);
    out.newKernelEvents.push(...events.added);
    out.goneKernelEvents.push(...events.gone);
    const warnings = compareWarnings(n, x, y);
    out.newWarnings.push(...warnings.added);
    out.goneWarnings.push(...warnings.gone);
    out.counters.push(...compareCounters(n, x, y, o));
    const rtt = compareRtt(n, x, y, o);
    if (rtt) out.rtt.push(rtt);
  }

  const r = out.reasons;
  for (const s of out.stages.filter((s) => s.regression)) {
    r.push(`stage ${s.stage}: verdict ${s.a ?? '(absent)'} → ${s.b}${s.reasonB ? ` (${s.reasonB})` : ''}`);
  }
  for (const c of out.checks.filter((c) => c.regression)) {
    r.push(`stage ${c.stage} ${c.id}: ${c.change === 'added' ? 'new check, failing' : 'new failure'}${c.message ? `: ${c.message}` : ''}`);
  }
  for (const e of out.newKernelEvents) {
    r.push(`stage ${e.stage}: new kernel event ${e.class}: ${normalizeEventLine(e.firstLine)}${e.countA > 0 ? ` (${e.countA} → ${e.countB})` : ''}`);
  }
  for (const w of out.newWarnings) r.push(`stage ${w.stage}: new build warning ${w.key}`);
  for (const c of out.counters.filter((c) => c.regression)) {
    r.push(`stage ${c.stage}: ${c.counter} ${c.a} → ${c.b} (${c.at})`);
  }
  for (const t of out.rtt.filter((t) => t.regression)) {
    const what = [
      t.medianRegression ? `median ${fmtMs(t.medianA)} → ${fmtMs(t.medianB)}` : '',
      t.p95Regression ? `p95 ${fmtMs(t.p95A)} → ${fmtMs(t.p95B)}` : '',
    ].filter(Boolean);
    r.push(`stage ${t.stage}: RTT ${what.join(', ')} (threshold +${o.rttThresholdPct}% and ≥ ${o.rttMinDeltaMs} ms)`);
  }
  out.regression = r.length > 0;
  return out;
}
