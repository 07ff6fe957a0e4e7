// The SSH transport against a real dropbear 2022.83 (the emulated board's sshd)
// on 127.0.0.1: exit codes and signals, timeouts, uploads by cat and by SFTP,
// host key pinning, auth, retries while the server starts, and a dead link.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import ssh2 from 'ssh2';
import { BoardError, ConfigError, HarnessError } from '../src/errors.ts';
import {
  fingerprintOf,
  fingerprintOfPublicKeyLine,
  generateClientKey,
  SshTransport,
  type ClientKey,
  type SshConnectOptions,
} from '../src/transport/ssh.ts';
import {
  dropbearUnavailable,
  freePort,
  hostPublicKeyLine,
  makeHostKey,
  processTree,
  signalAll,
  startDropbear,
  type DropbearServer,
} from './helpers/dropbear.ts';

const BOARD = 'loopback-dropbear';

/** Runs `fn` and returns what it threw (fails the test when nothing was thrown). */
async function thrown(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, got none');
}

/** Prints a measured number so it shows in the test log. */
function measure(what: string, value: string): void {
  console.log(`      [measure] ${what}: ${value}`);
}

/** Runs `true` 30 times, prints the median (min, max) under `what`, returns the median in ms. */
async function measureRoundTrip(ssh: SshTransport, what: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) times.push((await ssh.run('true')).durationMs);
  times.sort((a, b) => a - b);
  measure(what, `${times[15]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times[29]!.toFixed(1)})`);
  return times[15]!;
}

describe('SSH transport against dropbear on loopback', function () {
  this.timeout(60_000);

  let work: string;
  let key: ClientKey;
  let rsaKey: ClientKey;
  let stranger: ClientKey;
  let plain: DropbearServer; // no SFTP, like the emulated board
  let withSftp: DropbearServer;
  const transports: SshTransport[] = [];

  const optionsFor = (server: DropbearServer, extra: Partial<SshConnectOptions> = {}): SshConnectOptions => ({
    board: BOARD,
    host: server.host,
    port: server.port,
    user: 'root',
    privateKey: key.privateKey,
    hostKey: server.hostKeyFingerprint,
    consoleTail: () => server.logTail(3),
    ...extra,
  });
  const connect = async (server: DropbearServer, extra: Partial<SshConnectOptions> = {}): Promise<SshTransport> => {
    const transport = await SshTransport.connect(optionsFor(server, extra));
    transports.push(transport);
    return transport;
  };

  before(async function () {
    const unavailable = dropbearUnavailable();
    if (unavailable !== undefined) throw new Error(`cannot run the SSH transport tests: ${unavailable}`);
    work = mkdtempSync(join(tmpdir(), 'vnet-ssh-test-'));
    [key, rsaKey, stranger] = await Promise.all([
      generateClientKey({ comment: 'ssh-test' }),
      generateClientKey({ type: 'rsa', comment: 'ssh-test-rsa' }),
      generateClientKey({ comment: 'not-authorized' }),
    ]);
    plain = await startDropbear({ sftp: false, authorizedKeys: [key.authorizedKey, rsaKey.authorizedKey] });
    withSftp = await startDropbear({ sftp: true, authorizedKeys: [key.authorizedKey] });
  });

  after(async () => {
    for (const transport of transports) await transport.close();
    await plain?.stop();
    await withSftp?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('keys', () => {
    it('fingerprintOf matches the fingerprint dropbearkey prints for the host key', () => {
      const line = hostPublicKeyLine(plain.hostKeyFile);
      const blob = Buffer.from(line.split(' ')[1]!, 'base64');
      expect(fingerprintOf(blob)).to.equal(plain.hostKeyFingerprint);
      expect(fingerprintOfPublicKeyLine(line)).to.equal(plain.hostKeyFingerprint);
      expect(plain.hostKeyFingerprint).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    });

    it('generates ed25519 and RSA client keys that dropbear accepts, with the fingerprint dropbear logs', async () => {
      for (const k of [key, rsaKey]) {
        expect(k.authorizedKey).to.match(k.type === 'rsa' ? /^ssh-rsa AAAA\S+ ssh-test-rsa$/ : /^ssh-ed25519 AAAA\S+ ssh-test$/);
        expect(k.fingerprint).to.equal(fingerprintOfPublicKeyLine(k.authorizedKey));
        const transport = await connect(plain, { privateKey: k.privateKey });
        expect((await transport.run('echo ok')).stdout).to.equal('ok\n');
        expect(plain.logTail(20).join('\n')).to.include(`Pubkey auth succeeded for 'root' with ${k.authorizedKey.split(' ')[0]} key ${k.fingerprint}`);
        await transport.close();
      }
    });
  });

  describe('run', () => {
    let ssh: SshTransport;
    before(async () => {
      ssh = await connect(plain);
      measure('connect (TCP + handshake + ed25519 auth, loopback)', `${ssh.connectMs.toFixed(0)} ms`);
      expect(ssh.hostKeyFingerprint).to.equal(plain.hostKeyFingerprint);
    });

    it('returns stdout and stderr separately with exit code 0', async () => {
      const result = await ssh.run('echo out; echo err >&2; printf "two\\nlines"');
      expect(result).to.include({ command: 'echo out; echo err >&2; printf "two\\nlines"', stdout: 'out\ntwo\nlines', stderr: 'err\n', exitCode: 0 });
      expect(result.signal).to.equal(undefined);
      expect(result.durationMs).to.be.greaterThan(0).and.lessThan(5_000);
    });

    it('reports exit codes 1 and 127', async () => {
      expect((await ssh.run('exit 1')).exitCode).to.equal(1);
      const missing = await ssh.run('no-such-command-vnet');
      expect(missing.exitCode).to.equal(127);
      expect(missing.stderr).to.match(/no-such-command-vnet.*not found/);
    });

    it('reports a command killed by a signal as signal KILL with no exit code', async () => {
      const result = await ssh.run('echo before; kill -9 $$; echo after');
      expect(result.exitCode).to.equal(null);
      expect(result.signal).to.equal('KILL');
      expect(result.stdout).to.equal('before\n');
    });

    it('with check, a non-zero exit throws a HarnessError naming board, command and stderr', async () => {
      const error = await thrown(() => ssh.run('echo bad >&2; exit 3', { check: true }));
      expect(error).to.be.instanceOf(HarnessError).and.not.instanceOf(BoardError);
      expect(error.message).to.include(`board ${BOARD}`).and.include('command exited with 3: echo bad >&2; exit 3\nbad');
    });

    it('times a command out with command-timeout, kills it, and the connection stays usable', async () => {
      const started = performance.now();
      const error = await thrown(() => ssh.run('sleep 31.25', { timeoutMs: 500 }));
      const elapsed = performance.now() - started;
      expect(error).to.be.instanceOf(BoardError);
      expect((error as BoardError).kind).to.equal('command-timeout');
      expect(elapsed).to.be.within(490, 1_000);
      expect(error.message).to.include(`board ${BOARD}: command-timeout`).and.include('command: sleep 31.25');
      expect(error.message).to.include('last console lines:').and.include('Pubkey auth succeeded');
      const next = await ssh.run('echo alive');
      expect(next.stdout).to.equal('alive\n');
      // The timed-out command was killed on the board, not left running.
      const left = await ssh.run('ps -eo args | grep -c "^sleep 31.25" || true');
      expect(left.stdout.trim()).to.equal('0');
    });

    it('runs commands concurrently on one connection', async () => {
      const started = performance.now();
      const results = await Promise.all([1, 2, 3, 4, 5].map((n) => ssh.run(`sleep 0.4; echo ${n}`)));
      const elapsed = performance.now() - started;
      expect(results.map((r) => r.stdout)).to.deep.equal(['1\n', '2\n', '3\n', '4\n', '5\n']);
      expect(elapsed).to.be.lessThan(1_500); // 5 × 0.4 s in sequence would be ≥ 2 s
    });

    it('measures the per-command round trip', async () => {
      expect(await measureRoundTrip(ssh, 'command round trip `true` (loopback, median of 30)')).to.be.lessThan(100);
    });

    it('reads a binary file byte for byte, and names the path when it is missing', async () => {
      const bytes = Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i % 256));
      const file = join(work, 'binary.bin');
      writeFileSync(file, bytes);
      expect((await ssh.readFileBuffer(file)).equals(bytes)).to.equal(true);
      writeFileSync(join(work, 'text.txt'), 'vnet0\n');
      expect(await ssh.readFile(join(work, 'text.txt'))).to.equal('vnet0\n');
      const error = await thrown(() => ssh.readFile('/nonexistent/vnet'));
      expect(error).to.be.instanceOf(HarnessError);
      expect(error.message).to.include(`board ${BOARD}`).and.include("cat '/nonexistent/vnet'").and.include('exited with 1');
    });
  });

  describe('run through the board shell (commandShell)', () => {
    let ssh: SshTransport;
    before(async () => {
      ssh = await connect(plain, { commandShell: true });
    });

    it('runs consecutive commands in one shell on the board, with stdout, stderr and exit codes as a channel gives them', async () => {
      const first = await ssh.run('echo out; echo err >&2; printf "two\\nlines"');
      expect(first).to.include({ stdout: 'out\ntwo\nlines', stderr: 'err\n', exitCode: 0 });
      // Each command's sh -c has the board shell as its parent: the same shell ran both.
      const a = await ssh.run('echo $PPID');
      const b = await ssh.run('echo $PPID');
      expect(a.stdout).to.match(/^\d+\n$/);
      expect(b.stdout).to.equal(a.stdout);
      expect((await ssh.run('exit 1')).exitCode).to.equal(1);
      const missing = await ssh.run('no-such-command-vnet');
      expect(missing.exitCode).to.equal(127);
      expect(missing.stderr).to.match(/no-such-command-vnet.*not found/);
      expect((await ssh.run("printf '%s\\n' 'it'\\''s' \"a  b\"; echo 'x\ny'")).stdout).to.equal("it's\na  b\nx\ny\n");
      expect((await ssh.run('printf ""')).stdout).to.equal('');
    });

    it('keeps each command to itself: exit, cd, variables, a syntax error, kill $$ and stdin stay in its own sh -c', async () => {
      const shell = (await ssh.run('echo $PPID')).stdout;
      expect((await ssh.run('cd /; v=set; exit 3')).exitCode).to.equal(3);
      expect((await ssh.run('pwd; echo "v=$v"')).stdout).to.not.equal('/\nv=set\n');
      const syntax = await ssh.run('if then fi (');
      expect(syntax.exitCode).to.equal(2);
      expect(syntax.stderr).to.match(/syntax error|unexpected/i);
      expect((await ssh.run('cat; echo read-nothing')).stdout).to.equal('read-nothing\n');
      const killed = await ssh.run('echo before; kill -9 $$; echo after');
      expect(killed).to.include({ stdout: 'before\n', exitCode: null, signal: 'KILL' });
      // The price, as on a serial console: a status of 128+N reads as signal N.
      expect(await ssh.run('exit 143')).to.include({ exitCode: null, signal: 'TERM' });
      expect((await ssh.run('echo $PPID')).stdout, 'still the same shell').to.equal(shell);
    });

    it('a command that times out: command-timeout; the command, its children and the shell are killed; the next command gets a new shell', async () => {
      const shell = (await ssh.run('echo $PPID')).stdout;
      const started = performance.now();
      const pidFile = join(work, 'sleeper.pid');
      const command = `sleep 31.5 & echo $! > ${pidFile}; wait`;
      const error = await thrown(() => ssh.run(command, { timeoutMs: 500 }));
      expect(performance.now() - started).to.be.within(490, 1_000);
      expect((error as BoardError).kind).to.equal('command-timeout');
      expect(error.message).to.include('the command, its child processes and the board shell running it were killed').and.include(`command: ${command}`);
      const next = await ssh.run('echo $PPID');
      expect(next.exitCode).to.equal(0);
      expect(next.stdout).to.match(/^\d+\n$/).and.not.equal(shell);
      // The command's child (the sleep) was killed with it, by its pid.
      const pid = readFileSync(pidFile, 'utf8').trim();
      expect(pid).to.match(/^\d+$/);
      // Gone, or a zombie waiting for init to reap it (kill -0 would still find that one).
      const state = (await ssh.run(`cut -d" " -f3 /proc/${pid}/stat 2>/dev/null`)).stdout.trim();
      expect(['', 'Z'], 'the sleep is gone').to.include(state);
    });

    it('concurrent commands: one goes through the shell, the others through their own channels', async () => {
      const started = performance.now();
      const results = await Promise.all([1, 2, 3].map((n) => ssh.run(`sleep 0.4; echo ${n}`)));
      expect(results.map((r) => r.stdout)).to.deep.equal(['1\n', '2\n', '3\n']);
      expect(performance.now() - started).to.be.lessThan(1_500);
    });

    it('measures the per-command round trip through the shell', async () => {
      expect(await measureRoundTrip(ssh, 'command round trip `true` through the board shell (loopback, median of 30)')).to.be.lessThan(100);
    });
  });

  describe('upload', () => {
    let source: string;
    let sha: string;
    before(() => {
      source = join(work, 'random-1MiB.bin');
      const data = randomBytes(1024 * 1024);
      writeFileSync(source, data);
      sha = createHash('sha256').update(data).digest('hex');
    });

    it('uploads 1 MiB with cat when the board has no SFTP, verified by checksum', async () => {
      const ssh = await connect(plain);
      const target = join(work, 'up-cat.bin');
      const result = await ssh.uploadFile(source, target);
      expect(result).to.include({ method: 'cat', bytes: 1024 * 1024, sha256: sha });
      expect(createHash('sha256').update(readFileSync(target)).digest('hex')).to.equal(sha);
      measure('upload 1 MiB via cat (incl. sha256sum check)', `${result.durationMs.toFixed(0)} ms = ${(1000 / result.durationMs).toFixed(1)} MiB/s`);
      // The second upload skips the SFTP probe (remembered per connection).
      const again = await ssh.uploadFile(source, target);
      expect(again.method).to.equal('cat');
    });

    it('uploads 1 MiB with SFTP when the board has it, verified by checksum', async () => {
      const ssh = await connect(withSftp);
      const target = join(work, 'up-sftp.bin');
      const result = await ssh.uploadFile(source, target);
      expect(result).to.include({ method: 'sftp', bytes: 1024 * 1024, sha256: sha });
      expect(createHash('sha256').update(readFileSync(target)).digest('hex')).to.equal(sha);
      measure('upload 1 MiB via sftp (incl. sha256sum check)', `${result.durationMs.toFixed(0)} ms = ${(1000 / result.durationMs).toFixed(1)} MiB/s`);
      // dropbear 2022.83 dies on a new channel opened while the SFTP one closes;
      // the transport waits for the close, so the connection must still work.
      for (let i = 0; i < 5; i++) await ssh.uploadFile(source, target);
      expect((await ssh.run('echo still-here')).stdout).to.equal('still-here\n');
    });

    it('fails with upload-failed naming both checksums when the board copy differs', async () => {
      const ssh = await connect(plain);
      const error = await thrown(() => ssh.upload(source, '/dev/null'));
      expect(error).to.be.instanceOf(BoardError);
      expect((error as BoardError).kind).to.equal('upload-failed');
      expect(error.message).to.include(sha).and.include(createHash('sha256').digest('hex')).and.include(`upload ${source} -> /dev/null`);
    });

    it('fails with upload-failed when the board cannot write the file', async () => {
      const ssh = await connect(plain);
      const error = await thrown(() => ssh.upload(source, '/nonexistent-dir/x.ko'));
      expect((error as BoardError).kind).to.equal('upload-failed');
      expect(error.message).to.include("cat > '/nonexistent-dir/x.ko'").and.include('exited with');
    });

    it('fails with upload-failed when the local file is missing', async () => {
      const ssh = await connect(plain);
      const error = await thrown(() => ssh.upload(join(work, 'missing.ko'), '/tmp/x'));
      expect((error as BoardError).kind).to.equal('upload-failed');
      expect(error.message).to.include('missing.ko');
    });
  });

  describe('connecting', () => {
    it('refuses a host key that does not match the pinned one, naming both, without retrying', async () => {
      const other = makeHostKey(work);
      const connectionsBefore = plain.logTail(500).filter((l) => l.includes('Child connection')).length;
      const started = performance.now();
      const error = await thrown(() => connect(plain, { hostKey: other.fingerprint, retryUntilMs: Date.now() + 20_000 }));
      expect(performance.now() - started).to.be.lessThan(3_000);
      expect(error).to.be.instanceOf(BoardError);
      expect((error as BoardError).kind).to.equal('host-key-mismatch');
      expect(error.message).to.include(other.fingerprint).and.include(plain.hostKeyFingerprint).and.include(`board ${BOARD}`);
      await new Promise((r) => setTimeout(r, 100));
      const connectionsAfter = plain.logTail(500).filter((l) => l.includes('Child connection')).length;
      expect(connectionsAfter - connectionsBefore).to.equal(1);
    });

    it('accepts any host key when none is pinned, and reports the one presented', async () => {
      const ssh = await connect(plain, { hostKey: null });
      expect(ssh.hostKeyFingerprint).to.equal(plain.hostKeyFingerprint);
      await ssh.close();
    });

    it('uses a passphrase-protected key file, and names a wrong passphrase as auth-failed', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const blob = ssh2.utils.parseKey(privateKey.export({ type: 'pkcs1', format: 'pem' }));
      if (blob instanceof Error || Array.isArray(blob)) throw new Error('cannot parse the test key');
      const encrypted = privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'lab-secret' });
      expect(encrypted).to.include('ENCRYPTED');
      const server = await startDropbear({
        sftp: false,
        hostKeyFile: plain.hostKeyFile,
        authorizedKeys: [`ssh-rsa ${blob.getPublicSSH().toString('base64')} encrypted`],
      });
      try {
        const ssh = await connect(server, { privateKey: encrypted, passphrase: 'lab-secret' });
        expect((await ssh.run('echo unlocked')).stdout).to.equal('unlocked\n');
        await ssh.close();
        const error = await thrown(() => connect(server, { privateKey: encrypted, passphrase: 'wrong' }));
        expect((error as BoardError).kind).to.equal('auth-failed');
        expect(error.message).to.include('private key').and.include(`root@127.0.0.1:${server.port}`);
      } finally {
        await server.stop();
      }
    });

    it('rejects a malformed pinned fingerprint before connecting', async () => {
      const error = await thrown(() => connect(plain, { hostKey: 'SHA256:tooshort' }));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.include('SHA256:tooshort').and.include('43 base64 characters');
    });

    it('fails with auth-failed for a key the board does not know, without retrying', async () => {
      const started = performance.now();
      const error = await thrown(() => connect(plain, { privateKey: stranger.privateKey, retryUntilMs: Date.now() + 20_000 }));
      expect(performance.now() - started).to.be.lessThan(3_000);
      expect((error as BoardError).kind).to.equal('auth-failed');
      expect(error.message).to.include(`root@127.0.0.1:${plain.port}`);
    });

    it('fails with connection-refused once the retry deadline has passed', async () => {
      const port = await freePort();
      const started = performance.now();
      const error = await thrown(() => SshTransport.connect({ ...optionsFor(plain), port, retryUntilMs: Date.now() + 1_000 }));
      const elapsed = performance.now() - started;
      expect((error as BoardError).kind).to.equal('connection-refused');
      expect(error.message).to.include('ECONNREFUSED').and.match(/gave up after \d+ attempts/);
      expect(elapsed).to.be.within(500, 2_000);
    });

    it('retries while the server is not up yet and connects once it starts', async () => {
      const port = await freePort();
      const hostKey = makeHostKey(mkdtempSync(join(work, 'late-')));
      const started = performance.now();
      const pending = SshTransport.connect({
        ...optionsFor(plain),
        port,
        hostKey: hostKey.fingerprint,
        retryUntilMs: Date.now() + 15_000,
      });
      await new Promise((r) => setTimeout(r, 2_000));
      const late = await startDropbear({ sftp: false, port, hostKeyFile: hostKey.file, authorizedKeys: [key.authorizedKey] });
      const upAt = performance.now();
      try {
        const ssh = await pending;
        transports.push(ssh);
        const connectedAt = performance.now();
        expect(connectedAt - started).to.be.within(2_000, 5_000);
        expect(ssh.connectAttempts).to.be.greaterThan(1);
        expect((await ssh.run('echo late')).stdout).to.equal('late\n');
        measure('retry: connected after server start', `${(connectedAt - upAt).toFixed(0)} ms (${ssh.connectAttempts} attempts)`);
        await ssh.close();
      } finally {
        await late.stop();
      }
    });
  });

  describe('connecting through a port that accepts but stays silent (QEMU user net before sshd)', () => {
    it('drops an attempt without banner after bannerTimeoutMs and connects once sshd answers', async () => {
      const port = await freePort();
      const held: Socket[] = [];
      const silent = createServer((socket) => held.push(socket));
      await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
      const hostKey = makeHostKey(mkdtempSync(join(work, 'silent-')));
      const started = performance.now();
      const pending = SshTransport.connect({
        ...optionsFor(plain),
        port,
        hostKey: hostKey.fingerprint,
        connectTimeoutMs: 10_000,
        bannerTimeoutMs: 400,
        retryUntilMs: Date.now() + 15_000,
      });
      await new Promise((r) => setTimeout(r, 1_500));
      await new Promise<void>((resolve) => {
        silent.close(() => resolve());
        for (const socket of held) socket.destroy();
      });
      const server = await startDropbear({ sftp: false, port, hostKeyFile: hostKey.file, authorizedKeys: [key.authorizedKey] });
      try {
        const ssh = await pending;
        transports.push(ssh);
        // Without the banner timeout the first attempt alone would hang for 10 s.
        expect(performance.now() - started).to.be.within(1_500, 4_000);
        expect(held.length).to.be.greaterThan(1);
        expect((await ssh.run('echo up')).stdout).to.equal('up\n');
        await ssh.close();
      } finally {
        await server.stop();
      }
    });
  });

  describe('a dead link', () => {
    /** Connects and returns the transport with the pid of its dropbear session process. */
    async function connectTracked(extra: Partial<SshConnectOptions> = {}): Promise<{ ssh: SshTransport; session: number }> {
      const before = new Set(plain.sessionPids());
      const ssh = await connect(plain, extra);
      const session = plain.sessionPids().find((pid) => !before.has(pid));
      if (session === undefined) throw new Error('could not find the dropbear session process');
      return { ssh, session };
    }

    /** Stops a session's processes, then frees them again and kills them. */
    async function withFrozen(session: number, body: () => Promise<void>): Promise<void> {
      const tree = processTree(session);
      signalAll([session], 'SIGSTOP');
      try {
        await body();
      } finally {
        signalAll(tree, 'SIGKILL');
        signalAll(tree, 'SIGCONT');
      }
    }

    it('rejects every in-flight command with board-lost within the default keepalive bound (≤ 10 s)', async () => {
      const { ssh, session } = await connectTracked();
      const a = ssh.run('sleep 30', { timeoutMs: 60_000 }).then(() => undefined, (e: Error) => ({ e, at: performance.now() }));
      const b = ssh.run('sleep 29', { timeoutMs: 60_000 }).then(() => undefined, (e: Error) => ({ e, at: performance.now() }));
      await new Promise((r) => setTimeout(r, 300)); // both commands are running
      let stoppedAt = 0;
      await withFrozen(session, async () => {
        stoppedAt = performance.now();
        const [ra, rb] = await Promise.all([a, b]);
        for (const [r, command] of [[ra, 'sleep 30'], [rb, 'sleep 29']] as const) {
          expect(r, command).to.not.equal(undefined);
          expect(r!.e).to.be.instanceOf(BoardError);
          expect((r!.e as BoardError).kind).to.equal('board-lost');
          expect(r!.e.message).to.include(`command: ${command}`).and.include('Keepalive timeout');
        }
        const detection = Math.max(ra!.at, rb!.at) - stoppedAt;
        measure('dead link detected (default keepalive 2 s × 3)', `${detection.toFixed(0)} ms`);
        expect(detection).to.be.within(4_000, 10_000);
        expect(Math.abs(ra!.at - rb!.at)).to.be.lessThan(50);
      });
      const after = await thrown(() => ssh.run('true'));
      expect((after as BoardError).kind).to.equal('board-lost');
      expect(ssh.connected).to.equal(false);
    });

    it('follows the configured keepalive: 300 ms × 2 finds the dead link within about a second', async () => {
      const { ssh, session } = await connectTracked({ keepaliveIntervalMs: 300, keepaliveCountMax: 2 });
      const pending = ssh.run('sleep 30').then(() => undefined, (e: Error) => e);
      await new Promise((r) => setTimeout(r, 200));
      await withFrozen(session, async () => {
        const stoppedAt = performance.now();
        const error = await pending;
        const detection = performance.now() - stoppedAt;
        expect((error as BoardError).kind).to.equal('board-lost');
        expect(detection).to.be.within(300, 1_300);
      });
    });
  });

  describe('close', () => {
    it('is idempotent, and a command after it is refused clearly', async () => {
      const ssh = await connect(plain);
      await ssh.close();
      await ssh.close();
      const error = await thrown(() => ssh.run('true'));
      expect(error).to.be.instanceOf(BoardError);
      expect(error.message).to.include('the transport is closed').and.include('command: true');
    });
  });
});
