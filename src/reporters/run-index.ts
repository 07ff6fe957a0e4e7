// reports/index.html: every run under the reports folder with its verdict,
// newest first, read from each run's results.json, and beside each run the
// comparison `run --baseline` wrote into its folder (compare.json/.html/.md).
// A run whose results cannot be read is listed as such with the reason; it
// never breaks the page.

import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { HistoryFile } from '../results/history.ts';
import type { RunResults } from '../results/model.ts';
import { renderHistorySection } from './history-html.ts';
import { badge, page } from './html.ts';
import { loadHistory } from './load-history.ts';
import { loadResults } from './load-results.ts';
import { formatDuration, html } from './text.ts';

/** The comparison of a run with its baseline, as `run --baseline` left it in the run's folder. */
export interface RunComparison {
  /** The page to open, relative to the run's folder: compare.html, else compare.md, else compare.json. */
  file: string;
  /** From compare.json, when it could be read. */
  regression?: boolean;
  baselineRunId?: string;
  /** The baseline's report.html relative to the reports folder, when it is there (run --out puts it in baseline/). */
  baselineReport?: string;
  /** Why compare.json could not be read, when it could not. */
  problem?: string;
}

export type IndexEntry =
  | { dir: string; ok: true; results: RunResults; sortKey: number; comparison?: RunComparison }
  | { dir: string; ok: false; problem: string; sortKey: number };

const COMPARE_PAGES = ['compare.html', 'compare.md', 'compare.json'];

// Reads only what the index shows from compare.json; the rest of its format is compare's business.
async function readComparison(dir: string): Promise<RunComparison | undefined> {
  const file = COMPARE_PAGES.find((f) => existsSync(path.join(dir, f)));
  if (!file) return undefined;
  if (!existsSync(path.join(dir, 'compare.json'))) return { file };
  try {
    const data = JSON.parse(await readFile(path.join(dir, 'compare.json'), 'utf8')) as { regression?: unknown; a?: { runId?: unknown } };
    return {
      file,
      ...(typeof data.regression === 'boolean' ? { regression: data.regression } : {}),
      ...(typeof data.a?.runId === 'string' ? { baselineRunId: data.a.runId } : {}),
    };
  } catch (error) {
    return { file, problem: `compare.json: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** A board matrix folder (matrix.json, junit.xml, summary.md) as the index lists it. */
export interface MatrixIndexEntry {
  dir: string;
  sortKey: number;
  matrixId?: string;
  verdict?: string;
  exitCode?: number;
  /** `qemu-imx25/ssh: pass`, one per run. */
  runs: string[];
  problem?: string;
}

/** Reads the board matrix folders directly under `reportsRoot` (those with a matrix.json and no results.json). */
export async function scanMatrices(reportsRoot: string): Promise<MatrixIndexEntry[]> {
  const out: MatrixIndexEntry[] = [];
  for (const entry of await readdir(reportsRoot, { withFileTypes: true })) {
    const dir = path.join(reportsRoot, entry.name);
    if (!entry.isDirectory() || !isMatrixFolder(dir)) continue;
    const sortKey = (await stat(dir)).mtimeMs;
    try {
      const m = JSON.parse(await readFile(path.join(dir, 'matrix.json'), 'utf8')) as {
        matrixId?: unknown;
        startedAt?: unknown;
        verdict?: unknown;
        exitCode?: unknown;
        entries?: { board?: unknown; transport?: unknown; verdict?: unknown }[];
      };
      const started = typeof m.startedAt === 'string' ? Date.parse(m.startedAt) : NaN;
      out.push({
        dir: entry.name,
        sortKey: Number.isNaN(started) ? sortKey : started,
        ...(typeof m.matrixId === 'string' ? { matrixId: m.matrixId } : {}),
        ...(typeof m.verdict === 'string' ? { verdict: m.verdict } : {}),
        ...(typeof m.exitCode === 'number' ? { exitCode: m.exitCode } : {}),
        runs: (Array.isArray(m.entries) ? m.entries : []).map((e) => `${String(e.board)}/${String(e.transport)}: ${String(e.verdict)}`),
      });
    } catch (error) {
      out.push({ dir: entry.name, sortKey, runs: [], problem: `matrix.json: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  return out.sort((a, b) => b.sortKey - a.sortKey || b.dir.localeCompare(a.dir));
}

// A board matrix's folder holds views of its runs, not a run of its own.
function isMatrixFolder(dir: string): boolean {
  return existsSync(path.join(dir, 'matrix.json')) && !existsSync(path.join(dir, 'results.json'));
}

/** Reads every run folder directly under `reportsRoot` (symlinks such as `latest`, and board matrix folders, are skipped). */
export async function scanRuns(reportsRoot: string): Promise<IndexEntry[]> {
  const entries = await readdir(reportsRoot, { withFileTypes: true });
  const runs: IndexEntry[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(reportsRoot, entry.name);
    if (isMatrixFolder(dir)) continue;
    const mtime = (await stat(dir)).mtimeMs;
    try {
      const results = await loadResults(path.join(dir, 'results.json'));
      const started = Date.parse(results.startedAt);
      const comparison = await readComparison(dir);
      runs.push({ dir: entry.name, ok: true, results, sortKey: Number.isNaN(started) ? mtime : started, ...(comparison ? { comparison } : {}) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      runs.push({ dir: entry.name, ok: false, problem: message.replace(`${dir}${path.sep}`, ''), sortKey: mtime });
    }
  }
  // The baseline's report: a run of this folder, or the baseline/ folder `run --out` made.
  for (const run of runs) {
    const c = run.ok ? run.comparison : undefined;
    if (!c?.baselineRunId) continue;
    const sibling = runs.find((r) => r.ok && r.results.runId === c.baselineRunId);
    if (sibling) c.baselineReport = `${sibling.dir}/report.html`;
    else if (existsSync(path.join(reportsRoot, run.dir, 'baseline', 'report.html'))) c.baselineReport = `${run.dir}/baseline/report.html`;
  }
  return runs.sort((a, b) => b.sortKey - a.sortKey || b.dir.localeCompare(a.dir));
}

// "2025-11-25T08:30:15.000Z" → "2025-11-25 08:30:15 UTC"; anything else as it is.
function readableTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function href(...parts: string[]): string {
  return html(parts.flatMap((p) => p.split('/')).map(encodeURIComponent).join('/'));
}

// The comparison cell of a run: its verdict, linked to the page, and the baseline it was compared with.
function comparisonCell(dir: string, c: RunComparison | undefined): string {
  if (!c) return '<td class="muted">—</td>';
  const verdict = c.regression === undefined ? 'comparison' : c.regression ? 'regression' : 'no regression';
  const cls = c.regression === undefined ? '' : c.regression ? ' class="bad-text"' : ' class="good-text"';
  const base = c.baselineRunId
    ? ` vs ${c.baselineReport ? `<a href="${href(c.baselineReport)}">${html(c.baselineRunId)}</a>` : html(c.baselineRunId)}`
    : '';
  const problem = c.problem ? ` <span class="muted">(${html(c.problem)})</span>` : '';
  return `<td><a${cls} href="${href(dir, c.file)}">${html(verdict)}</a>${base}${problem}</td>`;
}

/** history.json as the index shows it: the history, or why it cannot be read. */
export interface IndexHistory {
  history?: HistoryFile;
  problem?: string;
}

/** Renders the index page from scanned runs, the comparison files found beside them and the run history. */
export function renderRunIndex(runs: readonly IndexEntry[], comparisons: readonly string[] = [], history: IndexHistory = {}, matrices: readonly MatrixIndexEntry[] = []): string {
  const rows = runs.map((r) => {
    if (!r.ok) {
      return `<tr class="bad"><td class="mono">${html(r.dir)}</td><td colspan="7"><strong>unreadable:</strong> ${html(r.problem)}</td></tr>`;
    }
    const x = r.results;
    const stages = x.stages.map((s) => `<span class="nowrap" title="stage ${s.stage}: ${html(s.verdict)}">${s.stage}&nbsp;${badge(s.verdict)}</span>`).join(' ');
    const rev = x.driver.gitRevision ? `${x.driver.gitRevision.slice(0, 12)}${x.driver.gitDirty ? ' (dirty)' : ''}` : x.driver.contentHash.slice(0, 12);
    return `<tr${x.verdict === 'pass' ? '' : ' class="bad"'}><td class="nowrap"><a href="${href(r.dir, 'report.html')}">${html(x.runId)}</a></td>
<td class="nowrap">${html(readableTime(x.startedAt))}</td><td>${badge(x.verdict)}</td><td>${stages}</td><td class="nowrap">${html(x.board.name)}</td><td class="mono">${html(rev)}</td>
<td class="num">${html(formatDuration(x.durationMs))}</td>${comparisonCell(r.dir, r.comparison)}</tr>`;
  });
  const table =
    runs.length === 0
      ? '<p class="muted">No runs yet.</p>'
      : `<table id="runs"><thead><tr><th>Run</th><th>Started</th><th>Verdict</th><th>Stages</th><th>Board</th><th>Driver</th><th class="num">Duration</th><th>Comparison</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
  const compare =
    comparisons.length === 0
      ? ''
      : `<h2>Comparisons</h2><ul>${comparisons.map((c) => `<li><a href="${href(c)}">${html(c)}</a></li>`).join('')}</ul>`;
  return page('vnet-harness runs', `<h1>vnet-harness runs</h1>
<p class="muted">${runs.length} run${runs.length === 1 ? '' : 's'}, newest first. <a href="latest/report.html">latest run</a></p>
${table}
${matricesSection(matrices)}
${renderHistorySection(history.history, history.problem)}
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
  const history = await loadHistory(path.join(reportsRoot, 'history.json')).then(
    (h): IndexHistory => ({ history: h }),
    (error: unknown): IndexHistory => ({ problem: error instanceof Error ? error.message : String(error) }),
  );
  return renderRunIndex(runs, comparisons, history, await scanMatrices(reportsRoot));
}

// Board matrices: each linked to its summary.md and merged junit.xml, with its runs' verdicts.
function matricesSection(matrices: readonly MatrixIndexEntry[]): string {
  if (matrices.length === 0) return '';
  const items = matrices.map((m) => {
    const verdict = m.verdict ? ` ${badge(m.verdict)}` : '';
    const exit = m.exitCode === undefined ? '' : ` <span class="muted">exit ${m.exitCode}</span>`;
    const runs = m.runs.length > 0 ? `: ${html(m.runs.join(', '))}` : '';
    const problem = m.problem ? ` <span class="bad-text">${html(m.problem)}</span>` : '';
    return `<li><a href="${href(m.dir, 'summary.md')}">${html(m.matrixId ?? m.dir)}</a>${verdict}${exit}${runs} · <a href="${href(m.dir, 'junit.xml')}">junit.xml</a>${problem}</li>`;
  });
  return `<h2 id="matrices">Board matrices</h2><ul>${items.join('')}</ul>`;
}
