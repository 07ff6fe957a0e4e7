// Parses kernel log lines in the forms a board gives them: plain `dmesg`
// ("[    1.234567] text" or just "text" without CONFIG_PRINTK_TIME), raw
// `dmesg -r` ("<6>[    1.234567] text"), `dmesg -x` ("kern  :info  : [...] text"),
// and /dev/kmsg records ("6,339,5140900,-;text"). Also finds what is new
// between two snapshots of the ring buffer, and the transmit counter lines
// the stage 2-4 drivers print.

/** One kernel log line. */
export interface DmesgLine {
  /** Kernel timestamp in ms (to the µs printed), when the line has one. */
  timeMs?: number;
  /** Log level 0 (emerg) … 7 (debug), when the line carries one. */
  level?: number;
  /** Syslog facility (0 = kern), when the line carries one. */
  facility?: number;
  /** /dev/kmsg record sequence number. */
  seq?: number;
  /** The message, without level, timestamp or caller prefixes. */
  text: string;
  /** The line exactly as read (without its line break). */
  raw: string;
  /** /dev/kmsg dictionary lines (" SUBSYSTEM=net") that followed the record. */
  dict?: string[];
}

const LEVEL_NAMES = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];
const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp'];

const KMSG = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/;
const DECODED = /^([a-z0-9]+)\s*:\s*([a-z]+)\s*: ?(.*)$/;
const PREFIX = /^(?:<(\d+)>)?(?:\[\s*(\d+)\.(\d+)\])?(?:\[\s*[TC]\d+\])?/;

/** Parses one line of kernel log output into its parts. */
export function parseDmesgLine(raw: string): DmesgLine {
  const line = raw.replace(/\r/g, '');
  let m = KMSG.exec(line);
  if (m) {
    const prio = Number(m[1]);
    return {
      level: prio & 7,
      facility: prio >> 3,
      seq: Number(m[2]),
      timeMs: Number(m[3]) / 1000,
      text: m[4] ?? '',
      raw: line,
    };
  }
  let rest = line;
  let level: number | undefined;
  let facility: number | undefined;
  m = DECODED.exec(line);
  if (m && LEVEL_NAMES.includes(m[2] ?? '') && (FACILITIES.includes(m[1] ?? '') || /^local\d$/.test(m[1] ?? ''))) {
    level = LEVEL_NAMES.indexOf(m[2] ?? '');
    const f = FACILITIES.indexOf(m[1] ?? '');
    facility = f >= 0 ? f : 16 + Number((m[1] ?? '').slice(5));
    rest = m[3] ?? '';
  }
  const p = PREFIX.exec(rest);
  const out: DmesgLine = { text: rest, raw: line };
  if (p && p[0] !== '') {
    if (p[1] !== undefined) {
      const prio = Number(p[1]);
      level = prio & 7;
      if (prio > 7) facility = prio >> 3;
    }
    if (p[2] !== undefined && p[3] !== undefined) {
      out.timeMs = Number(p[2]) * 1000 + Number(p[3].padEnd(6, '0').slice(0, 6)) / 1000;
    }
    let text = rest.slice(p[0].length);
    if (text.startsWith(' ')) text = text.slice(1);
    out.text = text;
  }
  if (level !== undefined) out.level = level;
  if (facility !== undefined) out.facility = facility;
  return out;
}

/** Parses a whole dmesg output (any of the forms above); blank lines are dropped. */
export function parseDmesg(text: string): DmesgLine[] {
  const out: DmesgLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const prev = out[out.length - 1];
    // /dev/kmsg continuation ("dictionary") lines start with a space.
    if (prev?.seq !== undefined && line.startsWith(' ')) {
      (prev.dict ??= []).push(line.slice(1));
      continue;
    }
    out.push(parseDmesgLine(line));
  }
  return out;
}

/** What appeared in the kernel log between two snapshots. */
export interface DmesgDelta {
  /** The lines of `after` that were not in `before`. */
  lines: DmesgLine[];
  /** How the boundary was found: by timestamps, by the overlap of the two texts, or nothing to compare. */
  method: 'timestamp' | 'overlap' | 'none';
  /** Lines of `before` no longer in `after`: the ring buffer wrapped. */
  dropped: number;
  /** `after` shares nothing with `before`: lines between the snapshots may have been lost. */
  gap: boolean;
  /** Timestamps went backwards: the kernel restarted between the snapshots. */
  restarted: boolean;
}

/** Returns the lines `after` has beyond `before`, robust to ring-buffer wrap and reboots. */
export function dmesgDelta(before: string | readonly DmesgLine[], after: string | readonly DmesgLine[]): DmesgDelta {
  const b = typeof before === 'string' ? parseDmesg(before) : before;
  const a = typeof after === 'string' ? parseDmesg(after) : after;
  if (b.length === 0) return { lines: [...a], method: 'none', dropped: 0, gap: false, restarted: false };
  if (a.length === 0) return { lines: [], method: 'none', dropped: b.length, gap: false, restarted: false };
  const timed = b.every((l) => l.timeMs !== undefined) && a.every((l) => l.timeMs !== undefined);
  return timed ? byTimestamp(b, a) : byOverlap(b, a);
}

function us(l: DmesgLine): number {
  return Math.round((l.timeMs ?? 0) * 1000);
}

function byTimestamp(b: readonly DmesgLine[], a: readonly DmesgLine[]): DmesgDelta {
  const last = b[b.length - 1] as DmesgLine;
  const tLast = us(last);
  const aMax = Math.max(...a.map(us));
  if (aMax < tLast) {
    return { lines: [...a], method: 'timestamp', dropped: b.length, gap: true, restarted: true };
  }
  // Several lines can share one timestamp (a multi-line record): skip as many as `before` ended with.
  let sameAtEnd = 0;
  for (let i = b.length - 1; i >= 0 && us(b[i] as DmesgLine) === tLast; i--) sameAtEnd++;
  const lines: DmesgLine[] = [];
  let skippedEqual = 0;
  for (const l of a) {
    const t = us(l);
    if (t < tLast) continue;
    if (t === tLast && skippedEqual < sameAtEnd) {
      skippedEqual++;
      continue;
    }
    lines.push(l);
  }
  const aFirst = us(a[0] as DmesgLine);
  const dropped = b.filter((l) => us(l) < aFirst).length;
  return { lines, method: 'timestamp', dropped, gap: aFirst > tLast, restarted: false };
}

function byOverlap(b: readonly DmesgLine[], a: readonly DmesgLine[]): DmesgDelta {
  // after = before[d:] + new, for the smallest d (the largest overlap). The first
  // line of `after` may be cut short when the buffer was read mid-record.
  for (let d = 0; d < b.length; d++) {
    const n = b.length - d;
    if (n > a.length) continue;
    if (!sameLine(b[d] as DmesgLine, a[0] as DmesgLine, true)) continue;
    let ok = true;
    for (let i = 1; i < n && ok; i++) ok = sameLine(b[d + i] as DmesgLine, a[i] as DmesgLine, false);
    if (ok) return { lines: a.slice(n), method: 'overlap', dropped: d, gap: false, restarted: false };
  }
  return { lines: [...a], method: 'overlap', dropped: b.length, gap: true, restarted: false };
}

function sameLine(x: DmesgLine, y: DmesgLine, allowCutHead: boolean): boolean {
  const xr = x.raw.trimEnd();
  const yr = y.raw.trimEnd();
  return xr === yr || (allowCutHead && yr.length > 0 && xr.endsWith(yr));
}

/** The default transmit-counter line of the stage 2-4 drivers: "virt_net_send_packet cnt = N". */
export const SEND_PACKET_LINE = /\bvirt_net_send_packet cnt = (\d+)\b/;

/** Extracts N from every "virt_net_send_packet cnt = N" line, in order. */
export function sendPacketCounts(lines: string | readonly DmesgLine[], pattern: RegExp = SEND_PACKET_LINE): number[] {
  const list = typeof lines === 'string' ? parseDmesg(lines) : lines;
  const out: number[] = [];
  const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
  for (const l of list) {
    const m = re.exec(l.text);
    if (m?.[1] !== undefined) out.push(Number(m[1]));
  }
  return out;
}
