// The comparison as Markdown: what a reviewer reads in a PR comment. Leads
// with the verdict and the reasons; unchanged passing checks are only counted.

import { mdCode, mdText } from '../reporters/markdown.ts';
import { formatValue } from '../reporters/text.ts';
import { criteria, formatP, type Comparison, type RttComparison, type RunSummary } from './compare.ts';

// A code span inside a table cell: GFM needs the pipe escaped even there.
function cell(text: string, max = 120): string {
  return mdCode(text, max).replace(/\|/g, '\\|');
}

function ms(v: number | undefined): string {
  return v === undefined ? '—' : v.toFixed(3);
}

function signed(v: number | undefined, digits = 0): string {
  if (v === undefined) return '—';
  const s = v.toFixed(digits);
  return v > 0 ? `+${s}` : s;
}

function rev(r: RunSummary): string {
  const d = r.driver;
  return d.gitRevision ? `${d.gitRevision.slice(0, 12)}${d.gitDirty ? ' (dirty)' : ''}` : `tree ${d.contentHash.slice(0, 12)}`;
}

function timingMark(t: RttComparison): string {
  if (t.change === 'too-few-samples') return 'too few echoes to judge';
  if (t.change === 'no-change') return '';
  if (t.change === 'faster') return '✅ faster';
  return t.regression ? '❌ slower' : '⚠️ slower (reported only)';
}

const CHANGE_LABEL: Record<string, string> = {
  'new-failure': '❌ new failure',
  fixed: '✅ fixed',
  'still-failing': '⚠️ still failing',
  'still-passing': 'still passing',
  added: '➕ added',
  removed: '➖ removed',
  skipped: '⏭️ skipped in B',
};

/** Renders a comparison as Markdown. */
export function renderComparisonMarkdown(c: Comparison): string {
  const lines = [
    `## vnet-harness compare: ${c.regression ? '❌ regression' : '✅ no regression'}`,
    '',
    `A ${mdCode(c.a.runId)} (${mdText(c.a.verdict)}, ${mdCode(rev(c.a))}) → B ${mdCode(c.b.runId)} (${mdText(c.b.verdict)}, ${mdCode(rev(c.b))})`,
  ];
  if (c.reasons.length > 0) lines.push('', '**Regressions**', '', ...c.reasons.map((r) => `- ${mdText(r, 300)}`));
  if (c.reported.length > 0) lines.push('', '**Reported, not failing**', '', ...c.reported.map((r) => `- ${mdText(r, 400)}`));
  if (c.notes.length > 0) lines.push('', ...c.notes.map((n) => `> ${mdText(n, 300)}`));

  const d = c.driver;
  lines.push(
    '',
    '### Driver',
    '',
    '| | A | B |',
    '|---|---|---|',
    `| revision | ${cell(d.a.gitRevision ?? 'not git')} | ${cell(d.b.gitRevision ?? 'not git')} |`,
    `| dirty | ${d.a.gitDirty === undefined ? '—' : d.a.gitDirty ? 'yes' : 'no'} | ${d.b.gitDirty === undefined ? '—' : d.b.gitDirty ? 'yes' : 'no'} |`,
    `| content hash | ${cell(d.a.contentHash.slice(0, 23))} | ${cell(d.b.contentHash.slice(0, 23))}${d.sameContent ? ' (same)' : ''} |`,
    `| path | ${cell(d.a.path)} | ${cell(d.b.path)} |`,
  );

  lines.push('', '### Stages', '', '| Stage | A | B | Change |', '|---|---|---|---|');
  for (const s of c.stages) {
    const mark = s.change === 'worse' ? '❌ worse' : s.change === 'better' ? '✅ better' : mdText(s.change);
    lines.push(`| ${s.stage} · ${mdText(s.title, 50)} | ${mdText(s.a ?? '—')} | ${mdText(s.b ?? '—')} | ${mark} |`);
  }

  const changed = c.checks.filter((x) => x.change !== 'still-passing');
  const unchanged = c.checks.length - changed.length;
  lines.push('', '### Checks', '');
  if (changed.length === 0) lines.push(`All ${unchanged} checks still pass.`);
  else {
    lines.push('| Stage | Check | A | B | Change | Expected | Actual |', '|---|---|---|---|---|---|---|');
    for (const x of changed) {
      lines.push(
        `| ${x.stage} | ${cell(x.id, 60)} | ${mdText(x.a ?? '—')} | ${mdText(x.b ?? '—')} | ${CHANGE_LABEL[x.change] ?? mdText(x.change)} | ${'expected' in x ? cell(formatValue(x.expected)) : ''} | ${'actual' in x ? cell(formatValue(x.actual)) : ''} |`,
      );
    }
    lines.push('', `${unchanged} other check${unchanged === 1 ? '' : 's'} still pass.`);
  }

  if (c.newKernelEvents.length > 0) {
    lines.push('', '### New kernel events', '');
    for (const e of c.newKernelEvents) {
      lines.push(`- stage ${e.stage} · **${mdText(e.class)}**${e.fatal ? ' (fatal)' : ''} ${mdCode(e.firstLine, 200)}${e.countA > 0 ? ` (${e.countA} → ${e.countB})` : ''}`);
    }
  }
  if (c.goneKernelEvents.length > 0) {
    lines.push('', '### Kernel events gone', '', ...c.goneKernelEvents.map((e) => `- stage ${e.stage} · ${mdText(e.class)} ${mdCode(e.firstLine, 200)}`));
  }
  if (c.newWarnings.length > 0) {
    lines.push('', '### New build warnings', '');
    for (const w of c.newWarnings) lines.push(`- stage ${w.stage}: ${mdCode(`${w.file}:${w.line}:${w.column}: ${w.message}`, 200)}${w.option ? ` ${mdText(w.option)}` : ''}`);
  }
  if (c.goneWarnings.length > 0) {
    lines.push('', '### Build warnings gone', '', ...c.goneWarnings.map((w) => `- stage ${w.stage}: ${mdCode(w.key, 200)}`));
  }

  // Only counters that moved; a reading B never took (its stage ended early) is one note per stage.
  const counters = c.counters.filter((x) => x.delta !== undefined && x.delta !== 0);
  const missing = [...new Set(c.counters.filter((x) => x.b === undefined).map((x) => `${x.stage}\u0000${x.at}`))].map((k) => k.split('\u0000'));
  if (c.rtt.length > 0 || counters.length > 0 || missing.length > 0) {
    lines.push('', '### Metrics', '', '| Stage | Metric | A | B | Δ | |', '|---|---|---|---|---|---|');
    for (const t of c.rtt) {
      const dm = t.medianA !== undefined && t.medianB !== undefined ? t.medianB - t.medianA : undefined;
      lines.push(`| ${t.stage} | RTT median (ms, n=${t.samplesA}/${t.samplesB}) | ${ms(t.medianA)} | ${ms(t.medianB)} | ${signed(dm, 3)} | ${timingMark(t)} |`);
      lines.push(`| ${t.stage} | RTT p95 (ms, shown, not judged) | ${ms(t.p95A)} | ${ms(t.p95B)} | | |`);
      if (t.shiftMs !== undefined) {
        const ci = t.shiftCiLowMs !== undefined && t.shiftCiHighMs !== undefined ? ` (95 % CI ${signed(t.shiftCiLowMs, 3)} … ${signed(t.shiftCiHighMs, 3)})` : '';
        lines.push(`| ${t.stage} | RTT shift B − A (ms, Hodges-Lehmann) | | | ${signed(t.shiftMs, 3)}${ci} | ${mdText(formatP(t.change === 'faster' ? t.pFaster : t.pSlower))} |`);
      }
    }
    for (const x of counters) {
      lines.push(`| ${x.stage} | ${mdText(x.counter)} (${mdText(x.at, 40)}) | ${x.a ?? '—'} | ${x.b ?? '—'} | ${signed(x.delta)} | ${x.regression ? '❌' : ''} |`);
    }
    for (const [stage, at] of missing) lines.push('', `Stage ${stage}: B has no reading ${mdText(at ?? '', 60)} to compare counters with.`);
    lines.push('', `<sub>${mdText(criteria(c), 1000)}</sub>`);
  }
  lines.push('');
  return lines.join('\n');
}
