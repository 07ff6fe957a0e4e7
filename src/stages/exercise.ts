// Runs one stage's steps (steps.ts) on the board and records what was
// observed; the checks (suites/) judge the observations. A kernel fault or a
// hang ends the steps early: the fault is classified, the strategy recovers
// the board, and the observations so far are kept so the checks can say what
// was reached.
import { BoardError } from '../errors.ts';
import { classifyKernelText } from '../parsers/kernel-events.ts';
import { dmesgDelta } from '../parsers/dmesg.ts';
import type { KernelEvent } from '../results/model.ts';
import type { CommandResult } from '../transport/types.ts';
import { KernelWatch } from './kernel-watch.ts';
import type { StageFault, StageObservations } from './observations.ts';
import type { StagePlan } from './plan.ts';
import { STAGE_STEPS, type StageBoard, type StageInputs, type StepContext } from './steps.ts';

export type { PingObservation, ProbeObservation, StageFault, StageObservations } from './observations.ts';
export type { StageBoard, StageInputs } from './steps.ts';

/** Why a run was stopped, from its abort signal: `interrupted by SIGINT`. */
export function interruptedWhy(abort: AbortSignal | undefined): string | undefined {
  return abort?.aborted ? `interrupted by ${String(abort.reason)}` : undefined;
}

/** Runs the stage's steps; never throws for a board fault (it is recorded), only for harness bugs. */
export async function exerciseStage(board: StageBoard, plan: StagePlan, inputs: StageInputs, stageTimeoutMs: number): Promise<StageObservations> {
  const started = Date.now();
  const deadline = started + stageTimeoutMs;
  const obs: StageObservations = { plan, dmesg: [], kernelEvents: [], steps: [], startedAt: new Date(started).toISOString(), durationMs: 0 };
  const ctx: StepContext = {
    board,
    plan,
    inputs,
    obs,
    watch: new KernelWatch(board),
    run: (command: string, timeoutMs = 30_000): Promise<CommandResult> =>
      board.run(command, { timeoutMs: Math.max(1000, Math.min(timeoutMs, deadline - Date.now())) }),
    async step(name, body) {
      const t = Date.now();
      try {
        return await body();
      } finally {
        obs.steps.push({ name, durationMs: Date.now() - t });
        inputs.log?.(`stage ${plan.stage}: ${name} ${Date.now() - t} ms`);
      }
    },
    phase: 'reset',
    dmesgBefore: '',
    dmesgTaken: false,
  };
  try {
    for (const s of STAGE_STEPS) {
      if (s.applies && !s.applies(ctx)) continue;
      if ((await s.run(ctx)) === 'stop') break;
    }
  } catch (error) {
    if (!(error instanceof BoardError)) throw error;
    const interrupted = interruptedWhy(inputs.abort);
    if (interrupted) {
      // The harness cut the board off itself: not the driver's fault, and no recovery.
      obs.fault = { class: 'error', step: ctx.phase, message: interrupted };
      obs.kernelEvents = ctx.watch.events();
      ctx.watch.pause();
      return obs;
    }
    // Give the console a moment to deliver the rest of a panic report.
    await settle(board);
    const events = ctx.watch.events();
    const fault = faultClass(board, error, events);
    const firstLine = error.message.split('\n')[0] ?? error.message;
    const outside = fault === 'error' ? board.power.killedFromOutside() : undefined;
    obs.fault = { class: fault, step: ctx.phase, message: outside ? `${outside}, not the driver's doing (${firstLine})` : firstLine };
    obs.kernelEvents = events;
    if (obs.fault.class === 'hang' && !events.some((e) => e.class === 'soft-lockup' || e.class === 'hung-task')) {
      obs.kernelEvents.push({ class: 'hang', firstLine: `board stopped answering during ${ctx.phase}`, text: error.message, fatal: true });
    }
    ctx.watch.pause();
    await board.strategy.recover(`${obs.fault.class} during stage ${plan.stage} (${ctx.phase})`);
    obs.recovered = true;
    obs.durationMs = Date.now() - started;
    return obs;
  } finally {
    obs.durationMs = Date.now() - started;
  }
  // A stage that stopped early (insmod or ifconfig failed) still gets its kernel log delta.
  if (!ctx.dmesgTaken && ctx.dmesgBefore !== '') {
    const now = await ctx.run('dmesg').catch((error: unknown) => {
      if (error instanceof BoardError) return undefined;
      throw error;
    });
    if (now) obs.dmesg = dmesgDelta(ctx.dmesgBefore, now.stdout).lines.map((l) => l.raw);
    obs.durationMs = Date.now() - started;
  }
  ctx.watch.pause();
  // Boards without a console capture still show faults in the kernel log.
  obs.kernelEvents = [...mergeEvents(ctx.watch.events(), classifyKernelText(obs.dmesg.join('\n'))), ...(obs.leaks?.events ?? [])];
  return obs;
}

/**
 * Crash or hang: a fatal kernel report, or a machine that is gone (an
 * emulator that reset itself), is a crash; a board that stopped answering
 * without one (command timeout, keepalive lost while the machine still runs)
 * hangs. A machine killed from outside (another process SIGKILLed the
 * emulator) with no kernel report is the host's doing, never the driver's:
 * an error, so the run exits 2 and bisect retries the commit instead of
 * blaming it.
 */
export function faultClass(board: Pick<StageBoard, 'power'>, error: BoardError, events: readonly KernelEvent[]): StageFault['class'] {
  if (events.some((e) => e.fatal)) return 'crash';
  if (error.kind === 'command-timeout') return 'hang';
  if (error.kind !== 'board-lost') return 'error';
  if (board.power.killedFromOutside() !== undefined) return 'error';
  return board.power.running() === false ? 'crash' : 'hang';
}

/** Waits briefly for a dying board's console to go quiet or close. */
async function settle(board: StageBoard): Promise<void> {
  const console = board.console.current();
  if (!console) return;
  let last = Date.now();
  const off = console.onData(() => (last = Date.now()));
  const end = Date.now() + 3000;
  while (Date.now() < end && Date.now() - last < 500) await new Promise((r) => setTimeout(r, 100));
  off();
}

/** Events from the console plus those only the kernel log had (same class and first line = same event). */
export function mergeEvents(console: KernelEvent[], dmesg: KernelEvent[]): KernelEvent[] {
  const key = (e: KernelEvent): string => `${e.class}|${e.firstLine.replace(/^\[[^\]]*\]\s*/, '').trim()}`;
  const seen = new Set(console.map(key));
  return [...console, ...dmesg.filter((e) => !seen.has(key(e)))];
}
