// Reads /sys/kernel/debug/kmemleak (the list of suspected leaks after a
// scan) and decides which reports a stage caused. kmemleak knows nothing of
// stages: a scan lists every unreferenced object of the whole kernel, among
// them the SSH server's sockets and TCP timers, which a correct driver did
// not leak. A report is the stage's when it is new since the stage began
// (allocated after the stage's start, in jiffies) and either comes from the
// stage's module or is a socket buffer (stageLeakCause says why).
//
// Format (mm/kmemleak.c, print_unreferenced(), 6.1; 6.12 adds "(crc …)"
// after "backtrace"):
//   unreferenced object 0xc3a4b000 (size 192):
//     comm "ping", pid 123, jiffies 4294939000
//     hex dump (first 32 bytes):
//       00 00 00 00 …  ................
//     backtrace:
//       [<c0123456>] kmem_cache_alloc+0x1d0/0x2d8
//       [<bf000abc>] virt_net_send_packet+0x9b4/0xa1c [virt_net4]

export interface KmemleakObject {
  address: string;
  size: number;
  comm: string;
  pid: number;
  /** Allocation time in jiffies (an unsigned long: 32 bits on the ARM board). */
  jiffies: number;
  /** Symbols of the allocation backtrace, e.g. "virt_net_send_packet+0x9b4/0xa1c [virt_net4]". */
  backtrace: string[];
  /** The report as the kernel printed it. */
  text: string;
}

const HEADER = /^unreferenced object (0x[0-9a-f]+) \(size (\d+)\):$/;
const COMM = /^\s+comm "(.*)", pid (\d+), jiffies (\d+)/;
const FRAME = /^\s+\[<[0-9a-f]+>\] (.+)$/;

/** Parses the kmemleak file; lines outside a report are ignored. */
export function parseKmemleak(text: string): KmemleakObject[] {
  const objects: KmemleakObject[] = [];
  let current: { lines: string[]; obj: KmemleakObject } | undefined;
  const close = () => {
    if (current) objects.push({ ...current.obj, text: current.lines.join('\n') });
    current = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const header = HEADER.exec(line);
    if (header) {
      close();
      current = { lines: [line], obj: { address: header[1]!, size: Number(header[2]), comm: '', pid: 0, jiffies: 0, backtrace: [], text: '' } };
      continue;
    }
    if (!current) continue;
    if (line.trim() === '' || !/^\s/.test(line)) {
      close();
      continue;
    }
    current.lines.push(line);
    const comm = COMM.exec(line);
    if (comm) {
      current.obj.comm = comm[1]!;
      current.obj.pid = Number(comm[2]);
      current.obj.jiffies = Number(comm[3]);
      continue;
    }
    const frame = FRAME.exec(line);
    if (frame) current.obj.backtrace.push(frame[1]!.trim());
  }
  close();
  return objects;
}

/** What a stage ran, to tell its leaks from the rest of the kernel's. */
export interface StageLeakScope {
  /** Module names of the stage (a backtrace frame "… [virt_net4]" names one). */
  modules: readonly string[];
  /**
   * Where the stage's module was loaded (/proc/modules: base and size): once
   * it is unloaded, the kernel prints its frames as bare addresses.
   */
  moduleRanges?: ReadonlyArray<{ base: number; size: number }>;
  /** jiffies when the stage began; objects allocated before are not the stage's. */
  startJiffies?: number;
  /** Process names (comm) of the stage's commands that send frames through vnet0. */
  comms: readonly string[];
}

/** Whether jiffies `a` is at or after `b`, across the wrap of a 32-bit counter (time_after_eq). */
export function jiffiesAtOrAfter(a: number, b: number): boolean {
  return ((a - b) >>> 0) < 0x8000_0000;
}

/** Allocators of socket buffers: the frames a network driver is handed and must free. */
const SKB_ALLOC = /^(?:__alloc_skb|__netdev_alloc_skb|__napi_alloc_skb|alloc_skb_with_frags|__build_skb|build_skb|skb_clone|skb_copy|__pskb_copy_fclone|pskb_expand_head)\+/;
/** Frames of the stage's own traffic when the allocating task is not one of its commands: ARP for 3.3.3.4 (the neighbour timer), ICMP. */
const TRAFFIC_FRAME = /^(?:arp_solicit|arp_send_dst|arp_create|neigh_probe|neigh_timer_handler|icmp_\w+|icmp_reply|icmp_send)\+/;

/** How deep in a backtrace the module's frame may be for an allocation to be the module's: the allocator, one helper (alloc_netdev_mqs, kvmalloc), the module. */
const MODULE_FRAME_DEPTH = 5;

/**
 * Why an object is the stage's leak, or undefined when it is not. It must be
 * new since the stage began, and be either
 * - allocated by the stage's module (its name, or a bare address inside it
 *   once it is unloaded, among the first frames of the backtrace), other
 *   than a socket buffer: the driver's own memory (a net_device never
 *   freed, say); or
 * - a socket buffer of the stage's traffic: allocated by one of its commands
 *   (ping, the probe) or on the way of its ARP or ICMP frames. Those frames
 *   go through the driver, and one that nothing references after the module
 *   is gone was lost there.
 * Everything else is left to the count of others: the SSH session's frames
 * (dropbear, the FEC's receive path), and what the kernel frees a moment
 * after rmmod (routes and addresses of ifconfig, the module loader's areas,
 * unregister's notifications), which would cry wolf on a correct driver.
 */
export function stageLeakCause(obj: KmemleakObject, scope: StageLeakScope): string | undefined {
  if (scope.startJiffies !== undefined && !jiffiesAtOrAfter(obj.jiffies, scope.startJiffies)) return undefined;
  const skb = obj.backtrace.find((f) => SKB_ALLOC.test(f));
  if (skb) {
    const byCommand = scope.comms.includes(obj.comm);
    const traffic = obj.backtrace.find((f) => TRAFFIC_FRAME.test(f));
    if (!byCommand && !traffic) return undefined;
    const how = byCommand ? `by ${obj.comm}, pid ${obj.pid}` : `in ${traffic!.split('+')[0]}`;
    return `an skb of the stage's traffic (${skb.split('+')[0]} ${how}) that nothing references after rmmod`;
  }
  // Only near the allocator: deeper down, the module called into a subsystem
  // that allocated for its own ends (unregister_netdev's netlink notices).
  const near = obj.backtrace.slice(0, MODULE_FRAME_DEPTH);
  for (const m of scope.modules) {
    if (near.some((f) => f.endsWith(`[${m}]`))) return `allocated by module ${m} (in its allocation backtrace)`;
  }
  for (const f of near) {
    const bare = /^0x([0-9a-f]+)$/.exec(f);
    const address = bare ? Number.parseInt(bare[1]!, 16) : undefined;
    if (address !== undefined && scope.moduleRanges?.some((r) => address >= r.base && address < r.base + r.size)) {
      return `allocated by the stage's module (unloaded; ${f} in its allocation backtrace)`;
    }
  }
  return undefined;
}

/** A module's base and size from its /proc/modules line ("virt_net4 16384 0 - Live 0xbf000000"), if it shows one. */
export function moduleRange(procModulesLine: string): { base: number; size: number } | undefined {
  const m = /^\S+ (\d+) .* 0x([0-9a-f]+)\b/.exec(procModulesLine.trim());
  if (!m) return undefined;
  const base = Number.parseInt(m[2]!, 16);
  return base === 0 ? undefined : { base, size: Number(m[1]) };
}

/** The stage's leaks and the rest (reports the stage did not cause, kept for the report). */
export function attributeLeaks(objects: readonly KmemleakObject[], scope: StageLeakScope): { stage: Array<KmemleakObject & { cause: string }>; other: KmemleakObject[] } {
  const stage: Array<KmemleakObject & { cause: string }> = [];
  const other: KmemleakObject[] = [];
  for (const o of objects) {
    const cause = stageLeakCause(o, scope);
    if (cause) stage.push({ ...o, cause });
    else other.push(o);
  }
  return { stage, other };
}
