// Parses the output of the board-side ICMP echo probe,
// kernel-modules/probe/vnet_probe.c. busybox ping checks neither identifier,
// payload nor checksums; the probe checks each reply and prints one record per
// line, fields as key=value separated by single spaces (`msg=` is always last
// and runs to the end of the line). Format version 3 (version 1, the probe
// before -F, printed the same records but frame and back; version 2 printed
// back lines without pkttype and the IPv4 fields; both read the same):
//
//   probe version=3 target=3.3.3.4 id=0x1234 count=5 size=56 interval_ms=100 timeout_ms=1000
//       first line: what the probe is about to do. With -F (frames through an
//       interface) it ends with ` iface=vnet0 source=3.3.3.3 ip_options=40`: the
//       interface, its IPv4 address, and the bytes of IP options (record route)
//       of every echo request, which the replies must carry back unchanged.
//   frame kind=arp bytes=42
//       (-F) a frame the emulated peer must not answer was sent: kind arp, ipv6,
//       udp, short (16 bytes of an IPv4 header), truncated (an echo request cut
//       after its ICMP header, its IPv4 header claiming 1500 bytes) or fragment
//       (the first fragment of an echo request). A frame that could not be sent
//       ends with ` errno=N msg=text`.
//   back kind=udp bytes=58 ethertype=0x0800 pkttype=0 ip_id=0x7601 proto=17
//        src=3.3.3.3 dst=3.3.3.4                                   (one line)
//       (-F) a frame came in on the interface that is no reply to us: kind is
//       the frame kind it was told apart as (by EtherType, IPv4 identification),
//       or other. pkttype is the packet socket's (0 host, 1 broadcast, 2
//       multicast, 3 other host, 5 loopback); an IPv4 frame adds ip_id, proto,
//       src and dst, an ICMP one also icmp_type, icmp_code and icmp_id.
//   reply seq=1 id=0x1234 from=3.3.3.4 type=0 code=0 bytes=64 ttl=64 rtt_us=812
//         icmp_csum=ok ip_csum=ok payload=ok verdict=ok               (one line)
//       one ICMP packet taken as a reply to us (by identifier, or by our payload
//       with a damaged identifier). bytes = ICMP header + payload. rtt_us is
//       absent when seq names no request we sent. A bad reply ends with
//       `verdict=bad reasons=a,b` from: type code id seq from length ip_csum
//       icmp_csum payload options dup late (options: -F only, the reply's IP
//       options differ from the request's).
//   timeout seq=2
//       no reply to request 2 within timeout_ms.
//   senderr seq=3 errno=101 msg=Network is unreachable
//       request 3 could not be sent.
//   icmperr seq=1 type=3 code=1 from=10.0.2.2
//       an ICMP error quoting our request 1 came back.
//   summary sent=5 received=5 valid=5 bad=0 timeouts=0 errors=0 send_errors=0 ignored=0
//           rtt_min_us=640 rtt_avg_us=700 rtt_max_us=812                   (one line)
//       last line. received counts every reply packet (bad and duplicate ones
//       too); valid counts requests answered once, correctly and in time;
//       ignored counts other hosts' ICMP traffic (with -F, frames of other
//       interfaces, which bind() keeps out). rtt_* over valid replies only.
//       With -F it also has ` frames=6 back=0 outgoing=0`: frames sent, frames
//       that came back (the back lines), frames others sent on the interface.
//   error stage=socket errno=1 msg=Operation not permitted
//       the probe could not run (stage: usage, alloc, socket, recv, poll); exit 2.
//
// Exit status: 0 when valid = count, bad = 0 and back = 0, 1 otherwise, 2 on errors.

import type { PingStats } from '../results/model.ts';
import { ParseError } from './parse-error.ts';

/** The output format version the probe prints; this parser also reads versions 1 (no frame and back records) and 2 (back records without pkttype and the IPv4 fields). */
export const PROBE_FORMAT_VERSION = 3;
const READABLE_VERSIONS = [1, 2, PROBE_FORMAT_VERSION];

/** Why the probe judged a reply bad. */
export type ProbeReason = 'type' | 'code' | 'id' | 'seq' | 'from' | 'length' | 'ip_csum' | 'icmp_csum' | 'payload' | 'options' | 'dup' | 'late';

const REASONS: readonly ProbeReason[] = ['type', 'code', 'id', 'seq', 'from', 'length', 'ip_csum', 'icmp_csum', 'payload', 'options', 'dup', 'late'];

/** The frames the probe sends with -F that the emulated peer must not answer, in the order it sends them. */
export const PROBE_FRAME_KINDS = ['arp', 'ipv6', 'udp', 'short', 'truncated', 'fragment'] as const;

export interface ProbeHeader {
  version: number;
  target: string;
  id: number;
  count: number;
  size: number;
  intervalMs: number;
  timeoutMs: number;
  /** -F: the interface the frames went through, its IPv4 address, the bytes of IP options of each echo request. */
  iface?: string;
  source?: string;
  ipOptions?: number;
}

/** -F: a frame sent (or not: errno and message) that the peer must not answer. */
export interface ProbeFrame {
  kind: string;
  bytes: number;
  error?: { errno: number; message: string };
}

/** -F: a frame that came in on the interface and is no reply to the probe. */
export interface ProbeBack {
  /** The kind of frame it was told apart as, or `other`. */
  kind: string;
  bytes: number;
  ethertype: number;
  /** Format 3: the packet socket's sll_pkttype (0 host, 1 broadcast, 2 multicast, 3 other host, 5 loopback). */
  pkttype?: number;
  /** Format 3, IPv4 frames: identification, protocol, addresses; ICMP ones their type, code and identifier. */
  ip?: { id: number; proto: number; src: string; dst: string; icmp?: { type: number; code: number; id: number } };
  line: number;
}

export interface ProbeReply {
  seq: number;
  id: number;
  from: string;
  type: number;
  code: number;
  /** ICMP header + payload bytes. */
  bytes: number;
  ttl: number;
  rttUs?: number;
  icmpChecksumOk: boolean;
  ipChecksumOk: boolean;
  payloadOk: boolean;
  valid: boolean;
  reasons: ProbeReason[];
  /** 1-based line in the output. */
  line: number;
}

export interface ProbeSummary {
  sent: number;
  received: number;
  valid: number;
  bad: number;
  timeouts: number;
  errors: number;
  sendErrors: number;
  ignored: number;
  /** -F: frames sent, frames that came back, frames others sent on the interface. */
  frames?: number;
  back?: number;
  outgoing?: number;
  rttMinUs?: number;
  rttAvgUs?: number;
  rttMaxUs?: number;
}

export interface ProbeReport {
  header?: ProbeHeader;
  replies: ProbeReply[];
  /** Sequence numbers that got no reply in time. */
  timeouts: number[];
  sendErrors: { seq: number; errno: number; message: string }[];
  icmpErrors: { seq: number; type: number; code: number; from: string }[];
  /** -F: the frames sent that the peer must not answer. */
  frames: ProbeFrame[];
  /** -F: every frame that came in and is no reply. */
  back: ProbeBack[];
  /** Set when the probe could not run (exit status 2). */
  error?: { stage: string; errno: number; message: string };
  /** Absent when the probe stopped before its last line (killed, board lost). */
  summary?: ProbeSummary;
  /** Round-trip times of the valid replies, in ms, in the order they came. */
  rttsMs: number[];
  /** Every request answered once, correctly and in time (and nothing else came back). */
  ok: boolean;
  /** Lines that are not probe records (shell noise), kept for reports. */
  unrecognized: { line: number; text: string }[];
}

/** Parses the probe's output; throws ParseError when it is not probe output or is damaged. */
export function parseProbeOutput(output: string): ProbeReport {
  const report: ProbeReport = { replies: [], timeouts: [], sendErrors: [], icmpErrors: [], frames: [], back: [], rttsMs: [], ok: false, unrecognized: [] };
  const lines = output.split(/\r?\n/).map((l) => l.replace(/\r/g, ''));
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === '') return;
    const sp = text.indexOf(' ');
    const kind = sp < 0 ? text : text.slice(0, sp);
    const known = ['probe', 'reply', 'timeout', 'senderr', 'icmperr', 'frame', 'back', 'summary', 'error'];
    if (!known.includes(kind)) {
      report.unrecognized.push({ line, text });
      return;
    }
    const f = new Fields(output, line, text.slice(sp + 1));
    switch (kind) {
      case 'probe': {
        const version = f.int('version');
        if (!READABLE_VERSIONS.includes(version)) {
          throw new ParseError('probe', `output format version ${version}; this harness reads versions ${READABLE_VERSIONS.join(' and ')}`, output, line);
        }
        report.header = {
          version,
          target: f.str('target'),
          id: f.int('id'),
          count: f.int('count'),
          size: f.int('size'),
          intervalMs: f.int('interval_ms'),
          timeoutMs: f.int('timeout_ms'),
        };
        if (f.has('iface')) {
          report.header.iface = f.str('iface');
          report.header.source = f.str('source');
          report.header.ipOptions = f.int('ip_options');
        }
        break;
      }
      case 'frame': {
        const frame: ProbeFrame = { kind: f.str('kind'), bytes: f.int('bytes') };
        if (f.has('errno')) frame.error = { errno: f.int('errno'), message: f.str('msg') };
        report.frames.push(frame);
        break;
      }
      case 'back': {
        const back: ProbeBack = { kind: f.str('kind'), bytes: f.int('bytes'), ethertype: f.int('ethertype'), line };
        if (f.has('pkttype')) back.pkttype = f.int('pkttype');
        if (f.has('proto')) {
          back.ip = { id: f.int('ip_id'), proto: f.int('proto'), src: f.str('src'), dst: f.str('dst') };
          if (f.has('icmp_type')) back.ip.icmp = { type: f.int('icmp_type'), code: f.int('icmp_code'), id: f.int('icmp_id') };
        }
        report.back.push(back);
        break;
      }
      case 'reply': {
        const verdict = f.str('verdict');
        if (verdict !== 'ok' && verdict !== 'bad') throw new ParseError('probe', `verdict must be ok or bad, got ${JSON.stringify(verdict)}`, output, line);
        const reasons = verdict === 'bad' ? f.str('reasons').split(',') : [];
        const unknown = reasons.filter((r) => !REASONS.includes(r as ProbeReason));
        if (unknown.length > 0) throw new ParseError('probe', `unknown reasons ${unknown.join(',')}`, output, line);
        const r: ProbeReply = {
          seq: f.int('seq'),
          id: f.int('id'),
          from: f.str('from'),
          type: f.int('type'),
          code: f.int('code'),
          bytes: f.int('bytes'),
          ttl: f.int('ttl'),
          icmpChecksumOk: f.okBad('icmp_csum'),
          ipChecksumOk: f.okBad('ip_csum'),
          payloadOk: f.okBad('payload'),
          valid: verdict === 'ok',
          reasons: reasons as ProbeReason[],
          line,
        };
        if (f.has('rtt_us')) r.rttUs = f.int('rtt_us');
        if (r.valid && r.rttUs !== undefined) report.rttsMs.push(r.rttUs / 1000);
        report.replies.push(r);
        break;
      }
      case 'timeout':
        report.timeouts.push(f.int('seq'));
        break;
      case 'senderr':
        report.sendErrors.push({ seq: f.int('seq'), errno: f.int('errno'), message: f.str('msg') });
        break;
      case 'icmperr':
        report.icmpErrors.push({ seq: f.int('seq'), type: f.int('type'), code: f.int('code'), from: f.str('from') });
        break;
      case 'error':
        report.error = { stage: f.str('stage'), errno: f.int('errno'), message: f.str('msg') };
        break;
      case 'summary': {
        const s: ProbeSummary = {
          sent: f.int('sent'),
          received: f.int('received'),
          valid: f.int('valid'),
          bad: f.int('bad'),
          timeouts: f.int('timeouts'),
          errors: f.int('errors'),
          sendErrors: f.int('send_errors'),
          ignored: f.int('ignored'),
        };
        if (f.has('frames')) {
          s.frames = f.int('frames');
          s.back = f.int('back');
          s.outgoing = f.int('outgoing');
        }
        if (f.has('rtt_min_us')) {
          s.rttMinUs = f.int('rtt_min_us');
          s.rttAvgUs = f.int('rtt_avg_us');
          s.rttMaxUs = f.int('rtt_max_us');
        }
        report.summary = s;
        break;
      }
    }
  });

  if (!report.header && !report.error) {
    throw new ParseError('probe', 'no "probe" header or "error" line: is this vnet_probe output?', output);
  }
  const s = report.summary;
  if (s) {
    const valid = report.replies.filter((r) => r.valid).length;
    const bad = report.replies.length - valid;
    const framesSent = report.frames.filter((x) => !x.error).length;
    if (
      s.received !== report.replies.length ||
      s.valid !== valid ||
      s.bad !== bad ||
      s.timeouts !== report.timeouts.length ||
      (s.frames ?? 0) !== framesSent ||
      (s.back ?? 0) !== report.back.length
    ) {
      throw new ParseError(
        'probe',
        `summary (received=${s.received} valid=${s.valid} bad=${s.bad} timeouts=${s.timeouts}) disagrees with the lines ` +
          `(${report.replies.length} replies, ${valid} valid, ${bad} bad, ${report.timeouts.length} timeouts): output damaged?`,
        output,
      );
    }
  }
  report.ok =
    report.header !== undefined && s !== undefined && report.error === undefined && s.valid === report.header.count && s.bad === 0 && report.back.length === 0;
  return report;
}

const PKTTYPES: Record<number, string> = { 0: 'host', 1: 'broadcast', 2: 'multicast', 3: 'other host', 4: 'outgoing', 5: 'loopback' };

/** A frame that came back, in words: `other (134 bytes, EtherType 0x0800, pkttype 0 host, IPv4 id 0x7610 proto 1 3.3.3.4 > 3.3.3.3, ICMP type 0 code 0 id 0x00a1)`. */
export function describeBack(b: ProbeBack): string {
  const hex = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;
  const parts = [`${b.bytes} bytes`, `EtherType ${hex(b.ethertype)}`];
  if (b.pkttype !== undefined) parts.push(`pkttype ${b.pkttype}${PKTTYPES[b.pkttype] ? ` ${PKTTYPES[b.pkttype]}` : ''}`);
  if (b.ip) {
    parts.push(`IPv4 id ${hex(b.ip.id)} proto ${b.ip.proto} ${b.ip.src} > ${b.ip.dst}`);
    if (b.ip.icmp) parts.push(`ICMP type ${b.ip.icmp.type} code ${b.ip.icmp.code} id ${hex(b.ip.icmp.id)}`);
  }
  return `${b.kind} (${parts.join(', ')})`;
}

/** The probe's result in the shape of a ping summary (transmitted, valid replies, loss, rtt). */
export function probeToPingStats(report: ProbeReport): PingStats {
  const s = report.summary;
  const transmitted = s?.sent ?? 0;
  const received = s?.valid ?? 0;
  const stats: PingStats = {
    target: report.header?.target ?? '',
    transmitted,
    received,
    lossPercent: transmitted === 0 ? 100 : ((transmitted - received) * 100) / transmitted,
  };
  if (s?.rttMinUs !== undefined) {
    stats.rttMinMs = s.rttMinUs / 1000;
    stats.rttAvgMs = (s.rttAvgUs ?? 0) / 1000;
    stats.rttMaxMs = (s.rttMaxUs ?? 0) / 1000;
  }
  return stats;
}

/** The key=value fields of one record. */
class Fields {
  private readonly map = new Map<string, string>();

  constructor(
    private readonly output: string,
    private readonly line: number,
    rest: string,
  ) {
    const msg = rest.indexOf('msg=');
    const head = msg >= 0 && (msg === 0 || rest[msg - 1] === ' ') ? rest.slice(0, msg) : rest;
    if (head !== rest) this.map.set('msg', rest.slice(msg + 4));
    for (const tok of head.split(' ')) {
      if (tok === '') continue;
      const eq = tok.indexOf('=');
      if (eq <= 0) throw new ParseError('probe', `field ${JSON.stringify(tok)} is not key=value`, output, line);
      this.map.set(tok.slice(0, eq), tok.slice(eq + 1));
    }
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  str(key: string): string {
    const v = this.map.get(key);
    if (v === undefined) throw new ParseError('probe', `missing field ${key}=`, this.output, this.line);
    return v;
  }

  int(key: string): number {
    const v = this.str(key);
    if (!/^(?:\d+|0x[0-9a-f]+)$/i.test(v)) throw new ParseError('probe', `field ${key}=${v} is not a number`, this.output, this.line);
    return Number(v);
  }

  okBad(key: string): boolean {
    const v = this.str(key);
    if (v !== 'ok' && v !== 'bad') throw new ParseError('probe', `field ${key}=${v} must be ok or bad`, this.output, this.line);
    return v === 'ok';
  }
}
