// The judgment of test/seeded-bugs.test.ts (test/helpers/seeded-expectations.ts),
// on made-up stage results: it used to let every check skip as soon as one
// had, so a stage whose checks were all skipped read as the expected pass.
import { expect } from 'chai';
import type { CheckResult, StageResult, StageVerdict } from '../src/results/model.ts';
import { stageMismatches, stopsEarly, type StageExpectation } from './helpers/seeded-expectations.ts';

const IDS = ['module-loads', 'vnet0-appears', 'ifconfig', 'local-ping-answered', 'mac-address', 'tx-counters', 'clean-unload', 'no-kernel-fault'];

/** A stage result whose checks have these verdicts (every other check of IDS passes). */
function stage(n: number, verdict: StageVerdict, checks: Record<string, CheckResult['verdict']> = {}): StageResult {
  return {
    stage: n,
    title: `stage ${n}`,
    verdict,
    checks: IDS.map((id) => {
      const v = checks[id] ?? 'pass';
      return { id, title: id, verdict: v, ...(v === 'skipped' ? { message: `not reached: ${id} was not observed` } : {}) };
    }),
    readings: [],
    pings: [],
    rttsMs: [],
    dmesg: [],
    kernelEvents: [],
    steps: [],
    startedAt: '2026-11-25T00:00:00Z',
    durationMs: 1,
  };
}

const PASS: StageExpectation = { verdict: 'pass', failing: [] };
const skippedAfter = (from: number): Record<string, 'skipped'> => Object.fromEntries(IDS.slice(from, -1).map((id) => [id, 'skipped' as const]));

describe('seeded bugs: judging a run against its expectation', () => {
  it('accepts a run that is what was expected, skips included where the stage stops early', () => {
    const crash = { ...skippedAfter(3), 'no-kernel-fault': 'fail' as const };
    const noModule = { ...skippedAfter(1), 'module-loads': 'fail' as const, 'no-kernel-fault': 'fail' as const };
    expect(
      stageMismatches(
        { 1: { verdict: 'crash', failing: ['no-kernel-fault'] }, 2: { verdict: 'fail', failing: ['module-loads', 'no-kernel-fault'] }, 3: PASS },
        [stage(1, 'crash', crash), stage(2, 'fail', noModule), stage(3, 'pass')],
      ),
    ).to.deep.equal([]);
  });

  it('a stage expected to pass whose checks were all skipped is a mismatch (it read as a pass before)', () => {
    const allSkipped = Object.fromEntries(IDS.map((id) => [id, 'skipped' as const]));
    expect(stageMismatches({ 2: PASS }, [stage(2, 'pass', allSkipped)])).to.have.length(IDS.length);
  });

  it('one skip does not let another stage\'s or another check\'s skip through', () => {
    const got = stageMismatches(
      { 1: { verdict: 'crash', failing: ['no-kernel-fault'] }, 3: { verdict: 'fail', failing: ['mac-address'] } },
      [stage(1, 'crash', { ...skippedAfter(3), 'no-kernel-fault': 'fail' }), stage(3, 'fail', { 'mac-address': 'fail', 'tx-counters': 'skipped' })],
    );
    expect(got).to.deep.equal(['stage 3 check tx-counters: skipped (not reached: tx-counters was not observed), but the stage is expected to run every step']);
  });

  it('a skip for another reason than not reached is a mismatch even where the stage stops early', () => {
    const s = stage(1, 'crash', { 'no-kernel-fault': 'fail', 'clean-unload': 'skipped' });
    (s.checks.find((k) => k.id === 'clean-unload') as CheckResult).message = 'the module did not build';
    expect(stageMismatches({ 1: { verdict: 'crash', failing: ['no-kernel-fault'] } }, [s])).to.deep.equal([
      'stage 1 check clean-unload: skipped for another reason than not reached: the module did not build',
    ]);
  });

  it('names a wrong verdict, wrong failing checks and a missing stage', () => {
    const got = stageMismatches({ 3: { verdict: 'fail', failing: ['mac-address'] }, 4: PASS }, [stage(3, 'fail', { 'tx-counters': 'fail' })]);
    expect(got).to.deep.equal(['stages: expected 3,4, got 3', 'stage 3: failing checks [tx-counters], expected [mac-address]']);
    expect(stageMismatches({ 2: PASS }, [stage(2, 'hang', { 'no-kernel-fault': 'fail' })])).to.deep.equal([
      'stage 2: verdict hang, expected pass',
      'stage 2: failing checks [no-kernel-fault], expected []',
    ]);
  });

  it('a stage stops early on a fault or on a failing module-loads, vnet0-appears or ifconfig, not on other failures', () => {
    expect(stopsEarly({ verdict: 'hang', failing: ['no-kernel-fault'] })).to.equal(true);
    expect(stopsEarly({ verdict: 'fail', failing: ['ifconfig'] })).to.equal(true);
    expect(stopsEarly({ verdict: 'fail', failing: ['clean-unload', 'no-kernel-fault'] })).to.equal(false);
    expect(stopsEarly(PASS)).to.equal(false);
  });
});
