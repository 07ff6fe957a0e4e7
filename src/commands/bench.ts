// `npm run bench`: warm runs of all four stages on the emulated board, with
// the breakdown (build, boot, each stage, reports), and the harness's stage
// time against a bare script of the same board commands over one SSH
// session. Both sides are measured several times and compared by median:
// one run on a 2-core machine shared with QEMU's emulation varies by ±10 %.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBoard } from '../board/target.ts';
import { buildProbe } from '../build/probe.ts';
import { loadBoard } from '../config/board.ts';
import { HarnessError } from '../errors.ts';
import { writeReports } from '../reporters/index.ts';
import { median } from '../reporters/stats.ts';
import { BOARD_DIR, BOARD_PROBE, boardModulePath, STAGES } from '../stages/plan.ts';
import { DEFAULT_MODULES_DIR } from '../paths.ts';
import { executeRun, PROBE_SOURCE, type RunOutcome } from '../stages/run.ts';
import { cacheRoot } from '../util/cache.ts';
import { silentProgress, streamProgress } from '../util/progress.ts';

export interface BenchOptions {
  board: string;
  boardsDir: string;
  /** Timed runs on each side (default 3). */
  repeat?: number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

interface TimedRun {
  outcome: RunOutcome;
  wallMs: number;
  reportsMs: number;
  /** Stage time without uploads (the bare script gets its files beforehand). */
  stagesMs: number;
  commands: string[];
}

/** One timed warm run, reports included; returns its timings and the board commands of its stages. */
async function timedRun(config: ReturnType<typeof loadBoard>, modulesDir: string): Promise<TimedRun> {
  const commands: string[] = [];
  const wallStart = Date.now();
  const outcome = await executeRun({
    config,
    modulesDir,
    stages: STAGES.map((s) => s.stage),
    progress: silentProgress(),
    reporter: 'dot',
    // The stages' commands, as the board runs them.
    onBoard: async (board) => {
      board.onCommand(({ command }) => commands.push(command));
    },
  });
  const reportsStart = Date.now();
  const outDir = await mkdtemp(join(tmpdir(), 'vnet-bench-'));
  await writeReports(outcome.results, { outDir, consoleTranscript: outcome.consoleTranscript });
  const reportsMs = Date.now() - reportsStart;
  const wallMs = Date.now() - wallStart;
  await rm(outDir, { recursive: true, force: true });
  const uploadsMs = outcome.results.stages.flatMap((s) => s.steps).filter((st) => st.name === 'upload').reduce((a, st) => a + st.durationMs, 0);
  return {
    outcome,
    wallMs,
    reportsMs,
    stagesMs: (outcome.phases.stages ?? 0) - uploadsMs,
    commands,
  };
}

/** Runs the benchmark; exit 0 when every run passed (the numbers are printed either way). */
export async function benchCommand(options: BenchOptions): Promise<number> {
  const config = loadBoard(options.board, { boardsDir: options.boardsDir });
  if (config.kind !== 'emulated') throw new HarnessError('bench measures the emulated board; pass an emulated board');
  const modulesDir = DEFAULT_MODULES_DIR;
  const repeat = options.repeat ?? 3;

  // Warm-up: kernel, rootfs, modules and probe built and cached; not measured.
  process.stderr.write('bench: warm-up run (builds and caches everything)\n');
  await executeRun({ config, modulesDir, stages: STAGES.map((s) => s.stage), progress: streamProgress(), reporter: 'dot' });

  const runs: TimedRun[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await timedRun(config, modulesDir));
  const byWall = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const typical = byWall[Math.floor(byWall.length / 2)] as TimedRun;

  const lines: string[] = [];
  lines.push(`bench: warm run of stages 1-4 on ${config.name}: ${seconds(typical.wallMs)} wall, median of ${repeat} (target <= 25 s)`);
  lines.push(`  build (modules, warm):  ${seconds(typical.outcome.phases.build ?? 0)}`);
  lines.push(`  boot (QEMU + SSH):      ${seconds(typical.outcome.phases.boot ?? 0)}`);
  for (const s of typical.outcome.results.stages) {
    const upload = s.steps.filter((st) => st.name === 'upload').reduce((a, st) => a + st.durationMs, 0);
    lines.push(`  stage ${s.stage} (${s.verdict}):        ${seconds(s.durationMs)} (upload ${seconds(upload)})`);
  }
  lines.push(`  reports:                ${seconds(typical.reportsMs)}`);

  // The same board commands as one bare script over one SSH session, files uploaded beforehand.
  const commands = typical.commands;
  const probePath = await buildProbe({ source: PROBE_SOURCE, crossCompile: config.crossCompile, outDir: join(cacheRoot(), 'probe'), board: config.name });
  const outDir = await mkdtemp(join(tmpdir(), 'vnet-bench-'));
  const bare: number[] = [];
  try {
    // Output comes back over SSH as a person running the script would see it: the same bytes the harness reads.
    const scriptPath = join(outDir, 'bare.sh');
    await writeFile(scriptPath, `${commands.map((c) => `( ${c} )`).join('\n')}\n`);
    for (let i = 0; i < repeat; i++) {
      // A fresh boot each time, as each harness run had.
      const board = await openBoard(config, { progress: silentProgress(), transport: 'ssh' });
      try {
        for (const s of typical.outcome.results.stages) {
          if (s.build?.module) await board.upload(s.build.module, boardModulePath(s.stage));
        }
        // As the stages did (the recorded commands check its sha256, and chmod it when they uploaded it).
        await board.upload(probePath, BOARD_PROBE);
        // As a file: dropbear refuses exec requests longer than a few KiB.
        await board.upload(scriptPath, `${BOARD_DIR}bare.sh`);
        const t = Date.now();
        await board.run(`sh ${BOARD_DIR}bare.sh`, { timeoutMs: 120_000 });
        bare.push(Date.now() - t);
      } finally {
        await board.close();
      }
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
  const harnessMs = median(runs.map((r) => r.stagesMs)) as number;
  const bareMs = median(bare) as number;
  lines.push(`  harness stages without uploads: ${runs.map((r) => seconds(r.stagesMs)).join(', ')} (median ${seconds(harnessMs)})`);
  lines.push(`  bare ssh script of the same ${commands.length} commands: ${bare.map(seconds).join(', ')} (median ${seconds(bareMs)})`);
  lines.push(`  ratio harness / bare script (medians): ${(harnessMs / bareMs).toFixed(3)} (target <= 1.10)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return runs.every((r) => r.outcome.results.verdict === 'pass') ? 0 : 1;
}
