// Tests of the check vocabulary (src/stages/checks.ts) through the real stage
// checks of suites/: what a failed check says, which verdict a driver fault
// gets, and how long a check took.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyKernelText } from '../src/parsers/kernel-events.ts';
import { checkFailureText } from '../src/results/check-text.ts';
import { CHECK_STEPS, evaluate, type CheckSpec } from '../src/stages/checks.ts';
import { stagePlan } from '../src/stages/plan.ts';
import type { StageSuite } from '../src/stages/suite.ts';
import stage1 from '../suites/stage1.ts';
import stage2 from '../suites/stage2.ts';
import stage3 from '../suites/stage3.ts';
import stage4 from '../suites/stage4.ts';
import { MISSING, passingObservations, probeReply, probeReport, reading } from './helpers/observations.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUITES: readonly StageSuite[] = [stage1, stage2, stage3, stage4];

function spec(suite: StageSuite, id: string): CheckSpec {
  const found = suite.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in stage ${suite.stage}`);
  return found;
}

describe('checks: a correct driver passes every check', () => {
  for (const suite of SUITES) {
    it(`stage ${suite.stage}`, () => {
      const obs = passingObservations(suite.stage);
      const bad = suite.checks.map((c) => evaluate(c, obs).result).filter((r) => r.verdict !== 'pass');
      expect(bad).to.deep.equal([]);
    });
  }
});

describe('checks: a failed check says what was expected and what was seen', () => {
  function macFailure() {
    const obs = passingObservations(3);
    const loaded = reading(3);
    if (loaded.present) loaded.reading.address = '08:89:89:89:89:12';
    obs.loaded = loaded;
    return evaluate(spec(stage3, 'mac-address'), obs);
  }

  it('records the check\'s own statement and values, never the assertion library\'s sentence', () => {
    const { result } = macFailure();
    expect(result.verdict).to.equal('fail');
    expect(result.message).to.equal('MAC set by the driver');
    expect(result.expected).to.equal('08:89:89:89:89:11');
    expect(result.actual).to.equal('08:89:89:89:89:12');
    expect(checkFailureText(result)).to.equal('MAC set by the driver: expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
  });

  it('the error mocha prints is that same line: no "to deeply equal", no diff, no harness stack frames', () => {
    const { error } = macFailure();
    expect(error?.message).to.equal('MAC set by the driver: expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
    expect(error?.message).to.not.match(/deeply equal|\+0/);
    expect((error as { showDiff?: boolean }).showDiff).to.equal(false);
    expect(error?.stack ?? '').to.not.match(/^\s+at /m);
  });

  it('a count of zero reads 0, not +0', () => {
    const obs = passingObservations(1);
    const remote = obs.remotePing!;
    obs.remotePing = { ...remote, parsed: { ...remote.parsed, stats: { ...remote.parsed.stats!, received: 1 } } };
    const { result, error } = evaluate(spec(stage1, 'remote-ping-no-reply'), obs);
    expect(result.verdict).to.equal('fail');
    expect(checkFailureText(result)).to.equal('nothing answers 3.3.3.4 at this stage: expected received 0, got received 1');
    expect(error?.message).to.equal(checkFailureText(result));
  });

  it('probe-replies with no reply at all says "no replies received"', () => {
    const obs = passingObservations(4);
    obs.probe = { ...obs.probe!, parsed: probeReport([]) };
    const { result } = evaluate(spec(stage4, 'probe-replies'), obs);
    expect(result.verdict).to.equal('fail');
    expect(result.message).to.equal('no replies received');
    expect(checkFailureText(result)).to.match(new RegExp(`^no replies received: expected .*received ${stagePlan(4).probeCount}\\b.*, got .*received 0`));
  });

  it('probe-replies names the bad reply', () => {
    const obs = passingObservations(4);
    obs.probe = { ...obs.probe!, parsed: probeReport([1, 2, 3, 4, 5].map((s) => probeReply(s, s === 2 ? { valid: false, reasons: ['icmp_csum'] } : {}))) };
    const { result } = evaluate(spec(stage4, 'probe-replies'), obs);
    expect(checkFailureText(result)).to.contain('seq 2: icmp_csum');
  });
});

describe('checks: the frames through vnet0 that the peer must not answer (stage 4)', () => {
  /** Stage 4's observations with the frames step's report and counters changed as a buggy driver would. */
  function frames(change: (obs: ReturnType<typeof passingObservations>) => void) {
    const obs = passingObservations(4);
    change(obs);
    return obs;
  }
  const afterCounters = (obs: ReturnType<typeof passingObservations>, delta: Record<string, number>) => {
    const after = obs.frames!.after;
    if (after.present) for (const [k, v] of Object.entries(delta)) after.reading.statistics[k] = (after.reading.statistics[k] ?? 0) + v;
  };

  it('frames-dropped fails when a frame is counted as transmitted instead of dropped, naming the counters', () => {
    const obs = frames((o) => afterCounters(o, { tx_dropped: -1, tx_packets: 1, tx_bytes: 42 }));
    const { result } = evaluate(spec(stage4, 'frames-dropped'), obs);
    expect(result.verdict).to.equal('fail');
    expect(checkFailureText(result)).to.match(/tx_dropped 6, tx_packets 2\b.*got .*tx_dropped 5, tx_packets 3\b/);
  });

  it('frames-dropped fails when the probe could not send a frame (the counters would say nothing)', () => {
    const obs = frames((o) => {
      o.frames!.parsed.frames[1] = { kind: 'ipv6', bytes: 70, error: { errno: 100, message: 'Network is down' } };
      afterCounters(o, { tx_dropped: -1 });
    });
    expect(checkFailureText(evaluate(spec(stage4, 'frames-dropped'), obs).result)).to.match(/got sent \[arp; udp; short; truncated; fragment\]/);
  });

  it('frames-not-reflected names every frame that came back', () => {
    const obs = frames((o) => {
      o.frames!.parsed.back = [
        { kind: 'udp', bytes: 58, ethertype: 0x0800, line: 9 },
        { kind: 'arp', bytes: 42, ethertype: 0x0806, line: 10 },
      ];
    });
    const { result } = evaluate(spec(stage4, 'frames-not-reflected'), obs);
    expect(result.verdict).to.equal('fail');
    expect(checkFailureText(result)).to.equal(
      'frames that came back on vnet0 other than echo replies: expected none, got udp (58 bytes, EtherType 0x0800); arp (42 bytes, EtherType 0x0806)',
    );
  });

  it('options-echo-answered names the replies that lost their options, and fails on missing replies', () => {
    const bad = frames((o) => {
      o.frames!.parsed = { ...o.frames!.parsed, replies: [1, 2].map((s) => probeReply(s, { valid: false, reasons: ['type', 'options'] })) };
    });
    expect(checkFailureText(evaluate(spec(stage4, 'options-echo-answered'), bad).result)).to.contain('seq 1: type, options');
    const none = frames((o) => {
      o.frames!.parsed = { ...o.frames!.parsed, replies: [] };
    });
    const { result } = evaluate(spec(stage4, 'options-echo-answered'), none);
    expect(result.message).to.equal('no replies to the echo requests with IP options');
  });

  it('a stage that ended before the frames step leaves them not reached, never failed', () => {
    const obs = frames((o) => {
      delete o.frames;
    });
    for (const id of ['frames-dropped', 'frames-not-reflected', 'options-echo-answered']) {
      expect(evaluate(spec(stage4, id), obs).result.verdict, id).to.equal('skipped');
    }
  });
});

describe('checks: a driver fault is a failure, never an error', () => {
  it('vnet0 missing where a reading needs it fails the check (present())', () => {
    const obs = passingObservations(3);
    obs.loaded = MISSING;
    const { result, error } = evaluate(spec(stage3, 'mac-address'), obs);
    expect(result.verdict).to.equal('fail');
    expect(checkFailureText(result)).to.equal('vnet0 at the reading after insmod: expected present, got missing');
    expect(error?.stack ?? '').to.not.match(/^\s+at /m);
  });

  it('vnet0 gone during ping 3.3.3.4 fails the counter checks', () => {
    const obs = passingObservations(4);
    obs.remotePing = { ...obs.remotePing!, after: MISSING };
    const { result } = evaluate(spec(stage4, 'wire-counters'), obs);
    expect(result.verdict).to.equal('fail');
    expect(result.message).to.equal('vnet0 at the reading after the ping');
  });

  it('a bug in a check itself (a TypeError) is still an error of the harness', () => {
    const broken: CheckSpec = { ...spec(stage3, 'mac-address'), body: () => void (undefined as unknown as { x: number }).x };
    expect(evaluate(broken, passingObservations(3)).result.verdict).to.equal('error');
  });
});

describe('checks: each check takes the time of the board steps it judges', () => {
  const obs = passingObservations(4);
  const time = (id: string) => evaluate(spec(stage4, id), obs).result.durationMs;

  it('insmod, ping and probe checks take their step\'s duration', () => {
    expect(time('module-loads')).to.equal(180);
    expect(time('noarp-flag')).to.equal(180);
    expect(time('local-ping-answered')).to.equal(650);
    expect(time('wire-counters')).to.equal(1100);
    expect(time('probe-replies')).to.equal(700);
    expect(time('clean-unload')).to.equal(90);
  });

  it('no-kernel-fault watches the whole stage', () => {
    expect(time('no-kernel-fault')).to.equal(2300);
  });

  it('a failed check keeps its time', () => {
    const o = passingObservations(4);
    o.kernelEvents = classifyKernelText('[   19.3] WARNING: CPU: 0 PID: 1 at net/core/dev.c:1 x\n[   19.4] ---[ end trace 0000000000000000 ]---');
    const r = evaluate(spec(stage4, 'no-kernel-fault'), o).result;
    expect(r.verdict).to.equal('fail');
    expect(r.durationMs).to.equal(2300);
  });

  it('every check names steps that exerciseStage really times', async () => {
    const source = await readFile(path.join(ROOT, 'src', 'stages', 'steps.ts'), 'utf8');
    for (const name of CHECK_STEPS) expect(source, `step '${name}'`).to.contain(`step('${name}'`);
    for (const suite of SUITES) {
      for (const c of suite.checks) {
        if (c.observes === 'stage') continue;
        expect(c.observes.length, `${suite.stage}/${c.id}`).to.be.greaterThan(0);
        for (const s of c.observes) expect(CHECK_STEPS, `${suite.stage}/${c.id}`).to.include(s);
      }
    }
  });
});
