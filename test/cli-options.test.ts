// src/cli-options.ts: the options of every command as one typed table. What
// each command's action receives (defaults included), that every row shows up
// in the help of exactly the commands it names, and that the derived types
// hold what the table says (checked by tsc: this file is type-checked).
import { expect } from 'chai';
import { join } from 'node:path';
import { COMMANDS, longFlag, OPTIONS, optionsOf, type CliOptions, type CommandName } from '../src/cli-options.ts';
import { main, type CommandActions } from '../src/cli.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../src/paths.ts';

const BOARDS_DIR = join(PROJECT_ROOT, 'boards');

/** Runs the command line with actions that only record what they were given; returns that and the exit code. */
async function parsed(...words: string[]): Promise<{ code: number; command?: CommandName; options?: object; args?: unknown[] }> {
  let seen: { command: CommandName; options: object; args: unknown[] } | undefined;
  const record =
    (command: CommandName) =>
    async (options: object, ...args: unknown[]): Promise<number> => {
      seen = { command, options: { ...options }, args };
      return 7;
    };
  const actions = Object.fromEntries(COMMANDS.map((c) => [c, record(c)])) as unknown as CommandActions;
  const code = await main(['node', 'vnet-harness', ...words], actions);
  return { code, ...seen };
}

/** Captures stdout while `main` prints a help page. */
async function helpOf(command: CommandName): Promise<string> {
  let text = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await main(['node', 'vnet-harness', command, '--help']);
  } finally {
    process.stdout.write = write;
  }
  return text;
}

describe('cli-options: one table of options for every command', () => {
  it('each command gets the table\'s defaults, and its arguments, and exits with what its action returned', async () => {
    const board = 'qemu-imx25';
    expect(await parsed('boards')).to.deep.equal({ code: 7, command: 'boards', options: { boardsDir: BOARDS_DIR }, args: [] });
    expect((await parsed('doctor')).options).to.deep.equal({ board, boardsDir: BOARDS_DIR, install: false, tests: false });
    expect((await parsed('build')).options).to.deep.equal({ board, boardsDir: BOARDS_DIR, modules: DEFAULT_MODULES_DIR, json: false });
    expect(await parsed('boot', '--', 'ls', '-l', '/tmp')).to.deep.equal({ code: 7, command: 'boot', options: { board, boardsDir: BOARDS_DIR }, args: [['ls', '-l', '/tmp']] });
    expect((await parsed('run')).options).to.deep.equal({ board, boardsDir: BOARDS_DIR, modules: DEFAULT_MODULES_DIR, stages: '1,2,3,4' });
    // test without --board runs the harness's tests too: no default board.
    expect((await parsed('test')).options).to.deep.equal({ boardsDir: BOARDS_DIR, unit: false });
    expect(await parsed('compare', 'a', 'b')).to.deep.equal({ code: 7, command: 'compare', options: { format: 'markdown' }, args: ['a', 'b'] });
    expect((await parsed('bench')).options).to.deep.equal({ board, boardsDir: BOARDS_DIR });
  });

  it('gives a command the values it was given, checked when parsed', async () => {
    const r = await parsed('run', '-b', 'imx257', '-t', 'serial', '-m', PROJECT_ROOT, '-s', '3,1', '-o', 'out', '--rev', 'HEAD~1', '--baseline', 'main', '--perf-gate');
    expect(r.options).to.deep.equal({
      board: 'imx257',
      boardsDir: BOARDS_DIR,
      transport: 'serial',
      modules: PROJECT_ROOT,
      stages: '3,1',
      out: 'out',
      rev: 'HEAD~1',
      baseline: 'main',
      perfGate: true,
    });
    expect((await parsed('test', '--board', 'imx257', '--unit', '--grep', 'ping')).options).to.deep.equal({ board: 'imx257', boardsDir: BOARDS_DIR, unit: true, grep: 'ping' });
    expect((await parsed('compare', '-f', 'json', '--out', '-', '--perf-gate', 'a', 'b')).options).to.deep.equal({ format: 'json', out: '-', perfGate: true });
  });

  it('run takes several boards and transports, repeated or as comma lists (a board matrix), each checked when parsed', async () => {
    const r = await parsed('run', '--board', 'qemu-imx25', '-b', 'imx257,lab', '-t', 'ssh', '--transport', 'serial', '-j', '2');
    expect(r.options).to.deep.include({ board: 'qemu-imx25,imx257,lab', transport: 'ssh,serial', jobs: 2 });
    // One value replaces the default; it does not add to it.
    expect((await parsed('run', '-b', 'imx257')).options).to.deep.include({ board: 'imx257' });
    expect((await parsed('run', '-t', 'ssh,usb')).code).to.equal(2);
    expect((await parsed('run', '-j', '0')).code).to.equal(2);
    // Other commands take one transport, checked against the choices as before.
    expect((await parsed('boot', '-t', 'ssh,serial', '--', 'true')).code).to.equal(2);
  });

  it('each row is in the help of exactly the commands it names, with its help text and default', async () => {
    for (const command of COMMANDS) {
      const help = await helpOf(command);
      const listed = [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]).filter((f) => f !== '--help');
      const rows = optionsOf(command);
      expect(listed, command).to.deep.equal(rows.map((r) => longFlag(r.name)));
      const flat = help.replace(/\s+/g, ' ');
      for (const row of rows) {
        expect(flat, `${command} ${row.flags}`).to.contain(`${row.flags} ${row.help}`);
        // `(default: X)`, or `(choices: …, default: X)`.
        if ('default' in row) expect(flat, `${command} ${row.flags}`).to.contain(`default: ${JSON.stringify(row.default)})`);
      }
    }
  });

  it('run, test and bench take the board options from the same rows', () => {
    const row = (command: CommandName, name: string) => optionsOf(command).find((r) => r.name === name);
    for (const name of ['board', 'boardsDir'] as const) {
      expect(row('test', name)?.spec).to.equal(OPTIONS[name]);
      expect(row('bench', name)?.spec).to.equal(OPTIONS[name]);
      expect(row('run', name)?.spec).to.equal(OPTIONS[name]);
    }
    expect(row('run', 'transport')?.spec).to.equal(row('test', 'transport')?.spec);
  });

  it('types each command\'s options from the table (tsc checks the lines below)', () => {
    const run: CliOptions<'run'> = { board: 'b', boardsDir: 'd', modules: 'm', stages: '1', transport: 'ssh', perfGate: true };
    // @ts-expect-error stages has a default in run: always there
    const noStages: CliOptions<'run'> = { board: 'b', boardsDir: 'd', modules: 'm' };
    // @ts-expect-error transport is one of its choices (run takes a comma list of them: a string)
    const usb: CliOptions<'test'> = { boardsDir: 'd', unit: false, transport: 'usb' };
    // test has no default board: it may be absent.
    const test: CliOptions<'test'> = { boardsDir: 'd', unit: false };
    // @ts-expect-error bench takes no transport
    const bench: CliOptions<'bench'> = { board: 'b', boardsDir: 'd', transport: 'ssh' };
    const compare: CliOptions<'compare'> = { format: 'html' };
    expect([run, noStages, usb, test, bench, compare]).to.have.length(6);
  });
});
