// Writes every report of a run into its folder. Each reporter is called on
// its own, Playwright style: one that throws is recorded in `errors` and the
// others still write, so a reporter bug never costs a run its results.json.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RunResults } from '../results/model.ts';
import { replaceSymlink, writeFileAtomic } from '../util/files.ts';
import { renderConsole } from './console.ts';
import { renderHtml } from './html.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { buildRunIndex } from './run-index.ts';

export { renderConsole, renderHtml, renderJson, renderJunit, renderMarkdown };

export interface WriteReportsOptions {
  /** The run's folder, e.g. reports/<run-id>; created when missing. */
  outDir: string;
  /** The board's console transcript for console.log and report.html. */
  consoleTranscript?: string;
  /** The reports folder: when given, `latest` and `index.html` there are updated. */
  reportsRoot?: string;
  /** The directory CI resolves junit.xml's attachment paths against (default: the current directory). */
  ciDir?: string;
}

export interface ReporterFailure {
  /** Which reporter or step failed: "json", "junit", "html", "markdown", "console", "latest", "index". */
  reporter: string;
  file: string;
  message: string;
}

export interface WriteReportsResult {
  /** Absolute paths of the files written, in order. */
  files: string[];
  errors: ReporterFailure[];
}

interface Reporter {
  name: string;
  file: string;
  render: () => string | Promise<string>;
}

// A path CI can open: relative to where the CI job runs when the file is below
// it (GitLab accepts only those), absolute otherwise.
function attachmentPath(file: string, ciDir: string): string {
  const relative = path.relative(path.resolve(ciDir), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Rewrites `reportsRoot`/index.html from what the folder holds now; also for
 * files written after a run's reports (the comparison of `run --baseline`).
 */
export async function writeRunIndex(reportsRoot: string): Promise<string> {
  const index = path.join(path.resolve(reportsRoot), 'index.html');
  await writeFileAtomic(index, await buildRunIndex(reportsRoot));
  return index;
}

/** Writes results.json, junit.xml, report.html, summary.md and console.log; updates latest and index.html. */
export async function writeReports(results: RunResults, options: WriteReportsOptions): Promise<WriteReportsResult> {
  const outDir = path.resolve(options.outDir);
  const transcript = options.consoleTranscript ?? '';
  // console.log is always written beside results.json, so the field says so.
  const model: RunResults = { ...results, consoleLog: 'console.log' };
  const out: WriteReportsResult = { files: [], errors: [] };
  await mkdir(outDir, { recursive: true });
  const consoleLogPath = attachmentPath(path.join(outDir, 'console.log'), options.ciDir ?? process.cwd());

  const reporters: Reporter[] = [
    { name: 'json', file: 'results.json', render: () => renderJson(model) },
    { name: 'junit', file: 'junit.xml', render: () => renderJunit(model, { consoleLogPath }) },
    { name: 'html', file: 'report.html', render: () => renderHtml(model, transcript) },
    { name: 'markdown', file: 'summary.md', render: () => renderMarkdown(model) },
    { name: 'console', file: 'console.log', render: () => renderConsole(options.consoleTranscript) },
  ];
  for (const reporter of reporters) {
    const file = path.join(outDir, reporter.file);
    try {
      await writeFileAtomic(file, await reporter.render());
      out.files.push(file);
    } catch (error) {
      out.errors.push({ reporter: reporter.name, file, message: describe(error) });
    }
  }

  if (options.reportsRoot !== undefined) {
    const root = path.resolve(options.reportsRoot);
    const latest = path.join(root, 'latest');
    try {
      await mkdir(root, { recursive: true });
      await replaceSymlink(latest, outDir);
    } catch (error) {
      out.errors.push({ reporter: 'latest', file: latest, message: describe(error) });
    }
    const index = path.join(root, 'index.html');
    try {
      await writeRunIndex(root);
      out.files.push(index);
    } catch (error) {
      out.errors.push({ reporter: 'index', file: index, message: describe(error) });
    }
  }
  return out;
}
