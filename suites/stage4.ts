// Stage 4: the emulated wire answers ICMP echo requests.
import { check, need } from '../src/stages/checks.ts';
import { ECHO_FRAME_BYTES, stagePlan } from '../src/stages/plan.ts';
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

export default defineStageSuite(4, commonChecks([noArp, remoteAnswered, wireCounters, probeReplies, probeCounters]));
