// `npm run bench`: a warm run of all four stages on the emulated board, with
// its breakdown (build, boot, each stage, reports), and the harness's stage
// time against a bare script of the same board commands over one SSH session.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Board } from '../board/board.ts';
import { loadBoard } from '../config/board.ts';
import { HarnessError } from '../errors.ts';
import { writeReports } from '../reporters/index.ts';
import { MODULE_NAMES, STAGES, BOARD_DIR } from '../stages/plan.ts';
import { buildProbe } from '../build/probe.ts';
import { executeRun, PROBE_SOURCE, PROJECT_ROOT } from '../stages/run.ts';
import { cacheRoot } from '../util/cache.ts';
import { silentProgress, streamProgress } from '../util/progress.ts';

export interface BenchOptions {
  board: string;
  boardsDir: string;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Runs the benchmark; exit 0 when the run passed (the numbers are printed either way). */
export async function benchCommand(options: BenchOptions): Promise<number> {
  const config = loadBoard(options.board, { boardsDir: options.boardsDir });
  if (config.kind !== 'emulated') throw new HarnessError('bench measures the emulated board; pass an emulated board');
  const modulesDir = join(PROJECT_ROOT, 'kernel-modules', 'virt_net');
  const stages = STAGES.map((s) => s.stage);

  // Warm-up: kernel, rootfs, modules and probe built and cached; not measured.
  process.stderr.write('bench: warm-up run (builds and caches everything)\n');
  await executeRun({ config, modulesDir, stages, progress: streamProgress(), reporter: 'dot' });

  let recorded: { board?: Board; from: number } = { from: 0 };
  let uploadsMs = 0;
  const wallStart = Date.now();
  const outcome = await executeRun({
    config,
    modulesDir,
    stages,
    progress: silentProgress(),
    reporter: 'dot',
    // Remember where the stages' commands start in the session's command log.
    onBoard: async (board) => {
      recorded = { board, from: board.commandLog.length };
    },
  });
  const reportsStart = Date.now();
  const outDir = await mkdtemp(join(tmpdir(), 'vnet-bench-'));
  await writeReports(outcome.results, { outDir, consoleTranscript: outcome.consoleTranscript });
  const reportsMs = Date.now() - reportsStart;
  const wallMs = Date.now() - wallStart;

  const lines: string[] = [];
  lines.push(`bench: warm run of stages 1-4 on ${config.name}: ${seconds(wallMs)} wall (target <= 25 s)`);
  lines.push(`  build (modules, warm):  ${seconds(outcome.phases.build ?? 0)}`);
  lines.push(`  boot (QEMU + SSH):      ${seconds(outcome.phases.boot ?? 0)}`);
  for (const s of outcome.results.stages) {
    const upload = s.steps.filter((st) => st.name === 'upload').reduce((a, st) => a + st.durationMs, 0);
    uploadsMs += upload;
    lines.push(`  stage ${s.stage} (${s.verdict}):        ${seconds(s.durationMs)} (upload ${seconds(upload)})`);
  }
  lines.push(`  reports:                ${seconds(reportsMs)}`);

  // The same board commands as one bare script over one SSH session, modules uploaded beforehand.
  const commands = recorded.board?.commandLog.slice(recorded.from).map((c) => c.command) ?? [];
  const probePath = await buildProbe({ source: PROBE_SOURCE, crossCompile: config.crossCompile, outDir: join(cacheRoot(), 'probe'), board: config.name });
  const board = await Board.open(config, { progress: silentProgress(), transport: 'ssh' });
  try {
    await board.check(`mkdir -p ${BOARD_DIR}`);
    for (const s of outcome.results.stages) {
      if (s.build?.module) await board.upload(s.build.module, `${BOARD_DIR}/${MODULE_NAMES[s.stage - 1]}.ko`);
    }
    // As the stages did: gzipped, for the recorded gunzip command to unpack.
    await board.upload(`${probePath}.gz`, `${BOARD_DIR}/vnet_probe.gz`);
    // As a file: dropbear refuses exec requests longer than a few KiB.
    const scriptPath = join(outDir, 'bare.sh');
    await writeFile(scriptPath, `${commands.map((c) => `( ${c} ) >/dev/null 2>&1`).join('\n')}\n`);
    await board.upload(scriptPath, `${BOARD_DIR}/bare.sh`);
    const t = Date.now();
    await board.check(`sh ${BOARD_DIR}/bare.sh`, { timeoutMs: 120_000 });
    const bareMs = Date.now() - t;
    const harnessStageMs = (outcome.phases.stages ?? 0) - uploadsMs;
    lines.push(`  bare ssh script of the same ${commands.length} commands: ${seconds(bareMs)}`);
    lines.push(`  ratio harness stages (without uploads) / bare script: ${(harnessStageMs / bareMs).toFixed(3)} (target <= 1.10)`);
  } finally {
    await board.close();
    await rm(outDir, { recursive: true, force: true });
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return outcome.results.verdict === 'pass' ? 0 : 1;
}
