// The vocabulary the stage suites are written in: a check has an id, a title,
// the board steps whose observations it judges, and a body that compares
// observed values, recording the expected and actual values it compared so
// every report can show them. A check that does not hold throws CheckFailed,
// whose message is the harness's own "<statement>: expected X, got Y".
import { util } from 'chai';
import { checkFailureText } from '../results/check-text.ts';
import type { CheckResult } from '../results/model.ts';
import type { StageObservations } from './exercise.ts';

/** Thrown when a check's inputs were never observed (the stage ended earlier). */
export class NotReached extends Error {
  override name = 'NotReached';
}

/**
 * Thrown when the driver did not do what a check expects: a failure of the
 * driver, never of the harness. Its message is the line every report shows;
 * it carries no stack (the harness's frames say nothing about the driver)
 * and tells mocha not to print a diff of its own.
 */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
  readonly showDiff = false;

  constructor(
    /** What the check holds the driver to, e.g. "MAC set by the driver". */
    readonly statement: string,
    readonly values: { expected: unknown; actual: unknown },
  ) {
    super(checkFailureText({ message: statement, ...values }));
    this.stack = this.message;
  }
}

/** Records what a check compared and throws CheckFailed when it does not hold. */
export class Comparison {
  recorded?: { expected: unknown; actual: unknown; statement: string };

  /** Deep equality of what was observed with what is expected. */
  equal<T>(actual: T, expected: T, statement: string): void {
    this.recorded = { expected, actual, statement };
    if (!util.eql(actual, expected)) throw new CheckFailed(statement, { expected, actual });
  }

  /** A property that is not an equality; `expected` describes it for the reports. */
  holds(actual: unknown, expected: string, ok: boolean, statement: string): void {
    this.recorded = { expected, actual, statement };
    if (!ok) throw new CheckFailed(statement, { expected, actual });
  }
}

/**
 * The named steps (src/stages/steps.ts) a check can judge. A
 * check's time is the duration of the steps it names: the board time that
 * produced what it judged (several checks judging one step share its time).
 */
export const CHECK_STEPS = ['insmod', 'ping-local', 'ping-remote', 'probe', 'frames', 'rmmod'] as const;
export type CheckStep = (typeof CHECK_STEPS)[number];

export interface CheckSpec {
  id: string;
  title: string;
  /** The steps whose observations the check judges, or 'stage' for the whole stage (kernel events). */
  observes: readonly CheckStep[] | 'stage';
  body: (obs: StageObservations, c: Comparison) => void;
}

/** Declares a check. */
export function check(id: string, title: string, observes: CheckSpec['observes'], body: CheckSpec['body']): CheckSpec {
  return { id, title, observes, body };
}

/** Returns a value the check needs, or stops the check as not reached. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new NotReached(`not reached: ${what} was not observed`);
  return value;
}

/** The board time behind a check: its steps' durations, or the whole stage's. */
export function checkDuration(spec: CheckSpec, obs: StageObservations): number {
  if (spec.observes === 'stage') return obs.durationMs;
  const steps = spec.observes as readonly string[];
  return obs.steps.filter((s) => steps.includes(s.name)).reduce((sum, s) => sum + s.durationMs, 0);
}

/** Evaluates one check against the observations into a CheckResult (never throws). */
export function evaluate(spec: CheckSpec, obs: StageObservations): { result: CheckResult; error?: Error } {
  const c = new Comparison();
  const base = { id: spec.id, title: spec.title };
  try {
    spec.body(obs, c);
    const r = c.recorded;
    return { result: { ...base, verdict: 'pass', ...(r ? { expected: r.expected, actual: r.actual } : {}), durationMs: checkDuration(spec, obs) } };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof NotReached) {
      const why = obs.fault ? `${err.message} (stage ended by ${obs.fault.class} during ${obs.fault.step})` : err.message;
      return { result: { ...base, verdict: 'skipped', message: why }, error: err };
    }
    if (err instanceof CheckFailed) {
      const values = err.values.expected === undefined && err.values.actual === undefined ? {} : err.values;
      return { result: { ...base, verdict: 'fail', ...values, message: err.statement, durationMs: checkDuration(spec, obs) }, error: err };
    }
    // Anything else thrown by a check body is a bug of the harness.
    return { result: { ...base, verdict: 'error', message: `${err.name}: ${err.message}`, durationMs: checkDuration(spec, obs) }, error: err };
  }
}
