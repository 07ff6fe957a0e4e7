// The comparison as plain text for a terminal: the verdict and its reasons
// first, then what changed. No Markdown (a terminal shows `\{ … \+0 \}` as it
// is) and no escape sequences from board text.

import { cleanText, truncate } from '../reporters/text.ts';
import { formatValue } from '../results/check-text.ts';
import { CHECK_CHANGE_LABEL, criteria, describeCheck, formatP, signedMs, type Comparison, type RttComparison, type RunSummary } from './compare.ts';

// Board text on one line, without escape sequences or control characters.
function flat(text: string, max = 200): string {
  return truncate(cleanText(text).replace(/\s+/g, ' ').trim(), max);
}

function ms(v: number | undefined): string {
  return v === undefined ? '—' : `${v.toFixed(3)} ms`;
}

function side(label: string, r: RunSummary): string {
  const d = r.driver;
  const rev = d.gitRevision ? `rev ${d.gitRevision.slice(0, 12)}${d.gitDirty ? ' (dirty)' : ''}` : `tree ${d.contentHash.slice(0, 12)}`;
  return `${label} ${flat(r.runId, 80)}  ${r.verdict}  ${rev}  ${flat(r.board.name, 40)}${r.board.emulated ? ' (emulated)' : ''}`;
}

function timing(t: RttComparison): string {
  const head = `stage ${t.stage} RTT median ${ms(t.medianA)} → ${ms(t.medianB)} (n = ${t.samplesA}/${t.samplesB}${t.warmup > 0 ? ` after ${t.warmup === 1 ? 'the warm-up echo' : `${t.warmup} warm-up echoes`}` : ''})`;
  if (t.change === 'too-few-samples') return `${head}: too few echoes to judge`;
  const ci = t.shiftCiLowMs !== undefined && t.shiftCiHighMs !== undefined ? ` (95 % CI ${signedMs(t.shiftCiLowMs)} … ${signedMs(t.shiftCiHighMs)})` : '';
  const verdict = t.change === 'no-change' ? 'no change' : t.change === 'faster' ? 'faster' : t.regression ? 'SLOWER' : 'slower (reported only)';
  return `${head}: shift ${signedMs(t.shiftMs)}${ci}, ${formatP(t.change === 'faster' ? t.pFaster : t.pSlower)}: ${verdict}`;
}

/** Renders a comparison as plain text for a terminal. */
export function renderComparisonText(c: Comparison): string {
  const lines = [`vnet-harness compare: ${c.regression ? 'REGRESSION' : 'no regression'}`, side('A', c.a), side('B', c.b)];
  for (const n of c.notes) lines.push(`note: ${flat(n, 300)}`);
  if (c.reasons.length > 0) lines.push('', 'Regressions:', ...c.reasons.map((r) => `  - ${flat(r, 400)}`));
  if (c.reported.length > 0) lines.push('', 'Reported, not failing:', ...c.reported.map((r) => `  - ${flat(r, 400)}`));

  lines.push('', 'Stages:');
  const width = Math.max(...c.stages.map((s) => flat(s.title, 50).length));
  for (const s of c.stages) {
    const change = s.change === 'same' ? '' : `  ${s.change}`;
    lines.push(`  ${s.stage} ${flat(s.title, 50).padEnd(width)}  ${s.a} → ${s.b}${change}`);
  }

  const changed = c.checks.filter((x) => x.change !== 'still-passing');
  const unchanged = c.checks.length - changed.length;
  if (changed.length === 0) lines.push('', `Checks: all ${unchanged} still pass.`);
  else {
    lines.push('', `Checks (${unchanged} other${unchanged === 1 ? '' : 's'} still pass):`);
    for (const x of changed) {
      const failing = x.b === 'fail' || x.b === 'error';
      const detail = failing ? describeCheck(x) : x.change === 'fixed' ? `now ${formatValue(x.actual)}` : '';
      lines.push(`  stage ${x.stage} ${flat(x.id, 60)}: ${x.a ?? '—'} → ${x.b ?? '—'}, ${CHECK_CHANGE_LABEL[x.change]}${detail ? `: ${flat(detail, 300)}` : ''}`);
    }
  }

  if (c.newKernelEvents.length > 0) {
    lines.push('', 'New kernel events:');
    for (const e of c.newKernelEvents) lines.push(`  stage ${e.stage} ${e.class}${e.fatal ? ' (fatal)' : ''}: ${flat(e.firstLine)}${e.countA > 0 ? ` (${e.countA} → ${e.countB})` : ''}`);
  }
  if (c.goneKernelEvents.length > 0) {
    lines.push('', 'Kernel events gone:', ...c.goneKernelEvents.map((e) => `  stage ${e.stage} ${e.class}: ${flat(e.firstLine)}`));
  }
  if (c.newWarnings.length > 0) {
    lines.push('', 'New build warnings:');
    for (const w of c.newWarnings) lines.push(`  stage ${w.stage} ${flat(`${w.file}:${w.line}:${w.column}: ${w.message}`)}${w.option ? ` [${flat(w.option, 60)}]` : ''}`);
  }
  if (c.goneWarnings.length > 0) lines.push('', 'Build warnings gone:', ...c.goneWarnings.map((w) => `  stage ${w.stage} ${flat(w.key)}`));

  const counters = c.counters.filter((x) => x.delta !== undefined && x.delta !== 0);
  if (c.rtt.length > 0 || counters.length > 0) {
    lines.push('', 'Metrics:');
    for (const t of c.rtt) lines.push(`  ${timing(t)}`);
    for (const x of counters) {
      lines.push(`  stage ${x.stage} ${flat(x.counter, 40)} ${x.a ?? '—'} → ${x.b ?? '—'} (${flat(x.at, 60)})${x.regression ? ': more of the frames lost' : ''}`);
    }
  }
  lines.push('', flat(criteria(c), 1000), '');
  return lines.join('\n');
}
