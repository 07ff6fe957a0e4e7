// Parses what `ping` printed: busybox ping (the boards' userland, 1.35 on the
// emulated board) and iputils ping (Debian hosts), plus the BSD/inetutils
// variants of the same lines. Keeps every reply line, the summary, and each
// error line, so a check can say exactly why a ping failed.

import type { PingStats } from '../results/model.ts';
import { ParseError } from './parse-error.ts';

/** One "64 bytes from ..." line. */
export interface PingReply {
  /** Sequence as printed: busybox counts from 0, iputils from 1. */
  seq: number;
  bytes: number;
  /** The replying address (the part in parentheses when a name is printed too). */
  from: string;
  ttl?: number;
  /** Absent when the payload was too small to carry a timestamp. */
  timeMs?: number;
  /** Marked "(DUP!)". */
  dup: boolean;
  /** Other marks iputils prints: "BAD CHECKSUM!", "DIFFERENT ADDRESS!", "truncated". */
  marks: string[];
  /** 1-based line number in the output. */
  line: number;
}

export type PingProblemKind =
  /** "ping: sendto: ..." / "ping: sendmsg: ...": a request could not be sent. */
  | 'send-error'
  /** "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable": an ICMP error came back. */
  | 'icmp-error'
  /** "wrong data byte #16 should be 0x10 but was 0x11" (iputils). */
  | 'data-mismatch'
  /** "ping: Warning: ..." */
  | 'warning'
  /** Any other "ping: ..." line (bad address, socket or permission errors). */
  | 'error';

export interface PingProblem {
  kind: PingProblemKind;
  /** The message without the "ping: " prefix. */
  message: string;
  seq?: number;
  line: number;
}

export interface PingOutput {
  flavor: 'busybox' | 'iputils' | 'unknown';
  /** Target as given on the command line (name or address). */
  target?: string;
  /** Address the target resolved to, from the "PING" line. */
  address?: string;
  /** Payload size from the "PING" line. */
  dataBytes?: number;
  replies: PingReply[];
  /** The summary; absent when ping stopped before printing one. */
  stats?: PingStats;
  /** Duplicates: from the summary, else the number of "(DUP!)" lines. */
  duplicates: number;
  /** iputils "+N errors" (ICMP errors received). */
  errors: number;
  /** iputils "+N corrupted". */
  corrupted: number;
  /** iputils "time 406ms". */
  elapsedMs?: number;
  /** iputils mdev / BSD stddev. */
  rttMdevMs?: number;
  problems: PingProblem[];
  /** When ping ended without a summary: the error that stopped it. */
  failure?: string;
  /** Lines that matched nothing above, kept for reports. */
  unrecognized: { line: number; text: string }[];
}

const HEADER_BUSYBOX = /^PING (\S+) \(([^)]+)\): (\d+) data bytes/;
const HEADER_IPUTILS = /^PING (\S+) \(([^)]+)\) (\d+)\((\d+)\) bytes of data\./;
const REPLY =
  /^(\d+) bytes from (.+?)(?: \(([^()]+)\))?: (icmp_)?seq=(\d+)(?: ttl=(\d+))?(?: time[=<]\s*([\d.]+) ?ms)?(.*)$/;
const ICMP_ERROR = /^From (\S+?)(?: \(([^)]+)\))?:? icmp_seq=(\d+) (.+)$/;
const DATA_MISMATCH = /^wrong data byte #(\d+) should be (0x[0-9a-f]+) but was (0x[0-9a-f]+)/i;
const SUMMARY_HEAD = /^--- (\S+) ping statistics ---$/;
const RTT = /^(?:round-trip|rtt) min\/avg\/max(?:\/(?:mdev|stddev))? = ([\d.]+)\/([\d.]+)\/([\d.]+)(?:\/([\d.]+))? ms/;
const PING_MESSAGE = /^ping: (.*)$/;

/** Parses the complete output of one ping run; throws ParseError when it is not ping output. */
export function parsePing(output: string): PingOutput {
  const out: PingOutput = {
    flavor: 'unknown',
    replies: [],
    duplicates: 0,
    errors: 0,
    corrupted: 0,
    problems: [],
    unrecognized: [],
  };
  const lines = output.split(/\r?\n/).map((l) => l.replace(/\r/g, ''));
  let summaryTarget: string | undefined;
  let recognized = false;
  let summaryDuplicates: number | undefined;

  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    const lineNo = i + 1;
    if (text.trim() === '') continue;
    let m: RegExpExecArray | null;

    if ((m = HEADER_IPUTILS.exec(text))) {
      out.flavor = 'iputils';
      setHeader(out, m);
    } else if ((m = HEADER_BUSYBOX.exec(text))) {
      out.flavor = 'busybox';
      setHeader(out, m);
      // busybox prints its header without flushing; a following error can end up on the same line.
      const rest = text.slice(m[0].length);
      if (rest.trim() !== '') addMessage(out, rest.trim(), lineNo);
    } else if ((m = REPLY.exec(text))) {
      out.replies.push(reply(m, lineNo));
      if (out.flavor === 'unknown' && m[4] === undefined) out.flavor = 'busybox';
    } else if ((m = ICMP_ERROR.exec(text))) {
      out.problems.push({ kind: 'icmp-error', message: text, seq: Number(m[3]), line: lineNo });
    } else if ((m = DATA_MISMATCH.exec(text))) {
      out.problems.push({ kind: 'data-mismatch', message: text, line: lineNo });
    } else if (/^#\d+\t/.test(text)) {
      // iputils dumps the received bytes after a data mismatch; the mismatch line says enough.
    } else if ((m = SUMMARY_HEAD.exec(text))) {
      summaryTarget = m[1];
      const counts = lines[i + 1] ?? '';
      const parsed = parseCounts(counts);
      if (parsed === undefined) {
        throw new ParseError('ping', 'summary header not followed by a packet count line', output, lineNo + 1);
      }
      out.stats = {
        target: summaryTarget ?? '',
        transmitted: parsed.transmitted,
        received: parsed.received,
        lossPercent: parsed.lossPercent,
      };
      summaryDuplicates = parsed.duplicates;
      out.errors = parsed.errors;
      out.corrupted = parsed.corrupted;
      if (parsed.elapsedMs !== undefined) out.elapsedMs = parsed.elapsedMs;
      if (parsed.flavor !== 'unknown') out.flavor = parsed.flavor;
      i++;
    } else if ((m = RTT.exec(text))) {
      if (out.stats === undefined) {
        throw new ParseError('ping', 'round-trip line before the summary', output, lineNo);
      }
      out.stats.rttMinMs = Number(m[1]);
      out.stats.rttAvgMs = Number(m[2]);
      out.stats.rttMaxMs = Number(m[3]);
      if (m[4] !== undefined) out.rttMdevMs = Number(m[4]);
    } else if (PING_MESSAGE.test(text)) {
      addMessage(out, text, lineNo);
    } else {
      out.unrecognized.push({ line: lineNo, text });
      continue;
    }
    recognized = true;
  }

  if (!recognized) {
    throw new ParseError('ping', 'no PING header, reply, summary or ping error found', output);
  }
  if (out.stats !== undefined && out.stats.target === '') out.stats.target = out.target ?? '';
  out.duplicates = summaryDuplicates ?? out.replies.filter((r) => r.dup).length;
  if (out.stats === undefined) {
    const fatal = [...out.problems].reverse().find((p) => p.kind === 'send-error' || p.kind === 'error');
    out.failure = fatal?.message ?? 'ping printed no summary (killed or cut short?)';
  }
  return out;
}

/** Whether every request was answered exactly once: a summary, no loss, no duplicates, no errors. */
export function allAnswered(p: PingOutput): boolean {
  const s = p.stats;
  return (
    s !== undefined &&
    s.transmitted > 0 &&
    s.received === s.transmitted &&
    p.duplicates === 0 &&
    p.errors === 0 &&
    p.corrupted === 0
  );
}

function setHeader(out: PingOutput, m: RegExpExecArray): void {
  out.target = m[1];
  out.address = m[2];
  out.dataBytes = Number(m[3]);
}

function reply(m: RegExpExecArray, line: number): PingReply {
  const marks = [...(m[8] ?? '').matchAll(/\(([^)]*)\)/g)].map((x) => x[1] ?? '');
  const r: PingReply = {
    seq: Number(m[5]),
    bytes: Number(m[1]),
    from: m[3] ?? m[2] ?? '',
    dup: marks.includes('DUP!'),
    marks: marks.filter((x) => x !== 'DUP!'),
    line,
  };
  if (m[6] !== undefined) r.ttl = Number(m[6]);
  if (m[7] !== undefined) r.timeMs = Number(m[7]);
  // iputils prints a bare "truncated" without parentheses.
  if (/\btruncated\b/.test(m[8] ?? '') && !r.marks.includes('truncated')) r.marks.push('truncated');
  return r;
}

function addMessage(out: PingOutput, text: string, line: number): void {
  const m = PING_MESSAGE.exec(text);
  const message = m?.[1] ?? text;
  let kind: PingProblemKind = 'error';
  if (/^warning:/i.test(message)) kind = 'warning';
  else if (/^(sendto|sendmsg|send):/.test(message)) kind = 'send-error';
  out.problems.push({ kind, message, line });
  if (out.flavor === 'unknown' && /^sendmsg:|^connect:/.test(message)) out.flavor = 'iputils';
}

interface Counts {
  transmitted: number;
  received: number;
  lossPercent: number;
  duplicates?: number;
  errors: number;
  corrupted: number;
  elapsedMs?: number;
  flavor: PingOutput['flavor'];
}

/** Reads "3 packets transmitted, 3 received, +1 duplicates, 0% packet loss, time 406ms". */
function parseCounts(line: string): Counts | undefined {
  const parts = line.trim().split(/,\s*/);
  const tx = /^(\d+) packets transmitted$/.exec(parts[0] ?? '');
  const rx = /^(\d+) (packets )?received$/.exec(parts[1] ?? '');
  if (!tx || !rx) return undefined;
  const c: Counts = {
    transmitted: Number(tx[1]),
    received: Number(rx[1]),
    lossPercent: Number.NaN,
    errors: 0,
    corrupted: 0,
    flavor: rx[2] === undefined ? 'iputils' : 'unknown',
  };
  for (const part of parts.slice(2)) {
    let m: RegExpExecArray | null;
    if ((m = /^\+?(\d+) duplicates$/.exec(part))) c.duplicates = Number(m[1]);
    else if ((m = /^\+(\d+) errors$/.exec(part))) c.errors = Number(m[1]);
    else if ((m = /^\+(\d+) corrupted$/.exec(part))) c.corrupted = Number(m[1]);
    else if ((m = /^([\d.]+)% packet loss$/.exec(part))) c.lossPercent = Number(m[1]);
    else if ((m = /^time (\d+)ms$/.exec(part))) c.elapsedMs = Number(m[1]);
  }
  if (Number.isNaN(c.lossPercent)) {
    // "-- somebody's printing up packets!" replaces the loss when received > transmitted.
    c.lossPercent = c.transmitted === 0 ? 0 : ((c.transmitted - c.received) * 100) / c.transmitted;
  }
  return c;
}
