// `npm test` (= `vnet-harness test`): the harness's own tests (test/), then
// the four stage suites on the board with the project's drivers, over SSH
// and over the serial console. `npm test -- --board B` runs only the stage
// suites, on board B. Mocha is driven from here because it has no
// pass-through for custom flags.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import Mocha from 'mocha';
import type { CliOptions } from '../cli-options.ts';
import { boardTransports, loadBoard } from '../config/board.ts';
import { UNIT_ONLY_ENV } from '../emulated/machine.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../paths.ts';
import { STAGES } from '../stages/plan.ts';
import { streamProgress } from '../util/progress.ts';
import { runOnce } from './run.ts';

/** The options of `vnet-harness test`, as the command line gives them (src/cli-options.ts). */
export type TestOptions = CliOptions<'test'>;

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  /** A stage run that could not do its job (board unreachable, tool missing). */
  infrastructure?: boolean;
  /** The exit code of a stage run a signal stopped (130, 143): nothing runs after it. */
  interrupted?: number;
}

/** Lists test/**\/*.test.ts. */
async function testFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/** Suites whose title carries this tag build the emulated board's kernel or boot the board. */
export const BOARD_TAG = '@board';

/** The mocha grep: `grep` (a pattern, as mocha takes it), and with `unitOnly` no suite tagged BOARD_TAG. */
export function testSelection(grep: string | undefined, unitOnly: boolean): RegExp | undefined {
  if (!unitOnly) return grep ? new RegExp(grep) : undefined;
  // Mocha takes one pattern: the lookahead drops tagged titles, the rest matches grep (or anything).
  return new RegExp(`^(?!.*${BOARD_TAG}\\b).*(?:${grep ?? ''})`);
}

/** Runs the harness's own tests with mocha; returns the tally. */
async function harnessTests(grep: string | undefined, unitOnly: boolean): Promise<Tally> {
  const selection = testSelection(grep, unitOnly);
  // The tag filters titles; the variable makes a suite that forgot its tag fail instead of building a kernel.
  if (unitOnly) process.env[UNIT_ONLY_ENV] = '1';
  const mocha = new Mocha({ reporter: 'spec', timeout: 120_000, ...(selection ? { grep: selection } : {}) });
  for (const file of await testFiles(join(PROJECT_ROOT, 'test'))) mocha.addFile(file);
  await mocha.loadFilesAsync();
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  await new Promise<void>((resolveRun) => {
    const runner = mocha.run(() => resolveRun());
    runner.on('pass', () => tally.passed++);
    runner.on('fail', () => tally.failed++);
    runner.on('pending', () => tally.skipped++);
  });
  return tally;
}

/** Runs the stage suites on a board over one transport (reports written as `run` writes them) and tallies the checks. */
async function stageRun(board: string, boardsDir: string, transport: 'ssh' | 'serial', reportsRoot: string | undefined): Promise<Tally> {
  const config = loadBoard(board, { boardsDir });
  process.stdout.write(`\n== stage suites on ${config.name} over ${transport}\n`);
  const { results, exitCode } = await runOnce({
    config,
    modulesDir: DEFAULT_MODULES_DIR,
    stages: STAGES.map((s) => s.stage),
    transport,
    progress: streamProgress(),
    ...(reportsRoot !== undefined ? { reportsRoot } : {}),
  });
  const tally: Tally = {
    passed: 0,
    failed: 0,
    skipped: 0,
    infrastructure: results.verdict === 'error',
    ...(results.incomplete ? { interrupted: exitCode } : {}),
  };
  for (const stage of results.stages) {
    for (const c of stage.checks) {
      if (c.verdict === 'pass') tally.passed++;
      else if (c.verdict === 'skipped') tally.skipped++;
      else tally.failed++;
    }
    // A stage that never produced checks (board down, build error) still counts as a failure.
    if (stage.checks.length === 0 && stage.verdict !== 'pass') tally.failed++;
  }
  return tally;
}

/** The test command; exit 0 only when everything passed. */
export async function testCommand(options: TestOptions): Promise<number> {
  const total: Tally = { passed: 0, failed: 0, skipped: 0 };
  const add = (t: Tally): void => {
    total.passed += t.passed;
    total.failed += t.failed;
    total.skipped += t.skipped;
    total.infrastructure ||= t.infrastructure;
    total.interrupted ??= t.interrupted;
  };
  if (!options.board) add(await harnessTests(options.grep, options.unit));
  if (!options.unit) {
    const board = options.board ?? 'qemu-imx25';
    const config = loadBoard(board, { boardsDir: options.boardsDir });
    const transports = options.transport ? [options.transport] : boardTransports(config);
    for (const transport of transports) {
      add(await stageRun(board, options.boardsDir, transport, options.reportsDir));
      if (total.interrupted !== undefined) break;
    }
  }
  // The plain closing line CI systems read.
  process.stdout.write(`\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`);
  if (total.interrupted !== undefined) return total.interrupted;
  // CI tells a broken driver (1) from a broken setup (2).
  if (total.infrastructure) return 2;
  return total.failed === 0 ? 0 : 1;
}
