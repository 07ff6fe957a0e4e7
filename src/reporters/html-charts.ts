// Inline SVG charts for report.html: no script, no external resource, just
// markup that any browser (or a saved copy opened years later) draws.

import { median, percentile } from './stats.ts';
import { html } from './text.ts';

// A "nice" axis step (1, 2, 2.5, 5 × 10^n) so tick labels read as round numbers.
function niceStep(range: number, ticks: number): number {
  const raw = range / Math.max(1, ticks);
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 1 ? 3 : 2).replace(/0+$/, '').replace(/\.$/, '');
}

/** An SVG scatter/line plot of round-trip times (ms) by reply number, with median and p95 lines. */
export function rttPlot(rttsMs: readonly number[]): string {
  const values = rttsMs.filter((v) => Number.isFinite(v));
  if (values.length === 0) return '<p class="muted">No round-trip times recorded.</p>';
  const W = 560;
  const H = 200;
  const L = 52;
  const R = 96;
  const T = 12;
  const B = 34;
  const pw = W - L - R;
  const ph = H - T - B;
  const max = Math.max(...values);
  const step = niceStep(max > 0 ? max : 1, 4);
  const top = Math.max(step, Math.ceil((max * 1.05) / step) * step);
  const x = (i: number) => L + (values.length === 1 ? pw / 2 : (i / (values.length - 1)) * pw);
  const y = (v: number) => T + ph - (v / top) * ph;
  const parts: string[] = [];
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(`<line class="grid" x1="${L}" x2="${L + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
    parts.push(`<text class="tick" x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  const xTicks = values.length <= 10 ? values.map((_, i) => i) : [0, Math.floor((values.length - 1) / 2), values.length - 1];
  for (const i of xTicks) {
    parts.push(`<text class="tick" x="${x(i).toFixed(1)}" y="${T + ph + 16}" text-anchor="middle">${i + 1}</text>`);
  }
  parts.push(`<text class="axis" x="${L + pw / 2}" y="${H - 4}" text-anchor="middle">echo reply #</text>`);
  parts.push(`<text class="axis" transform="translate(12 ${T + ph / 2}) rotate(-90)" text-anchor="middle">RTT (ms)</text>`);
  if (values.length > 1) {
    const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="series" points="${pts}"/>`);
  }
  values.forEach((v, i) => {
    parts.push(`<circle class="point" cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3"><title>#${i + 1}: ${fmt(v)} ms</title></circle>`);
  });
  const med = median(values) as number;
  const p95 = percentile(values, 95) as number;
  for (const [cls, v] of [['median', med], ['p95', p95]] as const) {
    parts.push(`<line class="${cls}" x1="${L}" x2="${L + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
  }
  // Labels sit right of the plot, nudged apart when the two lines nearly meet.
  const medY = y(med) + 4;
  const p95Y = Math.min(medY - 13, y(p95) + 4);
  parts.push(`<text class="label median-t" x="${L + pw + 6}" y="${medY.toFixed(1)}">median ${fmt(med)}</text>`);
  parts.push(`<text class="label p95-t" x="${L + pw + 6}" y="${p95Y.toFixed(1)}">p95 ${fmt(p95)}</text>`);
  return `<svg class="chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><title>Round-trip times of ${values.length} echo replies</title>${parts.join('')}</svg>`;
}

/** A tiny SVG bar chart of one counter across readings, scaled to its own maximum. */
export function sparkBars(values: readonly (number | undefined)[], labels: readonly string[]): string {
  const W = 120;
  const H = 22;
  const n = Math.max(1, values.length);
  const gap = 3;
  const bw = (W - gap * (n - 1)) / n;
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const bars = values
    .map((v, i) => {
      const h = max > 0 && v !== undefined ? Math.max(1, (v / max) * (H - 2)) : 0;
      const label = `${labels[i] ?? ''}: ${v ?? '—'}`;
      return `<rect x="${(i * (bw + gap)).toFixed(1)}" y="${(H - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}"><title>${html(label)}</title></rect>`;
    })
    .join('');
  return `<svg class="spark" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><line x1="0" x2="${W}" y1="${H - 0.5}" y2="${H - 0.5}"/>${bars}</svg>`;
}
