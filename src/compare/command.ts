// `vnet-harness compare <runA> <runB>`: loads both runs, prints the
// comparison as text, writes it (Markdown, HTML or JSON) beside run B, and
// answers with an exit code CI can use: 1 regression, 0 none, 2 when an
// input cannot be read.

import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, HarnessError } from '../errors.ts';
import { loadHistory } from '../reporters/load-history.ts';
import { loadResults } from '../reporters/load-results.ts';
import { entryDir, lastGood, previousRun, seriesOf } from '../results/history.ts';
import type { RunResults } from '../results/model.ts';
import { writeFileAtomic } from '../util/files.ts';
import { compareRuns, type CompareOptions, type Comparison } from './compare.ts';
import { renderComparisonHtml } from './render-html.ts';
import { renderComparisonJson } from './render-json.ts';
import { renderComparisonMarkdown } from './render-markdown.ts';
import { renderComparisonText } from './render-text.ts';
import { resolveRun } from './resolve.ts';

export type CompareFormat = 'markdown' | 'html' | 'json';

export interface CompareCommandOptions extends CompareOptions {
  /** Run A (baseline): a results.json path, a run folder, or a run id under reportsRoot; with `against`, the run to compare (default latest). */
  a?: string;
  /** Run B (the change), same forms; not with `against`. */
  b?: string;
  /** Compare run `a` with the last good run, or the run before it, of its board and transport in reportsRoot's history.json. */
  against?: 'last-good' | 'previous';
  /** Output format (default markdown). */
  format?: CompareFormat;
  /** Where to write the report: a file (default `compare-<idA>-vs-<idB>.<ext>` beside run B's folder), or `-` for stdout. */
  out?: string;
  reportsRoot: string;
  /** Where the text summary goes, or the report itself with `out: '-'` (default process.stdout). */
  stdout?: (text: string) => void;
  /** Where messages go (default process.stderr). */
  stderr?: (text: string) => void;
}

const EXT: Record<CompareFormat, string> = { markdown: 'md', html: 'html', json: 'json' };

// Run ids come from files: keep them to characters every file system takes.
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'run';
}

// The folder run B sits in: reports/ for reports/<id>/results.json (where
// reports/index.html lists comparisons), the file's own folder for a results
// file named otherwise. Links (`latest`) are followed to the real run.
async function besideRun(resultsFile: string): Promise<string> {
  const real = await realpath(resultsFile).catch(() => path.resolve(resultsFile));
  const dir = path.dirname(real);
  return path.basename(real) === 'results.json' ? path.dirname(dir) : dir;
}

/** The results.json of the run `against` names for run `b`, from the reports folder's history.json. */
async function fromHistory(against: 'last-good' | 'previous', b: RunResults, reportsRoot: string): Promise<string> {
  const file = path.join(path.resolve(reportsRoot), 'history.json');
  const history = await loadHistory(file);
  const series = seriesOf(b.board);
  const entry = against === 'last-good' ? lastGood(history, series, b.runId) : previousRun(history, series, b.runId);
  if (!entry) {
    const what = against === 'last-good' ? 'no good run' : 'no run';
    throw new HarnessError(`${what} of ${series} before ${b.runId} in ${file} (${history.runs.length} run${history.runs.length === 1 ? '' : 's'} in it): nothing to compare against`);
  }
  return path.join(entryDir(path.dirname(file), entry), 'results.json');
}

/** Runs the compare command; returns the exit code (0 no regression, 1 regression, 2 unreadable input). */
export async function compareCommand(options: CompareCommandOptions): Promise<number> {
  const stdout = options.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = options.stderr ?? ((t: string) => void process.stderr.write(t));
  const format = options.format ?? 'markdown';
  if (!(format in EXT)) {
    stderr(`compare: unknown format "${format}" (expected markdown, html or json)\n`);
    return ExitCode.infrastructure;
  }
  let comparison: Comparison;
  let fileB: string;
  try {
    let a: RunResults;
    let b: RunResults;
    if (options.against !== undefined) {
      if (options.b !== undefined) throw new HarnessError(`with --against ${options.against}, name one run (the one to compare, default latest), not two`);
      fileB = await resolveRun(options.a ?? 'latest', options.reportsRoot);
      b = await loadResults(fileB);
      const fileA = await fromHistory(options.against, b, options.reportsRoot);
      stderr(`compare: ${b.runId} against ${options.against === 'last-good' ? 'the last good run' : 'the run before it'} of ${seriesOf(b.board)}: ${fileA}\n`);
      a = await loadResults(fileA);
    } else {
      if (options.a === undefined || options.b === undefined) throw new HarnessError('name two runs (baseline, then change), or one with --against last-good');
      const files = await Promise.all([resolveRun(options.a, options.reportsRoot), resolveRun(options.b, options.reportsRoot)]);
      fileB = files[1];
      [a, b] = await Promise.all([loadResults(files[0]), loadResults(fileB)]);
    }
    comparison = compareRuns(a, b, options);
  } catch (error) {
    stderr(`compare: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.infrastructure;
  }
  const report =
    format === 'html' ? renderComparisonHtml(comparison) : format === 'json' ? renderComparisonJson(comparison) : renderComparisonMarkdown(comparison);
  if (options.out === '-') {
    stdout(report);
  } else {
    stdout(renderComparisonText(comparison));
    const out = options.out ?? path.join(await besideRun(fileB), `compare-${safeId(comparison.a.runId)}-vs-${safeId(comparison.b.runId)}.${EXT[format]}`);
    try {
      await mkdir(path.dirname(path.resolve(out)), { recursive: true });
      await writeFileAtomic(path.resolve(out), report);
      stderr(`compare: report written to ${out}\n`);
    } catch (error) {
      stderr(`compare: cannot write ${out}: ${error instanceof Error ? error.message : String(error)}\n`);
      return ExitCode.infrastructure;
    }
  }
  return comparison.regression ? ExitCode.checkFailed : ExitCode.ok;
}
