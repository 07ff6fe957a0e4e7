// Finds kernel fault reports in console output or dmesg text, LAVA style: a
// table of start markers, each with the way its report ends. One report gives
// one KernelEvent (a WARNING inside a cut-here block is one warning; the panic
// an oops causes is a second event, of class panic).
//
// The watcher is fed console chunks split anywhere (mid-line, between CR and
// LF); it emits an event when its report ends. Reports without an end marker
// (hung task, soft lockup, a panic with panic=-1 that resets the board) end at
// the next report, when timestamps jump back (reboot) or pause, at a line
// without timestamp after timestamped ones, after maxLines, or at flush().
// Call flush() at the end of every stage.
//
// Caveat: the watcher cannot tell a report from a copy of it; when dmesg is
// printed over the console being watched, its reports are seen again.

import type { KernelEvent, KernelEventClass } from '../results/model.ts';
import { parseDmesgLine } from './dmesg.ts';

/** How a report ends. */
type EndKind =
  /** "---[ end trace 0000000000000000 ]---" */
  | 'end-trace'
  /** a line of '=' (KASAN, UBSAN, KFENCE) */
  | 'separator'
  /** "---[ end Kernel panic - not syncing: ... ]---" */
  | 'panic-end'
  /** continues while lines are indented (kmemleak objects) */
  | 'indented'
  /** the report is this one line */
  | 'single'
  /** no marker: ends by the heuristics above */
  | 'none';

interface Rule {
  re: RegExp;
  /** undefined: decided by a later line of the report (a bare "cut here"). */
  cls: KernelEventClass | undefined;
  end: EndKind;
  /** Also found after other text on the line (a shell prompt, user output without newline). */
  anywhere?: boolean;
  /** The line only marks the start; the report's first line comes after it. */
  marker?: boolean;
  /** Include a '=====' line printed just before the start line. */
  prevSeparator?: boolean;
}

const PANIC: Rule = { re: /Kernel panic - not syncing:/, cls: 'panic', end: 'panic-end', anywhere: true };
const CUT: Rule = { re: /-{3,}\[ cut here \]-{3,}/, cls: undefined, end: 'end-trace', anywhere: true, marker: true };
const ARM_CUT: Rule = { re: /8<-+ cut here -+/, cls: 'oops', end: 'end-trace', anywhere: true, marker: true };

/** Start markers, most specific first; the first match decides. */
const RULES: readonly Rule[] = [
  PANIC,
  CUT,
  ARM_CUT,
  { re: /Unable to handle kernel /, cls: 'oops', end: 'end-trace', anywhere: true },
  { re: /^Internal error: Oops - BUG/, cls: 'bug', end: 'end-trace' },
  { re: /^Internal error: /, cls: 'oops', end: 'end-trace' },
  { re: /^BUG: KASAN: /, cls: 'kasan', end: 'separator', prevSeparator: true },
  { re: /^BUG: KFENCE: /, cls: 'bug', end: 'separator', prevSeparator: true },
  { re: /^(?:watchdog: )?BUG: soft lockup/, cls: 'soft-lockup', end: 'none' },
  // Sleeping in atomic context (CONFIG_DEBUG_ATOMIC_SLEEP); lockdep's wait-context check is lockdep's.
  { re: /^BUG: (?:sleeping function called from invalid context|scheduling while atomic)/, cls: 'atomic-sleep', end: 'none' },
  { re: /^BUG: (?:Invalid wait context|looking up invalid subclass|key [0-9a-f]+ has not been registered|MAX_LOCKDEP)/, cls: 'lockdep', end: 'none', prevSeparator: true },
  { re: /^BUG: (?:kernel NULL pointer dereference|unable to handle )/, cls: 'oops', end: 'end-trace' },
  { re: /^BUG: /, cls: 'bug', end: 'none' },
  { re: /^[Kk]ernel BUG at /, cls: 'bug', end: 'end-trace' },
  { re: /^WARNING: (?:CPU: \d+ PID: \d+ at |at )/, cls: 'warning', end: 'end-trace' },
  // lockdep (CONFIG_PROVE_LOCKING): "WARNING: possible circular locking dependency detected" and its kin, framed by '=' lines.
  {
    re: /^WARNING: (?:possible (?:circular|recursive) locking|inconsistent lock state|possible irq lock inversion|bad unlock balance|held lock freed|lock held when returning|suspicious RCU usage|Nested lock was not taken|lock held at task exit|possible circular)/,
    cls: 'lockdep',
    end: 'none',
    prevSeparator: true,
  },
  { re: /^WARNING: /, cls: 'warning', end: 'none', prevSeparator: true },
  { re: /^INFO: task \S.* blocked for more than \d+ seconds/, cls: 'hung-task', end: 'none' },
  { re: /^(?:rcu: )?INFO: \S+ (?:self-)?detected (?:expedited )?stalls?\b/, cls: 'rcu-stall', end: 'none' },
  { re: /^UBSAN: /, cls: 'ubsan', end: 'separator', prevSeparator: true },
  { re: /^unreferenced object 0x[0-9a-f]+ \(size \d+\):/, cls: 'kmemleak', end: 'indented' },
  // Not "kmemleak: N new suspected memory leaks": it counts the whole kernel's
  // suspects (the SSH server's sockets among them); the harness reads the list
  // after its own scan and attributes each report (src/parsers/kmemleak.ts).
  { re: /^(?:(?:NMI )?watchdog: )?Watchdog detected hard LOCKUP/, cls: 'bug', end: 'none' },
  { re: /^Oops: /, cls: 'oops', end: 'end-trace' },
  { re: /^general protection fault\b/, cls: 'oops', end: 'end-trace' },
];

const END_TRACE = /---\[ end trace [0-9a-f]* ?\]---/;
const PANIC_END = /---\[ end Kernel panic - not syncing/;
const SEPARATOR = /^={20,}$/;
const FATAL_PANIC = /Kernel panic - not syncing: (?:\S+: )?Fatal exception/;
const REBOOTING = /^Rebooting in \d+ seconds/;
/** A new boot: whatever report was open, the board has restarted. */
const NEW_BOOT = /^(?:Booting Linux on|Linux version \d|Uncompressing Linux|U-Boot \d)/;
/** ARM, CONFIG_DEBUG_USER: a user process fault, also under "8<--- cut here". Not a kernel fault. */
const ARM_USER_FAULT = /: unhandled page fault \(\d+\) at 0x/;
/** x86's register summary, printed again after an oops's end marker. */
const X86_SUMMARY = /^(?:RIP|RSP|RAX|RDX|RBP|R10|R13|FS|CS|CR2|DR0|DR3|PKRU|Code):/;
const TIMESTAMP_IN_LINE = /(?:<\d+>)?\[\s*\d+\.\d{6}\]/;

/** What onStart reports as soon as a report begins. */
export interface KernelEventStart {
  class: KernelEventClass | undefined;
  /** The line that started the report (may be a bare "cut here" marker). */
  line: string;
  fatal: boolean;
  atMs?: number;
}

export interface KernelEventWatcherOptions {
  /** A report without end marker is cut after this many lines (default 400). */
  maxLines?: number;
  /** A report without end marker ends when timestamps pause longer than this (default 2000 ms). */
  quietGapMs?: number;
  /**
   * Kernel time (ms, as in "[   12.345678]") before which reports are old news and
   * dropped: set it to the board's uptime at stage start so a `dmesg` printed over
   * the watched console does not report an earlier stage's faults again.
   */
  ignoreBeforeMs?: number;
  /** Called with each event when its report ends. */
  onEvent?: (event: KernelEvent) => void;
  /** Called as soon as a report starts (to react before it ends, e.g. to a panic). */
  onStart?: (start: KernelEventStart) => void;
}

interface Open {
  cls: KernelEventClass | undefined;
  end: EndKind;
  lines: string[];
  /** The line that names the report ("WARNING: CPU: 0 PID: 1 at ..."). */
  firstLine?: string;
  /** The first line after a bare marker, used when no naming line comes. */
  fallbackFirst?: string;
  atMs?: number;
  fatal: boolean;
  /** Timestamp (µs) of the last line with one; undefined when none had one. */
  lastUs?: number;
  timed: boolean;
  /** A report from before ignoreBeforeMs: followed to its end, never emitted. */
  old: boolean;
}

interface Normalized {
  msg: string;
  us?: number;
}

/** Streaming classifier of kernel fault reports in console output. */
export class KernelEventWatcher {
  private readonly all: KernelEvent[] = [];
  private readonly maxLines: number;
  private readonly quietGapUs: number;
  private readonly decoder = new TextDecoder('utf-8');
  private buf = '';
  private bufAtMs: number | undefined;
  private open: Open | undefined;
  /** An oops that ended; a "Fatal exception" panic on the next line makes it fatal. */
  private held: KernelEvent | undefined;
  private heldLines = 0;
  private prev: { raw: string; msg: string } | undefined;
  private emitted: KernelEvent[] = [];

  constructor(private readonly options: KernelEventWatcherOptions = {}) {
    this.maxLines = options.maxLines ?? 400;
    this.quietGapUs = (options.quietGapMs ?? 2000) * 1000;
  }

  /** Every event emitted so far, in order (not those flush() has yet to complete). */
  events(): KernelEvent[] {
    return [...this.all];
  }

  /** Whether a report has started and not ended yet. */
  get inReport(): boolean {
    return this.open !== undefined;
  }

  /** Feeds console output (text or bytes, split anywhere); returns the events it completed. */
  feed(data: string | Uint8Array, atMs?: number): KernelEvent[] {
    const text = typeof data === 'string' ? data : this.decoder.decode(data, { stream: true });
    if (this.buf === '') this.bufAtMs = atMs;
    this.buf += text;
    this.drainLines(false, atMs);
    return this.take();
  }

  /** Ends the current partial line and any open report; returns the events that completes. */
  flush(): KernelEvent[] {
    this.buf += this.decoder.decode();
    this.drainLines(true, undefined);
    if (this.buf !== '') {
      const line = this.buf;
      this.buf = '';
      this.line(line, this.bufAtMs);
    }
    this.close();
    this.release();
    return this.take();
  }

  private drainLines(final: boolean, atMs: number | undefined): void {
    const buf = this.buf;
    const breaks = /[\r\n]/g;
    let pos = 0;
    for (;;) {
      breaks.lastIndex = pos;
      const found = breaks.exec(buf);
      if (!found) break;
      const i = found.index;
      let len = 1;
      if (buf[i] === '\r') {
        if (i === buf.length - 1 && !final) break; // the LF may be in the next chunk
        if (buf[i + 1] === '\n') len = 2;
      }
      const lineAt = this.bufAtMs;
      this.bufAtMs = atMs;
      this.line(buf.slice(pos, i), lineAt);
      pos = i + len;
    }
    this.buf = pos === 0 ? buf : buf.slice(pos);
    // A console that never sends a line break must not grow the buffer without bound.
    if (this.buf.length > 65536) {
      this.line(this.buf, this.bufAtMs);
      this.buf = '';
    }
  }

  private line(raw: string, atMs: number | undefined): void {
    const n = normalize(raw);
    if (n.msg.trim() === '') {
      // Blank lines separate sections of some reports (KASAN); keep them there, ignore them elsewhere.
      if (this.open && this.open.end !== 'indented' && this.open.end !== 'single') this.open.lines.push(raw);
      return;
    }
    const rule = match(n.msg);

    if (this.held) {
      if (FATAL_PANIC.test(n.msg)) this.held.fatal = true;
      // x86 reprints the registers after the end marker, before it panics.
      if (rule || !X86_SUMMARY.test(n.msg) || ++this.heldLines > 40) this.release();
    }

    const open = this.open;
    if (open) {
      if (this.continues(open, raw, n, rule)) {
        this.prev = { raw, msg: n.msg };
        return;
      }
      if (rule?.rule === PANIC && FATAL_PANIC.test(n.msg) && (open.cls === 'oops' || open.cls === 'bug')) {
        open.fatal = true;
      }
      this.close();
    }
    if (rule) this.start(rule, raw, n, atMs);
    this.prev = { raw, msg: n.msg };
  }

  /** Adds the line to the open report when it belongs there; false when the report is over. */
  private continues(open: Open, raw: string, n: Normalized, rule: Matched | undefined): boolean {
    const append = (): true => {
      open.lines.push(raw);
      if (n.us !== undefined) open.lastUs = n.us;
      return true;
    };
    // Timestamps going backwards: the board restarted; whatever was open is over.
    if (n.us !== undefined && open.lastUs !== undefined && n.us < open.lastUs) return false;
    if (NEW_BOOT.test(n.msg)) return false;

    if (open.end === 'end-trace' && END_TRACE.test(n.msg)) return this.finish(append());
    if (open.end === 'separator' && SEPARATOR.test(n.msg)) return this.finish(append());
    if (open.end === 'panic-end' && (PANIC_END.test(n.msg) || REBOOTING.test(n.msg))) return this.finish(append());

    if (open.cls === 'oops' && open.firstLine === undefined && ARM_USER_FAULT.test(n.msg)) {
      this.open = undefined; // a user-space fault report (CONFIG_DEBUG_USER), not a kernel fault
      return true;
    }
    if (open.lines.length >= this.maxLines) return false;

    if (rule) {
      if (rule.rule === PANIC) return false;
      if (rule.rule === CUT || rule.rule === ARM_CUT) {
        if (open.lines.length === 1) this.open = undefined; // a bare marker: start over with this one
        return false;
      }
      if (open.end === 'end-trace' || open.end === 'separator') {
        // Inside a marked report, other markers are part of it and may name its class.
        if (open.cls === undefined) open.cls = rule.rule.cls;
        if (open.firstLine === undefined) open.firstLine = rule.headline;
        return append();
      }
      return false;
    }

    if (open.end === 'indented' && !/^\s/.test(n.msg)) return false;
    if (open.end === 'none' || open.end === 'panic-end' || open.end === 'indented') {
      if (open.timed && n.us === undefined) return false;
      if (n.us !== undefined && open.lastUs !== undefined && n.us - open.lastUs > this.quietGapUs) return false;
    }
    if (open.fallbackFirst === undefined) open.fallbackFirst = n.msg.trim();
    return append();
  }

  private finish(_: true): true {
    this.close(true);
    return true;
  }

  private start(m: Matched, raw: string, n: Normalized, atMs: number | undefined): void {
    const { rule } = m;
    const open: Open = {
      cls: rule.cls,
      end: rule.end,
      lines: [raw],
      fatal: rule.cls === 'panic',
      timed: n.us !== undefined,
      old: n.us !== undefined && this.options.ignoreBeforeMs !== undefined && n.us < this.options.ignoreBeforeMs * 1000,
    };
    if (!rule.marker) open.firstLine = m.headline;
    if (atMs !== undefined) open.atMs = atMs;
    if (n.us !== undefined) open.lastUs = n.us;
    if (rule.prevSeparator && this.prev && SEPARATOR.test(this.prev.msg)) open.lines.unshift(this.prev.raw);
    this.open = open;
    if (open.old) {
      if (rule.end === 'single') this.close();
      return;
    }
    const start: KernelEventStart = { class: rule.cls, line: m.headline, fatal: open.fatal };
    if (atMs !== undefined) start.atMs = atMs;
    this.options.onStart?.(start);
    if (rule.end === 'single') this.close();
  }

  /** Ends the open report; `byMarker` when its end marker was seen. */
  private close(byMarker = false): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    if (open.old) return;
    while (open.lines.length > 1 && normalize(open.lines[open.lines.length - 1] ?? '').msg.trim() === '') open.lines.pop();
    const event: KernelEvent = {
      class: open.cls ?? 'bug',
      firstLine: open.firstLine ?? open.fallbackFirst ?? normalize(open.lines[0] ?? '').msg.trim(),
      text: open.lines.join('\n'),
      fatal: open.fatal,
    };
    if (open.atMs !== undefined) event.atMs = open.atMs;
    // An oops is fatal when the kernel panics right after it ("Fatal exception in interrupt"):
    // hold it for one line to see.
    if (byMarker && (event.class === 'oops' || event.class === 'bug')) {
      this.held = event;
      this.heldLines = 0;
      return;
    }
    this.emit(event);
  }

  private release(): void {
    if (!this.held) return;
    const e = this.held;
    this.held = undefined;
    this.emit(e);
  }

  private emit(e: KernelEvent): void {
    this.all.push(e);
    this.emitted.push(e);
    this.options.onEvent?.(e);
  }

  private take(): KernelEvent[] {
    const out = this.emitted;
    this.emitted = [];
    return out;
  }
}

interface Matched {
  rule: Rule;
  /** The line from the marker on, without timestamp or prompt before it. */
  headline: string;
}

function match(msg: string): Matched | undefined {
  for (const rule of RULES) {
    const m = rule.re.exec(msg);
    if (m && (rule.anywhere || m.index === 0)) return { rule, headline: msg.slice(m.index).trim() };
  }
  return undefined;
}

/** Strips what precedes the message: level, timestamp, caller id, and any prompt before a timestamp. */
function normalize(raw: string): Normalized {
  let line = raw.replace(/\r/g, '');
  const t = TIMESTAMP_IN_LINE.exec(line);
  if (t && t.index > 0) line = line.slice(t.index);
  const d = parseDmesgLine(line);
  const out: Normalized = { msg: d.text };
  if (d.timeMs !== undefined) out.us = Math.round(d.timeMs * 1000);
  return out;
}

/** Classifies a complete text (a dmesg delta, a saved console log) into kernel events. */
export function classifyKernelText(text: string | readonly string[], options: Omit<KernelEventWatcherOptions, 'onEvent' | 'onStart'> = {}): KernelEvent[] {
  const w = new KernelEventWatcher(options);
  w.feed(typeof text === 'string' ? text : text.join('\n'));
  w.flush();
  return w.events();
}
