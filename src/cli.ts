// The `vnet-harness` command line. Each command lives in src/commands/; this
// file declares the options (with their defaults next to them) and maps every
// error to one exit code: 0 ok, 1 a check failed, 2 infrastructure.
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { exitCodeOf, HarnessError } from './errors.ts';
import { PROJECT_ROOT } from './paths.ts';

export { PROJECT_ROOT };

const boardOption = (): Option =>
  new Option('-b, --board <name|file>', 'board name in boards/ or path to a board YAML').default('qemu-imx25');
const transportOption = (): Option =>
  new Option('-t, --transport <kind>', 'how commands reach the board (default: the board\'s default_transport)').choices(['ssh', 'serial']);
const boardsDirOption = (): Option =>
  new Option('--boards-dir <dir>', 'where board names are looked up').default(join(PROJECT_ROOT, 'boards'));

/** Builds the commander program; every action sets `code`. */
function program(setCode: (code: number) => void): Command {
  const cli = new Command('vnet-harness')
    .description('Hardware-in-the-loop tests for the virt_net driver family on i.MX257 boards (real or emulated)')
    .exitOverride()
    .showHelpAfterError();

  cli
    .command('boards')
    .description('list the boards and validate every board file (exit 1 on any error)')
    .addOption(boardsDirOption())
    .action(async (opts: { boardsDir: string }) => {
      const { boardsCommand } = await import('./commands/boards.ts');
      setCode(await boardsCommand({ boardsDir: opts.boardsDir, out: process.stdout }));
    });

  cli
    .command('doctor')
    .description('check the host tools and packages the board needs; --install installs them (root)')
    .addOption(boardOption())
    .addOption(boardsDirOption())
    .option('--install', 'install what is missing with apt-get', false)
    .option('--tests', 'also the packages the harness\'s own tests (npm test) use', false)
    .action(async (opts: { board: string; boardsDir: string; install: boolean; tests: boolean }) => {
      const { doctorCommand } = await import('./host/doctor.ts');
      const { loadBoard } = await import('./config/board.ts');
      setCode(await doctorCommand({ board: loadBoard(opts.board, { boardsDir: opts.boardsDir }), install: opts.install, tests: opts.tests }));
    });

  cli
    .command('build')
    .description('cross-build the four stage modules against the board\'s kernel tree')
    .addOption(boardOption())
    .addOption(boardsDirOption())
    .option('-m, --modules <dir>', 'driver tree to build (a Kbuild producing virt_net1.ko … virt_net4.ko)', join(PROJECT_ROOT, 'kernel-modules', 'virt_net'))
    .option('--json', 'print the build results as JSON', false)
    .action(async (opts: { board: string; boardsDir: string; modules: string; json: boolean }) => {
      const { buildCommand } = await import('./commands/build.ts');
      setCode(await buildCommand(opts));
    });

  cli
    .command('boot')
    .description('boot (or connect to) the board, run CMD, print its output, exit with its exit code, shut down')
    .addOption(boardOption())
    .addOption(boardsDirOption())
    .addOption(transportOption())
    .argument('<cmd...>', 'command to run on the board (after --)')
    .action(async (cmd: string[], opts: { board: string; boardsDir: string; transport?: 'ssh' | 'serial' }) => {
      const { bootCommand } = await import('./commands/boot.ts');
      setCode(await bootCommand({ ...opts, command: cmd }));
    });

  cli
    .command('run')
    .description('run the stage suites on a board and write the run\'s reports')
    .addOption(boardOption())
    .addOption(boardsDirOption())
    .addOption(transportOption())
    .option('-m, --modules <dir>', 'driver tree under test', join(PROJECT_ROOT, 'kernel-modules', 'virt_net'))
    .option('-s, --stages <list>', 'stages to run, e.g. 1,3', '1,2,3,4')
    .option('-o, --out <dir>', 'run directory (default reports/<run-id>)')
    .option('--rev <git-rev>', 'test the driver tree as it was at this git revision')
    .option('--baseline <git-rev>', 'also run this revision and compare the two runs')
    .option('--perf-gate', 'with --baseline: a timing slowdown fails also on an emulated board (there it is only reported by default)')
    .action(async (opts: RunCliOptions) => {
      const { runCommand } = await import('./commands/run.ts');
      setCode(await runCommand(opts));
    });

  cli
    .command('test')
    .description('npm test: the harness\'s own tests and the stage suites (default board qemu-imx25)')
    .option('-b, --board <name|file>', 'run only the stage suites, on this board')
    .addOption(boardsDirOption())
    .addOption(transportOption())
    .option('--grep <pattern>', 'only tests whose title matches')
    .option('--unit', 'only the harness\'s own tests that need no kernel build and no board (suites tagged @board are left out)', false)
    .action(async (opts: { board?: string; boardsDir: string; transport?: 'ssh' | 'serial'; grep?: string; unit: boolean }) => {
      const { testCommand } = await import('./commands/test.ts');
      setCode(await testCommand(opts));
    });

  cli
    .command('compare')
    .description('compare two runs (paths or run ids); exit 1 on a regression')
    .argument('<runA>')
    .argument('<runB>')
    .addOption(new Option('-f, --format <fmt>', 'report format').choices(['markdown', 'html', 'json']).default('markdown'))
    .option('-o, --out <file>', 'where to write the report (default: compare-<idA>-vs-<idB>.<ext> beside run B\'s folder; - for stdout)')
    .option('--perf-gate', 'a timing slowdown fails also on an emulated board (there it is only reported by default)')
    .action(async (a: string, b: string, opts: { format: 'markdown' | 'html' | 'json'; out?: string; perfGate?: boolean }) => {
      const { compareCommand } = await import('./compare/command.ts');
      setCode(await compareCommand({ a, b, format: opts.format, out: opts.out, perfGate: opts.perfGate === true, reportsRoot: join(PROJECT_ROOT, 'reports') }));
    });

  cli
    .command('bench')
    .description('benchmark a warm run of all four stages on the emulated board (breakdown + ratio to a bare ssh script)')
    .addOption(boardOption())
    .addOption(boardsDirOption())
    .action(async (opts: { board: string; boardsDir: string }) => {
      const { benchCommand } = await import('./commands/bench.ts');
      setCode(await benchCommand(opts));
    });

  return cli;
}

export interface RunCliOptions {
  board: string;
  boardsDir: string;
  transport?: 'ssh' | 'serial';
  modules: string;
  stages: string;
  out?: string;
  rev?: string;
  baseline?: string;
  perfGate?: boolean;
}

/** Runs the CLI with argv (as process.argv) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await program((c) => (code = c)).parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    const message = error instanceof HarnessError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`vnet-harness: ${message}\n`);
    return exitCodeOf(error);
  }
}
