// `vnet-harness compare <runA> <runB>`: loads both runs, prints the
// comparison, writes it beside the runs, and answers with an exit code CI can
// use: 1 regression, 0 none, 2 when an input cannot be read.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode } from '../errors.ts';
import { writeFileAtomic } from '../reporters/files.ts';
import { loadResults } from '../reporters/load-results.ts';
import { compareRuns, type CompareOptions, type Comparison } from './compare.ts';
import { renderComparisonHtml } from './render-html.ts';
import { renderComparisonJson } from './render-json.ts';
import { renderComparisonMarkdown } from './render-markdown.ts';
import { resolveRun } from './resolve.ts';

export type CompareFormat = 'markdown' | 'html' | 'json';

export interface CompareCommandOptions extends CompareOptions {
  /** Run A (baseline): a results.json path, a run folder, or a run id under reportsRoot. */
  a: string;
  /** Run B (the change), same forms. */
  b: string;
  /** Output format (default markdown). */
  format?: CompareFormat;
  /** Where to write the report (default `<reportsRoot>/compare-<idA>-vs-<idB>.<ext>`). */
  out?: string;
  reportsRoot: string;
  /** Where the report goes (default process.stdout). */
  stdout?: (text: string) => void;
  /** Where messages go (default process.stderr). */
  stderr?: (text: string) => void;
}

const EXT: Record<CompareFormat, string> = { markdown: 'md', html: 'html', json: 'json' };

// Run ids come from files: keep them to characters every file system takes.
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'run';
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
  try {
    const [fileA, fileB] = await Promise.all([resolveRun(options.a, options.reportsRoot), resolveRun(options.b, options.reportsRoot)]);
    const [a, b] = await Promise.all([loadResults(fileA), loadResults(fileB)]);
    comparison = compareRuns(a, b, options);
  } catch (error) {
    stderr(`compare: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.infrastructure;
  }
  const text =
    format === 'html' ? renderComparisonHtml(comparison) : format === 'json' ? renderComparisonJson(comparison) : renderComparisonMarkdown(comparison);
  stdout(text);
  const out =
    options.out ?? path.join(options.reportsRoot, `compare-${safeId(comparison.a.runId)}-vs-${safeId(comparison.b.runId)}.${EXT[format]}`);
  try {
    await mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await writeFileAtomic(path.resolve(out), text);
    stderr(`compare: report written to ${out}\n`);
  } catch (error) {
    stderr(`compare: cannot write ${out}: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.infrastructure;
  }
  return comparison.regression ? ExitCode.checkFailed : ExitCode.ok;
}
