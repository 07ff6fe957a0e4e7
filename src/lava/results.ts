// A LAVA job's results (the `results/<job>/yaml` export: a list of test
// cases {name, suite, result, measurement, unit, ...}) as the harness's run
// model, so compare, the reports and the history read a LAVA run like a
// local one. Stage N's checks are the test cases of the suite `<i>_vnet-stageN`
// (job.ts); LAVA's own suite `lava` says how the job ended.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HarnessError } from '../errors.ts';
import { RESULTS_SCHEMA, type CheckResult, type DriverSource, type RunResults, type StageResult } from '../results/model.ts';
import { SUITES_DIR } from '../stages/runner.ts';
import { stagePlan } from '../stages/plan.ts';
import type { StageSuite } from '../stages/suite.ts';
import { RTT_CASE_PREFIX } from './stage-script.ts';

/** One test case of LAVA's results export. */
export interface LavaCase {
  name: string;
  suite: string;
  result: string;
  measurement?: number;
  unit?: string;
  /** LAVA's own metadata (error_msg of a failed lava action). */
  metadata?: Record<string, unknown>;
}

/** A line of a LAVA job log: `{"dt": …, "lvl": …, "msg": …}` (a server's job log prefixes each with `- `). */
const LOG_LINE = /^(?:- )?\{\s*"dt":/;

/** Whether the text is a LAVA job log (lava-run's stderr, a server's job log) rather than the results export. */
export function isLavaLog(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim() !== '');
  return first !== undefined && LOG_LINE.test(first.trim());
}

/**
 * The test cases of a LAVA job log: lava-run (Debian's dispatcher without a
 * server) writes its results nowhere but in its log, one YAML mapping per line,
 * the test cases as `lvl: results` records whose msg is {definition, case,
 * result, measurement, units, …}; LAVA's own `lava/job` case says how the job
 * ended (with error_msg when it did not complete). Other lines are left alone.
 */
export function parseLavaLog(text: string, source: string): LavaCase[] {
  const cases: LavaCase[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!LOG_LINE.test(line) || !/"lvl":\s*"results"/.test(line)) return;
    let record: unknown;
    try {
      record = parse(line.replace(/^- /, ''));
    } catch (error) {
      throw new HarnessError(`${source}:${i + 1}: a results record that is not YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    const msg = (record as { lvl?: unknown; msg?: unknown } | null)?.msg as Record<string, unknown> | undefined;
    if ((record as { lvl?: unknown }).lvl !== 'results') return;
    if (typeof msg !== 'object' || msg === null || typeof msg.definition !== 'string' || typeof msg.case !== 'string' || typeof msg.result !== 'string') {
      throw new HarnessError(`${source}:${i + 1}: a results record without definition, case and result strings`);
    }
    const m = msg.measurement === undefined || msg.measurement === null || msg.measurement === '' ? undefined : Number(msg.measurement);
    if (m !== undefined && !Number.isFinite(m)) throw new HarnessError(`${source}:${i + 1} (${msg.definition}/${msg.case}): measurement ${JSON.stringify(msg.measurement)} is not a number`);
    const { definition, case: name, result, measurement: _m, units, ...metadata } = msg;
    cases.push({
      name,
      suite: definition,
      result: result as string,
      ...(m !== undefined ? { measurement: m } : {}),
      ...(typeof units === 'string' && units !== '' ? { unit: units } : {}),
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    });
  });
  if (cases.length === 0) throw new HarnessError(`${source}: a LAVA job log without any results record (lvl: results): the job ended before its first action?`);
  return cases;
}

/** When a job log's records start and end (their `dt`, UTC), or undefined when it has none. */
export function logSpan(text: string): { startedAt: string; durationMs: number } | undefined {
  const times = [...text.matchAll(/^(?:- )?\{\s*"dt":\s*"([0-9T:.-]+)"/gm)].map((m) => Date.parse(`${m[1]}Z`)).filter((t) => Number.isFinite(t));
  if (times.length === 0) return undefined;
  const first = Math.min(...times);
  return { startedAt: new Date(first).toISOString(), durationMs: Math.max(...times) - first };
}

/** Parses the yaml export, or a job log (isLavaLog); a file that is neither is bad input naming what is wrong. */
export function parseLavaResults(text: string, source: string): LavaCase[] {
  if (isLavaLog(text)) return parseLavaLog(text, source);
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new HarnessError(`${source}: not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(data)) throw new HarnessError(`${source}: expected LAVA's results export (a list of test cases), got ${data === null ? 'nothing' : typeof data}`);
  return data.map((raw: unknown, i) => {
    const r = raw as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object' || typeof r.name !== 'string' || typeof r.suite !== 'string' || typeof r.result !== 'string') {
      throw new HarnessError(`${source}: entry ${i}: expected name, suite and result strings`);
    }
    const m = r.measurement === null || r.measurement === undefined || r.measurement === '' ? undefined : Number(r.measurement);
    if (m !== undefined && !Number.isFinite(m)) throw new HarnessError(`${source}: entry ${i} (${r.suite}/${r.name}): measurement ${JSON.stringify(r.measurement)} is not a number`);
    const metadata = typeof r.metadata === 'object' && r.metadata !== null ? (r.metadata as Record<string, unknown>) : typeof r.metadata === 'string' ? safeYaml(r.metadata) : undefined;
    return {
      name: r.name,
      suite: r.suite,
      result: r.result,
      ...(m !== undefined ? { measurement: m } : {}),
      ...(typeof r.unit === 'string' && r.unit !== '' ? { unit: r.unit } : {}),
      ...(metadata ? { metadata } : {}),
    };
  });
}

function safeYaml(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The stage of a suite `<index>_vnet-stageN`. */
export function suiteStage(suite: string): number | undefined {
  const m = /^\d+_vnet-stage([1-4])$/.exec(suite);
  return m ? Number(m[1]) : undefined;
}

/** Loads the checks of a stage's suite (their ids and titles). */
async function suiteChecks(stage: number): Promise<StageSuite['checks']> {
  const mod = (await import(pathToFileURL(join(SUITES_DIR, `stage${stage}.ts`)).href)) as { default: StageSuite };
  return mod.default.checks;
}

export interface ImportOptions {
  board: string;
  emulated: boolean;
  driver: DriverSource;
  harnessVersion: string;
  runId: string;
  startedAt: string;
  durationMs?: number;
  /** The stages the job ran (a stage with no result at all is then an error); default: those found. */
  stages?: readonly number[];
  /** Where the results came from, for the warnings: `LAVA job 42 on http://lava`. */
  origin: string;
  /** The job's end as the server says it (`Complete`, `Incomplete`, `Canceled`), when known. */
  health?: string;
}

/** How LAVA said the job itself ended: undefined when it completed, else why not. */
export function jobFailure(cases: readonly LavaCase[], health?: string): string | undefined {
  const job = cases.find((c) => c.suite === 'lava' && c.name === 'job');
  const why = (c: LavaCase | undefined) => (c?.metadata?.error_msg ? `: ${String(c.metadata.error_msg)}` : '');
  if (health !== undefined && health !== 'Complete') return `the LAVA job ended ${health}${why(job)}`;
  if (job && job.result !== 'pass') return `the LAVA job ended incomplete${why(job)}`;
  return undefined;
}

/** The run model of a LAVA job's results. */
export async function importLavaResults(cases: readonly LavaCase[], o: ImportOptions): Promise<RunResults> {
  const found = [...new Set(cases.map((c) => suiteStage(c.suite)).filter((s): s is number => s !== undefined))];
  const stages = [...new Set([...(o.stages ?? []), ...found])].sort((a, b) => a - b);
  const failure = jobFailure(cases, o.health);
  if (stages.length === 0) {
    throw new HarnessError(`${o.origin}: no vnet-stageN suite among the results${failure ? ` (${failure})` : ''}: not a job made by vnet-harness lava-job?`);
  }
  const results: StageResult[] = [];
  for (const stage of stages) {
    const mine = cases.filter((c) => suiteStage(c.suite) === stage);
    const byName = new Map(mine.map((c) => [c.name, c]));
    const checks: CheckResult[] = (await suiteChecks(stage)).map((spec) => {
      const c = byName.get(spec.id);
      const measured = c?.measurement !== undefined ? `${c.measurement}${c.unit ? ` ${c.unit}` : ''}` : undefined;
      if (!c) return { id: spec.id, title: spec.title, verdict: 'error', message: `not reported by the LAVA job${failure ? ` (${failure})` : ''}` };
      if (c.result === 'pass') return { id: spec.id, title: spec.title, verdict: 'pass', ...(measured ? { actual: measured } : {}) };
      if (c.result === 'skip') return { id: spec.id, title: spec.title, verdict: 'skipped', message: 'its step never ran on the LAVA board' };
      if (c.result === 'fail') return { id: spec.id, title: spec.title, verdict: 'fail', expected: 'pass', actual: measured ? `fail (${measured})` : 'fail', message: `${spec.title} (judged on the LAVA board)` };
      return { id: spec.id, title: spec.title, verdict: 'error', message: `LAVA result ${JSON.stringify(c.result)}` };
    });
    const failed = checks.filter((c) => c.verdict === 'fail');
    const errored = checks.filter((c) => c.verdict === 'error');
    const verdict = failed.length > 0 ? 'fail' : errored.length > 0 || mine.length === 0 ? 'error' : 'pass';
    const reason =
      verdict === 'fail'
        ? `${failed[0]?.id}: ${failed[0]?.message}: expected pass, got ${String(failed[0]?.actual)}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}`
        : verdict === 'error'
          ? `${errored.length || checks.length} check(s) not reported by the LAVA job${failure ? `: ${failure}` : ''}`
          : undefined;
    const rtts = mine
      .filter((c) => c.name.startsWith(RTT_CASE_PREFIX) && c.measurement !== undefined)
      .sort((a, b) => Number(a.name.slice(RTT_CASE_PREFIX.length)) - Number(b.name.slice(RTT_CASE_PREFIX.length)))
      .map((c) => (c.unit === 'us' ? (c.measurement ?? 0) / 1000 : (c.measurement ?? 0)));
    results.push({
      stage,
      title: stagePlan(stage).title,
      verdict,
      ...(reason ? { reason } : {}),
      checks,
      readings: [],
      pings: [],
      rttsMs: rtts,
      dmesg: [],
      kernelEvents: [],
      steps: [],
      startedAt: o.startedAt,
      durationMs: 0,
    });
  }
  const errors = failure ? [`${o.origin}: ${failure}`] : [];
  const verdict = errors.length > 0 ? 'error' : results.every((s) => s.verdict === 'pass') ? 'pass' : results.some((s) => s.verdict === 'error') ? 'error' : 'fail';
  return {
    schema: RESULTS_SCHEMA,
    runId: o.runId,
    startedAt: o.startedAt,
    durationMs: o.durationMs ?? 0,
    harnessVersion: o.harnessVersion,
    board: { name: o.board, transport: 'serial', emulated: o.emulated },
    driver: o.driver,
    verdict,
    stages: results,
    errors,
    warnings: [`imported from ${o.origin}: the checks were judged on the board by the LAVA test definition (vnet-stage.sh), not by the harness; no readings, pings, kernel log or console transcript`],
  };
}
