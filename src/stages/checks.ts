// The vocabulary the stage suites are written in: a check has an id, a title
// and a body that compares observed values with chai, recording the expected
// and actual values it compared so every report can show them.
import { expect } from 'chai';
import type { CheckResult } from '../results/model.ts';
import type { StageObservations } from './exercise.ts';

/** Thrown when a check's inputs were never observed (the stage ended earlier). */
export class NotReached extends Error {
  override name = 'NotReached';
}

/** Records what a check compared, then asserts with chai. */
export class Comparison {
  expected: unknown;
  actual: unknown;

  /** Asserts deep equality. */
  equal<T>(actual: T, expected: T, message: string): void {
    this.expected = expected;
    this.actual = actual;
    expect(actual, message).to.deep.equal(expected);
  }

  /** Asserts a property that is not an equality; `expected` describes it for the reports. */
  holds(actual: unknown, expected: string, ok: boolean, message: string): void {
    this.expected = expected;
    this.actual = actual;
    expect(ok, `${message} (expected ${expected}, got ${JSON.stringify(actual)})`).to.equal(true);
  }
}

export interface CheckSpec {
  id: string;
  title: string;
  body: (obs: StageObservations, c: Comparison) => void;
}

/** Declares a check. */
export function check(id: string, title: string, body: CheckSpec['body']): CheckSpec {
  return { id, title, body };
}

/** Returns a value the check needs, or stops the check as not reached. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new NotReached(`not reached: ${what} was not observed`);
  return value;
}

/** Evaluates one check against the observations into a CheckResult (never throws). */
export function evaluate(spec: CheckSpec, obs: StageObservations): { result: CheckResult; error?: Error } {
  const c = new Comparison();
  const started = Date.now();
  const base = { id: spec.id, title: spec.title };
  try {
    spec.body(obs, c);
    return { result: { ...base, verdict: 'pass', expected: c.expected, actual: c.actual, durationMs: Date.now() - started } };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof NotReached) {
      const why = obs.fault ? `${err.message} (stage ended by ${obs.fault.class} during ${obs.fault.step})` : err.message;
      return { result: { ...base, verdict: 'skipped', message: why }, error: err };
    }
    const isAssertion = err.name === 'AssertionError';
    return {
      result: {
        ...base,
        verdict: isAssertion ? 'fail' : 'error',
        expected: c.expected,
        actual: c.actual,
        message: err.message,
        durationMs: Date.now() - started,
      },
      error: err,
    };
  }
}
