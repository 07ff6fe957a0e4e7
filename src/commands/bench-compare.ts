// The false-regression benchmark of `compare` (a benchmark, not a timed
// test): N runs of the unchanged driver tree on the emulated board, each pair
// compared, must give 0 regressions, with --perf-gate too, while the host is
// loaded; runs of a seeded slowdown (test/fixtures/bugs/stage4-slow-echo.patch:
// 2 ms of busy waiting per echo in the stage-4 transmit path) compared with
// the unchanged runs must each be a regression with --perf-gate.
//
//   npx tsx src/commands/bench-compare.ts [--runs 20] [--slow-runs 5]
//       [--load none|spin|spin:N|'<shell command>'] [--stages 1,2,3,4]
//       [--board qemu-imx25] [--out DIR]
//
// `--load spin` keeps every core busy with one spinning process each; any
// other value is a shell command (e.g. a kernel build in a tree of your own)
// run beside the runs in its own process group. Either is stopped by pid
// (the group for a command) at the end, and on SIGINT/SIGTERM. Exit 0 when
// the unchanged pairs gave no regression and every slowed pair was one.

import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { compareRuns } from '../compare/compare.ts';
import { loadBoard, type BoardConfig } from '../config/board.ts';
import { HarnessError } from '../errors.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../paths.ts';
import { renderJson } from '../reporters/json.ts';
import { median, percentile } from '../reporters/stats.ts';
import type { RunResults } from '../results/model.ts';
import { parseStageList } from '../stages/plan.ts';
import { executeRun } from '../stages/run.ts';
import { cacheRoot } from '../util/cache.ts';
import { writeFileAtomic } from '../util/files.ts';
import { silentProgress } from '../util/progress.ts';
import { installExitHandlers, PDEATHSIG_PREFIX, registerChild, unregisterChild } from '../util/reaper.ts';

/** The seeded slowdown the benchmark must still catch. */
export const SLOWDOWN_PATCH = join(PROJECT_ROOT, 'test', 'fixtures', 'bugs', 'stage4-slow-echo.patch');

/** One compared pair that came out otherwise than it should. */
export interface PairFinding {
  a: string;
  b: string;
  reasons: string[];
}

export interface NoiseTally {
  unchangedRuns: number;
  slowedRuns: number;
  /** Every pair of unchanged runs, the earlier one as A. */
  unchangedPairs: number;
  /** Unchanged pairs that compare called a regression: as it is by default, and with --perf-gate. */
  falseRegressions: { default: PairFinding[]; perfGate: PairFinding[] };
  /** Unchanged pairs with a timing change reported (not failing) by default. */
  timingReported: number;
  /** Unchanged pairs the rule before this benchmark (RTT median or p95 +50 % and ≥ 0.5 ms, every echo) calls a regression. */
  oldRuleRegressions: number;
  /** Every unchanged run against every slowed run. */
  slowedPairs: number;
  /** Slowed pairs that are a regression with --perf-gate, and that are reported (not failing) without it. */
  detected: { perfGate: number; reportedByDefault: number };
  /** Slowed pairs --perf-gate did not call a regression (must be none). */
  missed: PairFinding[];
  /** Hodges-Lehmann RTT shifts (ms) per pair, per stage with echoes. */
  shiftsMs: { unchanged: number[]; slowed: number[] };
  /** Each run's RTT median after the warm-up echo (ms). */
  mediansMs: { unchanged: number[]; slowed: number[] };
  pass: boolean;
}

// The RTT rule compare had before: median or p95 over every echo grew by more than 50 % and by at least 0.5 ms.
function oldRuleRegression(a: RunResults, b: RunResults): boolean {
  return a.stages.some((sa) => {
    const sb = b.stages.find((s) => s.stage === sa.stage);
    if (!sb) return false;
    return [50, 95].some((p) => {
      const x = percentile(sa.rttsMs, p);
      const y = percentile(sb.rttsMs, p);
      return x !== undefined && y !== undefined && y - x >= 0.5 && y > x * 1.5;
    });
  });
}

function runMedian(r: RunResults): number[] {
  return r.stages.flatMap((s) => {
    const m = median(s.rttsMs.slice(1));
    return m === undefined ? [] : [m];
  });
}

/** Compares every pair of unchanged runs and every unchanged run with every slowed run; counts what compare said. */
export function tallyNoise(unchanged: readonly RunResults[], slowed: readonly RunResults[]): NoiseTally {
  const t: NoiseTally = {
    unchangedRuns: unchanged.length,
    slowedRuns: slowed.length,
    unchangedPairs: 0,
    falseRegressions: { default: [], perfGate: [] },
    timingReported: 0,
    oldRuleRegressions: 0,
    slowedPairs: 0,
    detected: { perfGate: 0, reportedByDefault: 0 },
    missed: [],
    shiftsMs: { unchanged: [], slowed: [] },
    mediansMs: { unchanged: unchanged.flatMap(runMedian), slowed: slowed.flatMap(runMedian) },
    pass: false,
  };
  for (let i = 0; i < unchanged.length; i++) {
    for (let j = i + 1; j < unchanged.length; j++) {
      const a = unchanged[i] as RunResults;
      const b = unchanged[j] as RunResults;
      t.unchangedPairs++;
      const plain = compareRuns(a, b);
      const gated = compareRuns(a, b, { perfGate: true });
      if (plain.regression) t.falseRegressions.default.push({ a: a.runId, b: b.runId, reasons: plain.reasons });
      if (gated.regression) t.falseRegressions.perfGate.push({ a: a.runId, b: b.runId, reasons: gated.reasons });
      if (plain.rtt.some((x) => x.change === 'slower' || x.change === 'faster')) t.timingReported++;
      if (oldRuleRegression(a, b)) t.oldRuleRegressions++;
      for (const x of gated.rtt) if (x.shiftMs !== undefined) t.shiftsMs.unchanged.push(x.shiftMs);
    }
  }
  for (const a of unchanged) {
    for (const b of slowed) {
      t.slowedPairs++;
      const gated = compareRuns(a, b, { perfGate: true });
      const plain = compareRuns(a, b);
      const slower = gated.rtt.some((x) => x.change === 'slower' && x.regression);
      if (gated.regression && slower) t.detected.perfGate++;
      else t.missed.push({ a: a.runId, b: b.runId, reasons: [...gated.reasons, ...gated.rtt.map((x) => `stage ${x.stage} RTT: ${x.change}`)] });
      if (!plain.regression && plain.rtt.some((x) => x.change === 'slower')) t.detected.reportedByDefault++;
      for (const x of gated.rtt) if (x.shiftMs !== undefined) t.shiftsMs.slowed.push(x.shiftMs);
    }
  }
  t.pass = t.falseRegressions.default.length === 0 && t.falseRegressions.perfGate.length === 0 && t.missed.length === 0 && t.detected.perfGate === t.slowedPairs;
  return t;
}

const fmt = (v: number | undefined, digits = 3) => (v === undefined ? '—' : v.toFixed(digits));
const signed = (v: number | undefined) => (v === undefined ? '—' : `${v < 0 ? '−' : '+'}${Math.abs(v).toFixed(3)}`);

/** The tally as the lines the benchmark prints (and the README quotes). */
export function describeTally(t: NoiseTally): string[] {
  const absShifts = t.shiftsMs.unchanged.map(Math.abs);
  const lines = [
    `unchanged tree: ${t.unchangedRuns} runs, ${t.unchangedPairs} pairs compared: ` +
      `${t.falseRegressions.default.length} regressions by default, ${t.falseRegressions.perfGate.length} with --perf-gate ` +
      `(timing changes reported, not failing: ${t.timingReported}; the former p95/median rule: ${t.oldRuleRegressions} regressions)`,
    `  RTT medians per run ${fmt(Math.min(...t.mediansMs.unchanged))} … ${fmt(Math.max(...t.mediansMs.unchanged))} ms; ` +
      `shift between runs: median |shift| ${fmt(median(absShifts))} ms, largest ${fmt(absShifts.length ? Math.max(...absShifts) : undefined)} ms`,
    `seeded slowdown: ${t.slowedRuns} runs, ${t.slowedPairs} pairs: ${t.detected.perfGate}/${t.slowedPairs} regressions with --perf-gate, ` +
      `${t.detected.reportedByDefault}/${t.slowedPairs} reported without it; shift median ${signed(median(t.shiftsMs.slowed))} ms, ` +
      `smallest ${signed(t.shiftsMs.slowed.length ? Math.min(...t.shiftsMs.slowed) : undefined)} ms`,
  ];
  for (const f of [...t.falseRegressions.perfGate, ...t.missed].slice(0, 10)) lines.push(`  ${f.a} vs ${f.b}: ${f.reasons.join('; ')}`);
  lines.push(t.pass ? 'PASS: no false regression, every slowdown caught' : 'FAIL');
  return lines;
}

/** What loads the host beside the runs. */
export type LoadSpec = { kind: 'none' } | { kind: 'spin'; workers: number } | { kind: 'command'; command: string };

/** `none`, `spin` (one spinning process per core), `spin:N`, or a shell command. */
export function parseLoad(text: string): LoadSpec {
  if (text === 'none' || text === '') return { kind: 'none' };
  const spin = /^spin(?::(\d+))?$/.exec(text);
  if (spin) {
    const workers = spin[1] === undefined ? availableParallelism() : Number(spin[1]);
    if (workers < 1) throw new HarnessError(`--load ${text}: at least one spinning process`);
    return { kind: 'spin', workers };
  }
  return { kind: 'command', command: text };
}

interface RunningLoad {
  /** The processes started (for a command: its shell, the leader of its process group). */
  pids: number[];
  /** Stops the load and waits for it; says whether it had ended early on its own. */
  stop(): Promise<string | undefined>;
}

// Waits for a child's exit, at most `ms`.
function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

/** Starts the load; every process it starts is stopped by pid on stop() and when the benchmark exits. */
export function startLoad(spec: LoadSpec): RunningLoad {
  if (spec.kind === 'none') return { pids: [], stop: async () => undefined };
  installExitHandlers();
  if (spec.kind === 'spin') {
    const children = Array.from({ length: spec.workers }, () => {
      const [cmd, ...args] = [...PDEATHSIG_PREFIX, process.execPath, '-e', 'for (;;) {}'];
      // spawns: setpriv node
      const child = spawn(cmd as string, args, { stdio: 'ignore' });
      if (child.pid !== undefined) registerChild(child.pid, 'load: spinning process');
      return child;
    });
    return {
      pids: children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
      stop: async () => {
        for (const c of children) {
          if (c.pid === undefined) continue;
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            // gone already
          }
          await exited(c, 5000);
          unregisterChild(c.pid);
        }
        return undefined;
      },
    };
  }
  // A command and everything it starts: its own process group (detached), killed as a group.
  const child = spawn('sh', ['-c', spec.command], { stdio: 'ignore', detached: true });
  const group = child.pid;
  let ended: string | undefined;
  const started = Date.now();
  child.once('exit', (code, signal) => {
    ended = `the load command ended on its own after ${((Date.now() - started) / 1000).toFixed(0)} s (${signal ?? `exit ${code}`}): later runs were not loaded`;
  });
  const killGroup = (signal: NodeJS.Signals) => {
    if (group === undefined) return;
    try {
      process.kill(-group, signal);
    } catch {
      // the group is gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);
  return {
    pids: group === undefined ? [] : [group],
    stop: async () => {
      const early = ended;
      killGroup('SIGTERM');
      if (!(await exited(child, 5000))) killGroup('SIGKILL');
      // Members of the group may outlive its leader briefly: one more sweep.
      killGroup('SIGKILL');
      process.off('exit', onExit);
      return early;
    },
  };
}

export interface NoiseBenchOptions {
  board: string;
  boardsDir: string;
  /** Runs of the unchanged tree (default 20). */
  runs: number;
  /** Runs of the slowed tree (default 5). */
  slowRuns: number;
  load: LoadSpec;
  stages: number[];
  /** Where every run's results.json and summary.json go (default a new folder under the temp dir). */
  outDir?: string;
}

// A copy of the project's drivers with the slowdown patch applied, at a fixed path so its module build is cached.
async function slowedTree(): Promise<string> {
  const tree = join(cacheRoot(), 'bench', 'virt_net-slow-echo');
  await rm(tree, { recursive: true, force: true });
  await mkdir(join(tree, '..'), { recursive: true });
  await cp(DEFAULT_MODULES_DIR, tree, { recursive: true });
  await execa('patch', ['-p1', '-s', '-i', SLOWDOWN_PATCH], { cwd: tree });
  return tree;
}

/** Runs the benchmark; returns 0 when it passed, 1 when not. */
export async function benchCompareNoise(o: NoiseBenchOptions): Promise<number> {
  const config: BoardConfig = loadBoard(o.board, { boardsDir: o.boardsDir });
  if (config.kind !== 'emulated') throw new HarnessError('the noise benchmark runs on the emulated board; pass an emulated board');
  if (o.runs < 2) throw new HarnessError('--runs: at least 2 runs of the unchanged tree (the issue asks for 20 or more)');
  const outDir = resolve(o.outDir ?? join(tmpdir(), `vnet-compare-noise-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`));
  await mkdir(outDir, { recursive: true });
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const slowDir = o.slowRuns > 0 ? await slowedTree() : undefined;
  const one = (modulesDir: string) => executeRun({ config, modulesDir, stages: o.stages, progress: silentProgress(), reporter: 'dot' });

  // Warm-up: kernel, rootfs, both module trees and the probe built and cached; not counted.
  log('warm-up runs (build and cache everything; not counted)');
  await one(DEFAULT_MODULES_DIR);
  if (slowDir) await one(slowDir);

  // The slowed runs spread among the unchanged ones, so both see the same load over time.
  const plan: ('unchanged' | 'slowed')[] = [];
  let slowedPlanned = 0;
  for (let i = 0; i < o.runs; i++) {
    plan.push('unchanged');
    for (; slowedPlanned < Math.round(((i + 1) * o.slowRuns) / o.runs); slowedPlanned++) plan.push('slowed');
  }
  const unchanged: RunResults[] = [];
  const slowed: RunResults[] = [];
  const loads: number[] = [];
  const load = startLoad(o.load);
  let loadNote: string | undefined;
  try {
    if (o.load.kind !== 'none') await new Promise((r) => setTimeout(r, 3000)); // let the load get going
    for (const [i, kind] of plan.entries()) {
      const { results } = await one(kind === 'slowed' ? (slowDir as string) : DEFAULT_MODULES_DIR);
      (kind === 'slowed' ? slowed : unchanged).push(results);
      const dir = join(outDir, `${String(i + 1).padStart(2, '0')}-${kind}`);
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, 'results.json'), renderJson(results));
      const avg = loadavg()[0] ?? 0;
      loads.push(avg);
      const rtt = runMedian(results);
      log(`${i + 1}/${plan.length} ${kind}: ${results.verdict}, RTT median ${rtt.map((m) => `${m.toFixed(3)} ms`).join(', ') || '—'}, load average ${avg.toFixed(1)}`);
    }
  } finally {
    loadNote = await load.stop();
  }

  const tally = tallyNoise(unchanged, slowed);
  const loadText =
    o.load.kind === 'none' ? 'none' : o.load.kind === 'spin' ? `${o.load.workers} spinning process${o.load.workers === 1 ? '' : 'es'}` : `"${o.load.command}"`;
  const head = [
    `compare noise benchmark on ${config.name}: stages ${o.stages.join(',')}, ${availableParallelism()} cores, load: ${loadText} ` +
      `(1-min load average ${fmt(Math.min(...loads), 1)} … ${fmt(Math.max(...loads), 1)})`,
    ...(loadNote ? [`note: ${loadNote}`] : []),
    ...(unchanged.concat(slowed).some((r) => r.verdict !== 'pass') ? [`note: runs that did not pass: ${unchanged.concat(slowed).filter((r) => r.verdict !== 'pass').map((r) => `${r.runId} (${r.verdict})`).join(', ')}`] : []),
  ];
  const lines = [...head, ...describeTally(tally), `results in ${outDir} (summary.json, one results.json per run)`];
  await writeFileAtomic(join(outDir, 'summary.json'), `${JSON.stringify({ options: { ...o, outDir }, loadAverages: loads, loadNote, tally }, null, 2)}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return tally.pass ? 0 : 1;
}

/** Parses the benchmark's command line (argv without node and the script). */
export function parseBenchArgs(argv: string[]): NoiseBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '20' },
      'slow-runs': { type: 'string', default: '5' },
      load: { type: 'string', default: 'none' },
      stages: { type: 'string', default: '1,2,3,4' },
      board: { type: 'string', default: 'qemu-imx25' },
      'boards-dir': { type: 'string', default: join(PROJECT_ROOT, 'boards') },
      out: { type: 'string' },
    },
    strict: true,
  });
  const count = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new HarnessError(`--${name} takes a whole number, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    board: values.board as string,
    boardsDir: values['boards-dir'] as string,
    runs: count('runs', values.runs),
    slowRuns: count('slow-runs', values['slow-runs']),
    load: parseLoad(values.load as string),
    stages: parseStageList(values.stages as string),
    ...(values.out !== undefined ? { outDir: values.out } : {}),
  };
}

// Whether this file is the script node was started with (not imported).
function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

// Run as a script: `npx tsx src/commands/bench-compare.ts …`.
if (invokedDirectly()) {
  Promise.resolve()
    .then(() => benchCompareNoise(parseBenchArgs(process.argv.slice(2))))
    .then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
