// SerialTransport: login, marker-wrapped commands, exit codes and signals,
// timeouts and recovery, damaged bytes, uploads and reads — first against a
// scripted board on serialport's mock binding (any chunking, kernel messages
// anywhere, damage on demand), then against a real busybox shell on a real pty.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockBinding } from './fixtures/serial/mock-binding.ts';
import { expect } from 'chai';
import { BoardError, HarnessError } from '../src/errors.ts';
import { SerialConsole } from '../src/transport/console.ts';
import { describeGarbage, findTolerant, printfSplit } from '../src/transport/markers.ts';
import { exitFromShellStatus } from '../src/transport/serial-exit.ts';
import { SerialTransport } from '../src/transport/serial.ts';
import { haveRealShellTools, makeBoardBin } from './fixtures/serial/board-bin.ts';
import { openMockBoard, type FakeShellOptions, type MockBoard } from './fixtures/serial/fake-shell.ts';
import { startRealShellBoard, type RealShellBoard } from './fixtures/serial/real-shell.ts';
import { requireOnHost } from './helpers/require-host.ts';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Runs `promise`, expecting a rejection; returns the error. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, got a result');
}

describe('serial markers', () => {
  it('finds a literal cut by whole kernel lines, and only then', () => {
    const prompt = 'vnet-3f9a# ';
    expect(findTolerant(`xx${prompt}`, prompt)).to.deep.equal({ start: 2, end: 13, gaps: 0 });
    const cut = 'out\r\nvnet-3[   12.345678] virt_net: link up\r\nf9a# ';
    const m = findTolerant(cut, prompt)!;
    expect(cut.slice(m.start, m.end)).to.equal('vnet-3[   12.345678] virt_net: link up\r\nf9a# ');
    expect(m.gaps).to.equal(1);
    const twice = 'vn[ 1.0] a\r\n[ 1.1] b\r\net-3f9[ 1.2] c\r\na# ';
    expect(findTolerant(twice, prompt)?.gaps).to.equal(2);
    // The rest must resume at a line start: a mid-line continuation is not the prompt.
    expect(findTolerant('vnet-3 junk f9a# ', prompt)).to.equal(undefined);
    expect(findTolerant("PS1='vnet-''3f9a# '\r\n", prompt)).to.equal(undefined);
  });

  it('prints a marker whose command text never contains it', () => {
    const cmd = printfSplit('VNS:', 'abcd1234:');
    expect(cmd).to.equal(`printf '%s%s\\n' 'VNS:' 'abcd1234:'`);
    expect(cmd).to.not.contain('VNS:abcd1234:');
  });

  it('describes garbage with the hex of unexpected bytes', () => {
    const text = describeGarbage(Buffer.from([0x41, 0xff, 0x0d, 0x0a, 0x00]));
    expect(text).to.contain('2 unexpected byte(s): 0xff 0x00');
    expect(text).to.contain('"A\\xff\\r\\n\\x00"');
  });

  it('maps 128+N to a signal and keeps other statuses', () => {
    expect(exitFromShellStatus(0)).to.deep.equal({ exitCode: 0 });
    expect(exitFromShellStatus(127)).to.deep.equal({ exitCode: 127 });
    expect(exitFromShellStatus(128)).to.deep.equal({ exitCode: 128 });
    expect(exitFromShellStatus(137)).to.deep.equal({ exitCode: null, signal: 'KILL' });
    expect(exitFromShellStatus(139)).to.deep.equal({ exitCode: null, signal: 'SEGV' });
    expect(exitFromShellStatus(130)).to.deep.equal({ exitCode: null, signal: 'INT' });
    expect(exitFromShellStatus(200)).to.deep.equal({ exitCode: 200 });
  });
});

describe('SerialTransport on the mock binding (scripted board)', function () {
  this.timeout(20_000);
  let dir: string;
  let bin: string;
  let board: MockBoard | undefined;

  before(function () {
    requireOnHost(this, haveRealShellTools(), 'busybox and socat (Debian busybox, socat)');
    dir = mkdtempSync(join(tmpdir(), 'vnet-serial-mock-'));
    bin = makeBoardBin(dir);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    board?.shell.stop();
    await board?.console.close();
    board = undefined;
    MockBinding.reset();
  });

  async function connect(
    options: Partial<FakeShellOptions> = {},
    login: { user: string; password?: string } = { user: 'root' },
  ): Promise<SerialTransport> {
    board = await openMockBoard('/dev/ROBOT', { cwd: dir, path: bin, ...options });
    const transport = new SerialTransport(board.console, { board: 'mock-imx25', recoveryTimeoutMs: 1000, garbleGraceMs: 400 });
    await transport.login({ ...login, timeoutMs: 8000, idleMs: 150 });
    return transport;
  }

  it('logs in at login:/Password: and runs a command', async () => {
    const t = await connect({ login: { user: 'root', password: 's3cret' } }, { user: 'root', password: 's3cret' });
    const lines = board!.shell.lines;
    // The wake-up CR, the answers, the probe that finds the shell, the shell set-up.
    expect(lines.slice(0, 3)).to.deep.equal(['', 'root', 's3cret']);
    expect(lines[3]).to.match(/^printf '%s%s\\n' 'VNP:' '[0-9a-f]{8}:'$/);
    expect(lines[4]).to.match(/^stty -echo 2>\/dev\/null; PS1='vnet-'/);
    expect(lines[4]).to.contain('dmesg -n 1');
    const r = await t.run('echo hello');
    expect(r).to.include({ command: 'echo hello', stdout: 'hello\n', stderr: '', exitCode: 0 });
    expect(t.prompt).to.match(/^vnet-[0-9a-f]{8}# $/);
  });

  it('refuses a wrong password as auth-failed, naming the board and user', async () => {
    board = await openMockBoard('/dev/ROBOT', { cwd: dir, path: bin, login: { user: 'root', password: 'right' } });
    const t = new SerialTransport(board.console, { board: 'mock-imx25' });
    const error = await rejection(t.login({ user: 'root', password: 'wrong', timeoutMs: 5000, idleMs: 150 }));
    expect(error).to.be.instanceOf(BoardError);
    expect(error).to.include({ kind: 'auth-failed', board: 'mock-imx25' });
    expect(error.message).to.contain('login as "root" was refused');
    expect(error.message).to.contain('| Login incorrect');
  });

  it('says so when a password is asked for but none is configured', async () => {
    board = await openMockBoard('/dev/ROBOT', { cwd: dir, path: bin, login: { user: 'root', password: 'pw' } });
    const t = new SerialTransport(board.console, { board: 'mock-imx25' });
    const error = await rejection(t.login({ user: 'root', timeoutMs: 5000, idleMs: 150 }));
    expect(error).to.include({ kind: 'auth-failed' });
    expect(error.message).to.contain('asks for a password for "root" but none is configured');
  });

  it('finds a shell that is already logged in', async () => {
    const t = await connect();
    expect((await t.run('true')).exitCode).to.equal(0);
    expect(board!.shell.lines.some((l) => l.includes("'VNP:'"))).to.equal(true);
  });

  it('returns exact stdout and exit codes 0, 1, 127, and a signal as 137 → KILL', async () => {
    const t = await connect();
    expect(await t.run('printf "a\\nb"')).to.include({ stdout: 'a\nb', exitCode: 0 });
    expect(await t.run('false')).to.include({ stdout: '', exitCode: 1 });
    const missing = await t.run('no-such-tool --x');
    expect(missing.exitCode).to.equal(127);
    expect(missing.stdout).to.match(/no-such-tool: .*not found\n$/);
    const killed = await t.run("sh -c 'kill -9 $$'");
    expect(killed.exitCode).to.equal(null);
    expect(killed.signal).to.equal('KILL');
    // Each command has its own shell, as over SSH: `$$` is that shell, not the console's.
    expect(await t.run('kill -9 $$')).to.include({ exitCode: null, signal: 'KILL' });
    expect(board!.shell.respawns).to.equal(0);
    expect(await t.run('echo "it\'s"; exit 3')).to.include({ stdout: "it's\n", exitCode: 3 });
    expect(await t.run('echo one # a comment')).to.include({ stdout: 'one\n', exitCode: 0 });
  });

  it('works when every byte arrives alone', async () => {
    const t = await connect({ chunking: 'bytes', login: { user: 'root', password: 'pw' } }, { user: 'root', password: 'pw' });
    expect(await t.run('echo split; false')).to.include({ stdout: 'split\n', exitCode: 1 });
    expect(await t.run('printf "%s\\n" 1 2 3')).to.include({ stdout: '1\n2\n3\n', exitCode: 0 });
  });

  for (const seed of [1, 7, 42]) {
    it(`works with random chunk sizes (seed ${seed})`, async () => {
      const t = await connect({ chunking: { randomMax: 23, seed } });
      for (let i = 0; i < 5; i++) {
        expect(await t.run(`echo line${i}; exit ${i}`)).to.include({ stdout: `line${i}\n`, exitCode: i });
      }
    });
  }

  it('sees the prompt although a kernel message cuts through it', async () => {
    const t = await connect({ chunking: { randomMax: 5, seed: 3 } });
    let cuts = 0;
    board!.shell.outputFilter = (text) => {
      if (text !== t.prompt || cuts >= 2) return text;
      cuts++;
      return `${text.slice(0, 7)}[   12.345678] virt_net: vnet0: link becomes ready\r\n${text.slice(7)}`;
    };
    expect(await t.run('echo first')).to.include({ stdout: 'first\n', exitCode: 0 });
    expect(await t.run('echo second; exit 4')).to.include({ stdout: 'second\n', exitCode: 4 });
    expect(cuts).to.equal(2);
    expect(board!.console.transcript()).to.contain('] virt_net: vnet0: link becomes ready');
  });

  it('keeps the exit code when a kernel message cuts the output and the end marker', async () => {
    const t = await connect();
    board!.shell.outputFilter = (text) =>
      text
        .replace('hello', 'hel[    3.3] random: crng init done\r\nlo')
        .replace(/VNE:/, 'VN[    3.4] eth0: link up\r\nE:');
    const r = await t.run('echo hello world; exit 5');
    expect(r.exitCode).to.equal(5);
    // A kernel line inside the output stays there: a serial console cannot tell them apart.
    expect(r.stdout).to.equal('hel[    3.3] random: crng init done\nlo world\n');
  });

  it('times out with a typed error naming board, command and last lines, then recovers', async () => {
    const t = await connect();
    await t.run('echo before-timeout');
    const started = Date.now();
    const error = await rejection(t.run('sleep 30', { timeoutMs: 300 }));
    expect(Date.now() - started).to.be.below(2000);
    expect(error).to.be.instanceOf(BoardError);
    expect(error).to.include({ kind: 'command-timeout', board: 'mock-imx25', command: 'sleep 30' });
    expect((error as BoardError).consoleTail.join('\n')).to.contain('before-timeout');
    expect(error.message).to.match(/board mock-imx25: command-timeout: no end marker within 300 ms/);
    // The next command waits for the recovery (Ctrl-C, probe) and then runs normally.
    expect(await t.run('echo after')).to.include({ stdout: 'after\n', exitCode: 0 });
    expect(board!.shell.interrupts).to.be.at.least(1);
    expect(t.broken).to.equal(undefined);
  });

  it('marks the transport lost when the shell does not come back, then fails fast', async () => {
    const t = await connect();
    const error = await rejection(t.run("trap '' INT; sleep 30", { timeoutMs: 200 }));
    expect(error).to.include({ kind: 'command-timeout' });
    const started = Date.now();
    const next = await rejection(t.run('echo never'));
    expect(next).to.include({ kind: 'board-lost', command: 'echo never' });
    expect(next.message).to.contain('did not come back after Ctrl-C');
    const third = Date.now();
    expect(await rejection(t.run('echo again'))).to.include({ kind: 'board-lost' });
    expect(Date.now() - third).to.be.below(50);
    expect(third - started).to.be.below(6000);
  });

  it('fails at once when the shell exits under a command (login: instead of the end marker), then logs in again', async () => {
    const t = await connect({ login: { user: 'root', password: 's3cret' } }, { user: 'root', password: 's3cret' });
    await t.run('echo before');
    // Kernel lines cut through every login prompt and follow it.
    board!.shell.outputFilter = (text) =>
      text.replace('vnet-board login: ', 'vnet-board lo[   13.100000] random: crng init done\r\ngin: [   13.200000] virt_net: vnet0: link down\r\n');
    const started = Date.now();
    const error = await rejection(t.run('kill -9 $LOGIN_SHELL_PID', { timeoutMs: 30_000 }));
    const tookMs = Date.now() - started;
    expect(tookMs).to.be.below(2000);
    expect(error).to.be.instanceOf(BoardError);
    expect(error).to.include({ kind: 'protocol', board: 'mock-imx25', command: 'kill -9 $LOGIN_SHELL_PID' });
    expect(error.message).to.contain('the shell on the console exited (login prompt seen) before its end marker came, so its exit status is unknown');
    expect(error.message).to.contain('the next command logs in again as "root"');
    expect((error as BoardError).consoleTail.join('\n')).to.contain('gin: [   13.200000] virt_net: vnet0: link down');
    expect(board!.shell.respawns).to.equal(1);
    expect(t.needsRelogin).to.contain('login prompt seen');
    expect(t.broken).to.equal(undefined);

    const logins = board!.shell.lines.filter((l) => l === 's3cret').length;
    expect(await t.run('echo after; exit 6')).to.include({ stdout: 'after\n', exitCode: 6 });
    expect(board!.shell.lines.filter((l) => l === 's3cret').length).to.equal(logins + 1);
    expect(t.needsRelogin).to.equal(undefined);
    expect(await t.run('echo again')).to.include({ stdout: 'again\n', exitCode: 0 });
  });

  it('says a command sent to a console whose shell had exited did not run; sends an idempotent one again after logging in', async () => {
    const t = await connect({ login: { user: 'root', password: 'pw' } }, { user: 'root', password: 'pw' });
    board!.shell.exitShell();
    const error = await rejection(t.run('echo once >> ran.txt'));
    expect(error).to.include({ kind: 'protocol', command: 'echo once >> ran.txt' });
    expect(error.message).to.contain("the shell on the console exited (login's Password: prompt seen) before the command line reached it: the command did not run");
    expect(() => readFileSync(join(dir, 'ran.txt'))).to.throw(/ENOENT/);
    expect(await t.run('echo relogged')).to.include({ stdout: 'relogged\n', exitCode: 0 });

    board!.shell.exitShell();
    expect(await t.run('echo twice >> ran2.txt; cat ran2.txt', { idempotent: true })).to.include({ stdout: 'twice\n', exitCode: 0 });
    expect(board!.shell.respawns).to.equal(2);
    rmSync(join(dir, 'ran2.txt'));
  });

  it('does not take a command that prints "login:" and goes quiet for an exited shell', async () => {
    const t = await connect({}, { user: 'root' });
    const r = await t.run("printf 'vnet-board login: '; sleep 1.5; echo done", { timeoutMs: 10_000 });
    expect(r).to.include({ stdout: 'vnet-board login: done\n', exitCode: 0 });
    expect(t.needsRelogin).to.equal(undefined);
    expect(await t.run('echo next')).to.include({ stdout: 'next\n', exitCode: 0 });
  });

  it('retries an idempotent command whose line lost characters on the way in', async () => {
    const t = await connect();
    let damaged = 0;
    board!.shell.inputFilter = (line) => {
      if (!line.includes('VNS:') || damaged > 0) return line;
      damaged++;
      return line.replace("'VNS:'", "'VNS"); // an unbalanced quote: the shell waits for more
    };
    const r = await t.run('echo survived', { idempotent: true });
    expect(r).to.include({ stdout: 'survived\n', exitCode: 0 });
    expect(damaged).to.equal(1);
  });

  it('reports damaged output bytes in hex and does not retry a non-idempotent command', async () => {
    const t = await connect();
    board!.shell.outputFilter = (text) => text.replace(/VNE:[0-9a-f]{8}:/, 'VNE:\xff\xfe\x00');
    const error = await rejection(t.run('echo once >> ran.txt'));
    expect(error).to.include({ kind: 'protocol', command: 'echo once >> ran.txt' });
    expect(error.message).to.contain('end marker is missing or damaged');
    expect(error.message).to.contain('0xff 0xfe 0x00');
    expect(readFileSync(join(dir, 'ran.txt'), 'utf8')).to.equal('once\n');
    board!.shell.outputFilter = undefined;
    rmSync(join(dir, 'ran.txt'));
    expect(await t.run('echo ok')).to.include({ stdout: 'ok\n' });
  });

  it('retries an idempotent command whose end marker came back damaged', async () => {
    const t = await connect();
    let damaged = 0;
    board!.shell.outputFilter = (text) => {
      if (damaged > 0 || !/VNE:/.test(text)) return text;
      damaged++;
      return text.replace(/VNE:/, 'V\x80E:');
    };
    expect(await t.run('cat /dev/null; echo fine', { idempotent: true })).to.include({ stdout: 'fine\n', exitCode: 0 });
    expect(damaged).to.equal(1);
  });

  it('runs commands one at a time, in order', async () => {
    const t = await connect({ chunking: { randomMax: 9, seed: 5 } });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => t.run(`echo n${i}; exit ${i}`)));
    expect(results.map((r) => [r.stdout, r.exitCode])).to.deep.equal([1, 2, 3, 4, 5].map((i) => [`n${i}\n`, i]));
  });

  it('refuses control characters and over-long lines with a clear error', async () => {
    const t = await connect();
    const ctrl = await rejection(t.run('echo a\tb'));
    expect(ctrl).to.be.instanceOf(HarnessError);
    expect(ctrl.message).to.contain('control character 0x09 at index 6');
    const long = await rejection(t.run(`echo ${'x'.repeat(5000)}`));
    expect(long.message).to.match(/command line of \d+ bytes exceeds the serial console's 4000-byte line limit/);
    expect(await t.run('echo still fine')).to.include({ exitCode: 0 });
  });

  it('refuses commands before login', async () => {
    board = await openMockBoard('/dev/ROBOT', { cwd: dir, path: bin });
    const t = new SerialTransport(board.console, { board: 'mock-imx25' });
    expect((await rejection(t.run('true'))).message).to.contain('login() must succeed before commands run');
  });

  it('uploads in bounded batches, decoded and checked on the board', async () => {
    const t = await connect({ chunking: { randomMax: 512, seed: 9 } });
    const local = join(dir, 'local.bin');
    const data = randomBytes(20_000);
    writeFileSync(local, data);
    const report = await t.uploadWithReport(local, join(dir, 'sub', 'remote.bin'));
    expect(readFileSync(join(dir, 'sub', 'remote.bin')).equals(data)).to.equal(true);
    expect(report).to.include({ bytes: 20_000, batches: Math.ceil(Math.ceil(20_000 / 3) * 4 / 3072), resentBatches: 0 });
    // No line the board received is longer than a base64 line plus a little.
    expect(Math.max(...board!.shell.lines.map((l) => l.length))).to.be.below(600);
  });

  it('sends a damaged batch again, and fails cleanly if it keeps arriving damaged', async () => {
    const t = await connect();
    const local = join(dir, 'local2.bin');
    writeFileSync(local, randomBytes(8_000));
    let flips = 0;
    board!.shell.inputFilter = (line) => {
      // Damage the first base64 line of the second batch, once: a substituted character.
      if (flips === 0 && /^[A-Za-z0-9+/]{512} \\$/.test(line) && board!.shell.lines.filter((l) => l.includes('md5sum')).length === 1) {
        flips++;
        return `${line[0] === 'A' ? 'B' : 'A'}${line.slice(1)}`;
      }
      return line;
    };
    const report = await t.uploadWithReport(local, join(dir, 'remote2.bin'));
    expect(flips).to.equal(1);
    expect(report.resentBatches).to.equal(1);
    expect(sha256(readFileSync(join(dir, 'remote2.bin')))).to.equal(report.sha256);

    board!.shell.inputFilter = (line) => (/^[A-Za-z0-9+/]{512} \\$/.test(line) ? `A${line.slice(1, -3)}B \\` : line);
    const error = await rejection(t.upload(local, join(dir, 'remote3.bin')));
    expect(error).to.include({ kind: 'upload-failed', board: 'mock-imx25' });
    expect(error.message).to.match(/batch 0 .*arrived damaged twice: md5 [0-9a-f]{32} on the board, [0-9a-f]{32} sent/);
  });

  it('reads a file back through base64, whatever bytes it holds', async () => {
    const t = await connect({ chunking: { randomMax: 300, seed: 11 } });
    const data = Buffer.concat([Buffer.from('line\r\nnext\n\x00\xff'), randomBytes(5000)]);
    writeFileSync(join(dir, 'blob.bin'), data);
    expect((await t.readFileBuffer(join(dir, 'blob.bin'))).equals(data)).to.equal(true);
    writeFileSync(join(dir, 'text.txt'), 'vnet0: flags=4163\n');
    expect(await t.readFile(join(dir, 'text.txt'))).to.equal('vnet0: flags=4163\n');
    const missing = await rejection(t.readFile(join(dir, 'nope.txt')));
    expect(missing).to.be.instanceOf(HarnessError);
    // The board's busybox sh reports the redirection: "sh: can't open …: no such file".
    expect(missing.message).to.match(/board mock-imx25: cannot read .*nope\.txt: .*(nonexistent|no such file)/i);
  });

  it('throws for a failing command when asked to check', async () => {
    const t = await connect();
    const error = await rejection(t.run('echo boom; exit 2', { check: true }));
    expect(error).to.be.instanceOf(HarnessError);
    expect(error).to.not.be.instanceOf(BoardError);
    expect(error.message).to.equal('board mock-imx25: command exited with 2: echo boom; exit 2\nboom');
  });
});

describe('SerialTransport on a real busybox shell behind a real pty', function () {
  this.timeout(60_000);
  let board: RealShellBoard | undefined;
  let console: SerialConsole | undefined;

  before(function () {
    requireOnHost(this, haveRealShellTools(), 'busybox and socat (Debian busybox, socat)');
  });
  afterEach(async () => {
    await console?.close();
    await board?.stop();
    board = undefined;
    console = undefined;
  });

  async function connect(options: Parameters<typeof startRealShellBoard>[0] = {}): Promise<SerialTransport> {
    board = await startRealShellBoard(options);
    console = await SerialConsole.open({ path: board.consolePath, name: 'pty-board' });
    const t = new SerialTransport(console, { board: 'pty-board', recoveryTimeoutMs: 2000 });
    const login = options.login ?? { user: 'root', password: undefined };
    await t.login({ user: login.user, password: login.password, timeoutMs: 10_000, idleMs: 300 });
    return t;
  }

  it('logs in through login:/Password: and gets exact output and exit codes', async () => {
    const t = await connect({ login: { user: 'root', password: 'pw' } });
    expect(await t.run('echo hello')).to.include({ stdout: 'hello\n', exitCode: 0 });
    expect(await t.run('printf no-newline')).to.include({ stdout: 'no-newline', exitCode: 0 });
    expect(await t.run('false')).to.include({ exitCode: 1 });
    const missing = await t.run('nosuchcmd');
    expect(missing.exitCode).to.equal(127);
    expect(missing.stdout).to.match(/nosuchcmd: not found\n$/);
    const killed = await t.run("sh -c 'kill -9 $$'");
    expect(killed).to.include({ exitCode: null, signal: 'KILL' });
    const segv = await t.run("sh -c 'kill -SEGV $$'");
    expect(segv).to.include({ exitCode: null, signal: 'SEGV' });
    expect(await t.run("echo 'multi\nline'\necho end")).to.include({ stdout: 'multi\nline\nend\n', exitCode: 0 });
    // Each command runs in a subshell: `cd` and `exit` do not touch the console's shell.
    await t.run('cd /; exit 9');
    expect((await t.run('pwd')).stdout).to.equal(`${board!.dir}\n`);
    expect(readFileSync(join(board!.dir, 'dmesg.log'), 'utf8')).to.equal('-n 1\n');
  });

  it('fails at once when a command kills the console\'s login shell, and logs in again through getty', async () => {
    const t = await connect({ login: { user: 'root', password: 'pw' }, getty: { banner: '[   21.000000] getty: respawned' } });
    // `$$` is the command's own shell: killing it is a signal, not a lost shell.
    expect(await t.run('kill -9 $$')).to.include({ exitCode: null, signal: 'KILL' });
    expect(await t.run('echo still')).to.include({ stdout: 'still\n', exitCode: 0 });
    // `$PPID` is the console's login shell.
    const started = Date.now();
    const error = await rejection(t.run('kill -9 $PPID', { timeoutMs: 30_000 }));
    const failedMs = Date.now() - started;
    expect(failedMs).to.be.below(1500);
    expect(error).to.include({ kind: 'protocol', board: 'pty-board', command: 'kill -9 $PPID' });
    expect(error.message).to.contain('the shell on the console exited (login prompt seen)');
    expect(error.message).to.contain('[   21.000000] getty: respawned');
    const reloginStart = Date.now();
    expect(await t.run('echo back; exit 4')).to.include({ stdout: 'back\n', exitCode: 4 });
    const reloginMs = Date.now() - reloginStart;
    expect((await t.run('pwd')).stdout).to.equal(`${board!.dir}\n`);
    expect(t.needsRelogin).to.equal(undefined);
    expect(console!.transcript().split('Welcome to the fake board').length - 1).to.equal(2);
    process.stdout.write(`      shell exit seen after ${failedMs} ms; next command (with the new login) took ${reloginMs} ms\n`);
  });

  it('logs in again after a timed-out command whose Ctrl-C recovery finds getty', async () => {
    const t = await connect({ login: { user: 'root', password: 'pw' }, getty: {} });
    const error = await rejection(t.run("trap '' INT; sleep 1; kill -9 $PPID", { timeoutMs: 300 }));
    expect(error).to.include({ kind: 'command-timeout' });
    expect(await t.run('echo recovered')).to.include({ stdout: 'recovered\n', exitCode: 0 });
    expect(t.broken).to.equal(undefined);
    expect(console!.transcript().split('Welcome to the fake board').length - 1).to.equal(2);
  });

  it('recovers from a timeout with a real Ctrl-C', async () => {
    const t = await connect();
    const error = await rejection(t.run('sleep 20', { timeoutMs: 400 }));
    expect(error).to.include({ kind: 'command-timeout', board: 'pty-board', command: 'sleep 20' });
    expect(error.message).to.contain('last console lines:');
    const r = await t.run('echo back');
    expect(r).to.include({ stdout: 'back\n', exitCode: 0 });
  });

  it('survives kernel-like lines written to the tty while commands run', async () => {
    const noise = '[    7.123456] virt_net: noise from the kernel';
    const t = await connect({ noise: { everyUs: 3000, line: noise } });
    for (let i = 0; i < 30; i++) {
      const r = await t.run(`echo value-${i}; exit ${i % 4}`);
      expect(r.exitCode).to.equal(i % 4);
      expect(r.stdout.split(`${noise}\n`).join('')).to.equal(`value-${i}\n`);
    }
    expect(console!.transcript()).to.contain(noise);
  });

  it('uploads 1 MiB of random data, verified by sha256 on the board, and reads it back', async () => {
    const t = await connect();
    const local = join(board!.dir, 'random.bin');
    const data = randomBytes(1 << 20);
    writeFileSync(local, data);
    const report = await t.uploadWithReport(local, '/tmp/../' + join(board!.dir, 'uploaded.bin').slice(1));
    expect(report.sha256).to.equal(sha256(data));
    expect(sha256(readFileSync(join(board!.dir, 'uploaded.bin')))).to.equal(sha256(data));
    const readStart = Date.now();
    const back = await t.readFileBuffer(join(board!.dir, 'uploaded.bin'));
    const readMs = Date.now() - readStart;
    expect(back.equals(data)).to.equal(true);
    const kib = (ms: number): string => ((1024 * 1000) / ms).toFixed(0);
    process.stdout.write(
      `      upload 1 MiB: ${report.durationMs.toFixed(0)} ms (${kib(report.durationMs)} KiB/s, ${report.batches} batches); ` +
        `read back: ${readMs} ms (${kib(readMs)} KiB/s)\n`,
    );
  });

  it('reports the board lost when the console goes away mid-command, then fails fast', async () => {
    const t = await connect();
    const running = rejection(t.run('sleep 20', { timeoutMs: 15_000 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedAt = Date.now();
    await board!.kill();
    const error = await running;
    expect(Date.now() - killedAt).to.be.below(2000);
    expect(error).to.include({ kind: 'board-lost', board: 'pty-board', command: 'sleep 20' });
    expect(error.message).to.contain('console closed: disconnected');
    const next = await rejection(t.run('true'));
    expect(next).to.include({ kind: 'board-lost' });
  });
});
