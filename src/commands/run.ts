// `vnet-harness run`: the stage suites on a board, reports in the run's
// directory. With --rev the driver tree is tested as it was at a git
// revision (from a temporary worktree); with --baseline a second revision
// is run first and the two runs are compared.
import { join, resolve, sep } from 'node:path';
import { checkoutRevision, resolveRevision, type RevisionTree } from '../build/revision.ts';
import { listItems, type CliOptions } from '../cli-options.ts';
import { compareRuns } from '../compare/compare.ts';
import { renderComparisonHtml } from '../compare/render-html.ts';
import { renderComparisonJson } from '../compare/render-json.ts';
import { renderComparisonMarkdown } from '../compare/render-markdown.ts';
import { renderComparisonText } from '../compare/render-text.ts';
import { recordRunFolder } from '../compare/resolve.ts';
import { loadBoard, type BoardConfig, type TransportKind } from '../config/board.ts';
import { appendToHistory, historyPath } from '../history/record.ts';
import { ExitCode, HarnessError } from '../errors.ts';
import { PROJECT_ROOT } from '../paths.ts';
import { writeReports, writeRunIndex } from '../reporters/index.ts';
import type { RunResults } from '../results/model.ts';
import { parseStageList } from '../stages/plan.ts';
import { executeRun, runExitCode, type BoardSession, type RunOutcome } from '../stages/run.ts';
import { writeFileAtomic } from '../util/files.ts';
import { streamProgress, type Progress } from '../util/progress.ts';
import { deferSignals, signalExitCode } from '../util/reaper.ts';

export const REPORTS_ROOT = join(PROJECT_ROOT, 'reports');

/** The options of `vnet-harness run`, as the command line gives them (src/cli-options.ts). */
export type RunCliOptions = CliOptions<'run'>;

export interface OneRun {
  config: BoardConfig;
  stages: number[];
  /** The driver tree as the user named it (absolute). */
  modulesDir: string;
  rev?: string;
  transport?: 'ssh' | 'serial';
  /** The run's folder; default <reportsRoot>/<run-id> (then latest, history.json and index.html there are updated). */
  outDir?: string;
  /** The reports folder (default reports/ of the harness): runs by id, latest, index.html, history.json. */
  reportsRoot?: string;
  /** Stops the run as a signal would (a board matrix's own signal handling); without it the run handles SIGINT/SIGTERM/SIGHUP itself. */
  abort?: AbortSignal;
  progress: Progress;
  /** A board kept open across runs (bisect): used as it is, not closed by this run. */
  session?: BoardSession;
}

export interface RunDone {
  results: RunResults;
  outDir: string;
  exitCode: number;
}

/** Runs the suites (and the baseline and comparison when asked); returns 0/1/2 (pass / check failed or regression / infrastructure). */
export async function runCommand(options: RunCliOptions): Promise<number> {
  const boards = [...new Set(listItems(options.board))];
  const transports = options.transport === undefined ? undefined : [...new Set(listItems(options.transport) as TransportKind[])];
  if (boards.length > 1 || (transports?.length ?? 0) > 1) return matrixRun(options, boards, transports);
  const transport = transports?.[0];
  const config = loadBoard(boards[0] ?? options.board, { boardsDir: options.boardsDir });
  const stages = parseStageList(options.stages);
  const progress = streamProgress();
  const modulesDir = resolve(options.modules);
  const reportsRoot = resolve(options.reportsDir ?? REPORTS_ROOT);
  const common = { config, stages, modulesDir, progress, reportsRoot, ...(transport ? { transport } : {}) };
  const outDir = options.out ? resolve(options.out) : undefined;
  if (options.baseline === undefined) {
    return (await runOnce({ ...common, ...(options.rev !== undefined ? { rev: options.rev } : {}), ...(outDir ? { outDir } : {}) })).exitCode;
  }

  // A bad revision must fail before a board boots, not after the first run.
  const base = await resolveRevision(modulesDir, options.baseline);
  if (options.rev !== undefined) await resolveRevision(modulesDir, options.rev);
  progress.phase(`baseline: ${options.baseline} (${base.commit.slice(0, 12)}) of ${base.repo}`);
  // With --out the baseline goes inside the change's folder, so one folder holds both runs and the comparison.
  const a = await runOnce({ ...common, rev: options.baseline, ...(outDir ? { outDir: join(outDir, 'baseline') } : {}) });
  // An interrupted baseline ends the command: the user asked to stop.
  if (a.results.incomplete) return a.exitCode;
  progress.phase(`change: ${options.rev !== undefined ? `revision ${options.rev}` : `working tree ${modulesDir}`}`);
  const b = await runOnce({ ...common, ...(options.rev !== undefined ? { rev: options.rev } : {}), ...(outDir ? { outDir } : {}) });

  const comparison = compareRuns(a.results, b.results, { perfGate: options.perfGate === true });
  await writeFileAtomic(join(b.outDir, 'compare.md'), renderComparisonMarkdown(comparison));
  await writeFileAtomic(join(b.outDir, 'compare.html'), renderComparisonHtml(comparison));
  await writeFileAtomic(join(b.outDir, 'compare.json'), renderComparisonJson(comparison));
  // The index was written with run B, before its comparison existed.
  if (!outDir) await writeRunIndex(reportsRoot).catch((e: unknown) => process.stderr.write(`cannot refresh ${join(reportsRoot, 'index.html')}: ${String(e)}\n`));
  process.stdout.write(renderComparisonText(comparison));
  process.stdout.write(`comparison written to ${join(b.outDir, 'compare.md')} (.html, .json)\n`);
  // A run the harness could not finish says nothing about the driver: no
  // regression verdict (1) may hide that from CI.
  if (a.exitCode === ExitCode.infrastructure || b.exitCode === ExitCode.infrastructure) {
    process.stderr.write(`error: ${a.exitCode === ExitCode.infrastructure ? `baseline run ${a.results.runId}` : `run ${b.results.runId}`} ended in an infrastructure error: the comparison cannot judge the change\n`);
    return ExitCode.infrastructure;
  }
  return comparison.regression ? ExitCode.checkFailed : b.exitCode;
}

/** `run` over several boards or transports (src/commands/matrix.ts): every entry a run as below. */
async function matrixRun(options: RunCliOptions, boards: string[], transports: TransportKind[] | undefined): Promise<number> {
  if (options.baseline !== undefined) throw new HarnessError('--baseline compares two runs of one board: give one board and one transport with it (a board matrix compares each run with its board\'s history instead)');
  const { loadMatrix, runMatrix, defaultJobs } = await import('./matrix.ts');
  const entries = loadMatrix(boards, transports, options.boardsDir);
  const stages = parseStageList(options.stages);
  const modulesDir = resolve(options.modules);
  if (options.rev !== undefined) await resolveRevision(modulesDir, options.rev);
  const reportsRoot = resolve(options.reportsDir ?? REPORTS_ROOT);
  const done = await runMatrix({
    entries,
    jobs: options.jobs ?? defaultJobs(),
    reportsRoot,
    ...(options.out ? { out: resolve(options.out) } : {}),
    progress: streamProgress(),
    runEntry: (e, x) =>
      runOnce({
        config: e.config,
        stages,
        modulesDir,
        transport: e.transport,
        reportsRoot,
        progress: x.progress,
        abort: x.abort,
        ...(options.rev !== undefined ? { rev: options.rev } : {}),
        ...(x.outDir ? { outDir: x.outDir } : {}),
      }),
  });
  return done.exitCode;
}

/** One run: checks the revision out when asked, runs the suites, writes the reports. */
export async function runOnce(o: OneRun): Promise<RunDone> {
  const tree = o.rev !== undefined ? await checkoutRevision(o.modulesDir, o.rev) : undefined;
  if (tree) o.progress.phase(`driver tree ${o.modulesDir} at ${revLabel(tree)}, checked out in ${tree.worktree}`);
  let outcome: RunOutcome;
  // SIGINT/SIGTERM/SIGHUP: stop, write what was gathered (marked incomplete), exit 128+n; a second signal quits at once.
  const abort = new AbortController();
  const stop = (signal: string): void => {
    o.progress.phase(`${signal}: stopping the run and writing what was gathered (send it again to quit at once)`);
    abort.abort(signal);
  };
  const outer = o.abort;
  const onOuter = (): void => stop(String(outer?.reason));
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  const undefer = outer ? () => outer.removeEventListener('abort', onOuter) : deferSignals(stop);
  try {
    outcome = await executeRun({
      config: o.config,
      modulesDir: tree?.modulesDir ?? o.modulesDir,
      stages: o.stages,
      progress: o.progress,
      ...(o.transport ? { transport: o.transport } : {}),
      ...(o.session ? { session: o.session } : {}),
      abort: abort.signal,
    });
  } catch (error) {
    undefer();
    throw error;
  } finally {
    // The modules built from it stay in the cache, keyed by content: the next run of the same tree reuses them.
    await tree?.remove();
  }
  const { results } = outcome;
  if (tree) relabel(results, tree);
  const reportsRoot = resolve(o.reportsRoot ?? REPORTS_ROOT);
  const outDir = o.outDir ?? join(reportsRoot, results.runId);
  const written = await writeReports(results, {
    outDir,
    consoleTranscript: outcome.consoleTranscript,
    ...(o.outDir ? {} : { reportsRoot }),
  });
  for (const e of written.errors) process.stderr.write(`report ${e.reporter} (${e.file}) failed: ${e.message}\n`);
  // A run written elsewhere stays findable by its id (`compare <run-id>`).
  if (o.outDir) await recordRunFolder(reportsRoot, results.runId, outDir).catch((e: unknown) => process.stderr.write(`cannot record run ${results.runId} in ${reportsRoot}: ${String(e)}\n`));
  // A run in the reports folder joins its history (a run written elsewhere with --out does not).
  const historyFailed = o.outDir ? false : !(await addToHistory(reportsRoot, results, outDir));
  for (const s of results.stages) {
    const passed = s.checks.filter((c) => c.verdict === 'pass').length;
    process.stdout.write(`stage ${s.stage}: ${s.verdict.toUpperCase()} (${passed}/${s.checks.length} checks)${s.reason ? ` — ${s.reason}` : ''}\n`);
  }
  for (const e of results.errors) process.stderr.write(`error: ${e}\n`);
  const at = tree ? ` (driver at ${revLabel(tree)})` : '';
  const incomplete = results.incomplete ? ` (INCOMPLETE: ${results.incomplete.signal})` : '';
  process.stdout.write(`run ${results.runId}${at}: ${results.verdict.toUpperCase()}${incomplete}; reports in ${outDir}\n`);
  undefer();
  const exitCode = results.incomplete ? signalExitCode(results.incomplete.signal as NodeJS.Signals) : historyFailed ? ExitCode.infrastructure : runExitCode(results);
  return { results, outDir, exitCode };
}

/**
 * Appends the run to the reports folder's history.json and refreshes its
 * index; says on the terminal how the run compares with the one before it.
 * False (and an error on stderr) when the history could not be read or
 * written: it is then left as it was.
 */
async function addToHistory(reportsRoot: string, results: RunResults, outDir: string): Promise<boolean> {
  try {
    const entry = await appendToHistory(reportsRoot, results, outDir);
    const p = entry.previous;
    const verdict = !p
      ? 'the first run of its board and transport'
      : 'problem' in p
        ? `not compared with ${p.runId}: ${p.problem}`
        : p.regression
          ? `REGRESSION against ${p.runId}: ${p.reasons.join('; ')}`
          : `no regression against ${p.runId}`;
    process.stdout.write(`history: added to ${historyPath(reportsRoot)} (${verdict})\n`);
    await writeRunIndex(reportsRoot).catch((e: unknown) => process.stderr.write(`cannot refresh ${join(reportsRoot, 'index.html')}: ${String(e)}\n`));
    return true;
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return false;
  }
}

// `main~1 (3f2a9c01d2e4)`, or just the short id when the revision was a commit id.
function revLabel(tree: RevisionTree): string {
  const short = tree.commit.slice(0, 12);
  return tree.commit.startsWith(tree.rev) ? short : `${tree.rev} (${short})`;
}

// The results name the tree the user named, at the revision tested, not the
// temporary worktree that no longer exists.
function relabel(results: RunResults, tree: RevisionTree): void {
  results.driver = { ...results.driver, path: tree.originalDir, gitRevision: tree.commit, gitDirty: false };
  const prefix = tree.modulesDir + sep;
  const atRev = `${tree.originalDir} (at ${tree.rev})`;
  for (const stage of results.stages) {
    if (stage.reason) stage.reason = stage.reason.replaceAll(tree.modulesDir, atRev);
    for (const d of [...(stage.build?.diagnostics ?? []), ...(stage.build?.warnings ?? [])]) {
      if (d.file.startsWith(prefix)) d.file = join(tree.originalDir, d.file.slice(prefix.length));
    }
  }
  results.errors = results.errors.map((e) => e.replaceAll(tree.modulesDir, atRev));
}
