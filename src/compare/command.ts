// `vnet-harness compare <runA> <runB>`: loads both runs, prints the
// comparison as text, writes it (Markdown, HTML or JSON) beside run B, and
// answers with an exit code CI can use: 1 regression, 0 none, 2 when an
// input cannot be read.

import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode } from '../errors.ts';
import { loadResults } from '../reporters/load-results.ts';
import { writeFileAtomic } from '../util/files.ts';
import { compareRuns, type CompareOptions, type Comparison } from './compare.ts';
import { renderComparisonHtml } from './render-html.ts';
import { renderComparisonJson } from './render-json.ts';
import { renderComparisonMarkdown } from './render-markdown.ts';
import { renderComparisonText } from './render-text.ts';
import { resolveRun } from './resolve.ts';

export type CompareFormat = 'markdown' | 'html' | 'json';

export interface CompareCommandOptions extends CompareOptions {
  /** Run A (baseline): a results.json path, a run folder, or a run id under reportsRoot. */
  a: string;
  /** Run B (the change), same forms. */
  b: string;
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
    const files = await Promise.all([resolveRun(options.a, options.reportsRoot), resolveRun(options.b, options.reportsRoot)]);
    fileB = files[1];
    const [a, b] = await Promise.all([loadResults(files[0]), loadResults(fileB)]);
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
