// Runs one stage's steps on the board and records what was observed; the
// checks (suites/) judge the observations. A kernel fault or a hang ends the
// steps early: the fault is classified, the board recovered, and the
// observations so far are kept so the checks can say what was reached.
import type { Board } from '../board/board.ts';
import type { CommandResult } from '../board/session.ts';
import { BoardError } from '../errors.ts';
import { pidAlive } from '../util/cache.ts';
import { dmesgDelta } from '../parsers/dmesg.ts';
import { KernelEventWatcher, classifyKernelText, type KernelEventStart } from '../parsers/kernel-events.ts';
import { parsePing, type PingOutput } from '../parsers/ping.ts';
import { parseProbeOutput, type ProbeReport } from '../parsers/probe.ts';
import { parseSysfsReading, sysfsReadCommand, type SysfsReading } from '../parsers/sysfs.ts';
import type { KernelEvent, StepTiming } from '../results/model.ts';
import { BOARD_DIR, IFACE, LOCAL_ADDRESS, MODULE_NAMES, REMOTE_ADDRESS, type StagePlan } from './plan.ts';

/** A ping, with the interface readings taken right before and after it. */
export interface PingObservation {
  command: CommandResult;
  parsed: PingOutput;
  before: SysfsReading;
  after: SysfsReading;
}

export interface ProbeObservation {
  command: CommandResult;
  parsed: ProbeReport;
  before: SysfsReading;
  after: SysfsReading;
}

export interface StageFault {
  class: 'crash' | 'hang' | 'error';
  step: string;
  message: string;
}

export interface StageObservations {
  plan: StagePlan;
  reset?: CommandResult;
  insmod?: CommandResult;
  /** Reading right after insmod. */
  loaded?: SysfsReading;
  ifconfig?: CommandResult;
  /** Reading right after ifconfig. */
  configured?: SysfsReading;
  localPing?: PingObservation;
  remotePing?: PingObservation;
  /** Kernel log lines printed during ping 3.3.3.4. */
  remoteDmesg?: string[];
  probe?: ProbeObservation;
  rmmod?: CommandResult;
  /** Reading after rmmod (expected: interface missing). */
  unloaded?: SysfsReading;
  dmesg: string[];
  kernelEvents: KernelEvent[];
  steps: StepTiming[];
  fault?: StageFault;
  recovered?: boolean;
  startedAt: string;
  durationMs: number;
}

/** What a stage needs besides the board: the built module and the probe binary. */
export interface StageInputs {
  modulePath: string;
  probePath?: string;
  /** Progress: one line per step with its duration. */
  log?: (line: string) => void;
  /** Aborted when the run is interrupted (its reason is the signal): no recovery, the stage ends as an error. */
  abort?: AbortSignal;
}

/** Why a run was stopped, from its abort signal: `interrupted by SIGINT`. */
export function interruptedWhy(abort: AbortSignal | undefined): string | undefined {
  return abort?.aborted ? `interrupted by ${String(abort.reason)}` : undefined;
}

const SPLIT = '@@vnet-harness-split@@';
const PROBE = `${BOARD_DIR}vnet_probe`;
const READ = sysfsReadCommand(IFACE);
const MISSING: SysfsReading = { iface: IFACE, present: false };

/** The outputs of a compound command, part by part. */
interface Sections {
  result: CommandResult;
  /** Output of part i, or undefined when the command ended before it. */
  output(i: number): string | undefined;
  /** Part i as a command result of its own (stderr goes to part 0: the parts after it are readers). */
  part(i: number): CommandResult;
  /** Part i parsed as an interface reading. */
  reading(i: number): SysfsReading | undefined;
  /** A ping at part i with its readings at parts before and after. */
  ping(i: number, before: number, after: number): PingObservation;
}

/**
 * Runs several shell parts as ONE board command (one round trip instead of
 * one per part: the board's shell is slow to start on an emulated ARM) and
 * splits the output at a marker line that carries each part's exit status.
 */
async function sections(run: (c: string) => Promise<CommandResult>, parts: readonly string[]): Promise<Sections> {
  const result = await run(parts.map((p) => `${p}\necho "${SPLIT} $?"`).join('\n'));
  const outputs: string[] = [];
  const statuses: number[] = [];
  let rest = result.stdout;
  const marker = new RegExp(`^${SPLIT} (\\d+)\\r?$`, 'm');
  for (let m = marker.exec(rest); m; m = marker.exec(rest)) {
    outputs.push(rest.slice(0, m.index));
    statuses.push(Number(m[1]));
    rest = rest.slice(m.index + m[0].length).replace(/^\r?\n/, '');
  }
  const part = (i: number): CommandResult => ({
    command: parts[i] ?? '',
    stdout: outputs[i] ?? '',
    stderr: i === 0 ? result.stderr : '',
    exitCode: statuses[i] ?? result.exitCode,
    durationMs: result.durationMs,
  });
  const reading = (i: number): SysfsReading | undefined => (outputs[i] === undefined ? undefined : parseSysfsReading(outputs[i] ?? ''));
  return {
    result,
    output: (i) => outputs[i],
    part,
    reading,
    ping: (i, before, after) => {
      const command = part(i);
      return { command, parsed: parsePing(command.stdout), before: reading(before) ?? MISSING, after: reading(after) ?? MISSING };
    },
  };
}

/** Runs the stage's steps; never throws for a board fault (it is recorded), only for harness bugs. */
export async function exerciseStage(board: Board, plan: StagePlan, inputs: StageInputs, stageTimeoutMs: number): Promise<StageObservations> {
  const started = Date.now();
  const obs: StageObservations = { plan, dmesg: [], kernelEvents: [], steps: [], startedAt: new Date(started).toISOString(), durationMs: 0 };
  // Replaced once the board's uptime is known (after reset), so a dmesg printed
  // over the watched console cannot report an earlier stage's faults again.
  let fatalSeen = false;
  // A fatal report means the board is gone: an emulated one is powered off
  // at once so the in-flight command fails now, not at a keepalive timeout.
  const onFatal = (start: KernelEventStart): void => {
    if (!start.fatal || fatalSeen) return;
    fatalSeen = true;
    // Only the QEMU that panicked: by the time the timer fires the board may be rebooted already.
    const crashed = board.emulatorPid();
    if (crashed === undefined) return;
    setTimeout(() => {
      if (board.emulatorPid() === crashed) board.killEmulator();
    }, 1500).unref();
  };
  let watcher = new KernelEventWatcher({ onStart: onFatal });
  let consoleNow = board.currentConsole();
  let startMark = consoleNow?.mark();
  let unsubscribe = consoleNow?.onData((chunk) => watcher.feed(chunk.data)) ?? (() => {});
  const deadline = started + stageTimeoutMs;
  const step = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await body();
    } finally {
      obs.steps.push({ name, durationMs: Date.now() - t });
      inputs.log?.(`stage ${plan.stage}: ${name} ${Date.now() - t} ms`);
    }
  };
  const run = (command: string, timeoutMs = 30_000): Promise<CommandResult> =>
    board.run(command, { timeoutMs: Math.max(1000, Math.min(timeoutMs, deadline - Date.now())) });
  const moduleName = MODULE_NAMES[plan.stage - 1] ?? 'virt_net';
  const remoteKo = `${BOARD_DIR}${moduleName}.ko`;
  const withProbe = inputs.probePath !== undefined && plan.probeCount > 0;
  let dmesgBefore = '';
  let dmesgTaken = false;
  let current = 'reset';
  // The steps; a step that fails returns early, leaving later observations unset.
  const steps = async (): Promise<void> => {
      // Files first: the reset, the kernel log mark and insmod then go in one board command.
      const prepare = async (): Promise<Sections> => {
        current = 'upload';
        await step('upload', async () => {
          await board.upload(inputs.modulePath, remoteKo);
          if (withProbe) await board.upload(`${inputs.probePath}.gz`, `${PROBE}.gz`);
        });
        current = 'reset';
        return step('insmod', () =>
          sections(run, [
            `( ${[
              `for m in ${MODULE_NAMES.join(' ')}; do if grep -q "^$m " /proc/modules; then rmmod $m || exit 10; fi; done`,
              // IPv6 would put router solicitations and MLD reports on vnet0.
              'if [ -w /proc/sys/net/ipv6/conf/default/disable_ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi',
              `if [ -e /sys/class/net/${IFACE} ]; then echo "${IFACE} exists before insmod"; exit 11; fi`,
            ].join('; ')} ); reset=$?; [ $reset -eq 0 ]`,
            'cut -d" " -f1 /proc/uptime',
            'dmesg',
            withProbe ? `gunzip -c ${PROBE}.gz > ${PROBE} && rm -f ${PROBE}.gz && chmod 755 ${PROBE}` : 'true',
            // Loaded only on a board in the known state.
            `[ $reset -eq 0 ] && insmod ${remoteKo}`,
            READ,
          ]),
        );
      };
      let first = await prepare();
      if (first.part(0).exitCode !== 0) {
        // An earlier stage left the board dirty (a module that will not unload):
        // a power cycle brings the known state back, as a lab strategy would.
        const why = `${first.part(0).stdout}${first.part(0).stderr}`.trim();
        inputs.log?.(`stage ${plan.stage}: board not in a known state (${why}): power-cycling`);
        unsubscribe();
        await board.recover(`stage ${plan.stage}: board not in a known state: ${why}`);
        obs.recovered = true;
        const fresh = board.currentConsole();
        startMark = fresh?.mark();
        unsubscribe = fresh?.onData((chunk) => watcher.feed(chunk.data)) ?? (() => {});
        consoleNow = fresh;
        first = await prepare();
      }
      obs.reset = first.part(0);
      dmesgBefore = first.output(2) ?? '';
      const uptime = /^(\d+(?:\.\d+)?)/.exec(first.output(1) ?? '');
      // From here on, reports older than the stage are ignored; the console so far is fed again.
      watcher = new KernelEventWatcher({
        ...(uptime ? { ignoreBeforeMs: Math.floor(Number(uptime[1]) * 1000) } : {}),
        onStart: onFatal,
      });
      if (consoleNow && startMark !== undefined) watcher.feed(consoleNow.rawSince(startMark));
      if (obs.reset.exitCode !== 0) {
        obs.fault = { class: 'error', step: 'reset', message: `board not in a known state: ${obs.reset.stdout}${obs.reset.stderr}` };
        return;
      }
      if (withProbe && first.part(3).exitCode !== 0) {
        // No gunzip on this board: the probe goes up as it is.
        await step('upload', async () => {
          await board.upload(inputs.probePath ?? '', PROBE);
          await run(`chmod 755 ${PROBE}`);
        });
      }
      current = 'insmod';
      obs.insmod = { ...first.part(4), command: `insmod ${remoteKo}`, stderr: first.result.stderr };
      obs.loaded = first.reading(5);
      if (obs.insmod.exitCode !== 0 || !obs.loaded?.present) return;
      current = 'ifconfig';
      const local = await step('ping-local', () =>
        sections(run, [`ifconfig ${IFACE} ${LOCAL_ADDRESS}`, READ, `ping -c 3 -i 0.2 -W 1 ${LOCAL_ADDRESS}`, READ]),
      );
      obs.ifconfig = local.part(0);
      if (obs.ifconfig.exitCode !== 0) return;
      obs.localPing = local.ping(2, 1, 3);
      current = `ping ${REMOTE_ADDRESS}`;
      const pingRemote = plan.remoteAnswered
        ? `ping -c ${plan.remoteCount} -i 0.2 -W 2 ${REMOTE_ADDRESS}`
        : `ping -c ${plan.remoteCount} -W 1 ${REMOTE_ADDRESS}`;
      // The neighbour flush stops ARP retransmissions that would otherwise go on
      // after ping exits, between the counter reading and the kernel log read.
      const remote = await step('ping-remote', () =>
        sections(run, ['dmesg', READ, pingRemote, `ip neigh flush dev ${IFACE} >/dev/null 2>&1; true`, READ, 'dmesg']),
      );
      obs.remotePing = remote.ping(2, 1, 4);
      obs.remoteDmesg = dmesgDelta(remote.output(0) ?? '', remote.output(5) ?? '').lines.map((l) => l.text);
      if (plan.probeCount > 0 && inputs.probePath) {
        current = 'probe';
        const probe = await step('probe', () =>
          sections(run, [READ, `${PROBE} -c ${plan.probeCount} -i 25 -t 1000 ${REMOTE_ADDRESS}`, READ]),
        );
        const command = probe.part(1);
        obs.probe = { command, parsed: parseProbeOutput(command.stdout), before: probe.reading(0) ?? MISSING, after: probe.reading(2) ?? MISSING };
      }
      current = 'rmmod';
      const rmmod = await step('rmmod', () => sections(run, [`rmmod ${moduleName}`, READ, 'dmesg']));
      obs.rmmod = rmmod.part(0);
      obs.unloaded = rmmod.reading(1);
      obs.dmesg = dmesgDelta(dmesgBefore, rmmod.output(2) ?? '').lines.map((l) => l.raw);
      dmesgTaken = true;
  };
  try {
    await steps();
  } catch (error) {
    if (!(error instanceof BoardError)) throw error;
    const interrupted = interruptedWhy(inputs.abort);
    if (interrupted) {
      // The harness cut the board off itself: not the driver's fault, and no recovery.
      obs.fault = { class: 'error', step: current, message: interrupted };
      obs.kernelEvents = [...watcher.events(), ...watcher.flush()];
      unsubscribe();
      return obs;
    }
    // Give the console a moment to deliver the rest of a panic report.
    await settle(board);
    const events = [...watcher.events(), ...watcher.flush()];
    obs.fault = {
      class: faultClass(board, error, events),
      step: current,
      message: error.message.split('\n')[0] ?? error.message,
    };
    obs.kernelEvents = events;
    if (obs.fault.class === 'hang' && !events.some((e) => e.class === 'soft-lockup' || e.class === 'hung-task')) {
      obs.kernelEvents.push({ class: 'hang', firstLine: `board stopped answering during ${current}`, text: error.message, fatal: true });
    }
    unsubscribe();
    await board.recover(`${obs.fault.class} during stage ${plan.stage} (${current})`);
    obs.recovered = true;
    obs.durationMs = Date.now() - started;
    return obs;
  } finally {
    obs.durationMs = Date.now() - started;
  }
  // A stage that stopped early (insmod or ifconfig failed) still gets its kernel log delta.
  if (!dmesgTaken && dmesgBefore !== '') {
    const now = await run('dmesg').catch((error: unknown) => {
      if (error instanceof BoardError) return undefined;
      throw error;
    });
    if (now) obs.dmesg = dmesgDelta(dmesgBefore, now.stdout).lines.map((l) => l.raw);
    obs.durationMs = Date.now() - started;
  }
  unsubscribe();
  const seen = [...watcher.events(), ...watcher.flush()];
  // Boards without a console capture still show faults in the kernel log.
  const fromDmesg = classifyKernelText(obs.dmesg.join('\n'));
  obs.kernelEvents = mergeEvents(seen, fromDmesg);
  return obs;
}

/**
 * Crash or hang: a fatal kernel report, or an emulated board whose QEMU is gone
 * (it reset itself), is a crash; a board that stopped answering without one
 * (command timeout, keepalive lost while the machine still runs) hangs.
 */
function faultClass(board: Board, error: BoardError, events: readonly KernelEvent[]): StageFault['class'] {
  if (events.some((e) => e.fatal)) return 'crash';
  if (error.kind === 'command-timeout') return 'hang';
  if (error.kind !== 'board-lost') return 'error';
  const pid = board.emulatorPid();
  return pid === undefined || pidAlive(pid) ? 'hang' : 'crash';
}

/** Waits briefly for a dying board's console to go quiet or close. */
async function settle(board: Board): Promise<void> {
  const console = board.currentConsole();
  if (!console) return;
  let last = Date.now();
  const off = console.onData(() => (last = Date.now()));
  const end = Date.now() + 3000;
  while (Date.now() < end && Date.now() - last < 500) await new Promise((r) => setTimeout(r, 100));
  off();
}

/** Events from the console plus those only the kernel log had (same class and first line = same event). */
function mergeEvents(console: KernelEvent[], dmesg: KernelEvent[]): KernelEvent[] {
  const key = (e: KernelEvent): string => `${e.class}|${e.firstLine.replace(/^\[[^\]]*\]\s*/, '').trim()}`;
  const seen = new Set(console.map(key));
  return [...console, ...dmesg.filter((e) => !seen.has(key(e)))];
}

