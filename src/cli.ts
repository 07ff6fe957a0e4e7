// The `vnet-harness` command line. Each command lives in src/commands/; this
// file declares the options (with their defaults next to them) and maps every
// error to one exit code: 0 ok, 1 a check failed, 2 infrastructure or bad
// input. A usage error is one line; a stack trace only with --debug.
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { RunCliOptions } from './commands/run.ts';
import { expandHome } from './config/paths.ts';
import { ExitCode, exitCodeOf, HarnessError } from './errors.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from './paths.ts';
import { parseStageList } from './stages/plan.ts';

const boardOption = (): Option =>
  new Option('-b, --board <name|file>', 'board name in boards/ or path to a board YAML').default('qemu-imx25');
const transportOption = (): Option =>
  new Option('-t, --transport <kind>', 'how commands reach the board (default: the board\'s default_transport)').choices(['ssh', 'serial']);
const boardsDirOption = (): Option =>
  new Option('--boards-dir <dir>', 'where board names are looked up').default(join(PROJECT_ROOT, 'boards'));

/** `--stages` checked when parsed, so a bad list is a usage error before anything starts. */
function stageListArg(value: string): string {
  try {
    parseStageList(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

/** `--modules` must name a directory: found now, not as a scandir error after the board was locked. */
function directoryArg(value: string): string {
  const dir = resolve(expandHome(value));
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidArgumentError(`no such directory: ${dir}`);
  return value;
}

/** The "Exit codes:" section of a command's --help. */
function exitCodes(...codes: [code: string, meaning: string][]): string {
  return `\nExit codes:\n${codes.map(([code, meaning]) => `  ${code.padEnd(4)}${meaning}`).join('\n')}`;
}

const BAD_INPUT = 'bad input: an invalid board file or option';

/** Builds the commander program; every action sets `code`. */
function program(setCode: (code: number) => void): Command {
  const cli = new Command('vnet-harness')
    .description('Hardware-in-the-loop tests for the virt_net driver family on i.MX257 boards (real or emulated)')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('--debug', 'print the stack trace of an error (when reporting a harness bug)')
    .addHelpText(
      'after',
      exitCodes(
        ['0', 'all passed'],
        ['1', 'a check failed: the driver\'s fault'],
        ['2', 'the harness could not do its job (board unreachable, tool missing) or bad input'],
      ) + '\n(each command\'s --help says what they mean for it)',
    )
    .exitOverride()
    // One line per usage error (several only when commander's own message has several).
    .configureOutput({ outputError: (text, write) => write(`vnet-harness: ${text.trim().replace(/^error: /, '').replace(/\n+/g, ' ')}\n`) });

  cli
    .command('boards')
    .description('list the boards and validate every board file (exit 2 on any error)')
    .addOption(boardsDirOption())
    .addHelpText('after', exitCodes(['0', 'every board file is valid'], ['2', 'a board file is invalid (each error as file:line:col), or there is none']))
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
    .addHelpText('after', exitCodes(['0', 'every host prerequisite is present (with --install: present now)'], ['2', `something is missing or the install failed; or ${BAD_INPUT}`]))
    .action(async (opts: { board: string; boardsDir: string; install: boolean; tests: boolean }) => {
      const { doctorCommand } = await import('./host/doctor.ts');
      const { loadBoard } = await import('./config/board.ts');
      // A missing kernel_tree is what doctor reports, not a reason to stop before it can.
      setCode(await doctorCommand({ board: loadBoard(opts.board, { boardsDir: opts.boardsDir, hostPaths: false }), install: opts.install, tests: opts.tests }));
    });

  cli
    .command('build')
    .description('cross-build the four stage modules against the board\'s kernel tree')
    .addOption(boardOption())
    .addOption(boardsDirOption())
    .option('-m, --modules <dir>', 'driver tree to build (a Kbuild producing virt_net1.ko … virt_net4.ko)', directoryArg, DEFAULT_MODULES_DIR)
    .option('--json', 'print the build results as JSON', false)
    .addHelpText(
      'after',
      exitCodes(
        ['0', 'every stage built without a warning'],
        ['1', 'a stage did not compile, or compiled with a warning (the driver\'s fault)'],
        ['2', `a tool or the kernel tree is missing, or a make did not finish; or ${BAD_INPUT}`],
      ),
    )
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
    .addHelpText(
      'after',
      '\nThe words after -- are joined with single spaces into one command line for the board\'s shell,\n' +
        'as ssh joins them: `boot -- ls -l /tmp` runs `ls -l /tmp`. Quote what must stay one word or\n' +
        'reach the board\'s shell unexpanded: `boot -- \'echo "a  b" $HOME\'`.\n' +
        exitCodes(
          ['any', 'the exit code of CMD (128+N when signal N ended it)'],
          ['2', `also when the board could not be booted, reached or logged into (stderr says so); or ${BAD_INPUT}`],
        ),
    )
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
    .option('-m, --modules <dir>', 'driver tree under test', directoryArg, DEFAULT_MODULES_DIR)
    .option('-s, --stages <list>', 'stages to run, e.g. 1,3', stageListArg, '1,2,3,4')
    .option('-o, --out <dir>', 'run directory (default reports/<run-id>)')
    .option('--rev <git-rev>', 'test the driver tree as it was at this git revision')
    .option('--baseline <git-rev>', 'also run this revision and compare the two runs')
    .option('--perf-gate', 'with --baseline: a timing slowdown fails also on an emulated board (there it is only reported by default)')
    .addHelpText(
      'after',
      exitCodes(
        ['0', 'every check of every stage passed'],
        ['1', 'a check failed, the kernel faulted or the board hung (the driver\'s fault); with --baseline also a regression'],
        ['2', `the harness could not do its job (board unreachable, tool missing, build infrastructure); or ${BAD_INPUT}`],
      ),
    )
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
    .addHelpText(
      'after',
      exitCodes(
        ['0', 'every test and every stage check passed'],
        ['1', 'a test or a stage check failed'],
        ['2', `a stage run could not do its job (board unreachable, tool missing); or ${BAD_INPUT}`],
      ),
    )
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
    .addHelpText('after', exitCodes(['0', 'no regression'], ['1', 'a regression'], ['2', 'a run cannot be found or read; or bad input']))
    .action(async (a: string, b: string, opts: { format: 'markdown' | 'html' | 'json'; out?: string; perfGate?: boolean }) => {
      const { compareCommand } = await import('./compare/command.ts');
      setCode(await compareCommand({ a, b, format: opts.format, out: opts.out, perfGate: opts.perfGate === true, reportsRoot: join(PROJECT_ROOT, 'reports') }));
    });

  cli
    .command('bench')
    .description('benchmark a warm run of all four stages on the emulated board (breakdown + ratio to a bare ssh script)')
    .addOption(boardOption())
    .addOption(boardsDirOption())
    .addHelpText(
      'after',
      exitCodes(['0', 'every timed run passed'], ['1', 'a timed run did not pass'], ['2', `the harness could not do its job; or ${BAD_INPUT}`]),
    )
    .action(async (opts: { board: string; boardsDir: string }) => {
      const { benchCommand } = await import('./commands/bench.ts');
      setCode(await benchCommand(opts));
    });

  return cli;
}

/** Runs the CLI with argv (as process.argv) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const cli = program((c) => (code = c));
  try {
    await cli.parseAsync(argv);
    return code;
  } catch (error) {
    // Commander has printed its one line (or the help, or the version) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.infrastructure;
    process.stderr.write(failureMessage(error, cli.opts<{ debug?: boolean }>().debug === true));
    return exitCodeOf(error);
  }
}

/**
 * What the CLI prints for an error that ended a command: a harness error's own
 * message; for anything else (a harness bug) one line and where to find more.
 * With --debug, the stack trace and those of its causes.
 */
export function failureMessage(error: unknown, debug: boolean): string {
  if (!(error instanceof Error)) return `vnet-harness: unexpected error: ${String(error)}\n`;
  if (debug) return `vnet-harness: ${withCauses(error)}\n`;
  if (error instanceof HarnessError) return `vnet-harness: ${error.message}\n`;
  return `vnet-harness: unexpected ${error.name}: ${error.message.split('\n')[0]} (run with --debug for the stack trace)\n`;
}

/** The error's stack trace, then each cause's, a few levels deep. */
function withCauses(error: Error): string {
  let text = error.stack ?? `${error.name}: ${error.message}`;
  let cause: unknown = error.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    text += `\ncaused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

/** The version in package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
