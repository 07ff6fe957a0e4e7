// The command line as a user meets it: `--version`, usage errors that print
// one line and exit 2 (a stack trace only with --debug), each command's help
// with its exit codes, and a cross_compile given as an absolute prefix. Bad
// input is refused before any board is touched: every `run` here names a real
// board whose SSH port is closed, and the lock and cache live in a temp dir.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { failureMessage, main } from '../src/cli.ts';
import { HarnessError } from '../src/errors.ts';

const repo = path.resolve(import.meta.dirname, '..');
const driver = path.join(repo, 'kernel-modules', 'virt_net');
const STACK_LINE = /^\s+at /m;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('vnet-harness command line (subprocess)', function () {
  this.timeout(120_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  /** Runs `node bin/vnet-harness.js ARGS` in the repository. */
  const cli = (args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      // spawns: node
      execFile(process.execPath, [path.join(repo, 'bin', 'vnet-harness.js'), ...args], { cwd: repo, env, timeout: 60_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  /** A real board reached over SSH on a closed local port, with a kernel tree that exists. */
  const realBoard = (extra: Record<string, string> = {}): string => {
    const tree = path.join(tmp, 'kernel-tree');
    fs.mkdirSync(tree, { recursive: true });
    const keys: Record<string, string> = {
      name: 'cli-board',
      arch: 'arm',
      cross_compile: 'arm-linux-gnueabi-',
      kernel_tree: tree,
      ...extra,
    };
    const file = path.join(tmp, `board-${Object.keys(extra).join('-') || 'plain'}.yaml`);
    fs.writeFileSync(
      file,
      [
        ...Object.entries(keys).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
        'ssh:',
        '  host: 127.0.0.1',
        '  port: 1',
        '  user: root',
        '  key_file: ./no-key',
        '  host_key: SHA256:uj741gNBnxSUVnv9MNUCuesEH/6p9JrIaVXjCMGalj8',
        '  connect_timeout: 2',
        '',
      ].join('\n'),
    );
    return file;
  };

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-cli-'));
    env = { ...process.env, VNET_HARNESS_CACHE: path.join(tmp, 'cache'), VNET_HARNESS_LOCK_DIR: path.join(tmp, 'locks') };
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A usage error: exit 2, nothing on stdout, one line on stderr naming `what`, no stack trace. */
  const expectUsageError = (r: CliResult, what: RegExp) => {
    expect(r.stderr, r.stderr).not.to.match(STACK_LINE);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trimEnd().split('\n'), r.stderr).to.have.length(1);
    expect(r.stderr).to.match(what);
  };

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r).to.deep.equal({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('run --stages 7 and --stages a,1: one line, exit 2, before the board is touched', async () => {
    const board = realBoard();
    const [seven, letters] = await Promise.all([
      cli(['run', '--board', board, '--stages', '7']),
      cli(['run', '--board', board, '--stages', 'a,1']),
    ]);
    expectUsageError(seven, /--stages.*"7"/);
    expectUsageError(letters, /--stages.*"a,1"/);
  });

  it('--modules naming no directory: one line, exit 2 (run and build)', async () => {
    const board = realBoard();
    const [run, build] = await Promise.all([
      cli(['run', '--board', board, '--modules', '/nonexistent']),
      cli(['build', '--board', board, '--modules', '/nonexistent']),
    ]);
    expectUsageError(run, /--modules.*\/nonexistent.*no such directory/);
    expectUsageError(build, /--modules.*\/nonexistent.*no such directory/);
  });

  it('an unknown option or command: one line, exit 2 (no help page)', async () => {
    const [option, command] = await Promise.all([cli(['boards', '--bogus']), cli(['bogus'])]);
    expectUsageError(option, /unknown option '--bogus'/);
    expectUsageError(command, /unknown command 'bogus'/);
  });

  it('a YAML alias bomb is a board file error with file:line:col, exit 2, no stack trace', async () => {
    const dir = path.join(tmp, 'boards');
    fs.mkdirSync(dir);
    const lines = ['name: bomb', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    fs.writeFileSync(path.join(dir, 'bomb.yaml'), `${lines.join('\n')}\n`);
    const [boards, build] = await Promise.all([cli(['boards', '--boards-dir', dir]), cli(['build', '--board', path.join(dir, 'bomb.yaml')])]);
    for (const r of [boards, build]) {
      expect(r.stderr + r.stdout).not.to.match(STACK_LINE);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr + r.stdout).to.match(/bomb\.yaml:3:\d+: YAML: more than 100 alias expansions/);
    }
  });

  it('boards exits 2 on an invalid board file, as build does for the same file', async () => {
    const dir = path.join(tmp, 'boards');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'name: broken\narch: 7\n');
    const [boards, build] = await Promise.all([cli(['boards', '--boards-dir', dir]), cli(['build', '--board', path.join(dir, 'broken.yaml')])]);
    expect(boards.code, boards.stdout).to.equal(2);
    expect(build.code, build.stderr).to.equal(2);
    expect(boards.stdout).to.contain('broken.yaml:2:7: arch: expected a string, found the number 7');
  });

  it('doctor on a board whose kernel_tree is not on this host reports the missing tree instead of refusing the file', async () => {
    const r = await cli(['doctor', '--board', 'imx257']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.not.contain('is not valid');
    expect(r.stdout).to.contain('missing path  /opt/imx257/linux-2.6.31/Makefile: kernel_tree /opt/imx257/linux-2.6.31 is not a kernel tree (no Makefile)');
  });

  it('cross_compile as an absolute prefix: build runs make with it (a fake kernel tree refuses to build)', async () => {
    // A toolchain outside PATH, named by its absolute prefix, as a BSP installs it.
    const bin = path.join(tmp, 'bsp', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const prefix = path.join(bin, 'arm-bsp-linux-gnueabi-');
    fs.writeFileSync(`${prefix}gcc`, '#!/bin/sh\necho "arm-bsp-linux-gnueabi-gcc (BSP) 4.4.1"\n', { mode: 0o755 });
    const board = realBoard({ cross_compile: prefix });
    // A kernel tree that passes the build's checks; its Makefile says what it was given and fails.
    const tree = path.join(tmp, 'kernel-tree');
    fs.mkdirSync(path.join(tree, 'include', 'generated'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'include', 'generated', 'utsrelease.h'), '#define UTS_RELEASE "2.6.31-bsp"\n');
    fs.writeFileSync(path.join(tree, 'Module.symvers'), '');
    fs.writeFileSync(path.join(tree, 'Makefile'), '%:\n\t@echo "*** fake kernel tree: CROSS_COMPILE=$(CROSS_COMPILE)"; exit 1\n');
    const r = await cli(['build', '--board', board, '--modules', driver, '--json']);
    expect(r.stderr).not.to.contain('not found in PATH');
    // An old tree: the compat branches it takes were never compiled, and build says so first.
    expect(r.stderr).to.contain('warning: kernel 2.6.31-bsp is older than 6.1, the oldest kernel these drivers were built and tested against');
    expect(r.code, r.stderr).to.equal(1);
    const results = JSON.parse(r.stdout) as { stage: number; ok: boolean; diagnostics: { message: string }[] }[];
    expect(results.map((s) => s.ok)).to.deep.equal([false, false, false, false]);
    const messages = results[0]!.diagnostics.map((d) => d.message);
    expect(messages).to.have.length(1);
    expect(messages[0]!.split(' | ')[0]).to.equal(`*** fake kernel tree: CROSS_COMPILE=${prefix}`);
  });

  it('cross_compile naming a missing absolute prefix: build says where it looked, no apt package made of a path', async () => {
    const board = realBoard({ cross_compile: '/opt/bsp/bin/arm-linux-gnueabi-' });
    const tree = path.join(tmp, 'kernel-tree');
    fs.mkdirSync(path.join(tree, 'include', 'generated'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'include', 'generated', 'utsrelease.h'), '#define UTS_RELEASE "2.6.31-bsp"\n');
    fs.writeFileSync(path.join(tree, 'Module.symvers'), '');
    fs.writeFileSync(path.join(tree, 'Makefile'), 'all:\n');
    const r = await cli(['build', '--board', board, '--modules', driver]);
    expect(r.code).to.equal(2);
    expect(r.stderr).not.to.contain('gcc-/opt');
    expect(r.stderr).to.contain('/opt/bsp/bin/arm-linux-gnueabi-gcc (cross_compile) does not exist or is not executable');
  });
});

describe('vnet-harness command line (in process)', () => {
  /** Runs main() with the words after `vnet-harness`, capturing stdout. */
  async function helpOf(...words: string[]): Promise<{ code: number; text: string }> {
    let text = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      const code = await main(['node', 'vnet-harness', ...words]);
      return { code, text };
    } finally {
      process.stdout.write = write;
    }
  }

  it('every command\'s --help states its exit codes', async () => {
    const commands = ['boards', 'doctor', 'build', 'boot', 'run', 'test', 'compare', 'bench'];
    for (const command of commands) {
      const { code, text } = await helpOf(command, '--help');
      expect(code, command).to.equal(0);
      expect(text, `${command} --help`).to.match(/\nExit codes:\n( {2}\S.*\n)+/);
      expect(text, `${command} --help`).to.match(/^ {2}2 /m);
    }
    expect((await helpOf('boards', '--help')).text).to.match(/^ {2}2 +a board file is invalid/m);
  });

  it('boot --help says how the words after -- are joined', async () => {
    const { text } = await helpOf('boot', '--help');
    expect(text).to.contain('joined with single spaces into one command line for the board\'s shell');
  });

  it('an unexpected error is one line with a hint; --debug adds the stack trace', () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'x')");
    expect(failureMessage(error, false)).to.equal(
      "vnet-harness: unexpected TypeError: Cannot read properties of undefined (reading 'x') (run with --debug for the stack trace)\n",
    );
    expect(failureMessage(error, true)).to.equal(`vnet-harness: ${error.stack}\n`);
  });

  it('a harness error prints its message only; --debug adds the stack trace and its cause', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const error = new HarnessError('board b: connection-refused', { cause });
    expect(failureMessage(error, false)).to.equal('vnet-harness: board b: connection-refused\n');
    const debug = failureMessage(error, true);
    expect(debug).to.match(/^vnet-harness: HarnessError: board b: connection-refused\n\s+at /);
    expect(debug).to.contain(`caused by: ${cause.stack}`);
  });
});
