// Checks every stage shares: the tutorial's manual test, judged exactly.
import { CheckFailed, check, need, type CheckSpec } from '../src/stages/checks.ts';
import type { PingObservation } from '../src/stages/exercise.ts';
import { statisticsDelta, type SysfsReading } from '../src/parsers/sysfs.ts';
import type { InterfaceReading } from '../src/results/model.ts';

/**
 * The reading of a present interface; not reached when the reading was never
 * taken. vnet0 missing is the driver's doing: the check fails.
 */
export function present(r: SysfsReading | undefined, what: string): InterfaceReading {
  const reading = need(r, what);
  if (!reading.present) throw new CheckFailed(`vnet0 at ${what}`, { expected: 'present', actual: 'missing' });
  return reading.reading;
}

/** Counter deltas across a ping. */
export function deltas(p: PingObservation): Record<string, number> {
  return statisticsDelta(present(p.before, 'the reading before the ping'), present(p.after, 'the reading after the ping'));
}

/** The counters a check compares, in a fixed order. */
export function counters(d: Record<string, number>, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, d[n] ?? Number.NaN]));
}

/** `virt_net_send_packet cnt = N` values in kernel log lines. */
export function cntValues(lines: readonly string[]): number[] {
  return lines.flatMap((l) => {
    const m = /virt_net_send_packet cnt = (\d+)/.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

export const moduleLoads = check('module-loads', 'insmod loads the module', ['insmod'], (obs, c) => {
  const r = need(obs.insmod, 'insmod');
  c.equal({ exitCode: r.exitCode, output: (r.stdout + r.stderr).trim() }, { exitCode: 0, output: '' }, 'insmod should succeed silently');
});

export const vnet0Appears = check('vnet0-appears', 'vnet0 appears in /sys/class/net', ['insmod'], (obs, c) => {
  const found = need(obs.loaded, 'the reading after insmod').present;
  c.holds(found ? 'present' : 'missing', 'present', found, '/sys/class/net/vnet0 after insmod');
});

export const ifconfigUp = check('ifconfig', 'ifconfig vnet0 3.3.3.3 succeeds and brings vnet0 up', ['ping-local'], (obs, c) => {
  const r = need(obs.ifconfig, 'ifconfig');
  const flags = r.exitCode === 0 ? present(need(obs.localPing, 'ping 3.3.3.3').before, 'the reading after ifconfig').flagNames ?? [] : [];
  c.equal({ exitCode: r.exitCode, up: flags.includes('UP') }, { exitCode: 0, up: true }, 'ifconfig should succeed and set UP');
});

export const localPingAnswered = check('local-ping-answered', 'ping 3.3.3.3 is answered 100 %', ['ping-local'], (obs, c) => {
  const stats = need(obs.localPing, 'ping 3.3.3.3').parsed.stats;
  c.equal(
    { transmitted: stats?.transmitted, received: stats?.received, lossPercent: stats?.lossPercent },
    { transmitted: 3, received: 3, lossPercent: 0 },
    'every local echo request should be answered',
  );
});

export const localPingCountersUntouched = check('local-ping-counters-untouched', 'ping 3.3.3.3 leaves vnet0 counters untouched (goes through lo)', ['ping-local'], (obs, c) => {
  const d = deltas(need(obs.localPing, 'ping 3.3.3.3'));
  const touched = Object.fromEntries(Object.entries(d).filter(([, v]) => v !== 0));
  c.equal(touched, {}, 'vnet0 counters changed by ping 3.3.3.3 (local traffic goes through lo)');
});

export const cleanUnload = check('clean-unload', 'rmmod succeeds and vnet0 is gone', ['rmmod'], (obs, c) => {
  const r = need(obs.rmmod, 'rmmod');
  c.equal({ exitCode: r.exitCode, vnet0Present: need(obs.unloaded, 'the reading after rmmod').present }, { exitCode: 0, vnet0Present: false }, 'unload should remove vnet0');
});

export const noKernelFault = check('no-kernel-fault', 'no oops, panic, BUG, WARNING, lockup, KASAN, UBSAN, lockdep, sleep-in-atomic or kmemleak report', 'stage', (obs, c) => {
  const events = obs.kernelEvents.map((e) => `${e.class}: ${e.firstLine}`);
  c.equal(events, [], 'kernel faults during the stage');
});

export const remoteNoReply = check('remote-ping-no-reply', 'ping 3.3.3.4 gets no reply', ['ping-remote'], (obs, c) => {
  const p = need(obs.remotePing, 'ping 3.3.3.4');
  c.equal({ received: p.parsed.stats?.received ?? p.parsed.replies.length }, { received: 0 }, 'nothing answers 3.3.3.4 at this stage');
});

export const sendLinesConsecutive = check('send-lines', 'one "virt_net_send_packet cnt = N" line per frame, N consecutive from 1', ['ping-remote'], (obs, c) => {
  const values = cntValues(need(obs.remoteDmesg, 'the kernel log of ping 3.3.3.4'));
  // The whole stage's log when it was read; else what ping 3.3.3.4 printed.
  const stageValues = obs.dmesg.length > 0 ? cntValues(obs.dmesg) : values;
  const expected = stageValues.map((_, i) => i + 1);
  c.holds(stageValues, `1..N with N >= 1 (got ${stageValues.length} lines)`, stageValues.length > 0 && JSON.stringify(stageValues) === JSON.stringify(expected), 'cnt values should count frames from 1 without gaps');
});

/** The checks of every stage, in the order the tutorial's test runs. */
export function commonChecks(middle: readonly CheckSpec[]): CheckSpec[] {
  return [moduleLoads, vnet0Appears, ifconfigUp, localPingAnswered, localPingCountersUntouched, ...middle, cleanUnload, noKernelFault];
}
