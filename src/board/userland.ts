// What a board's userland offers (an old BSP's busybox may lack ip, base64,
// sha256sum, timeout, or ping's -i and -W), learned with ONE probing command
// per boot, and the command variants the harness picks from it. What the
// harness cannot do without is listed once, before any stage runs.
import { HarnessError } from '../errors.ts';
import type { ChecksumTool, FileTools } from '../transport/checksum.ts';

/** Programs looked for with `command -v` (busybox applets on the boards the harness knows). */
export const PROBED_COMMANDS = [
  'insmod', 'rmmod', 'dmesg', 'ping', 'ifconfig', 'ip', 'route', 'arp', 'grep', 'cut', 'sed', 'head', 'cat', 'chmod',
  'mkdir', 'mv', 'rm', 'printf', 'base64', 'sha256sum', 'md5sum', 'cksum', 'timeout',
] as const;

export type ProbedCommand = (typeof PROBED_COMMANDS)[number];

/** The options tried for real (a wrapper may list an option in its help and refuse it): on the loopback, never on a wire. */
export const PROBED_OPTIONS = {
  'ping -W': 'ping -c 1 -W 1 127.0.0.1',
  'ping -i': 'ping -c 1 -i 0.2 127.0.0.1',
  'ping -w': 'ping -c 1 -w 2 127.0.0.1',
  'sleep 0.01': 'sleep 0.01',
} as const;

export type ProbedOption = keyof typeof PROBED_OPTIONS;

/** What the probe found. */
export interface UserlandProbe {
  commands: ReadonlySet<string>;
  options: ReadonlySet<string>;
}

/**
 * The one probing command: `have NAME` per program found, `opt NAME` per
 * option that worked (the pings go to the loopback). dmesg is only ever run
 * without options, so only its presence is asked.
 */
export function userlandProbeCommand(): string {
  const options = (Object.entries(PROBED_OPTIONS) as [ProbedOption, string][]).map(([name, command]) => `${command} >/dev/null 2>&1 && echo "opt ${name}"`);
  return [`for c in ${PROBED_COMMANDS.join(' ')}; do command -v $c >/dev/null 2>&1 && echo "have $c"; done`, ...options, 'true'].join('; ');
}

export function parseUserlandProbe(stdout: string): UserlandProbe {
  const commands = new Set<string>();
  const options = new Set<string>();
  for (const line of stdout.split(/\r?\n/)) {
    const have = /^have (\S+)$/.exec(line.trim());
    if (have?.[1]) commands.add(have[1]);
    const opt = /^opt (.+)$/.exec(line.trim());
    if (opt?.[1]) options.add(opt[1]);
  }
  return { commands, options };
}

/**
 * How a ping is bounded: -W per reply (modern busybox), or a background
 * kill -INT (ping prints its statistics and exits). Not -w: busybox checks its
 * deadline only when a reply arrives, so an unanswered ping still waits its
 * 10 s for the last reply (measured: 10.5 s for `ping -c 1 -w 2`).
 */
export type PingBound = 'W' | 'kill';

/** The command variants the stages and transports use on this board, and what they cost. */
export interface Userland {
  /** The probe's raw findings (for the report: what was there). */
  probe: UserlandProbe;
  /** interval: ping -i works; shortWait: sleep takes fractions, so an unanswered ping is ended after UNANSWERED_WAIT_MS, not a whole second. */
  ping: { bound: PingBound; interval: boolean; shortWait: boolean };
  /** How vnet0 gets its address: ifconfig, or ip addr/link without it. */
  addressWith: 'ifconfig' | 'ip';
  /** How vnet0's neighbour entries are dropped: ip neigh flush, arp -d of the peer (SIOCDARP), or not at all. */
  neighFlush: 'ip' | 'arp' | 'none';
  files: FileTools;
  /** Programs the harness would use and did not find (or options refused). */
  missing: string[];
  /** Each stand-in used, in words ("ping without -W: bounded by -w deadline"). */
  fallbacks: string[];
  /** What the harness cannot do without: the run stops before any stage when this is not empty. */
  unusable: string[];
}

/** Decides the variants from what the probe found; `serial`: uploads go as shell text (printf needed). */
export function userlandFrom(probe: UserlandProbe, transport: 'ssh' | 'serial'): Userland {
  const has = (c: ProbedCommand): boolean => probe.commands.has(c);
  const opt = (o: ProbedOption): boolean => probe.options.has(o);
  const missing: string[] = [];
  const fallbacks: string[] = [];
  const unusable: string[] = [];
  for (const c of ['insmod', 'rmmod', 'dmesg', 'ping', 'grep', 'cut', 'cat', 'chmod', 'printf'] as const) {
    if (!has(c)) unusable.push(`${c}: not found (needed to ${NEEDED_FOR[c]})`);
  }
  if (transport === 'serial') {
    for (const c of ['mkdir', 'mv', 'rm'] as const) if (!has(c)) unusable.push(`${c}: not found (needed to upload over the serial console)`);
  }
  // Checksums: the upload's check and the probe kept on the board.
  const checksum: ChecksumTool | undefined = has('sha256sum') ? 'sha256' : has('md5sum') ? 'md5' : has('cksum') ? 'cksum' : undefined;
  if (!has('sha256sum')) {
    missing.push('sha256sum');
    if (checksum) fallbacks.push(`no sha256sum: uploads and the probe on the board checked with ${checksum === 'md5' ? 'md5sum' : 'cksum'}`);
    else unusable.push('sha256sum, md5sum, cksum: none found (needed to check an upload)');
  }
  if (!has('base64')) {
    missing.push('base64');
    if (transport === 'serial') fallbacks.push('no base64: serial uploads as printf octal escapes');
  }
  let bound: PingBound = 'W';
  if (has('ping') && !opt('ping -W')) {
    missing.push('ping -W');
    bound = 'kill';
    fallbacks.push('ping without -W: bounded by a background kill -INT (count × interval + the reply wait)');
  }
  const interval = opt('ping -i');
  if (has('ping') && !interval) {
    missing.push('ping -i');
    fallbacks.push('ping without -i: one echo request a second (the local ping takes 3 s, not 0.6)');
  }
  const shortWait = opt('sleep 0.01');
  if (has('ping') && !shortWait) {
    missing.push('sleep 0.01');
    fallbacks.push('sleep without fractions: a ping that must go unanswered waits 1 s for its reply, not 0.5');
  }
  let addressWith: Userland['addressWith'] = 'ifconfig';
  if (!has('ifconfig')) {
    missing.push('ifconfig');
    if (has('ip')) {
      addressWith = 'ip';
      fallbacks.push('no ifconfig: vnet0 configured with ip addr and ip link');
    } else unusable.push('ifconfig, ip: neither found (needed to give vnet0 its address)');
  }
  const neighFlush: Userland['neighFlush'] = has('ip') ? 'ip' : has('arp') ? 'arp' : 'none';
  if (!has('ip')) {
    missing.push('ip');
    fallbacks.push(
      neighFlush === 'arp'
        ? 'no ip: arp -d instead of ip neigh flush (the peer 3.3.3.4 is the only neighbour of vnet0)'
        : 'no ip or arp: the neighbour table is not flushed before the remote ping and the frames step',
    );
  }
  // Not used by the stages (their deadlines are the host's): only reported.
  if (!has('timeout')) missing.push('timeout');
  return {
    probe,
    ping: { bound, interval, shortWait },
    addressWith,
    neighFlush,
    files: { checksum: checksum ?? 'sha256', encoding: has('base64') ? 'base64' : 'printf' },
    missing,
    fallbacks,
    unusable,
  };
}

const NEEDED_FOR: Record<'insmod' | 'rmmod' | 'dmesg' | 'ping' | 'grep' | 'cut' | 'cat' | 'chmod' | 'printf', string> = {
  insmod: 'load the driver',
  rmmod: 'unload the driver',
  dmesg: 'read the kernel log',
  ping: 'send the stages’ echo requests',
  grep: 'read /proc/modules',
  cut: 'read the uptime',
  cat: 'read files and upload over SSH without SFTP',
  chmod: 'make the probe executable',
  printf: 'read the interface counters',
};

/** A board whose userland is everything the harness uses (fake boards, and before a probe). */
export const FULL_USERLAND: Userland = {
  probe: { commands: new Set(PROBED_COMMANDS), options: new Set(Object.keys(PROBED_OPTIONS)) },
  ping: { bound: 'W', interval: true, shortWait: true },
  addressWith: 'ifconfig',
  neighFlush: 'ip',
  files: { checksum: 'sha256', encoding: 'base64' },
  missing: [],
  fallbacks: [],
  unusable: [],
};

/**
 * A ping of `count` echo requests: with -i 0.2 where the board has it, each
 * reply waited for `waitS` seconds (-W), or the whole ended by a background
 * kill -INT after the count's intervals plus the wait.
 */
export function pingCommand(u: Userland, count: number, waitS: number, address: string, fast: boolean): string {
  const interval = fast && u.ping.interval ? ' -i 0.2' : '';
  if (u.ping.bound === 'W') return `ping -c ${count}${interval} -W ${waitS} ${address}`;
  // The last request goes out after count - 1 intervals; its reply is waited for waitS.
  return killedAfter(`ping -c ${count}${interval} ${address}`, String(Math.ceil((count - 1) * (interval ? 0.2 : 1)) + waitS));
}

/**
 * How long a ping that must go unanswered waits for the reply (stages 1-3's
 * ping 3.3.3.4): a driver that answers does it within milliseconds of the
 * request (netif_rx from its transmit hook), and the second a -W 1 ping waits
 * was a sixth of such a stage on the debug board.
 */
export const UNANSWERED_WAIT_MS = 500;

/** One echo request that must go unanswered: ended by kill -INT after UNANSWERED_WAIT_MS where sleep takes fractions, else waited 1 s as pingCommand does. */
export function unansweredPingCommand(u: Userland, address: string): string {
  if (!u.ping.shortWait) return pingCommand(u, 1, 1, address, false);
  return killedAfter(`ping -c 1 ${address}`, String(UNANSWERED_WAIT_MS / 1000));
}

/**
 * A ping ended by a background kill -INT after `sleep` seconds (it prints its
 * statistics and exits). ping's own exit status is the command's; the
 * killer's output goes nowhere, so its sleep does not hold the SSH channel
 * open once ping is done.
 */
function killedAfter(ping: string, sleep: string): string {
  return `${ping} & p=$!; ( sleep ${sleep}; kill -INT $p ) >/dev/null 2>&1 & k=$!; wait $p; s=$?; kill $k 2>/dev/null; (exit $s)`;
}

/** Throws (a HarnessError: the run's verdict is error, exit 2) listing everything the harness cannot do without on this board, all at once. */
export function requireUsable(board: string, u: Userland): void {
  if (u.unusable.length === 0) return;
  throw new HarnessError(`board ${board}: its userland lacks what the harness cannot do without (${u.unusable.length}):\n${u.unusable.map((x) => `  - ${x}`).join('\n')}`);
}

/** The report's view: what was missing, and each stand-in used. */
export function userlandSummary(u: Userland): { missing: string[]; fallbacks: string[] } {
  return { missing: [...u.missing], fallbacks: [...u.fallbacks] };
}

export { type ChecksumTool } from '../transport/checksum.ts';
