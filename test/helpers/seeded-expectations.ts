// How test/seeded-bugs.test.ts judges a run of a seeded bug against what it
// expects, as a pure function so the judgment itself is unit-tested
// (test/seeded-expectations.test.ts): a check may be skipped (not reached)
// only in a stage the expectation says stops early, so a skip can never hide
// a check that should have run and passed or failed.
import type { StageResult, StageVerdict } from '../../src/results/model.ts';

export interface StageExpectation {
  verdict: StageVerdict;
  /** The ids of the checks that must fail (or err), in the order the stage lists them; every other check passes. */
  failing: string[];
}

/**
 * Checks whose failure ends a stage's steps (src/stages/exercise.ts returns
 * early when insmod fails, vnet0 does not appear, or ifconfig fails): the
 * checks judging later steps are not reached.
 */
export const STOPPING_CHECKS: readonly string[] = ['module-loads', 'vnet0-appears', 'ifconfig'];

/** Whether the expectation says the stage stops before its last step: a fault, or a failing check that ends the steps. */
export function stopsEarly(e: StageExpectation): boolean {
  return e.verdict === 'crash' || e.verdict === 'hang' || e.failing.some((id) => STOPPING_CHECKS.includes(id));
}

/** Every way the run's stages differ from the expectation, one line each; empty when they match. */
export function stageMismatches(expected: Readonly<Record<number, StageExpectation>>, stages: readonly StageResult[]): string[] {
  const out: string[] = [];
  const want = Object.keys(expected).map(Number).sort((a, b) => a - b);
  const got = stages.map((s) => s.stage);
  if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`stages: expected ${want.join(',')}, got ${got.join(',')}`);
  for (const s of stages) {
    const e = expected[s.stage];
    if (!e) continue;
    if (s.verdict !== e.verdict) out.push(`stage ${s.stage}: verdict ${s.verdict}, expected ${e.verdict}${s.reason ? ` (${s.reason})` : ''}`);
    const failing = s.checks.filter((k) => k.verdict === 'fail' || k.verdict === 'error').map((k) => k.id);
    if (JSON.stringify(failing) !== JSON.stringify(e.failing)) {
      out.push(`stage ${s.stage}: failing checks [${failing.join(', ')}], expected [${e.failing.join(', ')}]`);
    }
    const mayBeSkipped = stopsEarly(e);
    for (const k of s.checks) {
      if (e.failing.includes(k.id) || k.verdict === 'pass' || k.verdict === 'fail' || k.verdict === 'error') continue;
      if (!mayBeSkipped) out.push(`stage ${s.stage} check ${k.id}: skipped (${k.message ?? 'no reason'}), but the stage is expected to run every step`);
      else if (!k.message?.startsWith('not reached')) out.push(`stage ${s.stage} check ${k.id}: skipped for another reason than not reached: ${k.message ?? 'no reason'}`);
    }
  }
  return out;
}
