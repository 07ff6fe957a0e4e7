// The board session against the real emulated board, over SSH and over the
// serial console: command output and exit codes, signals, timeouts, a 1 MiB
// upload checked by sha256, file read-back, host key pinning, the board killed
// mid-command and recovered by a power cycle. Then the real-board code path:
// a board YAML without an `emulated` section pointed at a running emulated
// board's forwarded SSH port, with shell power commands.
// Measured numbers are printed at the end (boot, round trip, upload,
// detection, recovery per transport).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openBoard, type BoardTarget } from '../src/board/target.ts';
import { PROJECT_ROOT } from '../src/paths.ts';
import { loadBoard, type TransportKind } from '../src/config/board.ts';
import { READY_MARKER } from '../src/emulated/machine.ts';
import { BoardError, type BoardErrorKind } from '../src/errors.ts';
import { fingerprintOf, SshTransport } from '../src/transport/ssh.ts';
import { silentProgress } from '../src/util/progress.ts';

const BOARDS_DIR = join(PROJECT_ROOT, 'boards');
const BOARD = 'qemu-imx25';
/** Line board.console.transcript() puts between two boots. */
const POWER_CYCLE_LINE = '===== power cycle =====';
/** Killing QEMU closes its sockets and its pty at once; the keepalive bound (~8 s) must not be what finds it. */
const LOSS_DETECTION_BOUND_MS = 3_000;
/** Slack allowed after a command's timeout before the command-timeout error arrives. */
const TIMEOUT_SLACK_MS = 1_500;

/** Numbers measured by the tests, printed at the end. */
const measured: Record<string, Record<string, string>> = {};
const note = (transport: string, key: string, value: number | string): void => {
  (measured[transport] ??= {})[key] = typeof value === 'number' ? `${Math.round(value)} ms` : value;
};

/** True while `pid` is a live (not zombie) QEMU. */
function qemuRunning(pid: number | undefined): boolean {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return false;
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8');
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return comm.startsWith('qemu-system') && state !== 'Z';
  } catch {
    return false;
  }
}

/** Awaits a promise that must reject with a BoardError of `kind`; returns it and the time it took. */
async function boardError(promise: Promise<unknown>, kind: BoardErrorKind): Promise<{ error: BoardError; ms: number }> {
  const started = Date.now();
  try {
    const value = await promise;
    expect.fail(`expected BoardError ${kind}, got a result: ${JSON.stringify(value)}`);
  } catch (error) {
    if (!(error instanceof BoardError)) throw error;
    expect(error.kind, error.message).to.equal(kind);
    return { error, ms: Date.now() - started };
  }
  throw new Error('unreachable');
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** First token of `sha256sum` output. */
const boardSum = (stdout: string): string => stdout.trim().split(/\s+/)[0] ?? '';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

for (const transport of ['ssh', 'serial'] as const satisfies readonly TransportKind[]) {
  describe(`board session over ${transport} on the emulated board (${BOARD}) @board`, function () {
    this.timeout(5 * 60_000);
    let board: BoardTarget | undefined;
    let workDir = '';
    const pids: number[] = [];
    const open = (): BoardTarget => {
      if (!board) throw new Error('the board did not open (see the before hook)');
      return board;
    };

    before(async function () {
      // A cold cache builds the kernel (minutes); a warm one boots in ~4 s.
      this.timeout(30 * 60_000);
      workDir = await mkdtemp(join(tmpdir(), `vnet-board-session-${transport}-`));
      const started = Date.now();
      board = await openBoard(loadBoard(BOARD, { boardsDir: BOARDS_DIR }), { progress: silentProgress(), transport });
      note(transport, 'open (images cached + boot + login)', Date.now() - started);
      note(transport, 'boot (power-on to shell)', board.strategy.bootMs);
      const pid = board.power.machinePid();
      if (pid !== undefined) pids.push(pid);
    });

    after(async () => {
      await board?.close();
      await rm(workDir, { recursive: true, force: true });
      for (const pid of pids) expect(qemuRunning(pid), `QEMU ${pid} still running after close()`).to.equal(false);
    });

    it('uses the transport it was asked for', () => {
      expect(open().transportKind).to.equal(transport);
    });

    it('returns command output and exit codes 0, 1, 3 and 127', async () => {
      const b = open();
      const hello = await b.run('echo hello; echo oops >&2');
      expect(hello.exitCode).to.equal(0);
      expect(hello.signal).to.equal(undefined);
      if (transport === 'ssh') {
        expect(hello.stdout).to.equal('hello\n');
        expect(hello.stderr).to.equal('oops\n');
      } else {
        // A console has one stream: stderr arrives merged, in order.
        expect(hello.stdout).to.equal('hello\noops\n');
        expect(hello.stderr).to.equal('');
      }
      expect((await b.run('false')).exitCode).to.equal(1);
      expect((await b.run('exit 3')).exitCode).to.equal(3);
      const missing = await b.run('no-such-command-vnet');
      expect(missing.exitCode).to.equal(127);
      expect(missing.stdout + missing.stderr).to.match(/no-such-command-vnet: not found/);
      const uname = await b.run('uname -m');
      expect(uname.stdout.trim()).to.equal('armv5tejl');
      expect(uname.durationMs).to.be.greaterThan(0);

      const rtts: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await b.run('true');
        rtts.push(performance.now() - t);
      }
      note(transport, 'command round trip (median of 20 `true`)', median(rtts));
    });

    it('reports a command killed by a signal as exit code null and the signal name', async () => {
      const b = open();
      // A nested shell killing itself, then (below) the command's own shell.
      const killed = await b.run("sh -c 'kill -9 $$'");
      expect(killed.exitCode, JSON.stringify(killed)).to.equal(null);
      expect(killed.signal).to.equal('KILL');
      const termed = await b.run("sh -c 'kill -TERM $$'");
      expect(termed.exitCode).to.equal(null);
      expect(termed.signal).to.equal('TERM');
      // $$ is the command's own shell on both transports (SSH: the channel's
      // shell, dropbear reports the signal; serial: each command runs in sh -c),
      // so this kills neither the session nor the console's login shell.
      const own = await b.run('kill -9 $$');
      expect(own.exitCode).to.equal(null);
      expect(own.signal).to.equal('KILL');
      expect((await b.run('echo still here')).stdout.trim()).to.equal('still here');
      if (transport === 'serial') {
        // The documented price of a console: `$?` = 128+N is read as signal N.
        const mapped = await b.run('exit 137');
        expect(mapped.exitCode).to.equal(null);
        expect(mapped.signal).to.equal('KILL');
      }
      expect((await b.run('echo still-here')).stdout.trim()).to.equal('still-here');
    });

    it('ends a command that exceeds its timeout with command-timeout, then runs the next one', async () => {
      const b = open();
      const timeoutMs = 2_000;
      const { error, ms } = await boardError(b.run('sleep 23', { timeoutMs }), 'command-timeout');
      note(transport, 'timeout of 2000 ms reported after', ms);
      expect(ms).to.be.at.least(timeoutMs - 50);
      expect(ms).to.be.at.most(timeoutMs + TIMEOUT_SLACK_MS);
      expect(error.board).to.equal(BOARD);
      expect(error.command).to.equal('sleep 23');
      expect(error.message).to.contain(`board ${BOARD}`).and.to.contain('sleep 23');
      const next = await b.run('echo next');
      expect(next.exitCode).to.equal(0);
      expect(next.stdout.trim()).to.equal('next');
      // The timed-out command was ended on the board, not left running.
      let left = '';
      for (let i = 0; i < 10; i++) {
        left = (await b.run("ps | grep '[s]leep 23' || true")).stdout.trim();
        if (left === '') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(left, 'the timed-out sleep still runs on the board').to.equal('');
    });

    it('uploads a 1 MiB random file, verified by sha256 on the board', async function () {
      // Measured ~96 s over the emulated serial console (~11 KiB/s of data as base64).
      this.timeout(transport === 'serial' ? 8 * 60_000 : 2 * 60_000);
      const b = open();
      const data = randomBytes(1 << 20);
      const local = join(workDir, 'random.bin');
      await writeFile(local, data);
      const remote = '/tmp/vnet-random.bin';
      await b.run(`rm -f ${remote}`);
      const started = performance.now();
      await b.upload(local, remote);
      note(transport, 'upload 1 MiB (incl. board-side sha256)', performance.now() - started);
      const sum = await b.run(`sha256sum ${remote}`);
      expect(sum.exitCode).to.equal(0);
      expect(boardSum(sum.stdout)).to.equal(sha256(data));
      expect((await b.run(`wc -c < ${remote}`)).stdout.trim()).to.equal(String(1 << 20));
      await b.run(`rm -f ${remote}`);
    });

    it('reads files back (readFile round trip)', async () => {
      const b = open();
      const text = `line one\nünïcödé ✓ and 'quotes' "double" $HOME \\ back\n${'x'.repeat(5000)}\nlast line without newline`;
      const local = join(workDir, 'text.txt');
      await writeFile(local, text);
      await b.upload(local, '/tmp/vnet-text.txt');
      expect(await b.readFile('/tmp/vnet-text.txt')).to.equal(text);
      await b.check("printf 'made\\non the board\\n' > /tmp/vnet-made.txt");
      expect(await b.readFile('/tmp/vnet-made.txt')).to.equal('made\non the board\n');
      let failure: unknown;
      await b.readFile('/tmp/vnet-no-such-file').catch((error: unknown) => (failure = error));
      expect(failure, 'reading a missing file must fail').to.be.instanceOf(Error);
      expect((failure as Error).message).to.contain('/tmp/vnet-no-such-file');
      await b.run('rm -f /tmp/vnet-text.txt /tmp/vnet-made.txt');
    });

    if (transport === 'ssh') {
      it('refuses a board whose host key does not match the pinned fingerprint', async () => {
        const endpoint = await open().resources.ssh!.endpoint();
        const wrong = fingerprintOf(randomBytes(32));
        const { error, ms } = await boardError(
          SshTransport.connect({ board: BOARD, ...endpoint, hostKey: wrong, retryUntilMs: Date.now() + 10_000 }),
          'host-key-mismatch',
        );
        // Not retried as if sshd were still starting.
        expect(ms).to.be.below(5_000);
        expect(error.message).to.contain(wrong).and.to.contain(endpoint.hostKey).and.to.contain('refusing');
        // Control: the same endpoint with the right fingerprint is accepted.
        const right = await SshTransport.connect({ board: BOARD, ...endpoint });
        try {
          expect((await right.run('echo pinned')).stdout).to.equal('pinned\n');
          expect(right.hostKeyFingerprint).to.equal(endpoint.hostKey);
        } finally {
          await right.close();
        }
      });
    }

    if (transport === 'ssh') {
      it('finds a hung board (QEMU stopped) by keepalive within its bound, then recovers', async function () {
        this.timeout(2 * 60_000);
        const b = open();
        const { keepaliveInterval, keepaliveCountMax } = b.config.ssh ?? { keepaliveInterval: 2, keepaliveCountMax: 3 };
        // ssh2 declares the link dead after keepaliveCountMax unanswered keepalives, one per interval.
        const boundMs = (keepaliveCountMax + 1) * keepaliveInterval * 1000 + 1_000;
        const pid = b.power.machinePid();
        if (pid === undefined) throw new Error('no QEMU pid');
        const inflight = b.run('sleep 40', { timeoutMs: 60_000 });
        await new Promise((r) => setTimeout(r, 500));
        process.kill(pid, 'SIGSTOP'); // the guest freezes; no socket closes
        const { error, ms } = await boardError(inflight, 'board-lost');
        note(transport, 'hung board (SIGSTOP) detected after', ms);
        expect(ms, `keepalive bound ${boundMs} ms`).to.be.below(boundMs);
        expect(error.command).to.equal('sleep 40');
        const report = await b.strategy.recover('test: QEMU stopped');
        note(transport, 'recovery from the hung board', report.durationMs);
        const fresh = b.power.machinePid();
        if (fresh !== undefined) pids.push(fresh);
        expect(qemuRunning(pid), 'the stopped QEMU is gone').to.equal(false);
        expect((await b.run('echo alive')).stdout).to.equal('alive\n');
      });
    }

    it('reports the board killed mid-command as board-lost, then recovers by a power cycle', async function () {
      this.timeout(3 * 60_000);
      const b = open();
      const before = b.power.machinePid();
      expect(qemuRunning(before)).to.equal(true);
      const inflight = b.run('echo started; sleep 30', { timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 1_000));
      b.power.cut();
      const { error, ms } = await boardError(inflight, 'board-lost');
      note(transport, 'killed board detected after', ms);
      expect(ms, 'board loss detection time').to.be.below(LOSS_DETECTION_BOUND_MS);
      expect(error.board).to.equal(BOARD);
      expect(error.command).to.equal('echo started; sleep 30');
      expect(error.consoleTail.length, 'the error quotes the last console lines').to.be.greaterThan(0);

      const recoverStarted = Date.now();
      const report = await b.strategy.recover('test: QEMU killed mid-command');
      note(transport, 'recovery (teardown + boot + reconnect)', report.durationMs);
      expect(report.method).to.equal('qemu-restart');
      expect(report.reason).to.equal('test: QEMU killed mid-command');
      expect(b.strategy.recoveries.at(-1)).to.deep.equal(report);
      const after = b.power.machinePid();
      if (after !== undefined) pids.push(after);
      expect(after).to.not.equal(before);
      expect(qemuRunning(before), 'the killed QEMU is gone').to.equal(false);
      expect(qemuRunning(after)).to.equal(true);

      const back = await b.run('echo back; cut -d" " -f1 /proc/uptime');
      expect(back.exitCode).to.equal(0);
      expect(back.stdout).to.match(/^back\n\d+\.\d+\n$/);
      // A fresh boot: the guest's uptime fits inside the recovery, not since the first boot.
      expect(Number(back.stdout.split('\n')[1])).to.be.below((Date.now() - recoverStarted) / 1000 + 1);

      // Every boot of the session, each after a power-cycle line but the first.
      const transcript = b.console.transcript();
      const boots = b.strategy.recoveries.length + 1;
      const cycle = transcript.lastIndexOf(POWER_CYCLE_LINE);
      const previous = transcript.lastIndexOf(READY_MARKER, cycle);
      const last = transcript.indexOf(READY_MARKER, cycle);
      expect(previous, 'the boot before the power cycle is in the transcript').to.be.at.least(0);
      expect(cycle, 'power-cycle line after that boot').to.be.greaterThan(previous);
      expect(last, 'the new boot after the power-cycle line').to.be.greaterThan(cycle);
      expect(transcript.split(POWER_CYCLE_LINE).length - 1).to.equal(boots - 1);
      expect(transcript.split(READY_MARKER).length - 1).to.equal(boots);
      expect(transcript.split('Booting Linux').length - 1).to.equal(boots);
    });
  });
}

describe('real-board code path: a board YAML without `emulated`, over SSH to a running emulated board @board', function () {
  this.timeout(5 * 60_000);
  let host: BoardTarget | undefined;
  let dir = '';
  const powerLog = (): string => join(dir, 'power.log');

  /** Writes a real-board YAML pointing at the host board's forwarded SSH port. */
  async function realBoardFile(name: string, options: { hostKey?: string; power: Record<string, string>; serialDevice?: string }): Promise<string> {
    if (!host) throw new Error('the emulated board did not open (see the before hook)');
    const endpoint = await host.resources.ssh!.endpoint();
    const power = Object.entries(options.power).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n');
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `# A "real" board: no emulated section, so the harness manages no emulator for it.`,
        `name: ${name}`,
        `arch: arm`,
        `cross_compile: arm-linux-gnueabi-`,
        `kernel_tree: ./kernel-tree-unused`,
        `ssh:`,
        `  host: ${endpoint.host}`,
        `  port: ${endpoint.port}`,
        `  user: ${endpoint.user}`,
        `  key_file: ./id_board        # relative to this file`,
        `  host_key: "${options.hostKey ?? endpoint.hostKey}"`,
        ...(options.serialDevice ? [`serial:`, `  device: ${options.serialDevice}`, `  login_user: root`] : []),
        `power:`,
        power,
        `timeouts:`,
        `  command: 20`,
        `  boot: 30`,
        '',
      ].join('\n'),
    );
    return file;
  }

  before(async function () {
    this.timeout(30 * 60_000);
    dir = await mkdtemp(join(tmpdir(), 'vnet-real-board-'));
    // The modules are never built here, but the file must name a directory that exists.
    await mkdir(join(dir, 'kernel-tree-unused'));
    host = await openBoard(loadBoard(BOARD, { boardsDir: BOARDS_DIR }), { progress: silentProgress(), transport: 'ssh' });
    await writeFile(join(dir, 'id_board'), (await host.resources.ssh!.endpoint()).privateKey);
    await chmod(join(dir, 'id_board'), 0o600);
  });

  after(async () => {
    const pid = host?.power.machinePid();
    await host?.close();
    expect(qemuRunning(pid), `QEMU ${pid} still running after close()`).to.equal(false);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs commands over SSH with the key file and pinned host key, and power-cycles with the YAML commands', async () => {
    const file = await realBoardFile('lab-board', {
      power: { on: 'echo on >> power.log', cycle: 'echo cycle >> power.log' },
    });
    const config = loadBoard(file, { boardsDir: BOARDS_DIR });
    expect(config.kind).to.equal('real');
    const board = await openBoard(config, { progress: silentProgress() });
    try {
      expect(board.emulated).to.equal(false);
      expect(board.power.machinePid()).to.equal(undefined);
      expect(board.transportKind).to.equal('ssh');
      // No emulator: its SSH settings are the YAML's, nothing made at run time.
      expect(board.resources.emulator).to.equal(undefined);
      // Power commands run with sh -c in the YAML's directory; `on` once, at open.
      expect(await readFile(powerLog(), 'utf8')).to.equal('on\n');
      const r = await board.run('uname -m; exit 4');
      expect(r.stdout.trim()).to.equal('armv5tejl');
      expect(r.exitCode).to.equal(4);
      // The same machine the emulated session drives: a file made through one is seen by the other.
      const token = randomBytes(8).toString('hex');
      await open(host).check(`echo ${token} > /tmp/vnet-real-path`);
      expect(await board.readFile('/tmp/vnet-real-path')).to.equal(`${token}\n`);

      const report = await board.strategy.recover('test: power cycle of a real board');
      expect(report.method).to.equal('power-cycle');
      // A cycle leaves the board on: no extra `on` after it.
      expect(await readFile(powerLog(), 'utf8')).to.equal('on\ncycle\n');
      expect((await board.run('echo reconnected')).stdout).to.equal('reconnected\n');
    } finally {
      await board.close();
    }
  });

  it('fails recover() with a BoardError naming a power command that fails', async () => {
    const file = await realBoardFile('lab-board-bad-power', { power: { on: 'true', cycle: 'echo relay stuck >&2; false' } });
    const board = await openBoard(loadBoard(file, { boardsDir: BOARDS_DIR }), { progress: silentProgress() });
    try {
      expect((await board.run('echo up')).stdout).to.equal('up\n');
      const { error } = await boardError(board.strategy.recover('test: failing power command'), 'board-lost');
      expect(error.command).to.equal('echo relay stuck >&2; false');
      expect(error.message)
        .to.contain('power cycle command `echo relay stuck >&2; false`')
        .and.to.contain(`power.cycle in ${file}`)
        .and.to.contain('exited with 1')
        .and.to.contain('relay stuck');
      // No half-connected session is left behind.
      await boardError(board.run('true'), 'board-lost');
    } finally {
      await board.close();
    }
  });

  it('a serial console that is absent (cable on another host): an SSH session goes on with a warning, a serial one fails', async () => {
    const file = await realBoardFile('lab-board-no-tty', { power: { on: 'true' }, serialDevice: '/dev/vnet-no-such-tty' });
    const config = loadBoard(file, { boardsDir: BOARDS_DIR });
    const board = await openBoard(config, { progress: silentProgress(), transport: 'ssh' });
    try {
      expect(board.console.current()).to.equal(undefined);
      expect(board.warnings).to.have.length(1);
      expect(board.warnings[0]).to.match(/^no console capture: .*\/dev\/vnet-no-such-tty.*; kernel faults are seen through dmesg only/);
      expect((await board.run('echo still-works')).stdout).to.equal('still-works\n');
    } finally {
      await board.close();
    }
    const serial = await openBoard(config, { progress: silentProgress(), transport: 'serial' }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(serial?.message).to.match(/vnet-no-such-tty/);
  });

  it('refuses to open a board whose YAML pins a different host key', async () => {
    const wrong = fingerprintOf(randomBytes(32));
    const file = await realBoardFile('lab-board-wrong-key', { hostKey: wrong, power: { on: 'true' } });
    const { error, ms } = await boardError(openBoard(loadBoard(file, { boardsDir: BOARDS_DIR }), { progress: silentProgress() }), 'host-key-mismatch');
    expect(ms).to.be.below(5_000);
    expect(error.board).to.equal('lab-board-wrong-key');
    expect(error.message).to.contain(wrong).and.to.contain((await open(host).resources.ssh!.endpoint()).hostKey);
  });

  /** The host board, asserted open. */
  function open(board: BoardTarget | undefined): BoardTarget {
    if (!board) throw new Error('the emulated board did not open');
    return board;
  }
});

after(() => {
  const rows = Object.entries(measured).flatMap(([transport, values]) =>
    Object.entries(values).map(([key, value]) => `  ${transport.padEnd(6)} ${key.padEnd(44)} ${value}`),
  );
  if (rows.length > 0) console.log(`\n  measured on the emulated board:\n${rows.join('\n')}\n`);
});
