// Turns a stage's checks into a mocha suite: `before` exercises the stage on
// the board (once), each check is one `it`, `after` settles the verdict.
// Suites are registered by a function rather than at import time so one
// process can run them several times (a run and its baseline).
import type { BoardTarget } from '../board/target.ts';
import { checkFailureText } from '../results/check-text.ts';
import { isSanitizerClass, type BuildResult, type CheckResult, type KernelEvent, type SanitizerClass, type StageResult, type StageVerdict } from '../results/model.ts';
import { evaluate, type CheckSpec } from './checks.ts';
import { exerciseStage, interruptedWhy, type StageObservations } from './exercise.ts';
import { stagePlan } from './plan.ts';

/** Everything a stage suite needs from the run, set by the runner before mocha starts. */
export interface SuiteContext {
  board: BoardTarget;
  builds: ReadonlyMap<number, BuildResult>;
  probePath?: string;
  stageTimeoutMs: number;
  /** Called once per stage with its final result. */
  record(result: StageResult): void;
  /** Progress lines (stage, step, elapsed). */
  log(line: string): void;
  /** What exercises a stage on the board (default exerciseStage; tests give made-up observations). */
  exercise?: typeof exerciseStage;
  /** Aborted when the run is interrupted: the stage in progress ends as an error, later ones do not start. */
  abort?: AbortSignal;
}

export interface StageSuite {
  stage: number;
  checks: readonly CheckSpec[];
  register(ctx: SuiteContext): void;
}

/** Declares the suite of a stage from its checks. */
export function defineStageSuite(stage: number, checks: readonly CheckSpec[]): StageSuite {
  const plan = stagePlan(stage);
  return {
    stage,
    checks,
    register(ctx) {
      describe(`stage ${stage}: ${plan.title}`, function () {
        let obs: StageObservations | undefined;
        let buildFailed: BuildResult | undefined;
        let harnessError: string | undefined;
        const results: CheckResult[] = [];
        let started = Date.now();

        before(async function () {
          started = Date.now();
          this.timeout(ctx.stageTimeoutMs + 5 * 60_000);
          const interrupted = interruptedWhy(ctx.abort);
          if (interrupted) {
            harnessError = `not run: ${interrupted}`;
            return;
          }
          const build = ctx.builds.get(stage);
          if (!build?.ok || !build.module) {
            buildFailed = build;
            return;
          }
          ctx.log(`stage ${stage}: exercising on ${ctx.board.name}`);
          try {
            obs = await (ctx.exercise ?? exerciseStage)(
              ctx.board,
              plan,
              {
                modulePath: build.module,
                ...(ctx.probePath ? { probePath: ctx.probePath } : {}),
                log: ctx.log,
                ...(ctx.abort ? { abort: ctx.abort } : {}),
                kmemleakMinAgeMs: ctx.board.config.kmemleakMinAge * 1000,
              },
              ctx.stageTimeoutMs,
            );
          } catch (error) {
            harnessError = error instanceof Error ? error.message : String(error);
          }
          const fault = obs?.fault ? ` — ${obs.fault.class} during ${obs.fault.step}${obs.recovered ? ', board recovered' : ''}` : '';
          ctx.log(`stage ${stage}: steps done in ${((Date.now() - started) / 1000).toFixed(1)} s${fault}`);
        });

        for (const spec of checks) {
          it(`${spec.id}: ${spec.title}`, function () {
            if (!obs) {
              const why = buildFailed ? 'the module did not build' : `harness error: ${harnessError ?? 'stage not exercised'}`;
              results.push({ id: spec.id, title: spec.title, verdict: buildFailed ? 'skipped' : 'error', message: why });
              if (buildFailed) this.skip();
              throw withoutStack(new Error(why));
            }
            const { result, error } = evaluate(spec, obs);
            results.push(result);
            if (result.verdict === 'skipped') this.skip();
            if (error) throw error;
          });
        }

        after(function () {
          ctx.record(stageResult(stage, plan.title, { obs, build: ctx.builds.get(stage), buildFailed, harnessError, results, started }));
        });
      });
    },
  };
}

/**
 * Decides a stage's verdict from its build, fault, kernel reports and checks.
 * A sanitizer report (KASAN, kmemleak, UBSAN, lockdep, sleep in atomic
 * context) names the bug better than the checks it makes fail: the first one
 * gives the verdict its class.
 */
export function stageVerdict(
  buildOk: boolean,
  fault: StageObservations['fault'] | undefined,
  harnessError: string | undefined,
  checks: readonly CheckResult[],
  events: readonly KernelEvent[] = [],
): StageVerdict {
  if (!buildOk) return 'build-error';
  if (harnessError) return 'error';
  if (fault?.class === 'crash') return 'crash';
  if (fault?.class === 'hang') return 'hang';
  if (fault?.class === 'error') return 'error';
  const sanitizer = firstSanitizerReport(events);
  if (sanitizer) return sanitizer.class as SanitizerClass;
  if (checks.some((c) => c.verdict === 'fail')) return 'fail';
  if (checks.some((c) => c.verdict === 'error')) return 'error';
  return 'pass';
}

function stageResult(
  stage: number,
  title: string,
  s: { obs?: StageObservations; build?: BuildResult; buildFailed?: BuildResult; harnessError?: string; results: CheckResult[]; started: number },
): StageResult {
  const obs = s.obs;
  const verdict = stageVerdict(!s.buildFailed && s.build !== undefined, obs?.fault, s.harnessError, s.results, obs?.kernelEvents);
  const readings = obs
    ? [obs.loaded, obs.localPing?.before, obs.localPing?.after, obs.remotePing?.before, obs.remotePing?.after, obs.probe?.before, obs.probe?.after, obs.frames?.before, obs.frames?.after]
        .flatMap((r, i) => (r?.present ? [{ ...r.reading, at: READING_NAMES[i] ?? r.reading.at }] : []))
    : [];
  const reason =
    verdict === 'build-error'
      ? `module did not build: ${s.build?.diagnostics.find((d) => d.severity === 'error')?.message ?? 'no module'}`
      : verdict === 'error' && s.harnessError
        ? s.harnessError
        : obs?.fault
          ? faultReason(obs.fault, obs.kernelEvents)
          : isSanitizerClass(verdict)
            ? (firstSanitizerReport(obs?.kernelEvents ?? [])?.firstLine ?? verdict)
          : verdict === 'fail' || verdict === 'error'
            ? failReason(s.results, verdict)
            : undefined;
  return {
    stage,
    title,
    verdict,
    ...(reason ? { reason } : {}),
    ...(s.build ? { build: s.build } : {}),
    checks: s.results,
    readings,
    pings: obs ? [obs.localPing, obs.remotePing].flatMap((p) => (p?.parsed.stats ? [p.parsed.stats] : [])) : [],
    rttsMs: obs?.probe ? obs.probe.parsed.replies.flatMap((r) => (r.rttUs === undefined ? [] : [r.rttUs / 1000])) : [],
    dmesg: obs?.dmesg ?? [],
    kernelEvents: obs?.kernelEvents ?? [],
    steps: obs?.steps ?? [],
    startedAt: obs?.startedAt ?? new Date(s.started).toISOString(),
    durationMs: Date.now() - s.started,
    ...(obs?.leaks ? { kmemleak: { unattributed: obs.leaks.unattributed, others: obs.leaks.others, ...(obs.leaks.transient ? { transient: obs.leaks.transient } : {}) } } : {}),
    ...(obs?.recovered ? { recovered: true } : {}),
  };
}

/** The first report of a sanitizer class, if any. */
function firstSanitizerReport(events: readonly KernelEvent[]): KernelEvent | undefined {
  return events.find((e) => isSanitizerClass(e.class));
}

/** Names of the readings, in the order stageResult() lists them. */
const READING_NAMES = ['after insmod', 'before ping 3.3.3.3', 'after ping 3.3.3.3', 'before ping 3.3.3.4', 'after ping 3.3.3.4', 'before probe', 'after probe', 'before frames', 'after frames'];

/** An error whose stack is its message alone: mocha prints the line, not the harness's frames. */
function withoutStack(error: Error): Error {
  error.stack = error.message;
  return error;
}

/** The first failed (or errored) check in the words every report uses, and how many more there are. */
function failReason(checks: readonly CheckResult[], verdict: 'fail' | 'error'): string {
  const failed = checks.filter((c) => c.verdict === verdict);
  const first = failed[0];
  if (!first) return verdict === 'fail' ? 'failed' : 'error';
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more: ${failed.slice(1).map((c) => c.id).join(', ')})` : '';
  return `${first.id}: ${checkFailureText(first)}${more}`;
}

// Classes that name the cause of a crash or hang; a WARNING before it is a symptom at most.
const CAUSES: ReadonlySet<KernelEvent['class']> = new Set(['oops', 'bug', 'kasan', 'panic', 'soft-lockup', 'hung-task', 'rcu-stall', 'ubsan']);

/**
 * Why a stage ended by a fault: the kernel's own words first (the report that
 * names the cause, with the "PC is at" line of an oops), then the step; the
 * board's message ("connection lost") only when the kernel said nothing.
 */
export function faultReason(fault: NonNullable<StageObservations['fault']>, events: readonly KernelEvent[]): string {
  const reports = events.filter((e) => e.class !== 'hang');
  const cause = reports.find((e) => CAUSES.has(e.class)) ?? reports[0];
  if (!cause) return `${fault.class} during ${fault.step}: ${fault.message}`;
  const pc = /\bPC is at .*/.exec(cause.text)?.[0]?.trim();
  return `${cause.firstLine}${pc && !cause.firstLine.includes(pc) ? ` … ${pc}` : ''} — ${fault.class} during ${fault.step}`;
}
