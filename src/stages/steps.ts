// A stage as a list of named steps. Each step is ONE board command made of
// named parts (sections.ts), and records what it saw as named fields of the
// stage's observations; a step that finds something wrong ends the stage
// early, leaving later observations unset for the checks to call not reached.
// The board state a step needs is the strategy's business (ensureClean).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PowerDriver } from '../board/power.ts';
import type { BoardStrategy } from '../board/strategy.ts';
import { dmesgDelta } from '../parsers/dmesg.ts';
import { parseProbeOutput } from '../parsers/probe.ts';
import { sysfsReadCommand } from '../parsers/sysfs.ts';
import type { SerialConsole } from '../transport/console.ts';
import type { CommandResult, RunOptions } from '../transport/types.ts';
import type { KernelWatch } from './kernel-watch.ts';
import type { StageObservations } from './observations.ts';
import { BOARD_PROBE, boardModulePath, IFACE, LOCAL_ADDRESS, MODULE_NAMES, REMOTE_ADDRESS, type StagePlan } from './plan.ts';
import { MISSING, sections } from './sections.ts';

/** What the steps need of a board: a BoardTarget (board/target.ts), or a fake in tests. */
export interface StageBoard {
  readonly name: string;
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  upload(localPath: string, remotePath: string): Promise<void>;
  readonly console: { current(): SerialConsole | undefined };
  readonly power: Pick<PowerDriver, 'machinePid' | 'cut' | 'running' | 'killedFromOutside'>;
  readonly strategy: Pick<BoardStrategy, 'ensureClean' | 'recover'>;
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

/** One stage being exercised: what every step reads and writes. */
export interface StepContext {
  board: StageBoard;
  plan: StagePlan;
  inputs: StageInputs;
  obs: StageObservations;
  watch: KernelWatch;
  /** Runs one board command within the stage's deadline. */
  run(command: string, timeoutMs?: number): Promise<CommandResult>;
  /** Times a step under its name (the names the checks judge: CHECK_STEPS). */
  step<T>(name: string, body: () => Promise<T>): Promise<T>;
  /** What a fault now would be reported as happening during. */
  phase: string;
  /** The kernel log when the stage started, for the deltas. */
  dmesgBefore: string;
  /** True once the last step read the kernel log delta itself. */
  dmesgTaken: boolean;
}

/** A named step: `run` records its observations and says whether the stage goes on. */
export interface StageStep {
  name: string;
  /** Whether the stage has this step (default: every stage). */
  applies?(ctx: StepContext): boolean;
  run(ctx: StepContext): Promise<'next' | 'stop'>;
}

const READ = sysfsReadCommand(IFACE);

/** The probe runs on this stage (it has a probe count and the probe was built). */
const withProbe = (ctx: StepContext): boolean => ctx.inputs.probePath !== undefined && ctx.plan.probeCount > 0;

/** The sha256 that `sha256sum FILE` printed, or undefined when it failed. */
const boardSha256 = (part: CommandResult): string | undefined => (part.exitCode === 0 ? /^([0-9a-f]{64})\b/m.exec(part.stdout)?.[1] : undefined);

/**
 * Upload, then one board command: the reset to the known state (no
 * virt_net* module, no vnet0), the uptime and kernel log at the start, the
 * checksum of the probe the board already has, insmod (only on a clean
 * board) and a reading.
 */
async function uploadAndInsmod(ctx: StepContext) {
  const remoteKo = boardModulePath(ctx.plan.stage);
  ctx.phase = 'upload';
  await ctx.step('upload', () => ctx.board.upload(ctx.inputs.modulePath, remoteKo));
  // A fault from here to the end of the command counts as during the reset: the command starts with it.
  ctx.phase = 'reset';
  return ctx.step('insmod', () =>
    sections(ctx.run, {
      reset: `( ${[
        `for m in ${MODULE_NAMES.join(' ')}; do if grep -q "^$m " /proc/modules; then rmmod $m || exit 10; fi; done`,
        // IPv6 would put router solicitations and MLD reports on vnet0.
        'if [ -w /proc/sys/net/ipv6/conf/default/disable_ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi',
        `if [ -e /sys/class/net/${IFACE} ]; then echo "${IFACE} exists before insmod"; exit 11; fi`,
      ].join('; ')} ); reset=$?; [ $reset -eq 0 ]`,
      uptime: 'cut -d" " -f1 /proc/uptime',
      dmesg: 'dmesg',
      // The probe stays on the board between stages and runs: it goes up only when this differs.
      probeSum: withProbe(ctx) ? `[ -x ${BOARD_PROBE} ] && sha256sum ${BOARD_PROBE}` : 'true',
      // Loaded only on a board in the known state.
      insmod: `[ $reset -eq 0 ] && insmod ${remoteKo}`,
      loaded: READ,
    }),
  );
}

/** insmod on a board in the known state: a dirty board is power-cycled by the strategy and the step runs again. */
export const insmodStep: StageStep = {
  name: 'insmod',
  async run(ctx) {
    const { plan, obs } = ctx;
    const { result: first } = await ctx.board.strategy.ensureClean(
      () => uploadAndInsmod(ctx),
      (s) => (s.part('reset').exitCode === 0 ? undefined : `${s.part('reset').stdout}${s.part('reset').stderr}`.trim()),
      {
        // An earlier stage left the board dirty (a module that will not unload).
        recovering: (why) => {
          ctx.inputs.log?.(`stage ${plan.stage}: board not in a known state (${why}): power-cycling`);
          ctx.watch.pause();
          return `stage ${plan.stage}: board not in a known state: ${why}`;
        },
        recovered: () => {
          obs.recovered = true;
          ctx.watch.follow();
        },
      },
    );
    obs.reset = first.part('reset');
    ctx.dmesgBefore = first.output('dmesg') ?? '';
    // From here on, reports older than the stage are ignored; the console so far is fed again.
    ctx.watch.ignoreBefore(first.output('uptime') ?? '');
    if (obs.reset.exitCode !== 0) {
      obs.fault = { class: 'error', step: 'reset', message: `board not in a known state: ${obs.reset.stdout}${obs.reset.stderr}` };
      return 'stop';
    }
    if (withProbe(ctx)) {
      const probePath = ctx.inputs.probePath ?? '';
      const want = createHash('sha256').update(await readFile(probePath)).digest('hex');
      // Absent, not executable, another build, or no sha256sum on the board: it goes up (a few KB, not gzipped).
      if (boardSha256(first.part('probeSum')) !== want) {
        ctx.phase = 'upload';
        await ctx.step('upload', async () => {
          await ctx.board.upload(probePath, BOARD_PROBE);
          await ctx.run(`chmod 755 ${BOARD_PROBE}`);
        });
      }
    }
    ctx.phase = 'insmod';
    obs.insmod = { ...first.part('insmod'), command: `insmod ${boardModulePath(plan.stage)}`, stderr: first.result.stderr };
    obs.loaded = first.reading('loaded');
    return obs.insmod.exitCode === 0 && obs.loaded?.present ? 'next' : 'stop';
  },
};

/** ifconfig vnet0 3.3.3.3 and ping it, with readings around the ping. */
export const pingLocalStep: StageStep = {
  name: 'ping-local',
  async run(ctx) {
    ctx.phase = 'ifconfig';
    const local = await ctx.step('ping-local', () =>
      sections(ctx.run, { ifconfig: `ifconfig ${IFACE} ${LOCAL_ADDRESS}`, before: READ, ping: `ping -c 3 -i 0.2 -W 1 ${LOCAL_ADDRESS}`, after: READ }),
    );
    ctx.obs.ifconfig = local.part('ifconfig');
    if (ctx.obs.ifconfig.exitCode !== 0) return 'stop';
    ctx.obs.localPing = local.ping('ping', 'before', 'after');
    return 'next';
  },
};

/** ping 3.3.3.4 (answered from stage 4 on), with readings and the kernel log around it. */
export const pingRemoteStep: StageStep = {
  name: 'ping-remote',
  async run(ctx) {
    const { plan } = ctx;
    ctx.phase = `ping ${REMOTE_ADDRESS}`;
    const ping = plan.remoteAnswered ? `ping -c ${plan.remoteCount} -i 0.2 -W 2 ${REMOTE_ADDRESS}` : `ping -c ${plan.remoteCount} -W 1 ${REMOTE_ADDRESS}`;
    const remote = await ctx.step('ping-remote', () =>
      sections(ctx.run, {
        dmesgBefore: 'dmesg',
        before: READ,
        ping,
        // The neighbour flush stops ARP retransmissions that would otherwise go on
        // after ping exits, between the counter reading and the kernel log read.
        flush: `ip neigh flush dev ${IFACE} >/dev/null 2>&1; true`,
        after: READ,
        dmesgAfter: 'dmesg',
      }),
    );
    ctx.obs.remotePing = remote.ping('ping', 'before', 'after');
    ctx.obs.remoteDmesg = dmesgDelta(remote.output('dmesgBefore') ?? '', remote.output('dmesgAfter') ?? '').lines.map((l) => l.text);
    return 'next';
  },
};

/** The board-side probe's echo exchange with 3.3.3.4, with readings around it. */
export const probeStep: StageStep = {
  name: 'probe',
  applies: (ctx) => ctx.plan.probeCount > 0 && ctx.inputs.probePath !== undefined,
  async run(ctx) {
    ctx.phase = 'probe';
    const probe = await ctx.step('probe', () =>
      sections(ctx.run, { before: READ, probe: `${BOARD_PROBE} -c ${ctx.plan.probeCount} -i 25 -t 1000 ${REMOTE_ADDRESS}`, after: READ }),
    );
    const command = probe.part('probe');
    ctx.obs.probe = { command, parsed: parseProbeOutput(command.stdout), before: probe.reading('before') ?? MISSING, after: probe.reading('after') ?? MISSING };
    return 'next';
  },
};

/**
 * The probe again, through a packet socket bound to vnet0 (-F): first the
 * frames a real network carries that the peer must not answer, then echo
 * requests with IP options; readings around it. The neighbour flush first
 * stops ARP retransmissions an earlier step may have started (a driver
 * without IFF_NOARP), which would be counted here.
 */
export const framesStep: StageStep = {
  name: 'frames',
  applies: (ctx) => ctx.plan.framesCount > 0 && ctx.inputs.probePath !== undefined,
  async run(ctx) {
    ctx.phase = 'frames';
    const frames = await ctx.step('frames', () =>
      sections(ctx.run, {
        flush: `ip neigh flush dev ${IFACE} >/dev/null 2>&1; true`,
        before: READ,
        frames: `${BOARD_PROBE} -F ${IFACE} -c ${ctx.plan.framesCount} -i 25 -t 1000 -l 200 ${REMOTE_ADDRESS}`,
        after: READ,
      }),
    );
    const command = frames.part('frames');
    ctx.obs.frames = { command, parsed: parseProbeOutput(command.stdout), before: frames.reading('before') ?? MISSING, after: frames.reading('after') ?? MISSING };
    return 'next';
  },
};

/** rmmod, a reading (vnet0 expected gone) and the stage's kernel log delta. */
export const rmmodStep: StageStep = {
  name: 'rmmod',
  async run(ctx) {
    ctx.phase = 'rmmod';
    const moduleName = MODULE_NAMES[ctx.plan.stage - 1] ?? 'virt_net';
    const rmmod = await ctx.step('rmmod', () => sections(ctx.run, { rmmod: `rmmod ${moduleName}`, unloaded: READ, dmesg: 'dmesg' }));
    ctx.obs.rmmod = rmmod.part('rmmod');
    ctx.obs.unloaded = rmmod.reading('unloaded');
    ctx.obs.dmesg = dmesgDelta(ctx.dmesgBefore, rmmod.output('dmesg') ?? '').lines.map((l) => l.raw);
    ctx.dmesgTaken = true;
    return 'next';
  },
};

/** The steps of every stage, in order (the tutorial's manual test). */
export const STAGE_STEPS: readonly StageStep[] = [insmodStep, pingLocalStep, pingRemoteStep, probeStep, framesStep, rmmodStep];
