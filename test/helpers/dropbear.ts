// Starts a real dropbear (the sshd of the emulated board) on 127.0.0.1 for the
// SSH transport tests, and always ends it and everything it spawned, by pid.
//
// dropbear reads authorized_keys from the passwd home of the login user and has
// no option to point elsewhere (2022.83), and its SFTP server path is compiled
// in (/usr/lib/sftp-server on Debian). So it runs in a private mount namespace
// (`unshare -m`, propagation private: nothing leaks to the host) where a temp
// directory is bind-mounted over /root, and, for a board without SFTP, an empty
// directory over the sftp-server's real directory (exec then fails with 127,
// exactly like the emulated board's initramfs, which has no sftp-server).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Debian's dropbear is built with this SFTPSERVER_PATH. */
export const DROPBEAR_SFTP_SERVER = '/usr/lib/sftp-server';

export interface DropbearOptions {
  /** TCP port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Offer SFTP (needs openssh-sftp-server) or hide it like the emulated board does. */
  sftp: boolean;
  /** authorized_keys lines for root. */
  authorizedKeys: string[];
  /** An existing dropbear host key file to reuse (default: a fresh ed25519 key). */
  hostKeyFile?: string;
}

export interface DropbearServer {
  host: '127.0.0.1';
  port: number;
  /** pid of the listening dropbear. */
  pid: number;
  hostKeyFile: string;
  hostKeyFingerprint: string;
  sftp: boolean;
  /** Last lines dropbear logged (it logs to stderr with -E). */
  logTail(lines?: number): string[];
  /** pids of the per-connection dropbear processes (children of the listener). */
  sessionPids(): number[];
  /** Ends dropbear and all its descendants (SIGKILL by pid); idempotent. */
  stop(): Promise<void>;
}

/** Why dropbear tests cannot run here, or undefined when they can. */
export function dropbearUnavailable(): string | undefined {
  for (const tool of ['dropbear', 'dropbearkey']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      return `${tool} is not installed (apt-get install -y dropbear-bin)`;
    }
  }
  if (process.getuid?.() !== 0) return 'the dropbear test server needs root (it logs in as root in a private mount namespace)';
  const probe = spawnSync('unshare', ['-m', 'true']);
  if (probe.status !== 0) {
    return `unshare -m is not permitted here (${probe.stderr?.toString().trim() || probe.error?.message}); the dropbear test server needs a private mount namespace`;
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Makes an ed25519 dropbear host key and returns its file and `SHA256:` fingerprint. */
export function makeHostKey(dir: string): { file: string; fingerprint: string } {
  const file = join(dir, 'hostkey');
  const made = spawnSync('dropbearkey', ['-t', 'ed25519', '-f', file], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`dropbearkey failed: ${made.stderr}`);
  return { file, fingerprint: hostKeyFingerprint(file) };
}

/** The fingerprint dropbearkey prints for a host key file. */
export function hostKeyFingerprint(file: string): string {
  const shown = spawnSync('dropbearkey', ['-y', '-f', file], { encoding: 'utf8' });
  const match = /^Fingerprint: (SHA256:\S+)$/m.exec(shown.stdout);
  if (shown.status !== 0 || match?.[1] === undefined) throw new Error(`dropbearkey -y -f ${file}: ${shown.stderr}`);
  return match[1];
}

/** The public key line dropbearkey prints for a host key file. */
export function hostPublicKeyLine(file: string): string {
  const shown = spawnSync('dropbearkey', ['-y', '-f', file], { encoding: 'utf8' });
  const line = shown.stdout.split('\n').find((l) => l.startsWith('ssh-'));
  if (line === undefined) throw new Error(`dropbearkey -y -f ${file}: no public key line`);
  return line;
}

/** Parent pid of a process, from /proc (undefined when it is gone). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields after the last ')' are safe.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (parentOf(Number(entry)) === pid) children.push(Number(entry));
  }
  return children;
}

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...childrenOf(tree[i]!));
  return tree;
}

/** Sends a signal to each pid, ignoring those already gone. */
export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already exited
    }
  }
}

const running = new Set<() => void>();

/** Kills every dropbear still running (sync: used from 'exit' and signal handlers). */
function killAllSync(): void {
  for (const kill of running) kill();
  running.clear();
}

// Last resort when mocha exits without running after-hooks, or is interrupted:
// no dropbear (or command it started) survives the test process.
process.once('exit', killAllSync);
const onSignal = (signal: NodeJS.Signals): void => {
  killAllSync();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  process.kill(process.pid, signal);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

/** Starts dropbear in the foreground on 127.0.0.1 and waits until it listens. */
export async function startDropbear(options: DropbearOptions): Promise<DropbearServer> {
  const unavailable = dropbearUnavailable();
  if (unavailable !== undefined) throw new Error(unavailable);
  const dir = mkdtempSync(join(tmpdir(), 'vnet-dropbear-'));
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, '.ssh', 'authorized_keys'), options.authorizedKeys.join('\n') + '\n', { mode: 0o600 });
  const hostKey =
    options.hostKeyFile === undefined
      ? makeHostKey(dir)
      : { file: options.hostKeyFile, fingerprint: hostKeyFingerprint(options.hostKeyFile) };
  const port = options.port ?? (await freePort());
  const pidFile = join(dir, 'dropbear.pid');

  let hide = '';
  if (!options.sftp && existsSync(DROPBEAR_SFTP_SERVER)) {
    const real = realpathSync(DROPBEAR_SFTP_SERVER);
    const empty = join(dir, 'no-sftp');
    if (dirname(real) !== '/usr/lib') {
      mkdirSync(empty);
      hide = `mount --bind ${empty} ${dirname(real)} && `;
    } else {
      writeFileSync(empty, '', { mode: 0o644 });
      hide = `mount --bind ${empty} ${real} && `;
    }
  }
  if (options.sftp && !existsSync(DROPBEAR_SFTP_SERVER)) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`dropbear with SFTP needs ${DROPBEAR_SFTP_SERVER} (apt-get install -y openssh-sftp-server)`);
  }

  // unshare and sh both exec, so the pid we get is dropbear's own.
  const script =
    `mount --bind ${home} /root && ${hide}` +
    `exec dropbear -F -E -s -j -k -p 127.0.0.1:${port} -r ${hostKey.file} -P ${pidFile}`;
  const child: ChildProcess = spawn('unshare', ['-m', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn dropbear');
  const log: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    log.push(...text.split('\n').filter((l) => l.length > 0));
    if (log.length > 500) log.splice(0, log.length - 500);
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const killTree = (): void => {
    const tree = processTree(pid);
    signalAll(tree, 'SIGCONT');
    signalAll(tree.reverse(), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(killTree);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // killTree collects the tree first: once the listener is gone, sessions are reparented.
    running.delete(killTree);
    killTree();
    await exitedPromise;
  };

  const readyBy = Date.now() + 5_000;
  while (!exited) {
    if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(pid)) break;
    if (Date.now() > readyBy) {
      await stop();
      throw new Error(`dropbear did not start within 5 s on port ${port}:\n  ${log.join('\n  ')}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  if (exited) {
    await stop();
    throw new Error(`dropbear exited at start on port ${port}:\n  ${log.join('\n  ')}`);
  }

  return {
    host: '127.0.0.1',
    port,
    pid,
    hostKeyFile: hostKey.file,
    hostKeyFingerprint: hostKey.fingerprint,
    sftp: options.sftp,
    logTail: (lines = 10) => log.slice(-lines),
    sessionPids: () => childrenOf(pid),
    stop,
  };
}
