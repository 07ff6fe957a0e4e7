// The command line's options as typed data, as vitest keeps its CLI options:
// each option once, with its flags, value type, default and help, and the
// commands that take it (with what differs for one of them). src/cli.ts builds
// every command's options from this table, and each command's options type is
// derived from it (CliOptions<'run'>), so an option cannot exist in one command
// and be forgotten in another, nor be typed one way here and another there.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { expandHome } from './config/paths.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from './paths.ts';
import { parseCheckList } from './bisect/signal.ts';
import { parseStageList } from './stages/plan.ts';

export const COMMANDS = ['boards', 'doctor', 'build', 'boot', 'run', 'test', 'compare', 'last-good', 'bench', 'bisect', 'lava-job', 'lava-results'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** What differs for one command that takes an option. */
export interface OptionUse {
  /** Help for this command, when the option means something narrower there. */
  help?: string;
  /** The value's name in this command's help, e.g. `<file>` where the others say `<dir>`. */
  value?: string;
  /** The option has no default in this command (its absence means something). */
  noDefault?: true;
  /** The command cannot run without it: a missing one is a usage error. */
  required?: true;
  /**
   * The option takes several values: repeated, or as a comma list (`--board a,b --board c`).
   * Each is checked (choices, parse) when parsed; the command gets them as one comma list.
   */
  list?: true;
}

/** One option of the table. Its attribute name is the table key; its long flag the key in kebab case. */
export interface OptionSpec {
  /** Short flag, e.g. `-b`. */
  short?: string;
  /** The value's name in help, e.g. `<name|file>`; an option without one is a switch (boolean). */
  value?: string;
  help: string;
  default?: unknown;
  /** Checks the value when parsed, so a bad one is a usage error before anything starts; returns the value kept. */
  parse?: (text: string) => unknown;
  /** The values allowed (checked by commander, listed in help); not together with parse. */
  choices?: readonly string[];
  /** The commands that take the option, each with what differs for it. */
  in: { readonly [C in CommandName]?: OptionUse };
}

/** `--stages` checked when parsed, so a bad list is a usage error before anything starts. */
export function stageListArg(value: string): string {
  try {
    parseStageList(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

/** `--modules` must name a directory: found now, not as a scandir error after the board was locked. */
export function directoryArg(value: string): string {
  const dir = resolve(expandHome(value));
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidArgumentError(`no such directory: ${dir}`);
  return value;
}

/** A whole number of at least 1. */
export function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of at least 1, got "${value}"`);
  return n;
}

/** `--check` checked when parsed (its syntax; whether a stage has the check is known once the suites are loaded). */
export function checkListArg(value: string): string {
  try {
    parseCheckList(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

const PERF_GATE_HELP = 'a timing slowdown fails also on an emulated board (there it is only reported by default)';

/**
 * Every option of every command, in the order help lists them. Defaults are
 * what a command gets when the option is not given.
 */
export const OPTIONS = {
  good: { value: '<git-rev>', help: 'a driver revision where the watched checks pass', in: { bisect: { required: true } } },
  bad: { value: '<git-rev>', help: 'a later driver revision where they fail', in: { bisect: { required: true } } },
  board: {
    short: '-b',
    value: '<name|file>',
    help: 'board name in boards/ or path to a board YAML',
    default: 'qemu-imx25',
    in: {
      doctor: {},
      build: {},
      boot: {},
      run: { help: 'board name in boards/ or path to a board YAML; several (repeated, or a comma list) run a board matrix', list: true },
      bench: {},
      test: { help: 'run only the stage suites, on this board', noDefault: true },
      bisect: {},
      'lava-job': {},
      'lava-results': { help: 'the board the LAVA job ran on (name in boards/ or a board YAML), for the results\' board' },
    },
  },
  boardsDir: {
    value: '<dir>',
    help: 'where board names are looked up',
    default: join(PROJECT_ROOT, 'boards'),
    in: { boards: {}, doctor: {}, build: {}, boot: {}, run: {}, test: {}, bench: {}, bisect: {}, 'lava-job': {}, 'lava-results': {} },
  },
  transport: {
    short: '-t',
    value: '<kind>',
    help: 'how commands reach the board (default: the board\'s default_transport)',
    choices: ['ssh', 'serial'],
    in: {
      boot: {},
      run: { help: 'how commands reach the board: ssh, serial (default: the board\'s default_transport); both (ssh,serial) run each board over each, a matrix', list: true },
      test: {},
      bisect: {},
    },
  },
  jobs: {
    short: '-j',
    value: '<n>',
    help: 'board matrix: how many emulated boards run at once (default: half the cores, at least 1); real boards run side by side, each board\'s entries one after another',
    parse: positiveIntArg,
    in: { run: {} },
  },
  modules: {
    short: '-m',
    value: '<dir>',
    help: 'driver tree under test',
    default: DEFAULT_MODULES_DIR,
    parse: directoryArg,
    in: {
      build: { help: 'driver tree to build (a Kbuild producing virt_net1.ko … virt_net4.ko)' },
      run: {},
      bisect: { help: 'driver tree whose git history is bisected (its repository holds --good and --bad)' },
      'lava-job': { help: 'driver tree whose modules the job\'s initramfs carries' },
      'lava-results': { help: 'the driver tree the LAVA job tested (its revision and content hash go into the results)' },
    },
  },
  stages: {
    short: '-s',
    value: '<list>',
    help: 'stages to run, e.g. 1,3',
    default: '1,2,3,4',
    parse: stageListArg,
    in: {
      run: {},
      bisect: {
        help: 'stages run at both ends to find what regressed (default all; with --check: where the checks are looked for); each step runs only the stages of the watched checks',
        noDefault: true,
      },
      'lava-job': { help: 'stages the job runs, e.g. 1,3' },
      'lava-results': { help: 'the stages the LAVA job ran: a stage with no result at all is then an error (default: the stages found in the results)', noDefault: true },
    },
  },
  check: {
    value: '<ids>',
    help: 'watch these checks (comma list: mac-address, or 3:mac-address for one stage; 3:build for the module build) instead of those failing at --bad and passing at --good',
    parse: checkListArg,
    in: { bisect: {} },
  },
  format: { short: '-f', value: '<fmt>', help: 'report format', choices: ['markdown', 'html', 'json'], default: 'markdown', in: { compare: {} } },
  out: {
    short: '-o',
    value: '<dir>',
    help: 'run directory (default reports/<run-id>)',
    in: {
      run: { help: 'run directory (default reports/<run-id>); a board matrix: the matrix folder, with a run folder per board and transport in it (default reports/matrix-<time>)' },
      compare: { value: '<file>', help: 'where to write the report (default: compare-<idA>-vs-<idB>.<ext> beside run B\'s folder; - for stdout)' },
      bisect: { help: 'bisection directory: bisect.json/.md/.html and one folder per run (default reports/bisect-<time>)' },
      'lava-job': { value: '<file>', help: 'where to write the job (default vnet-lava-job.yaml); its images go into vnet-lava-images/ beside it' },
      'lava-results': { help: 'run directory for the imported run (default reports/<run-id>, added to the history)' },
    },
  },
  reportsDir: {
    value: '<dir>',
    help: 'the reports folder: runs by id, latest, index.html and history.json (default: reports/ of the harness)',
    in: {
      run: {},
      test: { help: 'the reports folder of the stage runs: runs by id, latest, index.html and history.json (default: reports/ of the harness)' },
      compare: { help: 'the reports folder where run ids, latest and history.json are looked up (default: reports/ of the harness)' },
      'last-good': { help: 'the reports folder where the run and history.json are looked up (default: reports/ of the harness)' },
      'lava-job': { help: 'with --server: the reports folder the imported run goes into (default: reports/ of the harness)' },
      'lava-results': {},
    },
  },
  server: {
    value: '<url>',
    help: 'a LAVA server (http[s]://host): submit the job there (REST API v0.2), wait for it, import its results as a run',
    in: { 'lava-job': {}, 'lava-results': { help: 'the LAVA server to fetch the results of job JOB_ID from (REST API v0.2)' } },
  },
  tokenEnv: {
    value: '<name>',
    help: 'the environment variable holding the LAVA API token (sent as Authorization: Token …); the token itself never goes on the command line',
    in: { 'lava-job': {}, 'lava-results': {} },
  },
  timeout: { value: '<s>', help: 'seconds to wait for the LAVA job to finish (default 3600)', parse: positiveIntArg, in: { 'lava-job': {}, 'lava-results': {} } },
  pollInterval: { value: '<s>', help: 'seconds between polls of the LAVA job\'s state (default 10)', parse: positiveIntArg, in: { 'lava-job': {}, 'lava-results': {} } },
  artifactsUrl: {
    value: '<url>',
    help: 'where the LAVA lab fetches the job\'s images from (the folder vnet-lava-images/ served there); default: file:// URLs of the files here',
    in: { 'lava-job': {} },
  },
  for: {
    value: '<who>',
    help: 'who runs the job: lab (a LAVA server\'s dispatcher; valid by the server\'s strict schema) or lava-run (Debian\'s lava-dispatcher on this host, emulated board only: the job with the qemu image_arg keys, plus the device file rendered from lava-server\'s qemu.jinja2 and a script running lava-run in a private mount namespace)',
    choices: ['lab', 'lava-run'],
    default: 'lab',
    in: { 'lava-job': {} },
  },
  deviceType: { value: '<type>', help: 'a real board: the lab\'s LAVA device type, booted by u-boot (the emulated board is LAVA\'s qemu)', in: { 'lava-job': {} } },
  against: {
    value: '<which>',
    help: 'compare the run (default latest) with the last good run (last-good) or the run before it (previous) of its board and transport in history.json, instead of naming both runs',
    choices: ['last-good', 'previous'],
    in: { compare: {} },
  },
  field: {
    value: '<what>',
    help: 'what to print of the last good run: its run id, the driver revision it tested (git), or its folder',
    choices: ['run-id', 'revision', 'dir'],
    default: 'run-id',
    in: { 'last-good': {} },
  },
  rev: { value: '<git-rev>', help: 'test the driver tree as it was at this git revision', in: { run: {} } },
  baseline: { value: '<git-rev>', help: 'also run this revision and compare the two runs', in: { run: {} } },
  perfGate: { help: PERF_GATE_HELP, in: { run: { help: `with --baseline: ${PERF_GATE_HELP}` }, compare: {} } },
  grep: { value: '<pattern>', help: 'only tests whose title matches', in: { test: {} } },
  unit: {
    help: 'only the harness\'s own tests that need no kernel build and no board (suites tagged @board are left out)',
    default: false,
    in: { test: {} },
  },
  install: { help: 'install what is missing with apt-get', default: false, in: { doctor: {} } },
  tests: { help: 'also the packages the harness\'s own tests (npm test) use', default: false, in: { doctor: {} } },
  json: { help: 'print the build results as JSON', default: false, in: { build: {} } },
} as const satisfies Record<string, OptionSpec>;

type Table = typeof OPTIONS;
export type OptionName = keyof Table;

/** The type of an option's value in command C: a comma list (string) where C takes several, else ValueOf. */
type ValueIn<S, C extends CommandName> = S extends { in: { [K in C]: { list: true } } } ? string : ValueOf<S>;

/** The type of an option's value: boolean for a switch, else one of its choices, what its parser returns, or the string. */
type ValueOf<S> = S extends { value: string }
  ? S extends { choices: readonly (infer C)[] }
    ? C
    : S extends { parse: (text: string) => infer R }
      ? R
      : string
  : boolean;

/** Whether command C always has a value for the option (a default it does not drop, or it is required). */
type Defaulted<S, C extends CommandName> = S extends { in: { [K in C]: { required: true } } }
  ? true
  : S extends { default: unknown }
    ? S extends { in: { [K in C]: { noDefault: true } } }
      ? false
      : true
    : false;

type TakenBy<C extends CommandName> = { [K in OptionName]: C extends keyof Table[K]['in'] ? K : never }[OptionName];

/** The options of command C as its action receives them: defaulted ones always there, the others optional. */
export type CliOptions<C extends CommandName> = {
  [K in TakenBy<C> as Defaulted<Table[K], C> extends true ? K : never]: ValueIn<Table[K], C>;
} & {
  [K in TakenBy<C> as Defaulted<Table[K], C> extends true ? never : K]?: ValueIn<Table[K], C>;
};

/** `boardsDir` → `--boards-dir`. */
export function longFlag(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The table's rows as a command uses them: name, flags, help and default. */
export function optionsOf(command: CommandName): { name: OptionName; flags: string; help: string; default?: unknown; spec: OptionSpec }[] {
  return (Object.entries(OPTIONS) as [OptionName, OptionSpec][]).flatMap(([name, spec]) => {
    const use = spec.in[command];
    if (!use) return [];
    const value = use.value ?? spec.value;
    const flags = `${spec.short ? `${spec.short}, ` : ''}${longFlag(name)}${value ? ` ${value}` : ''}`;
    const defaulted = 'default' in spec && !use.noDefault;
    return [{ name, flags, help: use.help ?? spec.help, ...(defaulted ? { default: spec.default } : {}), spec }];
  });
}

/** Splits a comma list. */
export function listItems(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * The parser of an option a command takes several times or as a comma list:
 * every item checked, all joined into one comma list (the first given value
 * replaces the default, the next ones add to it).
 */
function listParser(spec: OptionSpec): (value: string, previous: unknown) => string {
  let given = false;
  return (value, previous) => {
    const items = listItems(value);
    if (items.length === 0) throw new InvalidArgumentError('expected a value or a comma list of values');
    for (const item of items) {
      if (spec.choices && !spec.choices.includes(item)) throw new InvalidArgumentError(`"${item}" is not one of ${spec.choices.join(', ')}`);
      spec.parse?.(item);
    }
    const joined = given && typeof previous === 'string' ? `${previous},${items.join(',')}` : items.join(',');
    given = true;
    return joined;
  };
}

/** The commander options of a command, built from the table. */
export function commanderOptions(command: CommandName): Option[] {
  return optionsOf(command).map(({ flags, help, spec, ...row }) => {
    const option = new Option(flags, help);
    if (spec.in[command]?.list) option.argParser(listParser(spec));
    else if (spec.choices) option.choices(spec.choices);
    else if (spec.parse) option.argParser(spec.parse);
    if ('default' in row) option.default(row.default);
    if (spec.in[command]?.required) option.makeOptionMandatory();
    return option;
  });
}
