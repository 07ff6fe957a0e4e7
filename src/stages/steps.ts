// A stage as a list of named steps. Each step is ONE board command made of
// named parts (sections.ts), and records what it saw as named fields of the
// stage's observations; a step that finds something wrong ends the stage
// early, leaving later observations unset for the checks to call not reached.
// The board state a step needs is the strategy's business (ensureClean).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PowerDriver } from '../board/power.ts';
import type { BoardStrategy } from '../board/strategy.ts';
import { FULL_USERLAND, pingCommand, unansweredPingCommand, type Userland } from '../board/userland.ts';
import { checksumCommand, digestOf, parseDigest } from '../transport/checksum.ts';
import { dmesgDelta } from '../parsers/dmesg.ts';
import { attributeLeaks, moduleRange, parseKmemleak } from '../parsers/kmemleak.ts';
import { sysfsReadCommand } from '../parsers/sysfs.ts';
import type { SerialConsole } from '../transport/console.ts';
import type { CommandResult, RunOptions } from '../transport/types.ts';
import type { KernelWatch } from './kernel-watch.ts';
import type { StageObservations } from './observations.ts';
import { BOARD_PROBE, boardModulePath, IFACE, LEAK_WITNESS_ADDRESSES, LOCAL_ADDRESS, MODULE_NAMES, REMOTE_ADDRESS, type StagePlan } from './plan.ts';
import { sections } from './sections.ts';

/** What the steps need of a board: a BoardTarget (board/target.ts), or a fake in tests. */
export interface StageBoard {
  readonly name: string;
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  upload(localPath: string, remotePath: string): Promise<void>;
  readonly console: { current(): SerialConsole | undefined };
  readonly power: Pick<PowerDriver, 'machinePid' | 'cut' | 'running' | 'killedFromOutside'>;
  readonly strategy: Pick<BoardStrategy, 'ensureClean' | 'recover'>;
  /** What the board's userland offers (probed once per boot); absent: everything (fake boards). */
  readonly userland?: Userland | undefined;
}

/** What a stage needs besides the board: the built module and the probe binary. */
export interface StageInputs {
  modulePath: string;
  probePath?: string;
  /** Progress: one line per step with its duration. */
  log?: (line: string) => void;
  /** Aborted when the run is interrupted (its reason is the signal): no recovery, the stage ends as an error. */
  abort?: AbortSignal;
  /** How old an object must be for the board's kmemleak to report it (the board file's kmemleak.min_age; default 5 s). */
  kmemleakMinAgeMs?: number;
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
  /** Set when the board's kernel has kmemleak and its suspects were cleared at the stage's start; the module's load address once it is loaded. */
  kmemleak?: { startJiffies?: number; moduleRange?: { base: number; size: number }; firstScan?: CommandResult };
  /** When the last step that sent frames ended (Date.now()). */
  lastTrafficAt?: number;
}

/** A named step: `run` records its observations and says whether the stage goes on. */
export interface StageStep {
  name: string;
  /** Whether the stage has this step (default: every stage). */
  applies?(ctx: StepContext): boolean;
  run(ctx: StepContext): Promise<'next' | 'stop'>;
}

const READ = sysfsReadCommand(IFACE);

const KMEMLEAK = '/sys/kernel/debug/kmemleak';

/**
 * At a stage's start, on a kernel with kmemleak (debugfs mounted if it was
 * not): forget the suspects so far, print the jiffies (the stage's leaks are
 * allocated after it) and `kmemleak`; elsewhere print `none`.
 */
const KMEMLEAK_START = [
  `[ -e ${KMEMLEAK} ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null`,
  `if [ -e ${KMEMLEAK} ] && echo clear > ${KMEMLEAK} 2>/dev/null; then sed -n 's/^jiffies: //p' /proc/timer_list 2>/dev/null | head -n 1; echo kmemleak; else echo none; fi`,
].join('; ');

/** The probe runs on this stage (it has a probe count and the probe was built). */
const withProbe = (ctx: StepContext): boolean => ctx.inputs.probePath !== undefined && ctx.plan.probeCount > 0;

/** The board's userland: the command variants a step picks from. */
const userlandOf = (ctx: StepContext): Userland => ctx.board.userland ?? FULL_USERLAND;

/** The digest the board's checksum tool printed (sha256sum, or md5sum/cksum without it), or undefined when it failed. */
const boardDigest = (ctx: StepContext, part: CommandResult): string | undefined =>
  part.exitCode === 0 ? parseDigest(userlandOf(ctx).files.checksum, part.stdout) : undefined;

/** Flushes vnet0's neighbour table: ip, or arp -d of each neighbour it can have (an old busybox without ip); nothing without either. */
const neighFlush = (ctx: StepContext): string => {
  const how = userlandOf(ctx).neighFlush;
  if (how === 'ip') return `ip neigh flush dev ${IFACE} >/dev/null 2>&1; true`;
  return how === 'arp' ? `for a in ${[REMOTE_ADDRESS, ...LEAK_WITNESS_ADDRESSES].join(' ')}; do arp -i ${IFACE} -d $a >/dev/null 2>&1; done; true` : 'true';
};

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
        // One cut for the loaded modules, not a grep per stage module (a process start is ~25 ms on the debug board).
        `for m in $(cut -d" " -f1 /proc/modules); do case " ${MODULE_NAMES.join(' ')} " in *" $m "*) rmmod $m || exit 10;; esac; done`,
        // IPv6 would put router solicitations and MLD reports on vnet0.
        'if [ -w /proc/sys/net/ipv6/conf/default/disable_ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi',
        `if [ -e /sys/class/net/${IFACE} ]; then echo "${IFACE} exists before insmod"; exit 11; fi`,
      ].join('; ')} ); reset=$?; [ $reset -eq 0 ]`,
      uptime: 'cut -d" " -f1 /proc/uptime',
      dmesg: 'dmesg',
      // The probe stays on the board between stages and runs: it goes up only when this differs.
      probeSum: withProbe(ctx) ? `[ -x ${BOARD_PROBE} ] && ${checksumCommand(userlandOf(ctx).files.checksum, BOARD_PROBE)}` : 'true',
      kmemleak: KMEMLEAK_START,
      // Loaded only on a board in the known state.
      insmod: `[ $reset -eq 0 ] && insmod ${remoteKo}`,
      loaded: READ,
      // Where the module sits, for the leak scan: its frames print as bare addresses once it is unloaded.
      address: `grep "^${MODULE_NAMES[ctx.plan.stage - 1] ?? 'virt_net'} " /proc/modules`,
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
    const leakStart = (first.output('kmemleak') ?? '').trim().split('\n');
    if (leakStart.at(-1) === 'kmemleak') {
      const jiffies = /^\d+$/.test(leakStart[0] ?? '') ? Number(leakStart[0]) : undefined;
      const range = moduleRange(first.output('address') ?? '');
      ctx.kmemleak = { ...(jiffies === undefined ? {} : { startJiffies: jiffies }), ...(range ? { moduleRange: range } : {}) };
    }
    if (withProbe(ctx)) {
      const probePath = ctx.inputs.probePath ?? '';
      const tool = userlandOf(ctx).files.checksum;
      const bytes = await readFile(probePath);
      const want = tool === 'sha256' ? createHash('sha256').update(bytes).digest('hex') : digestOf(tool, bytes);
      // Absent, not executable, another build, or no checksum tool on the board: it goes up (a few KB, not gzipped).
      if (boardDigest(ctx, first.part('probeSum')) !== want) {
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
      sections(ctx.run, {
        // ifconfig gives 3.3.3.3 its class A mask; ip says it (a board with ip and no ifconfig).
        ifconfig: userlandOf(ctx).addressWith === 'ifconfig' ? `ifconfig ${IFACE} ${LOCAL_ADDRESS}` : `ip addr add ${LOCAL_ADDRESS}/8 dev ${IFACE} && ip link set ${IFACE} up`,
        before: READ,
        ping: pingCommand(userlandOf(ctx), 3, 1, LOCAL_ADDRESS, true),
        after: READ,
      }),
    );
    ctx.obs.ifconfig = local.part('ifconfig');
    if (ctx.obs.ifconfig.exitCode !== 0) return 'stop';
    ctx.obs.localPing = local.ping('ping', 'before', 'after');
    ctx.lastTrafficAt = Date.now();
    return 'next';
  },
};

/** ping 3.3.3.4 (answered from stage 4 on), with readings and the kernel log around it. */
export const pingRemoteStep: StageStep = {
  name: 'ping-remote',
  async run(ctx) {
    const { plan } = ctx;
    ctx.phase = `ping ${REMOTE_ADDRESS}`;
    const u = userlandOf(ctx);
    const remotePing = plan.remoteAnswered
      ? pingCommand(u, plan.remoteCount, 2, REMOTE_ADDRESS, true)
      : plan.remoteCount === 1
        ? unansweredPingCommand(u, REMOTE_ADDRESS)
        : pingCommand(u, plan.remoteCount, 1, REMOTE_ADDRESS, false);
    // Where a leak of the stage's frames must be seen, more frames to leak (LEAK_WITNESS_ADDRESSES): their pings end with 3.3.3.4's, whose output and status stay the part's.
    const ping =
      !plan.remoteAnswered && ctx.kmemleak
        ? `w=; for a in ${LEAK_WITNESS_ADDRESSES.join(' ')}; do ping -c 1 $a >/dev/null 2>&1 & w="$w $!"; done; ${remotePing}; s=$?; kill $w 2>/dev/null; wait; (exit $s)`
        : remotePing;
    const remote = await ctx.step('ping-remote', () =>
      sections(ctx.run, {
        dmesgBefore: 'dmesg',
        before: READ,
        ping,
        // The neighbour flush stops ARP retransmissions that would otherwise go on
        // after ping exits, between the counter reading and the kernel log read.
        flush: neighFlush(ctx),
        after: READ,
        dmesgAfter: 'dmesg',
      }),
    );
    ctx.obs.remotePing = remote.ping('ping', 'before', 'after');
    ctx.lastTrafficAt = Date.now();
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
    ctx.obs.probe = probe.probe('probe', 'before', 'after');
    ctx.lastTrafficAt = Date.now();
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
        flush: neighFlush(ctx),
        before: READ,
        frames: `${BOARD_PROBE} -F ${IFACE} -c ${ctx.plan.framesCount} -i 25 -t 1000 -l 200 ${REMOTE_ADDRESS}`,
        after: READ,
      }),
    );
    ctx.obs.frames = frames.probe('frames', 'before', 'after');
    ctx.lastTrafficAt = Date.now();
    return 'next';
  },
};

/** rmmod, a reading (vnet0 expected gone) and the stage's kernel log delta. */
export const rmmodStep: StageStep = {
  name: 'rmmod',
  async run(ctx) {
    ctx.phase = 'rmmod';
    const moduleName = MODULE_NAMES[ctx.plan.stage - 1] ?? 'virt_net';
    // On a kernel with kmemleak, its first scan ends the same command (one board round trip less a stage).
    const rmmod = await ctx.step('rmmod', () =>
      sections(ctx.run, { rmmod: `rmmod ${moduleName}`, unloaded: READ, dmesg: 'dmesg', scan: ctx.kmemleak ? `echo scan > ${KMEMLEAK}` : 'true' }),
    );
    if (ctx.kmemleak) ctx.kmemleak.firstScan = rmmod.part('scan');
    ctx.obs.rmmod = rmmod.part('rmmod');
    ctx.obs.unloaded = rmmod.reading('unloaded');
    ctx.obs.dmesg = dmesgDelta(ctx.dmesgBefore, rmmod.output('dmesg') ?? '').lines.map((l) => l.raw);
    ctx.dmesgTaken = true;
    return 'next';
  },
};

/** How many of the suspects a stage did not cause are kept whole in its result (the count is always complete). */
const MAX_OTHER_LEAKS = 5;

/**
 * Margin over kmemleak's minimum age, counted from the end of the command
 * that sent the stage's last frame (by then the board's ping or probe has
 * exited): ten ticks of the board's 100 Hz clock. The frames a leaking
 * driver keeps are older still: they go out at the start of their ping.
 */
const KMEMLEAK_AGE_MARGIN_MS = 100;

/**
 * When the list names suspects of the stage, one more scan and list this
 * much later must name them too: a leaked object stays listed, an object
 * freed in between does not. With SLAB the debug kernel listed freed skbs
 * (those `ip neigh flush` freed) as leaks, because SLAB tells kmemleak of a
 * free only when KASAN's quarantine lets the object go; the board now uses
 * SLUB. The confirmation stays for an object freed late by other means; a
 * stage without suspects does not pay for it.
 */
const KMEMLEAK_CONFIRM_MS = 1000;

/**
 * On a kernel with kmemleak, after rmmod: two scans, then the list of
 * suspects. kmemleak reports an object only when its contents were the same
 * at two scans in a row (a new object's first checksum always differs) and
 * it is old enough (the board's kmemleak.min_age): the first scan ends the
 * rmmod command, the second comes once the stage's last frame is old enough. The stage's
 * own suspects (new since it began; its module in the backtrace, or
 * allocated by a command it ran) become kernel events of class kmemleak;
 * the others are only counted.
 */
export const kmemleakStep: StageStep = {
  name: 'kmemleak',
  applies: (ctx) => ctx.kmemleak !== undefined,
  async run(ctx) {
    ctx.phase = 'kmemleak scan';
    const minAgeMs = ctx.inputs.kmemleakMinAgeMs ?? 5000;
    const scanAndList = () => sections((command) => ctx.run(command, 60_000), { scan: `echo scan > ${KMEMLEAK}`, list: `cat ${KMEMLEAK}` });
    // kmemleak turns itself off on an internal error (its object pool full): the board, not the driver.
    const scanFailed = (failed: CommandResult | undefined): 'stop' => {
      const said = `${failed?.stdout ?? ''}${failed?.stderr ?? ''}`.trim() || 'no output';
      ctx.obs.fault = { class: 'error', step: 'kmemleak scan', message: `kmemleak scan failed (exit ${failed?.exitCode ?? '?'}): ${said}` };
      return 'stop';
    };
    const scan = await ctx.step('kmemleak', async () => {
      // The first scan came with rmmod; run here only when that step did not (a stage without it).
      const first = ctx.kmemleak?.firstScan ?? (await ctx.run(`echo scan > ${KMEMLEAK}`, 60_000));
      if (first.exitCode !== 0) return { first, second: undefined };
      const wait = (ctx.lastTrafficAt ?? 0) + minAgeMs + KMEMLEAK_AGE_MARGIN_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return { first, second: await scanAndList() };
    });
    const failed = [scan.first, scan.second?.part('scan'), scan.second?.part('list')].find((p) => p !== undefined && p.exitCode !== 0);
    if (failed || scan.second === undefined) return scanFailed(failed);
    const moduleName = MODULE_NAMES[ctx.plan.stage - 1] ?? 'virt_net';
    const { stage: suspects, other } = attributeLeaks(parseKmemleak(scan.second.output('list') ?? ''), {
      modules: [moduleName],
      comms: ['ping', BOARD_PROBE.split('/').at(-1) ?? 'vnet_probe'],
      ...(ctx.kmemleak?.moduleRange ? { moduleRanges: [ctx.kmemleak.moduleRange] } : {}),
      ...(ctx.kmemleak?.startJiffies !== undefined ? { startJiffies: ctx.kmemleak.startJiffies } : {}),
    });
    // The stage's suspects must still be listed by a later scan (KMEMLEAK_CONFIRM_MS); a correct driver's stage pays nothing.
    let stage = suspects;
    let transient: string[] = [];
    if (suspects.length > 0) {
      const confirm = await ctx.step('kmemleak-confirm', async () => {
        await new Promise((r) => setTimeout(r, KMEMLEAK_CONFIRM_MS));
        return scanAndList();
      });
      const bad = [confirm.part('scan'), confirm.part('list')].find((p) => p.exitCode !== 0);
      if (bad) return scanFailed(bad);
      const key = (o: { address: string; jiffies: number; comm: string }) => `${o.address} ${o.jiffies} ${o.comm}`;
      const still = new Set(parseKmemleak(confirm.output('list') ?? '').map(key));
      stage = suspects.filter((o) => still.has(key(o)));
      transient = suspects.filter((o) => !still.has(key(o))).map((o) => o.text);
    }
    ctx.obs.leaks = {
      ...(transient.length > 0 ? { transient } : {}),
      events: stage.map((o) => ({
        class: 'kmemleak' as const,
        firstLine: `unreferenced object ${o.address} (size ${o.size}), comm "${o.comm}": ${o.cause}`,
        text: o.text,
        fatal: false,
      })),
      unattributed: other.length,
      others: other.slice(0, MAX_OTHER_LEAKS).map((o) => o.text),
    };
    return 'next';
  },
};

/** The steps of every stage, in order (the tutorial's manual test), then the leak scan where the kernel has kmemleak. */
export const STAGE_STEPS: readonly StageStep[] = [insmodStep, pingLocalStep, pingRemoteStep, probeStep, framesStep, rmmodStep, kmemleakStep];
