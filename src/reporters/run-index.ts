// reports/index.html: every run under the reports folder with its verdict,
// newest first, read from each run's results.json. A run whose results cannot
// be read is listed as such with the reason; it never breaks the page.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunResults } from '../results/model.ts';
import { badge, page } from './html.ts';
import { loadResults } from './load-results.ts';
import { formatDuration, html } from './text.ts';

export type IndexEntry =
  | { dir: string; ok: true; results: RunResults; sortKey: number }
  | { dir: string; ok: false; problem: string; sortKey: number };

/** Reads every run folder directly under `reportsRoot` (symlinks such as `latest` are skipped). */
export async function scanRuns(reportsRoot: string): Promise<IndexEntry[]> {
  const entries = await readdir(reportsRoot, { withFileTypes: true });
  const runs: IndexEntry[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(reportsRoot, entry.name);
    const mtime = (await stat(dir)).mtimeMs;
    try {
      const results = await loadResults(path.join(dir, 'results.json'));
      const started = Date.parse(results.startedAt);
      runs.push({ dir: entry.name, ok: true, results, sortKey: Number.isNaN(started) ? mtime : started });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      runs.push({ dir: entry.name, ok: false, problem: message.replace(`${dir}${path.sep}`, ''), sortKey: mtime });
    }
  }
  return runs.sort((a, b) => b.sortKey - a.sortKey || b.dir.localeCompare(a.dir));
}

// "2025-11-25T08:30:15.000Z" → "2025-11-25 08:30:15 UTC"; anything else as it is.
function readableTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function href(...parts: string[]): string {
  return html(parts.map(encodeURIComponent).join('/'));
}

/** Renders the index page from scanned runs and the comparison files found beside them. */
export function renderRunIndex(runs: readonly IndexEntry[], comparisons: readonly string[] = []): string {
  const rows = runs.map((r) => {
    if (!r.ok) {
      return `<tr class="bad"><td class="mono">${html(r.dir)}</td><td colspan="6"><strong>unreadable:</strong> ${html(r.problem)}</td></tr>`;
    }
    const x = r.results;
    const stages = x.stages.map((s) => `<span class="nowrap" title="stage ${s.stage}: ${html(s.verdict)}">${s.stage}&nbsp;${badge(s.verdict)}</span>`).join(' ');
    const rev = x.driver.gitRevision ? `${x.driver.gitRevision.slice(0, 12)}${x.driver.gitDirty ? ' (dirty)' : ''}` : x.driver.contentHash.slice(0, 12);
    return `<tr${x.verdict === 'pass' ? '' : ' class="bad"'}><td class="nowrap"><a href="${href(r.dir, 'report.html')}">${html(x.runId)}</a></td>
<td class="nowrap">${html(readableTime(x.startedAt))}</td><td>${badge(x.verdict)}</td><td>${stages}</td><td class="nowrap">${html(x.board.name)}</td><td class="mono">${html(rev)}</td>
<td class="num">${html(formatDuration(x.durationMs))}</td></tr>`;
  });
  const table =
    runs.length === 0
      ? '<p class="muted">No runs yet.</p>'
      : `<table id="runs"><thead><tr><th>Run</th><th>Started</th><th>Verdict</th><th>Stages</th><th>Board</th><th>Driver</th><th class="num">Duration</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
  const compare =
    comparisons.length === 0
      ? ''
      : `<h2>Comparisons</h2><ul>${comparisons.map((c) => `<li><a href="${href(c)}">${html(c)}</a></li>`).join('')}</ul>`;
  return page('vnet-harness runs', `<h1>vnet-harness runs</h1>
<p class="muted">${runs.length} run${runs.length === 1 ? '' : 's'}, newest first. <a href="latest/report.html">latest run</a></p>
${table}
${compare}`);
}

/** Scans `reportsRoot` and renders its index.html. */
export async function buildRunIndex(reportsRoot: string): Promise<string> {
  const runs = await scanRuns(reportsRoot);
  const files = await readdir(reportsRoot, { withFileTypes: true });
  const comparisons = files
    .filter((f) => f.isFile() && /^compare-.*\.(html|md|json)$/.test(f.name))
    .map((f) => f.name)
    .sort();
  return renderRunIndex(runs, comparisons);
}
