// One run of the stage suites on one board: lock, boot (or connect), build
// the driver tree against the board's kernel, run the suites, produce the
// results model. Infrastructure failures end up in the model too, so a run
// always leaves a results.json that says what happened.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { consoleOfFailedBoot, openBoard, type BoardTarget } from '../board/target.ts';
import { requireUsable, userlandSummary } from '../board/userland.ts';
import { lockBoard, type BoardLock } from '../board/lock.ts';
import { buildModulesCached } from '../build/module-cache.ts';
import { untestedKernelWarning } from '../build/modules.ts';
import { buildProbe } from '../build/probe.ts';
import { describeSource } from '../build/source.ts';
import type { BoardConfig, TransportKind } from '../config/board.ts';
import { HarnessError } from '../errors.ts';
import { RESULTS_SCHEMA, type BuildResult, type RunResults, type StageResult } from '../results/model.ts';
import { PROJECT_ROOT } from '../paths.ts';
import { cacheRoot } from '../util/cache.ts';
import type { Progress } from '../util/progress.ts';
import { stagePlan } from './plan.ts';
import { runSuites } from './runner.ts';

export const PROBE_SOURCE = join(PROJECT_ROOT, 'kernel-modules', 'probe', 'vnet_probe.c');

export interface ExecuteRunOptions {
  config: BoardConfig;
  modulesDir: string;
  stages: number[];
  transport?: TransportKind;
  progress: Progress;
  /** Mocha reporter for the live view (default spec). */
  reporter?: string;
  /** Called with the open board before the suites run (bench uses it). */
  onBoard?: (board: BoardTarget) => Promise<void>;
  /** Aborted (reason: the signal's name) when the run is interrupted: the board is cut off, what was gathered is returned. */
  abort?: AbortSignal;
  /**
   * A board kept open across runs (a bisection): locked and booted by the
   * first run that needs it, used as it is by the next ones (each stage's
   * reset step brings it to the known state: src/board/strategy.ts
   * ensureClean), never closed by a run. Without it the run locks, boots and
   * closes a board of its own.
   */
  session?: BoardSession;
}

/** The run was interrupted while it waited for a lock, a boot or a build. */
class Interrupted extends Error {
  override name = 'Interrupted';
}

export interface RunOutcome {
  results: RunResults;
  consoleTranscript: string;
  /** Milliseconds per phase: lock, boot, build, stages. */
  phases: Record<string, number>;
}

/** A run id that sorts by time: 20261125-081900-ab12. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(2).toString('hex')}`;
}

/** The harness's version, from package.json. */
async function harnessVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Takes a real board's lock for a run (emulated boards take none), saying who holds it while it waits. */
function lockForRun(config: BoardConfig, progress: Progress): Promise<BoardLock | null> {
  return lockBoard(config, {
    command: `vnet-harness run (pid ${process.pid})`,
    onWait: (holder, waitedMs, remainingMs) =>
      progress.phase(
        `board ${config.name} is locked by pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.started}): ` +
          `waiting ${Math.round(waitedMs / 1000)} s so far, up to ${Math.round(remainingMs / 1000)} s more (lock.wait in ${config.file})`,
      ),
  });
}

/** Times a phase of a run (lock, boot) and may race it against an interrupt. */
type Mark = <T>(phase: string, body: () => Promise<T>) => Promise<T>;

/**
 * One board for several runs (a bisection's steps): the lock is taken and the
 * board opened (booted) once, by the first run that needs it. Before each
 * later run the board is asked for a trivial command; a board that does not
 * answer (a recovery inside the last run failed) is power-cycled, and one
 * that cannot be brought back is opened anew. Between runs nothing else is
 * done: each stage's first step resets the board to the known state (no
 * virt_net module, no vnet0) and power-cycles it when that fails, exactly as
 * between the stages of one run.
 */
export class BoardSession {
  private lock: BoardLock | null = null;
  private locked = false;
  private board: BoardTarget | undefined;
  /** Power-ons of earlier boards of this session (a board opened anew). */
  private earlierBoots = 0;
  /** Runs that got a board from this session. */
  runs = 0;

  constructor(
    private readonly config: BoardConfig,
    private readonly options: {
      transport?: TransportKind;
      progress: Progress;
      /** Opens the board (openBoard; a fake in tests). */
      open?: typeof openBoard;
    },
  ) {}

  /** Power-ons during the session, recoveries included (1: the board stayed up for every run). */
  get boots(): number {
    return this.earlierBoots + (this.board?.strategy.boots ?? 0);
  }

  /**
   * The board for the next run, and where the run's part of its console
   * transcript starts. Throws what locking or opening a board throws.
   */
  async acquire(mark: Mark): Promise<{ board: BoardTarget; consoleFrom: number; reused: boolean }> {
    const { config, options } = this;
    if (!this.locked) {
      this.lock = await mark('lock', () => lockForRun(config, options.progress));
      this.locked = true;
    }
    this.runs++;
    const open = this.board;
    if (open) {
      const consoleFrom = open.console.transcript().length;
      const alive = await open.run('true', { timeoutMs: 10_000 }).then(
        (r) => r.exitCode === 0,
        () => false,
      );
      if (alive) return { board: open, consoleFrom, reused: true };
      try {
        options.progress.phase(`board ${config.name}: does not answer after the last run: power-cycling it`);
        await mark('boot', () => open.strategy.recover('the board did not answer at the start of a run'));
        return { board: open, consoleFrom, reused: true };
      } catch (error) {
        options.progress.phase(`board ${config.name}: could not be recovered (${String(error).split('\n')[0]}): opening it anew`);
        this.earlierBoots += open.strategy.boots;
        this.board = undefined;
        await open.close().catch(() => undefined);
      }
    }
    const openIt = options.open ?? openBoard;
    this.board = await mark('boot', () => openIt(config, { progress: options.progress, ...(options.transport ? { transport: options.transport } : {}) }));
    return { board: this.board, consoleFrom: 0, reused: false };
  }

  /** Closes the board (stopping the emulator) and releases the lock; the session can be used again afterwards. */
  async close(): Promise<void> {
    const board = this.board;
    this.board = undefined;
    if (board) this.earlierBoots += board.strategy.boots;
    try {
      await board?.close();
    } finally {
      await this.lock?.release();
      this.lock = null;
      this.locked = false;
    }
  }
}

/** Runs the selected stages and returns the results model (never throws for board trouble). */
export async function executeRun(options: ExecuteRunOptions): Promise<RunOutcome> {
  const { config, progress } = options;
  const started = Date.now();
  const phases: Record<string, number> = {};
  const errors: string[] = [];
  const runId = newRunId(new Date(started));
  const driver = await describeSource(options.modulesDir);
  let board: BoardTarget | undefined;
  let lock: BoardLock | null = null;
  let stages: StageResult[] = [];
  let kernelRelease: string | undefined;
  let userlandInfo: RunResults['board']['userland'];
  /** What limits this run's verdict besides the board's own warnings (an untested kernel). */
  const runWarnings: string[] = [];
  /** The console of a boot that failed (no board object then). */
  let bootConsole: string | undefined;
  let machine: string | undefined;
  // An interrupt cuts the board off (in-flight commands fail at once) and ends
  // a wait for the lock, a boot or a build without waiting for it to finish.
  const abort = options.abort;
  const interrupted = new Promise<never>((_, reject) => {
    abort?.addEventListener('abort', () => reject(new Interrupted(`interrupted by ${String(abort.reason)}`)), { once: true });
  });
  interrupted.catch(() => undefined);
  abort?.addEventListener('abort', () => board?.abort(), { once: true });
  /** Where this run's part of the board's console transcript starts (a session's board has the earlier runs' before it). */
  let consoleFrom = 0;
  const mark = async <T>(phase: string, body: () => Promise<T>, raced = true): Promise<T> => {
    const t = Date.now();
    try {
      return await (raced && abort ? Promise.race([body(), interrupted]) : body());
    } finally {
      phases[phase] = Date.now() - t;
    }
  };
  try {
    let reused = false;
    if (options.session) {
      ({ board, consoleFrom, reused } = await options.session.acquire(mark));
    } else {
      lock = await mark('lock', () => lockForRun(config, progress));
      board = await mark('boot', () => openBoard(config, { progress, ...(options.transport ? { transport: options.transport } : {}) }));
    }
    const open = board;
    progress.phase(
      reused
        ? `board ${config.name}: still up from the previous run (${options.session?.boots ?? 1} boot(s) for ${options.session?.runs ?? 1} run(s)) over ${open.transportKind}`
        : `board ${config.name}: up in ${(open.strategy.bootMs / 1000).toFixed(1)} s over ${open.transportKind}`,
    );
    for (const w of open.warnings) progress.phase(`WARNING: board ${config.name}: ${w}`);
    const uname = await open.check('uname -r; uname -m');
    [kernelRelease, machine] = uname.stdout.trim().split('\n');
    // What the userland offers, once per boot: what the harness cannot do without ends the run here, listed, before any stage.
    const userland = await open.probeUserland();
    userlandInfo = userlandSummary(userland);
    for (const f of userland.fallbacks) progress.phase(`board ${config.name}: userland: ${f}`);
    requireUsable(config.name, userland);
    const untested = untestedKernelWarning(kernelRelease ?? '');
    if (untested) {
      runWarnings.push(untested);
      progress.phase(`WARNING: board ${config.name}: ${untested}`);
    }
    const builds = await mark('build', async () => {
      const cached = await buildModulesCached({
        board: config.name,
        kernelDir: open.kernelTree(),
        arch: config.arch,
        crossCompile: config.crossCompile,
        sourceDir: options.modulesDir,
        stages: options.stages,
      });
      for (const b of cached) {
        const state = b.ok ? `${b.compiled ? 'built' : 'cached (same sources, kernel and compiler)'}, ${b.warnings.length} warning(s)` : `FAILED (${b.diagnostics.filter((d) => d.severity === 'error').length} error(s))`;
        progress.phase(`build: virt_net${b.stage}.ko ${state}`);
      }
      return new Map<number, BuildResult>(cached.map(({ entry: _entry, ...b }) => [b.stage, b]));
    });
    const probePath = options.stages.some((s) => stagePlan(s).probeCount > 0)
      ? await buildProbe({ source: PROBE_SOURCE, crossCompile: config.crossCompile, outDir: join(cacheRoot(), 'probe'), board: config.name })
      : undefined;
    await options.onBoard?.(open);
    // Not raced: an interrupt ends the stage in progress through the board, and the suites record it.
    stages = await mark(
      'stages',
      () =>
        runSuites({
          stages: options.stages,
          reporter: options.reporter ?? 'spec',
          context: {
            board: open,
            builds,
            ...(probePath ? { probePath } : {}),
            stageTimeoutMs: config.timeouts.stage * 1000,
            log: (line) => progress.phase(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
            ...(abort ? { abort } : {}),
          },
        }),
      false,
    );
  } catch (error) {
    bootConsole = consoleOfFailedBoot(error);
    if (error instanceof Interrupted) {
      // Not an infrastructure error: `incomplete` says it.
    } else if (error instanceof HarnessError && !abort?.aborted) {
      errors.push(error.message);
    } else if (!abort?.aborted) {
      throw error;
    }
  } finally {
    // A session's board stays open for the next run; the session closes it.
    if (!options.session) {
      await board?.close().catch((error: unknown) => errors.push(`closing the board: ${String(error)}`));
      await lock?.release();
    }
  }
  // Stages that never ran (the board never came up) are errors, not passes.
  for (const stage of options.stages) {
    if (!stages.some((s) => s.stage === stage)) {
      const plan = stagePlan(stage);
      stages.push({
        stage,
        title: plan.title,
        verdict: 'error',
        reason: abort?.aborted ? `not run: interrupted by ${String(abort.reason)}` : (errors[0]?.split('\n')[0] ?? 'not run'),
        checks: [],
        readings: [],
        pings: [],
        rttsMs: [],
        dmesg: [],
        kernelEvents: [],
        steps: [],
        startedAt: new Date(started).toISOString(),
        durationMs: 0,
      });
    }
  }
  stages.sort((a, b) => a.stage - b.stage);
  const verdict = stages.some((s) => s.verdict === 'error') || errors.length > 0 ? 'error' : stages.every((s) => s.verdict === 'pass') ? 'pass' : 'fail';
  const results: RunResults = {
    schema: RESULTS_SCHEMA,
    runId,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    harnessVersion: await harnessVersion(),
    board: {
      name: config.name,
      ...(kernelRelease ? { kernelRelease } : {}),
      ...(machine ? { machine } : {}),
      transport: options.transport ?? config.defaultTransport,
      emulated: config.kind === 'emulated',
      ...(userlandInfo ? { userland: userlandInfo } : {}),
    },
    driver,
    verdict,
    stages,
    errors,
    ...(abort?.aborted ? { incomplete: { signal: String(abort.reason), afterMs: Date.now() - started } } : {}),
    ...(board && board.warnings.length + runWarnings.length > 0 ? { warnings: [...board.warnings, ...runWarnings] } : {}),
  };
  return { results, consoleTranscript: board?.console.transcript().slice(consoleFrom) ?? bootConsole ?? '', phases };
}

/** Exit code of a run: 0 all passed, 1 the driver failed a check, 2 the harness could not do its job. */
export function runExitCode(results: RunResults): number {
  if (results.verdict === 'pass') return 0;
  return results.verdict === 'error' ? 2 : 1;
}
