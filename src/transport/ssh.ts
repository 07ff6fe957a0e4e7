// The SSH transport: a thin wrapper over ssh2's Client that implements
// BoardTransport. ssh2 leaves a channel open forever when the link dies, so
// every in-flight operation is tracked here and rejected when the client goes.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { commandFailure, type BoardTransport, type CommandResult, type RunOptions } from './types.ts';
import { BoardError, HarnessError, type BoardErrorKind } from '../errors.ts';
import { endSftp, killChannel } from './ssh-channel.ts';
import { exitFromShellStatus } from './serial-exit.ts';
import { randomToken } from './markers.ts';
import { checksumCommand, checksumName, digestOf, parseDigest, type FileTools } from './checksum.ts';
import { openConnection, safeTail, SSH_DEFAULTS, type SshConnectOptions } from './ssh-connect.ts';

export { fingerprintOf, fingerprintOfPublicKeyLine, generateClientKey, type ClientKey } from './ssh-keys.ts';
export { SSH_DEFAULTS, type SshConnectOptions } from './ssh-connect.ts';

/** How a file reached the board. */
export interface UploadResult {
  method: 'sftp' | 'cat';
  bytes: number;
  sha256: string;
  durationMs: number;
}

/**
 * A board command that kills process `pid` and its descendants (found by
 * the parent id in /proc/N/stat; a name with spaces there can hide one):
 * the descendants first, so none is reparented before it is found.
 */
export function killTreeCommand(pid: number): string {
  return `k() { for s in /proc/[0-9]*/stat; do read -r c _ _ pp _ 2>/dev/null < "$s" || continue; [ "$pp" = "$1" ] && k "$c"; done; kill -KILL "$1" 2>/dev/null; }; k ${pid}; true`;
}

/** What a `cat` upload prints once the file is written, before its checksum. */
const UPLOADED = '@uploaded';

/** Raw outcome of one exec channel. */
interface ExecOutcome {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal?: string;
  durationMs: number;
}

/** Quotes a word for the board's POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const DEFAULT_UPLOAD_TIMEOUT_MS = 120_000;

// dropbear accepts the subsystem request, then fails to exec its compiled-in
// sftp-server path (exit 127); OpenSSH refuses the request. Both mean "no SFTP".
const NO_SFTP = /Unable to start subsystem|while establishing SFTP session|unexpected SFTP session termination/;

export class SshTransport implements BoardTransport {
  readonly kind = 'ssh' as const;
  /** Rejecters of every operation still waiting on the link. */
  private readonly inflight = new Set<(kind: BoardErrorKind, detail: string) => void>();
  /** Why the link is gone (set once). */
  private lostBecause: string | undefined;
  private closedByUs = false;
  /** Whether the server has an SFTP subsystem; unknown until the first upload. */
  private sftpAvailable: boolean | undefined;
  /** Channels we abandoned and that are not closed yet; new channels wait for them. */
  private readonly settling = new Set<Promise<void>>();
  /** The board shell (see shellExec): its channel once open, and whether a command is in it. */
  private readonly boardShell: { channel?: ClientChannel; busy: boolean } = { busy: false };

  private constructor(
    private readonly client: Client,
    private readonly options: SshConnectOptions,
    /** Fingerprint of the host key the board presented (useful when hostKey was null). */
    readonly hostKeyFingerprint: string,
    /** Milliseconds from the first attempt to an authenticated session. */
    readonly connectMs: number,
    readonly connectAttempts: number,
  ) {
    client.on('error', (error: Error) => this.linkDown(error.message));
    client.on('end', () => this.linkDown('the server closed the connection'));
    client.on('close', () => this.linkDown('the connection closed'));
  }

  /** Connects (retrying while the board's sshd starts), verifies the host key, authenticates. */
  static async connect(options: SshConnectOptions): Promise<SshTransport> {
    const opened = await openConnection(options);
    return new SshTransport(opened.client, options, opened.hostKeyFingerprint, opened.connectMs, opened.attempts);
  }

  /**
   * Runs a shell command: through the board shell when the options ask for
   * it and it is free, else in its own channel; concurrent calls share the
   * connection.
   */
  async run(command: string, options: RunOptions = {}): Promise<CommandResult> {
    const timeoutMs = options.timeoutMs ?? this.options.defaultCommandTimeoutMs ?? SSH_DEFAULTS.defaultCommandTimeoutMs;
    const outcome = this.options.commandShell === true && !this.boardShell.busy ? await this.shellExec(command, timeoutMs) : await this.exec(command, timeoutMs);
    const result: CommandResult = {
      command,
      stdout: outcome.stdout.toString('utf8'),
      stderr: outcome.stderr.toString('utf8'),
      exitCode: outcome.exitCode,
      durationMs: outcome.durationMs,
      ...(outcome.signal === undefined ? {} : { signal: outcome.signal }),
    };
    if (options.check === true && result.exitCode !== 0) {
      throw new HarnessError(`board ${this.options.board}: ${this.failure(command, outcome)}`);
    }
    return result;
  }

  /** Reads a file from the board with `cat`, byte for byte. */
  async readFileBuffer(remotePath: string, options: { timeoutMs?: number } = {}): Promise<Buffer> {
    const command = `cat ${shellQuote(remotePath)}`;
    const timeoutMs = options.timeoutMs ?? this.options.defaultCommandTimeoutMs ?? SSH_DEFAULTS.defaultCommandTimeoutMs;
    const outcome = await this.exec(command, timeoutMs);
    if (outcome.exitCode !== 0) throw new HarnessError(`board ${this.options.board}: ${this.failure(command, outcome)}`);
    return outcome.stdout;
  }

  /** Reads a text file from the board (UTF-8). */
  async readFile(remotePath: string, options: { timeoutMs?: number } = {}): Promise<string> {
    return (await this.readFileBuffer(remotePath, options)).toString('utf8');
  }

  /** Copies a file to the board (SFTP, or `cat >` without it) and checks its sha256 there. */
  async upload(localPath: string, remotePath: string, options: { timeoutMs?: number; tools?: FileTools } = {}): Promise<void> {
    await this.uploadFile(localPath, remotePath, options);
  }

  /** upload(), telling how the file went and how long it took. */
  async uploadFile(localPath: string, remotePath: string, options: { timeoutMs?: number; tools?: FileTools } = {}): Promise<UploadResult> {
    const started = performance.now();
    const deadline = started + (options.timeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS);
    const label = `upload ${localPath} -> ${remotePath}`;
    const remaining = (): number => Math.max(1, deadline - performance.now());
    const local = await hashFile(localPath).catch((error: Error) => {
      throw this.error('upload-failed', `cannot read local file: ${error.message}`, label, error);
    });

    // sha256sum, or the board's best checksum tool (an old BSP's busybox).
    const tool = options.tools?.checksum ?? 'sha256';
    const check = checksumCommand(tool, shellQuote(remotePath));
    let method: UploadResult['method'] = 'cat';
    let sum: ExecOutcome | undefined;
    if (this.sftpAvailable !== false) {
      const sftp = await this.openSftp(label, remaining());
      if (sftp !== undefined) {
        method = 'sftp';
        try {
          await this.track<void>(label, remaining(), (ok, fail) => {
            sftp.fastPut(localPath, remotePath, (error) => (error ? fail(error) : ok()));
            return () => this.settle(endSftp(sftp));
          });
        } catch (error) {
          throw this.asUploadError(error, label);
        }
        await endSftp(sftp);
      }
    }
    if (method === 'cat') {
      // The checksum comes in the same command: one board round trip (~85 ms on the debug board) less an upload.
      const command = `cat > ${shellQuote(remotePath)} && echo ${UPLOADED} && ${check}`;
      const outcome = await this.exec(command, remaining(), (channel, fail) => {
        const source = createReadStream(localPath);
        source.on('error', (error) => {
          fail(error);
          channel.close();
        });
        source.pipe(channel);
      });
      const out = outcome.stdout.toString('utf8');
      if (!out.startsWith(`${UPLOADED}\n`)) {
        throw this.error('upload-failed', this.failure(command, outcome), label);
      }
      // What the checksum tool said (and its status), as if it ran on its own.
      sum = { ...outcome, stdout: Buffer.from(out.slice(UPLOADED.length + 1)) };
    }
    sum ??= await this.exec(check, remaining());
    const remote = parseDigest(tool, sum.stdout.toString('utf8')) ?? '';
    const wanted = tool === 'sha256' ? local.sha256 : digestOf(tool, await readFile(localPath));
    if (sum.exitCode !== 0 || remote !== wanted) {
      throw this.error(
        'upload-failed',
        `checksum on the board differs after ${method} upload: local ${checksumName(tool)} ${wanted} (${local.bytes} bytes), ` +
          `board ${remote || '(none)'}${sum.exitCode === 0 ? '' : ` (${checksumName(tool)} exit ${sum.exitCode}: ${sum.stderr.toString('utf8').trim()})`}`,
        label,
      );
    }
    return { method, bytes: local.bytes, sha256: local.sha256, durationMs: performance.now() - started };
  }

  /** Ends the connection; in-flight operations are rejected. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.rejectAll('protocol', 'the transport was closed while this was running');
    if (this.lostBecause !== undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2_000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  /** True while the link is up and close() was not called. */
  get connected(): boolean {
    return this.lostBecause === undefined && !this.closedByUs;
  }

  /** Opens an SFTP session, or returns undefined when the board has no SFTP subsystem. */
  private async openSftp(label: string, timeoutMs: number): Promise<SFTPWrapper | undefined> {
    await this.quiesce();
    let opened: SFTPWrapper | undefined;
    const sftp = await this.track<SFTPWrapper | undefined>(label, timeoutMs, (ok, fail, settled) => {
      this.client.sftp((error, session) => {
        if (!error) {
          opened = session;
          if (settled()) {
            this.settle(endSftp(session));
            return;
          }
          // ssh2 emits late errors on a session whose link died; the tracker reports those.
          session.on('error', () => undefined);
          ok(session);
        } else if (NO_SFTP.test(error.message)) {
          ok(undefined);
        } else {
          fail(error);
        }
      });
      return () => {
        if (opened !== undefined) this.settle(endSftp(opened));
      };
    }).catch((error: unknown) => {
      throw this.asUploadError(error, label);
    });
    this.sftpAvailable = sftp !== undefined;
    return sftp;
  }

  /** Waits until channels we abandoned are closed (see ssh-channel.ts for why). */
  private async quiesce(): Promise<void> {
    // On a dead link there is nothing to protect; the caller gets board-lost at once.
    while (this.settling.size > 0 && this.connected) await Promise.all([...this.settling]);
  }

  /** Registers a channel shutdown that new channels must wait for. */
  private settle(shutdown: Promise<void>): void {
    const tracked = shutdown.finally(() => this.settling.delete(tracked));
    this.settling.add(tracked);
  }

  /** Runs a command in a fresh channel; `feed` writes stdin (else stdin is closed at once). */
  private async exec(
    command: string,
    timeoutMs: number,
    feed?: (channel: ClientChannel, fail: (error: Error) => void) => void,
    /** False only for the kill of a timed-out board-shell command, which the shell's own settling waits for. */
    afterSettling = true,
  ): Promise<ExecOutcome> {
    if (afterSettling) await this.quiesce();
    const started = performance.now();
    let channel: ClientChannel | undefined;
    return this.track<ExecOutcome>(command, timeoutMs, (ok, fail, settled) => {
      this.client.exec(command, (error, opened) => {
        if (error) {
          fail(error);
          return;
        }
        channel = opened;
        if (settled()) {
          // Timed out (or the link died) while the channel was opening.
          this.settle(killChannel(opened));
          return;
        }
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let stderrEnded = false;
        let exit: { code: number | null; signal?: string } | undefined;
        const finish = (): void => {
          if (exit === undefined || !stderrEnded) return;
          ok({
            stdout: Buffer.concat(stdout),
            stderr: Buffer.concat(stderr),
            exitCode: exit.code,
            ...(exit.signal === undefined ? {} : { signal: exit.signal }),
            durationMs: performance.now() - started,
          });
        };
        opened.on('error', fail);
        opened.on('data', (chunk: Buffer) => stdout.push(chunk));
        opened.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        opened.stderr.on('end', () => {
          stderrEnded = true;
          finish();
        });
        // The close event carries the exit status even when 'exit' was missed.
        opened.on('close', (code?: number | null, signal?: string) => {
          if (typeof code === 'number') exit = { code };
          else if (typeof signal === 'string') exit = { code: null, signal: signal.replace(/^SIG/, '') };
          else {
            fail(new Error('the channel closed without an exit status'));
            return;
          }
          finish();
        });
        if (feed === undefined) opened.end();
        else feed(opened, fail);
      });
      // On timeout: kill the command; the connection stays usable.
      return () => {
        if (channel !== undefined) this.settle(killChannel(channel));
      };
    });
  }

  /**
   * Runs a command through the board shell: one `sh` on the board, in one
   * channel kept open, reading commands from its stdin. An exec channel per
   * command costs about 85 ms on the emulated debug board; a process start
   * there costs about 25 ms. Each command runs in its own `sh -c`, as the
   * serial transport runs it and as an exec channel would (that sh prints
   * its pid on stderr, then evals the command; stdin is /dev/null): `exit`,
   * `cd`, a syntax error stay in its own shell, `$$` is that shell (so `kill
   * -9 $$` ends the command, not the board shell) and nothing reads the
   * board shell's input; then the board shell prints an end line with a
   * fresh marker and the status on stdout, and the marker on stderr.
   * Differences from an exec channel: a status of 128+N reads as signal N, as
   * on a serial console (serial-exit.ts), so `exit 137` reads as KILL; output
   * that a command's background children write after its end
   * line is dropped (or lands in the next command's, if they are still
   * writing then); on timeout the shell is killed like a command's channel
   * (the next command opens a new one), after the command's sh and its
   * descendants, found by their parent ids in /proc (killTreeCommand); what
   * left that tree (a daemon) may still run.
   */
  private async shellExec(command: string, timeoutMs: number): Promise<ExecOutcome> {
    const state = this.boardShell;
    state.busy = true;
    try {
      const started = performance.now();
      const channel = state.channel ?? (await this.openBoardShell(command, timeoutMs));
      const marker = `@vnet-end-${randomToken(6)}`;
      const left = Math.max(1, timeoutMs - (performance.now() - started));
      return await this.track<ExecOutcome>(command, left, (ok, fail) => {
        let stdout = Buffer.alloc(0);
        let stderr = Buffer.alloc(0);
        let status: number | undefined;
        let stderrDone = false;
        let pid: number | undefined;
        const outEnd = Buffer.from(`\n${marker} `);
        const errEnd = Buffer.from(`\n${marker}\n`);
        // The first line on stderr: the command's pid.
        const pidLine = new RegExp(`^${marker} (\\d+)\\n`);
        const detach = (): void => {
          channel.off('data', onOut);
          channel.stderr.off('data', onErr);
          channel.off('close', onClose);
        };
        const finish = (): void => {
          if (status === undefined || !stderrDone) return;
          detach();
          const err = stderr.subarray(stderr.indexOf('\n') + 1);
          const exit = exitFromShellStatus(status);
          ok({
            stdout: stdout.subarray(0, stdout.indexOf(outEnd)),
            stderr: err.subarray(0, err.indexOf(errEnd)),
            exitCode: exit.exitCode,
            ...(exit.signal === undefined ? {} : { signal: exit.signal }),
            durationMs: performance.now() - started,
          });
        };
        const onOut = (chunk: Buffer): void => {
          stdout = Buffer.concat([stdout, chunk]);
          const at = stdout.indexOf(outEnd);
          const line = at < 0 ? undefined : /^(\d+)\n/.exec(stdout.subarray(at + outEnd.length).toString('latin1'));
          if (line) {
            status = Number(line[1]);
            finish();
          }
        };
        const onErr = (chunk: Buffer): void => {
          stderr = Buffer.concat([stderr, chunk]);
          const line = pid === undefined ? pidLine.exec(stderr.toString('latin1')) : null;
          if (line) pid = Number(line[1]);
          if (stderr.includes(errEnd)) {
            stderrDone = true;
            finish();
          }
        };
        const onClose = (): void => {
          detach();
          if (state.channel === channel) delete state.channel;
          fail(new Error('the board shell ended before the command did'));
        };
        channel.on('data', onOut);
        channel.stderr.on('data', onErr);
        channel.once('close', onClose);
        channel.write(`sh -c 'printf "%s %d\\n" ${marker} $$ >&2; eval "$1"' sh ${shellQuote(command)} </dev/null; printf '\\n%s %d\\n' ${marker} $?; printf '\\n%s\\n' ${marker} >&2\n`);
        // On timeout: kill the command and the shell; the next command opens a new one.
        return () => {
          detach();
          if (state.channel === channel) delete state.channel;
          // The command by its pid (in a channel of its own, opened at once), then the shell.
          const killed = pid === undefined ? Promise.resolve() : this.exec(killTreeCommand(pid), 5_000, undefined, false).then(() => undefined, () => undefined);
          this.settle(killed.then(() => killChannel(channel)));
        };
      }, 'the command, its child processes and the board shell running it were killed');
    } finally {
      state.busy = false;
    }
  }

  /** Opens the board shell's channel (within the first command's time). */
  private async openBoardShell(command: string, timeoutMs: number): Promise<ClientChannel> {
    await this.quiesce();
    const channel = await this.track<ClientChannel>(command, timeoutMs, (ok, fail, settled) => {
      this.client.exec('exec sh', (error, opened) => {
        if (error) {
          fail(error);
          return;
        }
        if (settled()) {
          this.settle(killChannel(opened));
          return;
        }
        // Between commands nothing reads it: keep it flowing (output after an end line is dropped).
        opened.on('data', () => undefined);
        opened.stderr.on('data', () => undefined);
        opened.on('error', () => undefined);
        opened.once('close', () => {
          if (this.boardShell.channel === opened) delete this.boardShell.channel;
        });
        ok(opened);
      });
      return undefined;
    });
    this.boardShell.channel = channel;
    return channel;
  }

  /**
   * Runs one operation with its own timeout and registers it so a dying link
   * rejects it at once. `start` returns what to do to abandon it on timeout.
   */
  private track<T>(
    command: string,
    timeoutMs: number,
    start: (
      ok: (value: T) => void,
      fail: (error: Error) => void,
      settled: () => boolean,
    ) => (() => void) | undefined,
    killed = 'the command was killed',
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closedByUs) {
        reject(this.error('protocol', 'the transport is closed', command));
        return;
      }
      if (this.lostBecause !== undefined) {
        reject(this.error('board-lost', `the connection was lost earlier: ${this.lostBecause}`, command));
        return;
      }
      let done = false;
      let abandon: (() => void) | undefined;
      const settle = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        this.inflight.delete(onLinkDown);
        return true;
      };
      const onLinkDown = (kind: BoardErrorKind, detail: string): void => {
        if (settle()) reject(this.error(kind, detail, command));
      };
      const timer = setTimeout(() => {
        if (!settle()) return;
        reject(this.error('command-timeout', `no result within ${Math.round(timeoutMs)} ms; ${killed}`, command));
        try {
          abandon?.();
        } catch {
          // the channel may already be gone; the timeout error is what matters
        }
      }, timeoutMs);
      this.inflight.add(onLinkDown);
      const ok = (value: T): void => {
        if (settle()) resolve(value);
      };
      const fail = (error: Error): void => {
        if (!settle()) return;
        if (error instanceof BoardError) reject(error);
        else if (this.lostBecause !== undefined) {
          reject(this.error('board-lost', `the connection was lost: ${this.lostBecause}`, command, error));
        } else reject(this.error('protocol', error.message, command, error));
      };
      try {
        abandon = start(ok, fail, () => done);
      } catch (error) {
        // ssh2 throws "Not connected" synchronously when the socket is already gone.
        fail(error as Error);
      }
    });
  }

  /** Records why the link is gone and rejects everything still waiting on it. */
  private linkDown(reason: string): void {
    if (this.lostBecause !== undefined) return;
    this.lostBecause = reason;
    if (this.closedByUs) return;
    this.rejectAll('board-lost', `the connection to the board was lost (${reason})`);
  }

  private rejectAll(kind: BoardErrorKind, detail: string): void {
    const waiting = [...this.inflight];
    this.inflight.clear();
    for (const reject of waiting) reject(kind, detail);
  }

  private error(kind: BoardErrorKind, detail: string, command: string | undefined, cause?: unknown): BoardError {
    return new BoardError(kind, this.options.board, detail, command, safeTail(this.options.consoleTail), {
      cause,
    });
  }

  private asUploadError(error: unknown, label: string): BoardError {
    if (error instanceof BoardError) return error;
    return this.error('upload-failed', (error as Error).message, label, error);
  }

  /** The outcome of a command as the one failure message (commandFailure in types.ts). */
  private failure(command: string, outcome: ExecOutcome): string {
    return commandFailure({
      command,
      stdout: outcome.stdout.toString('utf8'),
      stderr: outcome.stderr.toString('utf8'),
      exitCode: outcome.exitCode,
      ...(outcome.signal === undefined ? {} : { signal: outcome.signal }),
    });
  }

}

/** sha256 and size of a local file, streamed. */
async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
