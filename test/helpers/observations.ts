// Observations of a stage as exerciseStage() would record them for a correct
// driver, built without a board, so the checks and the stage suites can be
// tested on what a buggy driver would change.
import type { CommandResult } from '../../src/transport/types.ts';
import type { SysfsReading } from '../../src/parsers/sysfs.ts';
import type { ProbeReply, ProbeReport } from '../../src/parsers/probe.ts';
import type { InterfaceReading } from '../../src/results/model.ts';
import type { PingObservation, StageObservations } from '../../src/stages/exercise.ts';
import { PROBE_FRAME_KINDS } from '../../src/parsers/probe.ts';
import { EXPECTED_MAC, OPTIONS_ECHO_FRAME_BYTES, stagePlan } from '../../src/stages/plan.ts';

/** A command that succeeded silently. */
export function ok(command: string, stdout = ''): CommandResult {
  return { command, stdout, stderr: '', exitCode: 0, durationMs: 5 };
}

/** A present vnet0 with these counters (every other counter 0). */
export function reading(stage: number, counters: Record<string, number> = {}, at = 'x'): SysfsReading {
  const statistics: Record<string, number> = {
    tx_packets: 0, tx_bytes: 0, rx_packets: 0, rx_bytes: 0, tx_dropped: 0, rx_dropped: 0, tx_errors: 0, rx_errors: 0,
    ...counters,
  };
  const flagNames = stage === 4 ? ['UP', 'BROADCAST', 'RUNNING', 'NOARP', 'MULTICAST'] : ['UP', 'BROADCAST', 'RUNNING', 'MULTICAST'];
  const r: InterfaceReading = { at, address: stage >= 3 ? EXPECTED_MAC : '00:00:00:00:00:00', flagNames, mtu: 1500, statistics };
  return { iface: 'vnet0', present: true, reading: r, unreadable: [], raw: {} };
}

export const MISSING: SysfsReading = { iface: 'vnet0', present: false };

function ping(target: string, n: number, received: number, before: SysfsReading, after: SysfsReading): PingObservation {
  return {
    command: ok(`ping ${target}`),
    parsed: {
      flavor: 'busybox',
      target,
      replies: [],
      stats: { target, transmitted: n, received, lossPercent: Math.round(((n - received) / n) * 100) },
      problems: [],
    } as unknown as PingObservation['parsed'],
    before,
    after,
  };
}

/** A valid echo reply as the probe reports it. */
export function probeReply(seq: number, patch: Partial<ProbeReply> = {}): ProbeReply {
  return {
    seq, id: 77, from: '3.3.3.4', type: 0, code: 0, bytes: 64, ttl: 64, rttUs: 480,
    icmpChecksumOk: true, ipChecksumOk: true, payloadOk: true, valid: true, reasons: [], line: seq + 1,
    ...patch,
  };
}

/** The probe's report of `replies` out of stage 4's `count` requests. */
export function probeReport(replies: ProbeReply[], count = stagePlan(4).probeCount): ProbeReport {
  const valid = replies.filter((r) => r.valid).length;
  return {
    header: { version: 1, target: '3.3.3.4', id: 77, count, size: 56, intervalMs: 25, timeoutMs: 1000 },
    replies,
    timeouts: [],
    sendErrors: [],
    icmpErrors: [],
    frames: [],
    back: [],
    summary: { sent: count, received: replies.length, valid, bad: replies.length - valid, timeouts: count - replies.length, errors: 0, sendErrors: 0, ignored: 0 },
    rttsMs: [],
    ok: valid === count,
    unrecognized: [],
  };
}

/** What a correct driver of `stage` gives, every step reached. */
export function passingObservations(stage: number): StageObservations {
  const plan = stagePlan(stage);
  const base = reading(stage);
  const cnt = stage >= 2 ? ['virt_net_send_packet cnt = 1', 'virt_net_send_packet cnt = 2'] : [];
  const remoteAfter =
    stage === 1
      ? reading(stage, { tx_dropped: 2 })
      : stage === 4
        ? reading(stage, { tx_packets: 3, rx_packets: 3, tx_bytes: 294, rx_bytes: 294 })
        : reading(stage, stage === 3 ? { tx_packets: 2, tx_bytes: 84 } : {});
  const frames = 3 + plan.probeCount;
  const probeAfter = reading(stage, { tx_packets: frames, rx_packets: frames, tx_bytes: frames * 98, rx_bytes: frames * 98 });
  const obs: StageObservations = {
    plan,
    reset: ok('reset'),
    insmod: ok('insmod'),
    loaded: base,
    ifconfig: ok('ifconfig vnet0 3.3.3.3'),
    configured: base,
    localPing: ping('3.3.3.3', 3, 3, base, base),
    remotePing: ping('3.3.3.4', plan.remoteCount, plan.remoteAnswered ? plan.remoteCount : 0, base, remoteAfter),
    remoteDmesg: cnt,
    rmmod: ok('rmmod'),
    unloaded: MISSING,
    dmesg: cnt.map((l, i) => `[   20.${i}00000] ${l}`),
    kernelEvents: [],
    steps: [
      { name: 'upload', durationMs: 40 },
      { name: 'insmod', durationMs: 180 },
      { name: 'ping-local', durationMs: 650 },
      { name: 'ping-remote', durationMs: 1100 },
      { name: 'rmmod', durationMs: 90 },
    ],
    startedAt: '2025-11-25T08:30:00.000Z',
    durationMs: 2300,
  };
  if (plan.probeCount > 0) {
    obs.probe = {
      command: ok('probe'),
      parsed: probeReport(Array.from({ length: plan.probeCount }, (_, i) => probeReply(i + 1))),
      before: remoteAfter,
      after: probeAfter,
    };
    obs.steps.splice(4, 0, { name: 'probe', durationMs: 700 });
  }
  if (plan.framesCount > 0) {
    const n = plan.framesCount;
    const bytes = n * OPTIONS_ECHO_FRAME_BYTES;
    const report = probeReport(Array.from({ length: n }, (_, i) => probeReply(i + 1, { bytes: 64 })), n);
    report.header = { ...report.header!, iface: 'vnet0', source: '3.3.3.3', ipOptions: 40 };
    report.frames = PROBE_FRAME_KINDS.map((kind) => ({ kind, bytes: 42 }));
    report.summary = { ...report.summary!, frames: PROBE_FRAME_KINDS.length, back: 0, outgoing: 0 };
    const framesAfter = reading(stage, {
      tx_packets: frames + n, rx_packets: frames + n, tx_bytes: frames * 98 + bytes, rx_bytes: frames * 98 + bytes, tx_dropped: PROBE_FRAME_KINDS.length,
    });
    obs.frames = { command: ok('frames'), parsed: report, before: probeAfter, after: framesAfter };
    obs.steps.splice(5, 0, { name: 'frames', durationMs: 400 });
  }
  return obs;
}
