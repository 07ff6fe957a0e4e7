// report.html: the run for a person. One self-contained file: inline CSS and
// SVG, no script, no external resource of any kind (a Content-Security-Policy
// meta tag makes the browser refuse any that slipped in). Every string that
// came from the board or the results file goes through html().

import { checkFailureText } from '../results/check-text.ts';
import { isSanitizerClass, STAGE_VERDICTS, type CheckResult, type RunResults, type StageResult, type StageVerdict } from '../results/model.ts';
import { rttPlot, sparkBars } from './html-charts.ts';
import { renderConsoleHtml, type LocatedEvent } from './html-console.ts';
import { STYLE } from './html-style.ts';
import { median, percentile } from './stats.ts';
import { COUNTERS, buildWarnings, countChecks } from './summary.ts';
import { formatDuration, formatValue, html } from './text.ts';

const VERDICTS: readonly string[] = [...STAGE_VERDICTS, 'skipped'];

/** A verdict badge; the class comes from a fixed list, never from the input (sanitizer classes share one colour). */
export function badge(verdict: string, big = false): string {
  const cls = isSanitizerClass(verdict) ? 'v-sanitizer' : VERDICTS.includes(verdict) ? `v-${verdict}` : 'v-unknown';
  return `<span class="badge ${cls}${big ? ' big' : ''}">${html(verdict)}</span>`;
}

/** The page skeleton shared by report.html and the run index. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${html(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function facts(results: RunResults): string {
  const b = results.board;
  const d = results.driver;
  const rows: [string, string][] = [
    ['Board', `${b.name} (${b.emulated ? 'emulated' : 'real board'}, ${b.transport})`],
    ['Kernel', [b.kernelRelease, b.machine].filter(Boolean).join(' · ') || '—'],
    // The stand-ins for what the board's userland lacked (an old BSP's busybox): none on a full one.
    ...(b.userland && b.userland.fallbacks.length > 0 ? [['Userland fallbacks', b.userland.fallbacks.join('; ')] as [string, string]] : []),
    ['Driver', d.path],
    ['Revision', d.gitRevision ? `${d.gitRevision}${d.gitDirty ? ' (dirty)' : ''}` : 'not a git tree'],
    ['Content hash', d.contentHash],
    ['Harness', results.harnessVersion],
    ['Started', results.startedAt],
    ['Duration', formatDuration(results.durationMs)],
  ];
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${html(k)}</dt><dd>${html(v)}</dd>`).join('')}</dl>`;
}

function summaryTable(results: RunResults): string {
  const rows = results.stages.map((s) => {
    const c = countChecks(s.checks);
    const bad = c.failed + c.errored;
    return `<tr${bad > 0 || s.verdict !== 'pass' ? ' class="bad"' : ''}>
<td class="num">${s.stage}</td><td><a href="#stage-${s.stage}">${html(s.title)}</a></td><td>${badge(s.verdict)}</td>
<td class="num">${c.passed}/${c.total}</td><td class="num">${bad}</td><td class="num">${s.kernelEvents.length}</td>
<td class="num">${html(formatDuration(s.durationMs))}</td></tr>`;
  });
  return `<table id="summary-table" class="summary"><thead><tr><th class="num">Stage</th><th>Title</th><th>Verdict</th>
<th class="num">Checks passed</th><th class="num">Failed</th><th class="num">Kernel events</th><th class="num">Duration</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

// An expected/actual cell: the value, or what its absence means.
function valueCell(c: CheckResult, value: unknown): string {
  if (value !== undefined) return `<td class="val">${html(formatValue(value))}</td>`;
  const why = c.verdict === 'skipped' ? 'not reached' : 'not recorded';
  return `<td class="val muted">${why}</td>`;
}

function checksTable(checks: readonly CheckResult[]): string {
  if (checks.length === 0) return '<p class="muted">No checks ran.</p>';
  const rows = checks.map((c) => {
    const bad = c.verdict === 'fail' || c.verdict === 'error';
    return `<tr${bad ? ' class="bad"' : ''}><td>${badge(c.verdict)}</td><td>${html(c.title)}<br><code class="muted">${html(c.id)}</code></td>
${valueCell(c, c.expected)}${valueCell(c, c.actual)}<td>${html(c.message ?? '')}</td>
<td class="num">${c.durationMs === undefined ? '' : html(formatDuration(c.durationMs))}</td></tr>`;
  });
  return `<table class="checks"><thead><tr><th>Verdict</th><th>Check</th><th>Expected</th><th>Actual</th><th>Message</th><th class="num">Time</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

// A passing stage's checks are folded away: the page leads with what failed.
function checksBlock(stage: StageResult): string {
  const table = checksTable(stage.checks);
  const allPass = stage.checks.length > 0 && stage.checks.every((c) => c.verdict === 'pass');
  return allPass ? `<details><summary>all ${stage.checks.length} checks passed</summary>${table}</details>` : table;
}

function eventsBlock(located: readonly LocatedEvent[]): string {
  if (located.length === 0) return '';
  const items = located.map((l) => {
    const where = l.line === undefined ? '' : ` · <a href="#console-ev-${l.index}">console line ${l.line + 1}</a>`;
    const at = l.event.atMs === undefined ? '' : ` · at ${html(formatDuration(l.event.atMs))}`;
    return `<div class="event"><strong>${html(l.event.class)}</strong>${l.event.fatal ? ' (fatal)' : ''}${at}${where}
<div class="mono">${html(l.event.firstLine)}</div><details open><summary>full report</summary><pre>${html(l.event.text)}</pre></details></div>`;
  });
  return `<h3>Kernel events</h3>${items.join('\n')}`;
}

function buildBlock(stage: StageResult): string {
  const build = stage.build;
  if (!build) return '';
  const warnings = buildWarnings(stage);
  const errors = build.diagnostics.filter((d) => d.severity !== 'warning');
  const diagRows = [...errors, ...warnings].map(
    (d) => `<tr${d.severity === 'error' ? ' class="bad"' : ''}><td class="${d.severity === 'error' ? '' : 'warn'}">${html(d.severity)}</td>
<td class="val">${html(`${d.file}:${d.line}:${d.column}`)}</td><td>${html(d.message)}</td><td class="mono">${html(d.option ?? '')}</td></tr>`,
  );
  const table =
    diagRows.length === 0
      ? '<p class="muted">No compiler warnings.</p>'
      : `<table><thead><tr><th>Severity</th><th>Where</th><th>Message</th><th>Option</th></tr></thead><tbody>${diagRows.join('\n')}</tbody></table>`;
  const log = build.log.trim() === '' ? '' : `<details><summary>compiler output</summary><pre>${html(build.log)}</pre></details>`;
  return `<h3>Build</h3><p>${build.ok ? 'built' : '<strong>failed</strong>'}${build.compiled ? '' : ' (up to date, not recompiled)'} in ${html(formatDuration(build.durationMs))}
${build.vermagic ? ` · vermagic <code>${html(build.vermagic)}</code>` : ''}${build.sha256 ? ` · sha256 <code>${html(build.sha256.slice(0, 16))}…</code>` : ''}</p>${table}${log}`;
}

function countersBlock(stage: StageResult): string {
  const readings = stage.readings;
  if (readings.length === 0) return '';
  const names = new Set<string>(COUNTERS.filter((c) => readings.some((r) => c in (r.statistics ?? {}))));
  for (const r of readings) for (const [k, v] of Object.entries(r.statistics ?? {})) if (v !== 0) names.add(k);
  const labels = readings.map((r) => r.at);
  const head = labels.map((l) => `<th class="num">${html(l)}</th>`).join('');
  // Counters that stayed 0 say something ("untouched") but need no row each.
  const zero = [...names].filter((n) => readings.every((r) => (r.statistics?.[n] ?? 0) === 0));
  const rows = [...names].filter((n) => !zero.includes(n)).map((name) => {
    const values = readings.map((r) => r.statistics?.[name]);
    const first = values.find((v) => v !== undefined);
    const last = [...values].reverse().find((v) => v !== undefined);
    const delta = first === undefined || last === undefined ? '' : `${last - first > 0 ? '+' : ''}${last - first}`;
    return `<tr><td class="mono">${html(name)}</td>${values.map((v) => `<td class="num">${v ?? '—'}</td>`).join('')}
<td class="num"><strong>${delta}</strong></td><td>${sparkBars(values, labels)}</td></tr>`;
  });
  const zeroLine = zero.length === 0 ? '' : `<p class="muted">0 in every reading: ${zero.map((z) => `<code>${html(z)}</code>`).join(', ')}</p>`;
  const counters =
    rows.length === 0
      ? zeroLine
      : `<table class="counters"><thead><tr><th>Counter</th>${head}<th class="num">Δ</th><th>Chart</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${zeroLine}`;
  const iface = readings.map(
    (r) => `<tr><td>${html(r.at)}</td><td class="mono">${html(r.address ?? '—')}</td><td class="mono">${r.flags === undefined ? '—' : `0x${r.flags.toString(16)}`} ${html((r.flagNames ?? []).join(' '))}</td>
<td class="num">${r.mtu ?? '—'}</td><td>${html(r.operstate ?? '—')}</td></tr>`,
  );
  return `<h3>Counters</h3>${counters}
<h3>Interface</h3><table><thead><tr><th>Reading</th><th>Address</th><th>Flags</th><th class="num">MTU</th><th>State</th></tr></thead><tbody>${iface.join('\n')}</tbody></table>`;
}

function pingBlock(stage: StageResult): string {
  if (stage.pings.length === 0 && stage.rttsMs.length === 0) return '';
  const rows = stage.pings.map(
    (p) => `<tr><td class="mono">${html(p.target)}</td><td class="num">${p.received}/${p.transmitted}</td>
<td class="num">${p.lossPercent}%</td><td class="num">${p.rttMinMs ?? '—'}</td><td class="num">${p.rttAvgMs ?? '—'}</td><td class="num">${p.rttMaxMs ?? '—'}</td></tr>`,
  );
  const table =
    rows.length === 0
      ? ''
      : `<table><thead><tr><th>Ping</th><th class="num">Received</th><th class="num">Loss</th><th class="num">Min ms</th><th class="num">Avg ms</th><th class="num">Max ms</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
  const med = median(stage.rttsMs);
  const p95 = percentile(stage.rttsMs, 95);
  const rtt =
    stage.rttsMs.length === 0
      ? ''
      : `<h3>Round-trip times</h3><p class="muted">${stage.rttsMs.length} replies · median ${med?.toFixed(3)} ms · p95 ${p95?.toFixed(3)} ms</p>${rttPlot(stage.rttsMs)}`;
  return `<h3>Ping</h3>${table}${rtt}`;
}

function stepsBlock(stage: StageResult): string {
  if (stage.steps.length === 0) return '';
  const max = Math.max(1, ...stage.steps.map((s) => s.durationMs));
  const rows = stage.steps.map(
    (s) => `<tr><td>${html(s.name)}</td><td class="num">${html(formatDuration(s.durationMs))}</td>
<td style="width:50%"><span class="bar" style="width:${((Math.max(0, s.durationMs) / max) * 100).toFixed(1)}%"></span></td></tr>`,
  );
  return `<h3>Steps</h3><table><tbody>${rows.join('\n')}</tbody></table>`;
}

const BAD_STAGE: readonly StageVerdict[] = STAGE_VERDICTS.filter((v) => v !== 'pass');

// Failed and errored checks, one line per distinct text: a stage the harness
// could not exercise errs every check with the same words.
function failedChecks(checks: readonly CheckResult[]): string[] {
  const groups = new Map<string, CheckResult[]>();
  for (const c of checks) {
    if (c.verdict !== 'fail' && c.verdict !== 'error') continue;
    const key = `${c.verdict}\n${checkFailureText(c)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as CheckResult;
    const ids = group.map((c) => `<code>${html(c.id)}</code>`).join(', ');
    return `<li>${badge(first.verdict)} ${ids} ${html(checkFailureText(first))}</li>`;
  });
}

/**
 * What went wrong, before anything else on the page: each stage that ended
 * badly with its reason, each failed check in the words every report uses,
 * each kernel report (linked to the console), each infrastructure error.
 */
function failuresSection(results: RunResults, located: readonly LocatedEvent[]): string {
  const items: string[] = [];
  let offset = 0;
  for (const s of results.stages) {
    const events = located.slice(offset, offset + s.kernelEvents.length);
    offset += s.kernelEvents.length;
    if (!BAD_STAGE.includes(s.verdict)) continue;
    const at = `<a href="#stage-${s.stage}">stage ${s.stage}</a>`;
    const checks = failedChecks(s.checks);
    const reports = events.map((l) => {
      const where = l.line === undefined ? '' : ` · <a href="#console-ev-${l.index}">console line ${l.line + 1}</a>`;
      return `<li><strong>${html(l.event.class)}</strong>${l.event.fatal ? ' (fatal)' : ''} <span class="mono">${html(l.event.firstLine)}</span>${where}</li>`;
    });
    // A failed stage's reason repeats its first check: the list says it.
    const reason = s.reason && s.verdict !== 'fail' ? `<p class="reason">${html(s.reason)}</p>` : '';
    items.push(`<div class="failure"><h3>${at} ${badge(s.verdict)} ${html(s.title)}</h3>${reason}${
      checks.length + reports.length > 0 ? `<ul>${[...checks, ...reports].join('\n')}</ul>` : ''
    }</div>`);
  }
  for (const e of results.errors) items.push(`<div class="failure"><h3>${badge('error')} infrastructure</h3><pre class="reason">${html(e)}</pre></div>`);
  return items.length === 0 ? '' : `<h2 id="failures">Failures</h2>\n${items.join('\n')}`;
}

function stageSection(stage: StageResult, located: readonly LocatedEvent[]): string {
  const reason = stage.reason && stage.verdict !== 'pass' ? `<p class="reason">${html(stage.reason)}</p>` : '';
  const recovered = stage.recovered ? '<p class="muted">The board was power-cycled during this stage: it was found dirty before the steps, or a fault ended them.</p>' : '';
  const dmesg =
    stage.dmesg.length === 0
      ? '<p class="muted">dmesg delta: empty.</p>'
      : `<details${stage.verdict === 'pass' ? '' : ' open'}><summary>dmesg delta (${stage.dmesg.length} line${stage.dmesg.length === 1 ? '' : 's'})</summary><pre>${html(stage.dmesg.join('\n'))}</pre></details>`;
  const body = `<h3>Checks</h3>${checksBlock(stage)}
${eventsBlock(located)}
${buildBlock(stage)}
<div>${countersBlock(stage)}</div>
${pingBlock(stage)}
${stepsBlock(stage)}
<h3>Kernel log</h3>${dmesg}`;
  // A stage that passed cleanly is folded: the page leads with what went wrong.
  const clean = stage.verdict === 'pass' && stage.kernelEvents.length === 0;
  return `<section id="stage-${stage.stage}">
<h2>Stage ${stage.stage}: ${html(stage.title)} ${badge(stage.verdict)}</h2>
<p class="muted">started ${html(stage.startedAt)} · ${html(formatDuration(stage.durationMs))}</p>
${reason}${recovered}
${clean ? `<details class="stage"><summary>details of the stage (${stage.checks.length} checks passed)</summary>\n${body}\n</details>` : body}
</section>`;
}

/** Renders report.html from the results and the console transcript. */
/** An interrupted run and the warnings that limit its verdict, before anything else. */
function limits(results: RunResults): string {
  const items = [
    ...(results.incomplete
      ? [`INCOMPLETE: the run was stopped by ${results.incomplete.signal} after ${(results.incomplete.afterMs / 1000).toFixed(1)} s; this is what was gathered until then`]
      : []),
    ...(results.warnings ?? []).map((w) => `warning: ${w}`),
  ];
  if (items.length === 0) return '';
  return `<section id="limits">${items.map((i) => `<p class="failure"><strong>${html(i)}</strong></p>`).join('\n')}</section>`;
}

export function renderHtml(results: RunResults, consoleTranscript = ''): string {
  const allEvents = results.stages.flatMap((s) => s.kernelEvents);
  const consoleHtml = renderConsoleHtml(consoleTranscript, allEvents);
  let offset = 0;
  const sections = results.stages.map((s) => {
    const located = consoleHtml.located.slice(offset, offset + s.kernelEvents.length);
    offset += s.kernelEvents.length;
    return stageSection(s, located);
  });
  const failures = failuresSection(results, consoleHtml.located);
  const found = consoleHtml.located.filter((l) => l.line !== undefined).length;
  const consoleSection =
    consoleTranscript === ''
      ? '<h2 id="console">Console log</h2><p class="muted">No console transcript was captured.</p>'
      : `<h2 id="console">Console log</h2><p class="muted">${consoleHtml.lineCount} lines${allEvents.length > 0 ? ` · ${found} of ${allEvents.length} kernel events located and highlighted` : ''} · the raw file is console.log</p>
<pre class="console">${consoleHtml.body}</pre>`;
  const verdict = results.verdict as StageVerdict;
  const body = `<header>
<h1>vnet-harness run ${html(results.runId)} ${badge(verdict, true)}</h1>
${facts(results)}
</header>
${limits(results)}
${failures}
<h2 id="summary">Summary</h2>
${summaryTable(results)}
${sections.join('\n')}
${consoleSection}
<footer>Generated by vnet-harness ${html(results.harnessVersion)} from results.json (schema ${html(String(results.schema))}).</footer>`;
  return page(`vnet-harness ${results.runId}: ${results.verdict}`, body);
}
