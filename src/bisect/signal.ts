// What a bisection watches, and how one run is judged against it. The watched
// checks are the ones failing at --bad and passing at --good (or those named
// with --check); a run is bad when any of them fails, or when a stage they
// belong to crashed or hung.
//
// A module that does not build is judged by what is watched. The checks of
// that stage were never run, so the commit cannot say whether the watched
// behaviour is there: it is untestable, like `git bisect skip`, not bad.
// Counting it bad would name the commit that broke the build (often mended
// in the next one) instead of the one that broke the check being hunted.
// When the build is itself the regression, the pseudo-check `N:build`
// ("stage N's module builds") is watched: derived automatically when --bad
// does not build and --good does, or named with `--check 3:build`; then a
// build error is bad.
import type { RunResults, StageResult } from '../results/model.ts';
import type { Outcome } from './search.ts';

/** The pseudo-check of a stage's module build. */
export const BUILD_CHECK = 'build';

/** One watched check: `3:mac-address`, or `3:build` for the module build. */
export interface WatchedCheck {
  stage: number;
  id: string;
}

/** `3:mac-address`. */
export function checkKey(w: WatchedCheck): string {
  return `${w.stage}:${w.id}`;
}

/** What a run says of one watched check. */
export type CheckState =
  | 'pass'
  | 'fail'
  /** The stage crashed or hung: bad for every watched check of it. */
  | 'fault'
  /** The stage's module did not build (and the build is not what is watched). */
  | 'unbuilt'
  /** The check was not reached (an earlier step failed) or does not exist at this commit. */
  | 'unobserved'
  /** The harness could not do its job (the stage errored, or was not run). */
  | 'error';

/** The state of one watched check in a run. */
export function checkState(results: RunResults, w: WatchedCheck): CheckState {
  const stage = results.stages.find((s) => s.stage === w.stage);
  if (!stage || stage.verdict === 'error') return 'error';
  if (w.id === BUILD_CHECK) return stage.verdict === 'build-error' ? 'fail' : 'pass';
  if (stage.verdict === 'build-error') return 'unbuilt';
  if (stage.verdict === 'crash' || stage.verdict === 'hang') return 'fault';
  const check = stage.checks.find((c) => c.id === w.id);
  if (!check || check.verdict === 'skipped') return 'unobserved';
  if (check.verdict === 'error') return 'error';
  return check.verdict;
}

/**
 * A run's outcome for the watched checks: bad when any fails (a crash or hang
 * of its stage included), else error when the harness could not judge one,
 * else skip when one could not be observed, else good.
 */
export function judgeRun(results: RunResults, watched: readonly WatchedCheck[]): Outcome {
  const states = watched.map((w) => checkState(results, w));
  if (states.some((s) => s === 'fail' || s === 'fault')) return 'bad';
  if (states.some((s) => s === 'error')) return 'error';
  if (states.some((s) => s !== 'pass')) return 'skip';
  return 'good';
}

/** Whether a run could be used as a bisection's end with nothing watched yet: no stage errored, the harness did its job. */
export function runComplete(results: RunResults): boolean {
  return results.errors.length === 0 && results.stages.every((s) => s.verdict !== 'error') && results.incomplete === undefined;
}

/**
 * The checks failing at the bad end and passing at the good one, stage by
 * stage: a failed check; in a stage that crashed or hung also `no-kernel-fault`
 * (its checks after the fault were not reached); in a stage whose module did
 * not build, the build itself.
 */
export function regressedChecks(good: RunResults, bad: RunResults): WatchedCheck[] {
  const out: WatchedCheck[] = [];
  for (const b of bad.stages) {
    const g = good.stages.find((s) => s.stage === b.stage);
    if (!g) continue;
    for (const id of failingIds(b)) {
      const w = { stage: b.stage, id };
      if (checkState(good, w) === 'pass') out.push(w);
    }
  }
  return out;
}

// The ids a stage fails: its failed checks, the fault check of a crash or hang, the build of a build error.
function failingIds(s: StageResult): string[] {
  if (s.verdict === 'build-error') return [BUILD_CHECK];
  const ids = s.checks.filter((c) => c.verdict === 'fail').map((c) => c.id);
  if ((s.verdict === 'crash' || s.verdict === 'hang') && !ids.includes('no-kernel-fault')) ids.push('no-kernel-fault');
  return ids;
}

/** The checks failing at both ends (reported when nothing regressed). */
export function failingAtBoth(good: RunResults, bad: RunResults): WatchedCheck[] {
  return bad.stages.flatMap((b) => failingIds(b).map((id) => ({ stage: b.stage, id }))).filter((w) => {
    const s = checkState(good, w);
    return s === 'fail' || s === 'fault';
  });
}

/** Parses `--check 3:mac-address,tx-counters` into stage-qualified or bare ids (validated against the suites by the caller). */
export function parseCheckList(text: string): { stage?: number; id: string }[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new RangeError(`--check takes a comma list of check ids (e.g. 3:mac-address,tx-counters), got ${JSON.stringify(text)}`);
  return items.map((item) => {
    const m = /^(?:([1-4]):)?([a-z0-9][a-z0-9-]*)$/.exec(item);
    if (!m) throw new RangeError(`--check: "${item}" is not a check id (e.g. mac-address, or 3:mac-address for stage 3's)`);
    return { ...(m[1] ? { stage: Number(m[1]) } : {}), id: m[2] as string };
  });
}

/**
 * The watched checks of `--check`, given the checks each stage has: an id
 * with its stage names that one, a bare id the check in every stage (of
 * `stages`) that has it. Throws a RangeError naming an id no stage has.
 */
export function resolveChecks(items: readonly { stage?: number; id: string }[], catalog: ReadonlyMap<number, readonly string[]>, stages: readonly number[]): WatchedCheck[] {
  const out: WatchedCheck[] = [];
  for (const item of items) {
    const has = (stage: number) => item.id === BUILD_CHECK || (catalog.get(stage) ?? []).includes(item.id);
    const where = item.stage !== undefined ? [item.stage] : stages.filter(has);
    const found = where.filter((s) => stages.includes(s) && has(s));
    if (found.length === 0) {
      const known = [...catalog.entries()].filter(([s]) => stages.includes(s)).map(([s, ids]) => `${s}: ${[...ids, BUILD_CHECK].join(' ')}`);
      const at = item.stage !== undefined ? `stage ${item.stage}` : `stages ${stages.join(',')}`;
      throw new RangeError(`--check: no check "${item.id}" in ${at} (${known.join('; ')})`);
    }
    for (const stage of found) if (!out.some((w) => w.stage === stage && w.id === item.id)) out.push({ stage, id: item.id });
  }
  return out.sort((a, b) => a.stage - b.stage);
}

/** The stages the watched checks belong to, sorted. */
export function watchedStages(watched: readonly WatchedCheck[]): number[] {
  return [...new Set(watched.map((w) => w.stage))].sort((a, b) => a - b);
}
