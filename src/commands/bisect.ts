// `vnet-harness bisect --good REV --bad REV`: names the driver commit that
// broke a check. The search is src/bisect/search.ts (pure); this file gives it
// an oracle that runs the driver at a commit with `runOnce` (a temporary
// worktree, the suites of the watched stages, the run's reports) and judges
// the run against the watched checks (src/bisect/signal.ts), then writes
// bisect.json, bisect.md and bisect.html.
//
// One board for the whole bisection: the board is locked and booted by the
// first run and kept for the next ones (a BoardSession); each stage's reset
// step brings it to the known state between them, as between the stages of
// one run. Module builds come from the cache keyed by the driver tree's
// content (src/build/module-cache.ts), so a commit whose tree was built
// before (the other end, an earlier bisection) builds nothing.
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commitInfo, commitsToBisect, driverDiffStat, type CommitInfo } from '../bisect/git.ts';
import { BISECT_JSON_VERSION, bisectHeadline, renderBisectHtml, renderBisectJson, renderBisectMarkdown, type BisectReport, type BisectStatus, type BisectStep } from '../bisect/report.ts';
import { bisectCommits, maxCalls, type Answer, type SearchResult, type StepRole } from '../bisect/search.ts';
import {
  checkKey,
  checkState,
  failingAtBoth,
  judgeRun,
  parseCheckList,
  regressedChecks,
  resolveChecks,
  runComplete,
  watchedStages,
  type WatchedCheck,
} from '../bisect/signal.ts';
import { resolveRevision } from '../build/revision.ts';
import type { CliOptions } from '../cli-options.ts';
import { compareRuns, type Comparison } from '../compare/compare.ts';
import { loadBoard } from '../config/board.ts';
import { ExitCode, HarnessError } from '../errors.ts';
import { formatDuration } from '../reporters/text.ts';
import type { RunResults } from '../results/model.ts';
import { parseStageList, STAGES } from '../stages/plan.ts';
import { BoardSession, newRunId } from '../stages/run.ts';
import { SUITES_DIR } from '../stages/runner.ts';
import { writeFileAtomic } from '../util/files.ts';
import { streamProgress, type Progress } from '../util/progress.ts';
import { signalExitCode } from '../util/reaper.ts';
import { REPORTS_ROOT, runOnce, type OneRun, type RunDone } from './run.ts';

/** The options of `vnet-harness bisect`, as the command line gives them (src/cli-options.ts). */
export type BisectCliOptions = CliOptions<'bisect'>;

/** What the command uses from outside, replaceable in tests (a fake run instead of a board). */
export interface BisectDeps {
  run?: (o: OneRun) => Promise<RunDone>;
  progress?: Progress;
  stdout?: (text: string) => void;
}

/** A signal stopped a run: the bisection stops too, and says so. */
class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
  }
}

/** The oracle's answer, with what the step log needs. */
interface StepAnswer extends Answer {
  step: BisectStep;
}

/** The check ids of each stage, from the suites themselves. */
export async function checkCatalog(): Promise<Map<number, string[]>> {
  const catalog = new Map<number, string[]>();
  for (const { stage } of STAGES) {
    const mod = (await import(pathToFileURL(join(SUITES_DIR, `stage${stage}.ts`)).href)) as { default: { checks: readonly { id: string }[] } };
    catalog.set(stage, mod.default.checks.map((c) => c.id));
  }
  return catalog;
}

/** A RangeError from parsing the user's words is bad input (exit 2), in one line. */
function usage<T>(body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof RangeError) throw new HarnessError(error.message);
    throw error;
  }
}

/** Runs the bisection; returns 0 (first bad commit or range found), 1 (does not reproduce) or 2 (infrastructure, bad input). */
export async function bisectCommand(options: BisectCliOptions, deps: BisectDeps = {}): Promise<number> {
  const started = Date.now();
  const run = deps.run ?? runOnce;
  const progress = deps.progress ?? streamProgress();
  const stdout = deps.stdout ?? ((t: string) => void process.stdout.write(t));

  // Everything the user typed is checked before any board is touched.
  const config = loadBoard(options.board, { boardsDir: options.boardsDir });
  const modulesDir = resolve(options.modules);
  const allStages = STAGES.map((s) => s.stage);
  const stagesGiven = options.stages !== undefined ? usage(() => parseStageList(options.stages as string)) : undefined;
  const named = options.check !== undefined ? usage(() => parseCheckList(options.check as string)) : undefined;
  const catalog = named ? await checkCatalog() : undefined;
  let watched: WatchedCheck[] | undefined = named && catalog ? usage(() => resolveChecks(named, catalog, stagesGiven ?? allStages)) : undefined;
  const watchedFrom = watched ? 'check-option' : 'ends';
  const endStages = watched ? watchedStages(watched) : (stagesGiven ?? allStages);
  const good = await resolveRevision(modulesDir, options.good);
  const bad = await resolveRevision(modulesDir, options.bad);
  const { repo, relPath } = good;
  if (good.commit === bad.commit) throw new HarnessError(`--good ${options.good} and --bad ${options.bad} are the same commit ${good.commit.slice(0, 12)}`);
  const commits = await commitsToBisect(repo, relPath, good.commit, bad.commit);
  if (commits.length === 0) {
    throw new HarnessError(`no commit from --good ${options.good} to --bad ${options.bad} touches the driver tree ${relPath || '.'} of ${repo}: the driver is the same at both ends, nothing to bisect`);
  }
  const outDir = resolve(options.out ?? join(REPORTS_ROOT, `bisect-${newRunId()}`));
  await mkdir(outDir, { recursive: true });
  progress.phase(
    `bisect: ${commits.length} driver commit(s) between ${good.commit.slice(0, 12)} (good) and ${bad.commit.slice(0, 12)} (bad) in ${repo}; ` +
      `at most ${maxCalls(commits.length)} runs; ${watched ? `watching ${watched.map(checkKey).join(', ')}` : 'watching the checks that fail at --bad and pass at --good'}`,
  );

  const infos = new Map<string, CommitInfo>();
  const info = async (commit: string): Promise<CommitInfo> => {
    let i = infos.get(commit);
    if (!i) infos.set(commit, (i = await commitInfo(repo, commit)));
    return i;
  };
  const runs = new Map<string, RunResults>();
  const steps: BisectStep[] = [];
  // Opened by the first run, closed when the bisection ends, however it ends.
  const session = new BoardSession(config, { progress, ...(options.transport ? { transport: options.transport } : {}) });
  // The run of each step (none when it could not be made), for the states of checks known only later.
  const stepRuns: (RunResults | undefined)[] = [];

  // Judges a run. With no --check, the good end only has to run whole, and
  // the bad end's run decides what is watched: what fails there and passed at the good end.
  const judge = (role: StepRole, results: RunResults): StepAnswer['outcome'] => {
    if (watchedFrom === 'ends' && role !== 'step') {
      if (!runComplete(results)) return 'error';
      if (role === 'good-end') return 'good';
      const goodRun = runs.get(good.commit);
      watched = goodRun ? regressedChecks(goodRun, results) : [];
      return watched.length > 0 ? 'bad' : 'good';
    }
    return judgeRun(results, watched ?? []);
  };

  const oracle = async (commit: string, role: StepRole, attempt: number): Promise<StepAnswer> => {
    const n = steps.length + 1;
    const c = await info(commit);
    const stages = role === 'step' ? watchedStages(watched ?? []) : endStages;
    const runDir = join(outDir, 'runs', `${String(n).padStart(2, '0')}-${commit.slice(0, 12)}`);
    progress.phase(`bisect: run ${n} (${role === 'step' ? 'step' : role === 'good-end' ? 'verifying --good' : 'verifying --bad'}${attempt > 1 ? ', retry' : ''}): ${commit.slice(0, 12)} ${c.subject}, stages ${stages.join(',')}`);
    const t = Date.now();
    let done: RunDone | undefined;
    let error: string | undefined;
    try {
      done = await run({ config, stages, modulesDir, rev: commit, outDir: runDir, progress, session, ...(options.transport ? { transport: options.transport } : {}) });
    } catch (e) {
      // A harness error (a worktree that could not be made) is the infrastructure's: retried, then skipped.
      if (!(e instanceof HarnessError)) throw e;
      error = e.message.split('\n')[0];
    }
    if (done?.results.incomplete) throw new Interrupted(done.results.incomplete.signal);
    if (done) runs.set(commit, done.results);
    const outcome = done ? judge(role, done.results) : 'error';
    const step: BisectStep = {
      n,
      commit,
      subject: c.subject,
      role,
      attempt,
      outcome,
      watched: done && watched ? watched.map((w) => ({ ...w, state: checkState(done.results, w) })) : [],
      stages: done ? done.results.stages.map((s) => ({ stage: s.stage, verdict: s.verdict })) : [],
      durationMs: Date.now() - t,
      ...(done ? { runId: done.results.runId, runDir: relative(outDir, done.outDir) } : {}),
      ...(error !== undefined ? { error } : {}),
    };
    steps.push(step);
    stepRuns.push(done?.results);
    progress.phase(`bisect: run ${n}: ${commit.slice(0, 12)} is ${outcome.toUpperCase()}${error ? ` (${error})` : ''}`);
    return { outcome, step };
  };

  const base = async (status: BisectStatus, message: string): Promise<BisectReport> => ({
    kind: 'vnet-harness-bisect',
    version: BISECT_JSON_VERSION,
    status,
    message,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    board: config.name,
    driver: { repo, relPath, dir: modulesDir },
    good: await info(good.commit),
    bad: await info(bad.commit),
    commits: commits.length,
    maxRuns: maxCalls(commits.length),
    runs: steps.length,
    ...(session.runs > 0 ? { boardBoots: session.boots } : {}),
    stages: { ends: endStages, steps: watched ? watchedStages(watched) : [] },
    watched: watched ?? [],
    watchedFrom,
    skipped: [],
    // The good end ran before the bad end said what is watched: its states are filled in now.
    steps: steps.map((s, i) => {
      const results = stepRuns[i];
      return s.watched.length === 0 && results && watched ? { ...s, watched: watched.map((w) => ({ ...w, state: checkState(results, w) })) } : s;
    }),
  });

  let report: BisectReport;
  let code: number;
  try {
    const result = await bisectCommits({ good: good.commit, bad: bad.commit, commits, oracle });
    await session.close();
    ({ report, code } = await conclude(result));
  } catch (error) {
    await session.close().catch(() => undefined);
    if (!(error instanceof Interrupted)) throw error;
    report = await base('interrupted', `A signal (${error.signal}) stopped run ${steps.length + 1}; the runs before it are listed.`);
    code = signalExitCode(error.signal as NodeJS.Signals);
  }

  // What the search found, as the report says it.
  async function conclude(result: SearchResult<StepAnswer>): Promise<{ report: BisectReport; code: number }> {
    if (result.kind === 'end-mismatch') {
      const { status, message } = mismatch(result.end, result.outcome, result.steps.at(-1)?.answer.step);
      return { report: await base(status, message), code: status === 'error' ? ExitCode.infrastructure : ExitCode.checkFailed };
    }
    const last = commits.at(-1);
    // The last commit may stand for --bad (same driver tree) without a run of its own.
    const runOf = (commit: string) => runs.get(commit) ?? (commit === last ? runs.get(bad.commit) : undefined);
    const firstBad = { ...(await info(result.firstBad)), diffStat: await driverDiffStat(repo, relPath, result.firstBad) };
    const lastGood = await info(result.lastGood);
    const a = runOf(result.lastGood);
    const b = runOf(result.firstBad);
    const comparison: Comparison | undefined = a && b ? compareRuns(a, b) : undefined;
    const skipNote = result.skipped.length > 0 ? ` ${result.skipped.length} commit(s) could not be tested (skipped).` : '';
    if (result.kind === 'found') {
      const r = await base('found', `${firstBad.commit.slice(0, 12)} "${firstBad.subject}" (${firstBad.author}, ${firstBad.date}) is the first bad commit; ${lastGood.commit.slice(0, 12)} before it is good.${skipNote}`);
      return { report: { ...r, firstBad, lastGood, skipped: result.skipped, ...(comparison ? { comparison } : {}) }, code: ExitCode.ok };
    }
    const range = await Promise.all(result.candidates.map(info));
    const r = await base(
      'range',
      `The first bad commit is one of ${range.length}: ${result.untestable.map((c) => c.slice(0, 12)).join(', ')} could not be tested (a watched stage did not build, or the harness failed twice), ` +
        `and ${firstBad.commit.slice(0, 12)} after them is bad; ${lastGood.commit.slice(0, 12)} before them is good.`,
    );
    return { report: { ...r, firstBad, lastGood, range, skipped: result.skipped, ...(comparison ? { comparison } : {}) }, code: ExitCode.ok };
  }

  // Why an end is not what the user said, in words; status error when the harness could not test it.
  function mismatch(end: 'good' | 'bad', outcome: string, step: BisectStep | undefined): { status: BisectStatus; message: string } {
    const name = end === 'good' ? `--good ${options.good}` : `--bad ${options.bad}`;
    const states = step?.watched.filter((w) => w.state !== 'pass').map((w) => `${w.stage}:${w.id} ${w.state}`).join(', ');
    if (outcome === 'error') return { status: 'error', message: `${name} could not be tested, twice: ${step?.error ?? 'a stage ended in an infrastructure error'} (see its run in ${step?.runDir ?? outDir}).` };
    if (end === 'good' && outcome === 'bad') return { status: 'not-reproduced', message: `${name} is not good: the watched checks fail there (${states}).` };
    if (outcome === 'skip') return { status: 'not-reproduced', message: `${name} cannot show the watched checks (${states}): its module does not build, or they are not reached.` };
    if (watchedFrom === 'check-option') return { status: 'not-reproduced', message: `${name} is not bad: the watched checks pass there.` };
    const goodRun = runs.get(good.commit);
    const badRun = runs.get(bad.commit);
    const both = goodRun && badRun ? failingAtBoth(goodRun, badRun).map(checkKey) : [];
    return {
      status: 'not-reproduced',
      message: `${name} is not bad: no check fails there that passes at --good ${options.good}${both.length > 0 ? ` (failing at both ends: ${both.join(', ')})` : ''}.`,
    };
  }

  await writeFileAtomic(join(outDir, 'bisect.json'), renderBisectJson(report));
  await writeFileAtomic(join(outDir, 'bisect.md'), renderBisectMarkdown(report));
  await writeFileAtomic(join(outDir, 'bisect.html'), renderBisectHtml(report));
  stdout(`bisect: ${bisectHeadline(report)}\n${report.message}\n`);
  for (const s of report.steps) stdout(`  ${String(s.n).padStart(2)} ${s.commit.slice(0, 12)} ${s.outcome.padEnd(5)} ${s.watched.map((w) => `${w.stage}:${w.id}=${w.state}`).join(' ')} (${(s.durationMs / 1000).toFixed(1)} s)\n`);
  stdout(`bisect written to ${join(outDir, 'bisect.md')} (.html, .json); ${steps.length} run(s) in ${formatDuration(Date.now() - started)}\n`);
  return code;
}
