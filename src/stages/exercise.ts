// Runs one stage's steps on the board and records what was observed; the
// checks (suites/) judge the observations. A kernel fault or a hang ends the
// steps early: the fault is classified, the board recovered, and the
// observations so far are kept so the checks can say what was reached.
import { existsSync } from 'node:fs';
import type { Board } from '../board/board.ts';
import type { CommandResult } from '../board/session.ts';
import { BoardError } from '../errors.ts';
import { dmesgDelta, parseDmesg } from '../parsers/dmesg.ts';
import { KernelEventWatcher, classifyKernelText } from '../parsers/kernel-events.ts';
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
}

const READING_SPLIT = '@@vnet-harness-split@@';

/** A shell snippet: reading, command (its exit status echoed), reading. */
function bracketed(command: string): string {
  const read = sysfsReadCommand(IFACE);
  return `${read}; echo ${READING_SPLIT}; ${command}; echo "${READING_SPLIT} $?"; ${read}`;
}

/** Splits bracketed() output into its reading, command output and exit code, reading. */
function splitBracketed(result: CommandResult): { before: SysfsReading; output: string; exitCode: number | null; after: SysfsReading } {
  const parts = result.stdout.split(READING_SPLIT);
  if (parts.length !== 3) throw new BoardError('protocol', 'board', `unexpected output of a bracketed command:\n${result.stdout}`, result.command);
  const [before = '', output = '', rest = ''] = parts;
  const status = /^ (\d+)/.exec(rest);
  return {
    before: parseSysfsReading(before),
    output,
    exitCode: status ? Number(status[1]) : null,
    after: parseSysfsReading(rest.replace(/^ \d+\s*\n?/, '')),
  };
}

/** Runs the stage's steps; never throws for a board fault (it is recorded), only for harness bugs. */
export async function exerciseStage(board: Board, plan: StagePlan, inputs: StageInputs, stageTimeoutMs: number): Promise<StageObservations> {
  const started = Date.now();
  const obs: StageObservations = { plan, dmesg: [], kernelEvents: [], steps: [], startedAt: new Date(started).toISOString(), durationMs: 0 };
  // Replaced once the board's uptime is known (after reset), so a dmesg printed
  // over the watched console cannot report an earlier stage's faults again.
  let watcher = new KernelEventWatcher();
  let fatalSeen = false;
  const console = board.currentConsole();
  const unsubscribe = console?.onData((chunk) => watcher.feed(chunk.data)) ?? (() => {});
  const deadline = started + stageTimeoutMs;
  const step = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await body();
    } finally {
      obs.steps.push({ name, durationMs: Date.now() - t });
    }
  };
  const run = (command: string, timeoutMs = 30_000): Promise<CommandResult> =>
    board.run(command, { timeoutMs: Math.max(1000, Math.min(timeoutMs, deadline - Date.now())) });
  const moduleName = MODULE_NAMES[plan.stage - 1] ?? 'virt_net';
  const remoteKo = `${BOARD_DIR}/${moduleName}.ko`;
  let dmesgBefore = '';
  let current = 'reset';
  try {
    current = 'reset';
    obs.reset = await step('reset', () =>
      run(
        [
          `mkdir -p ${BOARD_DIR}`,
          `for m in ${MODULE_NAMES.join(' ')}; do if grep -q "^$m " /proc/modules; then rmmod $m || exit 10; fi; done`,
          // IPv6 would put router solicitations and MLD reports on vnet0.
          'if [ -w /proc/sys/net/ipv6/conf/default/disable_ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi',
          `if [ -e /sys/class/net/${IFACE} ]; then echo "${IFACE} exists before insmod"; exit 11; fi`,
          'echo "@uptime $(cut -d" " -f1 /proc/uptime)"',
        ].join('; '),
      ),
    );
    const uptime = /@uptime (\d+(?:\.\d+)?)/.exec(obs.reset.stdout);
    watcher = new KernelEventWatcher({
      ...(uptime ? { ignoreBeforeMs: Math.floor(Number(uptime[1]) * 1000) } : {}),
      // A fatal report means the board is gone: an emulated one is powered off
      // at once so the in-flight command fails now, not at a keepalive timeout.
      onStart: (start) => {
        if (start.fatal && !fatalSeen) {
          fatalSeen = true;
          // Only the QEMU that panicked: by the time the timer fires the board may be rebooted already.
          const crashed = board.emulatorPid();
          if (crashed !== undefined) {
            setTimeout(() => {
              if (board.emulatorPid() === crashed) board.killEmulator();
            }, 1500).unref();
          }
        }
      },
    });
    if (obs.reset.exitCode !== 0) {
      obs.fault = { class: 'error', step: 'reset', message: `board not in a known state: ${obs.reset.stdout}${obs.reset.stderr}` };
      return obs;
    }
    current = 'upload';
    await step('upload', async () => {
      await board.upload(inputs.modulePath, remoteKo);
      if (inputs.probePath && plan.probeCount > 0) await uploadProbe(board, run, inputs.probePath);
    });
    dmesgBefore = (await run('dmesg')).stdout;
    current = 'insmod';
    obs.insmod = await step('insmod', () => run(`insmod ${remoteKo}`));
    if (obs.insmod.exitCode !== 0) return obs;
    obs.loaded = await step('read-sysfs', async () => parseSysfsReading((await run(sysfsReadCommand(IFACE))).stdout));
    if (!obs.loaded.present) return obs;
    current = 'ifconfig';
    obs.ifconfig = await step('ifconfig', () => run(`ifconfig ${IFACE} ${LOCAL_ADDRESS}`));
    if (obs.ifconfig.exitCode !== 0) return obs;
    current = `ping ${LOCAL_ADDRESS}`;
    obs.localPing = await step('ping-local', () => pingObserved(run, `ping -c 3 -i 0.2 -W 1 ${LOCAL_ADDRESS}`));
    current = `ping ${REMOTE_ADDRESS}`;
    const dmesgMid = (await run('dmesg')).stdout;
    obs.remotePing = await step('ping-remote', () =>
      pingObserved(
        run,
        plan.remoteAnswered ? `ping -c ${plan.remoteCount} -i 0.2 -W 2 ${REMOTE_ADDRESS}` : `ping -c ${plan.remoteCount} -W 1 ${REMOTE_ADDRESS}`,
      ),
    );
    obs.remoteDmesg = dmesgDelta(dmesgMid, (await run('dmesg')).stdout).lines.map((l) => l.text);
    if (plan.probeCount > 0 && inputs.probePath) {
      current = 'probe';
      obs.probe = await step('probe', async () => {
        const r = await run(bracketed(`${BOARD_DIR}/vnet_probe -c ${plan.probeCount} -i 100 -t 1000 ${REMOTE_ADDRESS}`));
        const parts = splitBracketed(r);
        return { command: { ...r, stdout: parts.output, exitCode: parts.exitCode }, parsed: parseProbeOutput(parts.output), before: parts.before, after: parts.after };
      });
    }
    current = 'rmmod';
    obs.rmmod = await step('rmmod', () => run(`rmmod ${moduleName}`));
    obs.unloaded = parseSysfsReading((await run(sysfsReadCommand(IFACE))).stdout);
    const after = (await run('dmesg')).stdout;
    obs.dmesg = dmesgDelta(dmesgBefore, after).lines.map((l) => l.raw);
  } catch (error) {
    if (!(error instanceof BoardError)) throw error;
    // Give the console a moment to deliver the rest of a panic report.
    await settle(board);
    const events = [...watcher.events(), ...watcher.flush()];
    const fatal = events.some((e) => e.fatal);
    obs.fault = {
      class: fatal || error.kind === 'board-lost' ? 'crash' : error.kind === 'command-timeout' ? 'hang' : 'error',
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
  unsubscribe();
  const seen = [...watcher.events(), ...watcher.flush()];
  // Boards without a console capture still show faults in the kernel log.
  const fromDmesg = classifyKernelText(obs.dmesg.join('\n'));
  obs.kernelEvents = mergeEvents(seen, fromDmesg);
  return obs;
}

/** Puts the probe on the board, gzipped when the board has gunzip (half the bytes on a slow serial line). */
async function uploadProbe(board: Board, run: (c: string) => Promise<CommandResult>, probePath: string): Promise<void> {
  const target = `${BOARD_DIR}/vnet_probe`;
  if (existsSync(`${probePath}.gz`) && (await run('command -v gunzip')).exitCode === 0) {
    await board.upload(`${probePath}.gz`, `${target}.gz`);
    const r = await run(`gunzip -c ${target}.gz > ${target} && rm -f ${target}.gz && chmod 755 ${target}`);
    if (r.exitCode === 0) return;
  }
  await board.upload(probePath, target);
  await run(`chmod 755 ${target}`);
}

/** Runs a ping bracketed by interface readings, and parses it. */
async function pingObserved(run: (c: string) => Promise<CommandResult>, command: string): Promise<PingObservation> {
  const r = await run(bracketed(command));
  const parts = splitBracketed(r);
  return {
    command: { ...r, command, stdout: parts.output, exitCode: parts.exitCode },
    parsed: parsePing(parts.output),
    before: parts.before,
    after: parts.after,
  };
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

export { parseDmesg };
