// The comparison as one self-contained page, in the same style as report.html.

import { badge, page } from '../reporters/html.ts';
import { formatValue, html } from '../reporters/text.ts';
import { CHECK_CHANGE_LABEL, criteria, formatP, signedMs, type Comparison, type RttComparison, type RunSummary } from './compare.ts';

function timingLabel(t: RttComparison): string {
  if (t.change === 'too-few-samples') return 'too few echoes to judge';
  const ci = t.shiftCiLowMs !== undefined && t.shiftCiHighMs !== undefined ? ` (95 % CI ${signedMs(t.shiftCiLowMs)} … ${signedMs(t.shiftCiHighMs)})` : '';
  const p = formatP(t.change === 'faster' ? t.pFaster : t.pSlower);
  const what = t.change === 'no-change' ? 'no change' : t.change === 'faster' ? 'faster' : t.regression ? 'slower' : 'slower (reported only)';
  return `${what}: shift ${signedMs(t.shiftMs)}${ci}, ${p}`;
}

function ms(v: number | undefined): string {
  return v === undefined ? '—' : v.toFixed(3);
}

function table(head: string[], rows: string[][], bad: boolean[] = []): string {
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r, i) => `<tr${bad[i] ? ' class="bad"' : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('\n')}</tbody></table>`;
}

function side(label: string, r: RunSummary): string {
  const d = r.driver;
  return `<dt>${label}</dt><dd><strong>${html(r.runId)}</strong> ${badge(r.verdict)} · ${html(r.startedAt)} · ${html(r.board.name)} ${html(r.board.kernelRelease ?? '')}<br>
<code>${html(d.gitRevision ?? 'not a git tree')}</code>${d.gitDirty ? ' (dirty)' : ''} · content <code>${html(d.contentHash.slice(0, 23))}</code> · ${html(d.path)}</dd>`;
}

/** Renders a comparison as a self-contained HTML page. */
export function renderComparisonHtml(c: Comparison): string {
  return page(`vnet-harness compare ${c.a.runId} vs ${c.b.runId}: ${c.regression ? 'regression' : 'no regression'}`, renderComparisonBody(c));
}

/**
 * The comparison's part of a page (what renderComparisonHtml wraps), for a
 * page that holds it among other things (bisect.html): with `nested`, its
 * headings go one level down (h1 → h2, h2 → h3).
 */
export function renderComparisonBody(c: Comparison, nested = false): string {
  const verdict = c.regression ? badge('fail', true).replace('>fail<', '>regression<') : badge('pass', true).replace('>pass<', '>no regression<');
  const reasons = c.reasons.length === 0 ? '' : `<h2>Regressions</h2><ul>${c.reasons.map((r) => `<li>${html(r)}</li>`).join('')}</ul>`;
  const notes = c.notes.length === 0 ? '' : `<ul class="muted">${c.notes.map((n) => `<li>${html(n)}</li>`).join('')}</ul>`;
  const stages = table(
    ['Stage', 'Title', 'A', 'B', 'Change'],
    c.stages.map((s) => [String(s.stage), html(s.title), s.a ? badge(s.a) : '—', s.b ? badge(s.b) : '—', html(s.change)]),
    c.stages.map((s) => s.regression),
  );
  const changed = c.checks.filter((x) => x.change !== 'still-passing');
  const checks =
    changed.length === 0
      ? `<p>All ${c.checks.length} checks still pass.</p>`
      : table(
          ['Stage', 'Check', 'A', 'B', 'Change', 'Expected', 'Actual', 'Message'],
          changed.map((x) => [
            String(x.stage),
            `${html(x.title)}<br><code class="muted">${html(x.id)}</code>`,
            x.a ? badge(x.a) : '—',
            x.b ? badge(x.b) : '—',
            html(CHECK_CHANGE_LABEL[x.change]),
            `<code>${html(formatValue(x.expected))}</code>`,
            `<code>${html(formatValue(x.actual))}</code>`,
            html(x.message ?? ''),
          ]),
          changed.map((x) => x.regression),
        ) + `<p class="muted">${c.checks.length - changed.length} other checks still pass.</p>`;
  const events =
    c.newKernelEvents.length === 0
      ? ''
      : `<h2>New kernel events</h2>${table(
          ['Stage', 'Class', 'First line', 'A', 'B'],
          c.newKernelEvents.map((e) => [String(e.stage), html(e.class) + (e.fatal ? ' (fatal)' : ''), `<code>${html(e.firstLine)}</code>`, String(e.countA), String(e.countB)]),
          c.newKernelEvents.map(() => true),
        )}`;
  const warnings =
    c.newWarnings.length === 0
      ? ''
      : `<h2>New build warnings</h2>${table(
          ['Stage', 'Where', 'Message'],
          c.newWarnings.map((w) => [String(w.stage), `<code>${html(`${w.file}:${w.line}:${w.column}`)}</code>`, html(w.message + (w.option ? ` [${w.option}]` : ''))]),
          c.newWarnings.map(() => true),
        )}`;
  const metricRows: string[][] = [];
  const metricBad: boolean[] = [];
  for (const t of c.rtt) {
    metricRows.push([String(t.stage), `RTT median (ms, n=${t.samplesA}/${t.samplesB})`, ms(t.medianA), ms(t.medianB), html(timingLabel(t))]);
    metricBad.push(t.regression);
    metricRows.push([String(t.stage), 'RTT p95 (ms, shown, not judged)', ms(t.p95A), ms(t.p95B), '']);
    metricBad.push(false);
  }
  // Counters that did not move are noise here; the run reports show them all.
  for (const x of c.counters.filter((x) => x.regression || x.b === undefined || x.delta !== 0)) {
    metricRows.push([String(x.stage), `${html(x.counter)} <span class="muted">(${html(x.at)})</span>`, String(x.a ?? '—'), String(x.b ?? '—'), x.regression ? 'more of the frames lost' : '']);
    metricBad.push(x.regression);
  }
  const metrics =
    metricRows.length === 0
      ? ''
      : `<h2>Metrics</h2>${table(['Stage', 'Metric', 'A', 'B', 'Change'], metricRows, metricBad)}<p class="muted">${html(criteria(c))}</p>`;
  const reported = c.reported.length === 0 ? '' : `<h2>Reported, not failing</h2><ul>${c.reported.map((r) => `<li>${html(r)}</li>`).join('')}</ul>`;
  const body = `<h1>vnet-harness compare ${verdict}</h1>
<dl class="facts" style="grid-template-columns:max-content 1fr">${side('A (baseline)', c.a)}${side('B (change)', c.b)}</dl>
${notes}${reasons}${reported}
<h2>Stages</h2>${stages}
<h2>Checks</h2>${checks}
${events}${warnings}${metrics}`;
  return nested ? body.replace(/<(\/?)h([12])>/g, (_, slash: string, level: string) => `<${slash}h${Number(level) + 1}>`) : body;
}
