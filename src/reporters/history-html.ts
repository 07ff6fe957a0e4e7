// The "History" section of reports/index.html: the runs of history.json over
// time, one table per board and transport, newest first: driver revision,
// verdict per stage, key counters, RTT median with its spread (quartiles),
// and compare's verdict against the run before it; a regression is marked,
// and the last good run of each board (what `compare --against last-good`
// and the nightly compare with) is labelled.

import { isGood, lastGood, seriesOf, type HistoryEntry, type HistoryFile, type HistoryStage } from '../results/history.ts';
import { badge } from './html.ts';
import { formatDuration, html } from './text.ts';

function href(dir: string, file: string): string | undefined {
  if (dir.startsWith('/')) return undefined;
  return html([...dir.split('/'), file].map(encodeURIComponent).join('/'));
}

function readableTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

// The git revision names the repository's commit, which moves with any commit; the content hash
// says whether the driver itself changed between two runs.
function revision(e: HistoryEntry): string {
  const content = `<br><span class="muted" title="sha256 over the driver tree">content ${html(e.driver.contentHash.replace(/^sha256:/, '').slice(0, 12))}</span>`;
  return e.driver.gitRevision ? `${html(e.driver.gitRevision.slice(0, 12))}${e.driver.gitDirty ? ' (dirty)' : ''}${content}` : content.slice(4);
}

// "tx 3 dropped 3 · rx 0": packets always, dropped and errors when not zero.
function counters(s: HistoryStage): string {
  const c = s.counters;
  const side = (dir: 'tx' | 'rx') => {
    if (c[`${dir}_packets`] === undefined) return '';
    const extra = (['dropped', 'errors'] as const).filter((k) => (c[`${dir}_${k}`] ?? 0) > 0).map((k) => ` ${k} ${c[`${dir}_${k}`]}`);
    return `${dir} ${c[`${dir}_packets`]}${extra.join('')}`;
  };
  return [side('tx'), side('rx')].filter(Boolean).join(' · ');
}

function ms(v: number): string {
  return v.toFixed(3);
}

function stagesCell(e: HistoryEntry): string {
  return e.stages
    .map((s) => {
      const title = `stage ${s.stage}: ${s.verdict}, ${s.checksPassed}/${s.checks} checks${s.reason ? ` — ${s.reason}` : ''}`;
      return `<span class="nowrap" title="${html(title)}">${s.stage}&nbsp;${badge(s.verdict)}</span>`;
    })
    .join(' ');
}

function countersCell(e: HistoryEntry): string {
  const lines = e.stages.map((s) => ({ s, text: counters(s) })).filter((x) => x.text !== '');
  return lines.length === 0 ? '<span class="muted">—</span>' : lines.map(({ s, text }) => `<div class="nowrap">${s.stage}: ${html(text)}</div>`).join('');
}

function rttCell(e: HistoryEntry): string {
  const withRtt = e.stages.filter((s) => s.rtt);
  if (withRtt.length === 0) return '<span class="muted">—</span>';
  return withRtt
    .map((s) => {
      const r = s.rtt!;
      return `<div class="nowrap" title="${html(`stage ${s.stage}: ${r.n} echoes, min ${ms(r.minMs)} ms, max ${ms(r.maxMs)} ms`)}">${ms(r.medianMs)} ms <span class="muted">(${ms(r.q1Ms)}–${ms(r.q3Ms)})</span></div>`;
    })
    .join('');
}

function previousCell(e: HistoryEntry): string {
  const p = e.previous;
  if (!p) return '<td class="muted">first run</td>';
  if ('problem' in p) return `<td class="muted">not compared with ${html(p.runId)}: ${html(p.problem)}</td>`;
  if (!p.regression) {
    const reported = p.reported.length > 0 ? `<ul class="muted">${p.reported.map((r) => `<li>${html(r)}</li>`).join('')}</ul>` : '';
    return `<td><span class="good-text">no regression</span> <span class="muted">vs ${html(p.runId)}</span>${reported}</td>`;
  }
  return `<td><strong class="bad-text">REGRESSION</strong> <span class="muted">vs ${html(p.runId)}</span><ul>${p.reasons.map((r) => `<li>${html(r)}</li>`).join('')}</ul></td>`;
}

function row(e: HistoryEntry, isLastGood: boolean): string {
  const link = href(e.dir, 'report.html');
  const id = link ? `<a href="${link}">${html(e.runId)}</a>` : html(e.runId);
  const marks = [isLastGood ? '<span class="good-text">last good</span>' : '', e.incomplete ? `<span class="muted">incomplete (${html(e.incomplete)})</span>` : '']
    .filter(Boolean)
    .join(' ');
  const cls = e.previous && 'regression' in e.previous && e.previous.regression ? 'regression bad' : isGood(e) ? '' : 'bad';
  return `<tr${cls ? ` class="${cls}"` : ''} data-run="${html(e.runId)}"><td class="nowrap">${id}${marks ? `<br>${marks}` : ''}</td>
<td class="nowrap">${html(readableTime(e.startedAt))}</td><td class="mono">${revision(e)}</td><td>${badge(e.verdict)}</td><td>${stagesCell(e)}</td>
<td>${countersCell(e)}</td><td>${rttCell(e)}</td><td class="num">${html(formatDuration(e.durationMs))}</td>${previousCell(e)}</tr>`;
}

/** The History section: the history's runs per board and transport, or why history.json could not be read. */
export function renderHistorySection(history: HistoryFile | undefined, problem?: string): string {
  if (problem !== undefined) {
    return `<h2 id="history">History</h2><p class="reason"><strong>history.json cannot be read:</strong> ${html(problem)}<br>It is left as it is; no run is added to it until it is repaired or moved aside.</p>`;
  }
  if (!history || history.runs.length === 0) return '<h2 id="history">History</h2><p class="muted">No run in history.json yet.</p>';
  const series = [...new Set(history.runs.map((e) => seriesOf(e.board)))].sort();
  const tables = series.map((name) => {
    const runs = history.runs.filter((e) => seriesOf(e.board) === name);
    const good = lastGood(history, name);
    const regressions = runs.filter((e) => e.previous && 'regression' in e.previous && e.previous.regression).length;
    const head = `<h3 id="${html(`history-${name}`)}">${html(name)}</h3><p class="muted">${runs.length} run${runs.length === 1 ? '' : 's'}, newest first; ${regressions} regression${regressions === 1 ? '' : 's'} between consecutive runs; last good: ${good ? html(good.runId) : 'none'}</p>`;
    const rows = [...runs].reverse().map((e) => row(e, e === good));
    return `${head}<table class="history" data-series="${html(name)}"><thead><tr><th>Run</th><th>Started</th><th>Driver</th><th>Verdict</th><th>Stages</th><th>Counters (last reading)</th><th>RTT median (q1–q3)</th><th class="num">Duration</th><th>Against the run before</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
  });
  return `<h2 id="history">History</h2><p class="muted">From history.json: every run written under this folder, per board and transport; each run compared with the one before it (<code>vnet-harness compare</code>'s verdict).</p>
${tables.join('\n')}`;
}
