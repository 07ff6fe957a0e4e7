// Stage 4: the emulated wire answers ICMP echo requests.
import { check, need } from '../src/stages/checks.ts';
import { describeBack, PROBE_FRAME_KINDS } from '../src/parsers/probe.ts';
import { ECHO_FRAME_BYTES, OPTIONS_ECHO_FRAME_BYTES, PROBE_IP_OPTION_BYTES, stagePlan } from '../src/stages/plan.ts';
import type { StageObservations } from '../src/stages/exercise.ts';
import { defineStageSuite } from '../src/stages/suite.ts';
import { commonChecks, counters, deltas, present } from './common.ts';

const plan = stagePlan(4);

const noArp = check('noarp-flag', 'vnet0 has IFF_NOARP', ['insmod'], (obs, c) => {
  const flags = present(obs.loaded, 'the reading after insmod').flagNames ?? [];
  c.holds(flags, 'NOARP among them', flags.includes('NOARP'), 'vnet0 flags');
});

const remoteAnswered = check('remote-ping-answered', `ping -c ${plan.remoteCount} 3.3.3.4 is answered ${plan.remoteCount}/${plan.remoteCount}`, ['ping-remote'], (obs, c) => {
  const s = need(obs.remotePing, 'ping 3.3.3.4').parsed.stats;
  c.equal({ transmitted: s?.transmitted, received: s?.received }, { transmitted: plan.remoteCount, received: plan.remoteCount }, 'every echo request answered');
});

const wireCounters = check('wire-counters', `tx = rx = ${plan.remoteCount} packets of ${ECHO_FRAME_BYTES} bytes`, ['ping-remote'], (obs, c) => {
  const d = counters(deltas(need(obs.remotePing, 'ping 3.3.3.4')), ['tx_packets', 'rx_packets', 'tx_bytes', 'rx_bytes']);
  const n = plan.remoteCount;
  c.equal(d, { tx_packets: n, rx_packets: n, tx_bytes: n * ECHO_FRAME_BYTES, rx_bytes: n * ECHO_FRAME_BYTES }, 'one reply per request, same length');
});

const probeReplies = check('probe-replies', `the probe's ${plan.probeCount} echo replies carry the right id, sequence, payload and valid ICMP and IP checksums`, ['probe'], (obs, c) => {
  const p = need(obs.probe, 'the echo probe').parsed;
  const n = plan.probeCount;
  const received = p.replies.length;
  const bad = p.replies.filter((r) => !r.valid).map((r) => `seq ${r.seq}: ${r.reasons.join(', ')}`);
  c.equal(
    { sent: p.summary?.sent, received, valid: received - bad.length, bad },
    { sent: n, received: n, valid: n, bad: [] },
    received === 0 ? 'no replies received' : 'every reply valid',
  );
});

const probeCounters = check('probe-counters', 'the probe\'s frames are counted once each way', ['probe'], (obs, c) => {
  const p = need(obs.probe, 'the echo probe');
  const before = present(p.before, 'the reading before the probe');
  const after = present(p.after, 'the reading after the probe');
  const n = plan.probeCount;
  const frame = 14 + 20 + 8 + (p.parsed.header?.size ?? 56);
  const d = Object.fromEntries(['tx_packets', 'rx_packets', 'tx_bytes', 'rx_bytes'].map((k) => [k, (after.statistics[k] ?? NaN) - (before.statistics[k] ?? NaN)]));
  c.equal(d, { tx_packets: n, rx_packets: n, tx_bytes: n * frame, rx_bytes: n * frame }, 'counters across the probe');
});

// The frames a real network carries, sent by the probe through a packet socket on vnet0.
const HOSTILE = PROBE_FRAME_KINDS.join(', ');

/** Counter deltas across the probe's frames step. */
function framesDeltas(obs: StageObservations) {
  const f = need(obs.frames, 'the probe\'s frames through vnet0');
  const before = present(f.before, 'the reading before the frames');
  const after = present(f.after, 'the reading after the frames');
  return { f, d: Object.fromEntries(['tx_packets', 'tx_bytes', 'tx_dropped'].map((k) => [k, (after.statistics[k] ?? NaN) - (before.statistics[k] ?? NaN)])) };
}

const framesDropped = check('frames-dropped', `frames that are not echo requests (${HOSTILE}) are freed and counted in tx_dropped, never as transmitted`, ['frames'], (obs, c) => {
  const { f, d } = framesDeltas(obs);
  const n = plan.framesCount;
  const sent = f.parsed.frames.filter((x) => !x.error).map((x) => x.kind);
  c.equal(
    { sent, tx_dropped: d.tx_dropped, tx_packets: d.tx_packets, tx_bytes: d.tx_bytes },
    { sent: [...PROBE_FRAME_KINDS], tx_dropped: PROBE_FRAME_KINDS.length, tx_packets: n, tx_bytes: n * OPTIONS_ECHO_FRAME_BYTES },
    'vnet0 counters across the frames (only the echo requests count as transmitted)',
  );
});

const framesNotReflected = check('frames-not-reflected', `nothing comes back from vnet0 for the frames that are not echo requests (${HOSTILE})`, ['frames'], (obs, c) => {
  const back = need(obs.frames, 'the probe\'s frames through vnet0').parsed.back.map(describeBack);
  c.equal(back, [], 'frames that came back on vnet0 other than echo replies');
});

const optionsEcho = check('options-echo-answered', `${plan.framesCount} echo requests with ${PROBE_IP_OPTION_BYTES} bytes of IP options (ihl 15, record route) get valid replies that keep the options`, ['frames'], (obs, c) => {
  const p = need(obs.frames, 'the probe\'s frames through vnet0').parsed;
  const n = plan.framesCount;
  const received = p.replies.length;
  const bad = p.replies.filter((r) => !r.valid).map((r) => `seq ${r.seq}: ${r.reasons.join(', ')}`);
  c.equal(
    { sent: p.summary?.sent, received, valid: received - bad.length, bad },
    { sent: n, received: n, valid: n, bad: [] },
    received === 0 ? 'no replies to the echo requests with IP options' : 'every reply to an echo request with IP options valid',
  );
});

export default defineStageSuite(4, commonChecks([noArp, remoteAnswered, wireCounters, probeReplies, probeCounters, framesDropped, framesNotReflected, optionsEcho]));
