// The `vnet-harness` command line. Each command lives in src/commands/; its
// options come from the table in src/cli-options.ts (types, defaults and help
// next to each other); this file gives each command its description, arguments
// and exit codes, and maps every error to one exit code: 0 ok, 1 a check
// failed, 2 infrastructure or bad input. A usage error is one line; a stack
// trace only with --debug.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { commanderOptions, COMMANDS, type CliOptions, type CommandName } from './cli-options.ts';
import { ExitCode, exitCodeOf, HarnessError } from './errors.ts';
import { PROJECT_ROOT } from './paths.ts';

/** The "Exit codes:" section of a command's --help. */
function exitCodes(...codes: [code: string, meaning: string][]): string {
  return `\nExit codes:\n${codes.map(([code, meaning]) => `  ${code.padEnd(4)}${meaning}`).join('\n')}`;
}

const BAD_INPUT = 'bad input: an invalid board file or option';

/** The words a command takes besides its options. */
export interface CommandArguments {
  boot: [cmd: string[]];
  compare: [runA?: string, runB?: string];
  'last-good': [run?: string];
  'lava-results': [source: string];
}
type ArgumentsOf<C extends CommandName> = C extends keyof CommandArguments ? CommandArguments[C] : [];

/** What each command does with its options and arguments; resolves to the exit code. */
export type CommandActions = { [C in CommandName]: (options: CliOptions<C>, ...args: ArgumentsOf<C>) => Promise<number> };

/** The commands themselves, each loaded when it runs. */
const ACTIONS: CommandActions = {
  boards: async (o) => (await import('./commands/boards.ts')).boardsCommand({ boardsDir: o.boardsDir, out: process.stdout }),
  doctor: async (o) => {
    const { doctorCommand } = await import('./host/doctor.ts');
    const { loadBoard } = await import('./config/board.ts');
    // A missing kernel_tree is what doctor reports, not a reason to stop before it can.
    return doctorCommand({ board: loadBoard(o.board, { boardsDir: o.boardsDir, hostPaths: false }), install: o.install, tests: o.tests });
  },
  build: async (o) => (await import('./commands/build.ts')).buildCommand(o),
  boot: async (o, cmd) => (await import('./commands/boot.ts')).bootCommand({ ...o, command: cmd }),
  run: async (o) => (await import('./commands/run.ts')).runCommand(o),
  test: async (o) => (await import('./commands/test.ts')).testCommand(o),
  compare: async (o, a, b) =>
    (await import('./compare/command.ts')).compareCommand({
      ...(a !== undefined ? { a } : {}),
      ...(b !== undefined ? { b } : {}),
      ...(o.against !== undefined ? { against: o.against } : {}),
      format: o.format,
      ...(o.out !== undefined ? { out: o.out } : {}),
      perfGate: o.perfGate === true,
      reportsRoot: o.reportsDir ?? join(PROJECT_ROOT, 'reports'),
    }),
  'last-good': async (o, run) =>
    (await import('./history/last-good.ts')).lastGoodCommand({
      ...(run !== undefined ? { run } : {}),
      field: o.field,
      reportsRoot: o.reportsDir ?? join(PROJECT_ROOT, 'reports'),
    }),
  bench: async (o) => (await import('./commands/bench.ts')).benchCommand(o),
  bisect: async (o) => (await import('./commands/bisect.ts')).bisectCommand(o),
  'lava-job': async (o) => (await import('./commands/lava.ts')).lavaJobCommand(o),
  'lava-results': async (o, source) => (await import('./commands/lava.ts')).lavaResultsCommand(o, source),
};

/** What a command's help says besides its options. */
interface CommandHelp {
  description: string;
  /** Its arguments, as commander declares them, with their help. */
  arguments?: [name: string, help?: string][];
  /** Text after the options: the exit codes, and anything the options cannot say. */
  after: string;
}

const HELP: Record<CommandName, CommandHelp> = {
  boards: {
    description: 'list the boards and validate every board file (exit 2 on any error)',
    after: exitCodes(['0', 'every board file is valid'], ['2', 'a board file is invalid (each error as file:line:col), or there is none']),
  },
  doctor: {
    description: 'check the host tools and packages the board needs; --install installs them (root)',
    after: exitCodes(['0', 'every host prerequisite is present (with --install: present now)'], ['2', `something is missing or the install failed; or ${BAD_INPUT}`]),
  },
  build: {
    description: 'cross-build the four stage modules against the board\'s kernel tree',
    after: exitCodes(
      ['0', 'every stage built without a warning'],
      ['1', 'a stage did not compile, or compiled with a warning (the driver\'s fault)'],
      ['2', `a tool or the kernel tree is missing, or a make did not finish; or ${BAD_INPUT}`],
    ),
  },
  boot: {
    description: 'boot (or connect to) the board, run CMD, print its output, exit with its exit code, shut down',
    arguments: [['<cmd...>', 'command to run on the board (after --)']],
    after:
      '\nThe words after -- are joined with single spaces into one command line for the board\'s shell,\n' +
      'as ssh joins them: `boot -- ls -l /tmp` runs `ls -l /tmp`. Quote what must stay one word or\n' +
      'reach the board\'s shell unexpanded: `boot -- \'echo "a  b" $HOME\'`.\n' +
      exitCodes(
        ['any', 'the exit code of CMD (128+N when signal N ended it)'],
        ['2', `also when the board could not be booted, reached or logged into (stderr says so); or ${BAD_INPUT}`],
      ),
  },
  run: {
    description: 'run the stage suites on a board (or a board matrix) and write the run\'s reports',
    after:
      '\nSeveral boards (--board a,b or repeated) or transports (--transport ssh,serial) make a board matrix:\n' +
      'every board over every transport, each an ordinary run with its own reports, plus one folder\n' +
      '(reports/matrix-<time>/, or --out) with a merged junit.xml (suites named "<board>/<transport>: stage N"),\n' +
      'summary.md and matrix.json. A board\'s entries run one after another, real boards side by side,\n' +
      'at most --jobs emulated boards at once.\n' +
      exitCodes(
        ['0', 'every check of every stage passed (a matrix: on every board and transport)'],
        ['1', 'a check failed, the kernel faulted or the board hung (the driver\'s fault); with --baseline also a regression; a matrix: any run failed and none had an infrastructure error'],
        ['2', `the harness could not do its job (board unreachable, tool missing, build infrastructure, history.json unreadable); a matrix: any run did; or ${BAD_INPUT}`],
      ),
  },
  test: {
    description: 'npm test: the harness\'s own tests and the stage suites (default board qemu-imx25)',
    after: exitCodes(
      ['0', 'every test and every stage check passed'],
      ['1', 'a test or a stage check failed'],
      ['2', `a stage run could not do its job (board unreachable, tool missing); or ${BAD_INPUT}`],
    ),
  },
  compare: {
    description: 'compare two runs (paths or run ids), or one with the last good run of its board (--against last-good); exit 1 on a regression',
    arguments: [['[runA]', 'the baseline; with --against: the run to compare (default latest)'], ['[runB]', 'the change (not with --against)']],
    after:
      '\nWith --against, run A is taken from history.json of the reports folder: the last good run (every stage\n' +
      'passed) or the run before it, of the same board and transport, appended before the run compared.\n' +
      exitCodes(['0', 'no regression'], ['1', 'a regression'], ['2', 'a run cannot be found or read (history.json included), no run to compare against; or bad input']),
  },
  'last-good': {
    description: 'print the last good run before RUN (default latest) of its board and transport in history.json: what compare --against last-good compares with',
    arguments: [['[run]', 'the run whose board and transport are looked up, and before which (default latest)']],
    after:
      '\nOne line on stdout, for a shell: the run id, the driver revision it tested (--field revision: a nightly\'s\n' +
      'good end for bisect --good), or its folder. Nothing when there is no good run yet, or (revision) when it\n' +
      'recorded none (its driver tree was not in git); stderr says which.\n' +
      exitCodes(['0', 'printed, or no good run yet (nothing printed)'], ['2', 'the run or history.json cannot be found or read; or bad input']),
  },
  bench: {
    description: 'benchmark a warm run of all four stages on the emulated board (breakdown + ratio to a bare ssh script)',
    after: exitCodes(['0', 'every timed run passed'], ['1', 'a timed run did not pass'], ['2', `the harness could not do its job; or ${BAD_INPUT}`]),
  },
  bisect: {
    description: 'find the driver commit between --good and --bad that broke a check (bisect.json/.md/.html)',
    after:
      '\nOnly commits that touch the driver tree are run, each with only the stages of the watched checks.\n' +
      'A run the harness could not finish is retried once, then skipped (as git bisect skip); so is a\n' +
      'commit whose module does not build, unless the build itself is watched (N:build).\n' +
      exitCodes(
        ['0', 'the first bad commit was found (or a range, when untestable commits leave it open)'],
        ['1', 'the regression does not reproduce: --good is not good, or --bad is not bad'],
        ['2', `the harness could not test an end; or bad input (revisions, checks, board file, options)`],
      ),
  },
  'lava-job': {
    description: 'write a LAVA job that runs the stages on a LAVA lab\'s board (one lava-test-case per check); with --server, submit it, wait and import its results',
    after:
      '\nThe job deploys the board\'s kernel, device tree and an initramfs with the stage modules, the probe and\n' +
      'the stage script (vnet-lava-images/ beside the job file); the emulated board is LAVA\'s qemu device type.\n' +
      'With --for lava-run (emulated board): the job for Debian\'s lava-run on this host, the device file rendered from\n' +
      'lava-server\'s qemu.jinja2 (vnet-lava-device.yaml) and vnet-lava-run.sh, which runs it (as root) in a private\n' +
      'mount namespace: sh vnet-lava-run.sh 2> lava.log; vnet-harness lava-results lava.log\n' +
      exitCodes(
        ['0', 'the job was written (with --server: the imported run passed)'],
        ['1', 'a module did not build; with --server: a check failed on the LAVA board'],
        ['2', `with --server: the server refused or the job did not complete (Incomplete, Canceled, timeout); or ${BAD_INPUT}`],
      ),
  },
  'lava-results': {
    description: 'import a LAVA job\'s results (results.yaml, or JOB_ID with --server) as a run: results.json, the reports, the history',
    arguments: [['<source>', 'LAVA\'s results/<job>/yaml export, a job log (lava-run\'s stderr: its lvl: results records), or a job id (with --server)']],
    after: exitCodes(
      ['0', 'every check of the job passed'],
      ['1', 'a check failed on the LAVA board'],
      ['2', `the job did not complete, a check was not reported, the server or the file could not be read; or ${BAD_INPUT}`],
    ),
  },
};

/** Builds the commander program; every action sets `code`. */
function program(actions: CommandActions, setCode: (code: number) => void): Command {
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

  for (const name of COMMANDS) {
    const help = HELP[name];
    const command = cli.command(name).description(help.description);
    for (const option of commanderOptions(name)) command.addOption(option);
    for (const [argument, text] of help.arguments ?? []) command.argument(argument, text);
    command.addHelpText('after', help.after).action(async function (this: Command) {
      // The table made these options and arguments; the types say so for each command.
      const action = actions[name] as (options: object, ...args: unknown[]) => Promise<number>;
      setCode(await action(this.opts(), ...this.processedArgs));
    });
  }
  return cli;
}

/**
 * Runs the CLI with argv (as process.argv) and returns the exit code. Tests
 * give their own `actions` to see what a command would get.
 */
export async function main(argv: string[], actions: CommandActions = ACTIONS): Promise<number> {
  let code = 0;
  const cli = program(actions, (c) => (code = c));
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
