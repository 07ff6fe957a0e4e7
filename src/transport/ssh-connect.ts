// Opening an authenticated ssh2 connection to a board: pinned host key, key-file
// auth, and retries while the board's sshd is still starting.

import { Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Client as ClientType } from 'ssh2';
import { BoardError, ConfigError, type BoardErrorKind } from '../errors.ts';
import { FINGERPRINT_PATTERN, fingerprintOf } from './ssh-keys.ts';

const { Client } = ssh2;

export interface SshConnectOptions {
  /** Board name, used in every error message. */
  board: string;
  host: string;
  port: number;
  user: string;
  /** Private key file contents (OpenSSH, PKCS#1 PEM or PPK). */
  privateKey: Buffer | string;
  passphrase?: string;
  /** Pinned `SHA256:` fingerprint of the board's host key; null accepts any key (and reports it). */
  hostKey: string | null;
  /** Time for TCP connect + handshake + auth of one attempt (default 10 000). */
  connectTimeoutMs?: number;
  /**
   * While retrying: an attempt whose server sent no byte (no SSH banner) within this
   * time is dropped and retried (default 3000, at most connectTimeoutMs). QEMU's
   * user-mode network accepts the TCP connection before the guest listens, so such
   * a connection can hang until the whole connect timeout otherwise.
   */
  bannerTimeoutMs?: number;
  /** Keepalive period (default 2000); with keepaliveCountMax a dead link is found within (max+1)×interval. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the link counts as dead (default 3). */
  keepaliveCountMax?: number;
  /** Absolute time (Date.now() clock) until which refused connections are retried; unset: one attempt. */
  retryUntilMs?: number;
  /** Last console lines of the board, quoted in every error message. */
  consoleTail?: () => string[];
  /** Timeout of a command that gives none (default 60 000). */
  defaultCommandTimeoutMs?: number;
  /**
   * run() sends its commands, one at a time, to one `sh` kept open on the
   * board instead of a new exec channel each (ssh.ts: the board shell).
   * Default false: a channel per command.
   */
  commandShell?: boolean;
}

export const SSH_DEFAULTS = {
  connectTimeoutMs: 10_000,
  bannerTimeoutMs: 3_000,
  keepaliveIntervalMs: 2_000,
  keepaliveCountMax: 3,
  defaultCommandTimeoutMs: 60_000,
} as const;

/** What a successful connect hands to the transport. */
export interface OpenedConnection {
  client: ClientType;
  /** The host key fingerprint the server presented. */
  hostKeyFingerprint: string;
  attempts: number;
  connectMs: number;
}

/** Reads the console tail without letting a broken callback hide the real error. */
export function safeTail(consoleTail: (() => string[]) | undefined): string[] {
  if (consoleTail === undefined) return [];
  try {
    return consoleTail();
  } catch (error) {
    return [`(console tail unavailable: ${(error as Error).message})`];
  }
}

/** Rejects options that would make the connection fail in a confusing way later. */
function validate(options: SshConnectOptions): void {
  const where = `board ${options.board}: ssh`;
  if (options.hostKey !== null && !FINGERPRINT_PATTERN.test(options.hostKey)) {
    throw new ConfigError(
      `${where}: hostKey ${JSON.stringify(options.hostKey)} is not an OpenSSH fingerprint ` +
        `(expected SHA256: followed by 43 base64 characters, as printed by ssh-keygen -l)`,
    );
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new ConfigError(`${where}: port ${options.port} is not a TCP port (1-65535)`);
  }
  if (options.retryUntilMs !== undefined && options.retryUntilMs < 1e12) {
    throw new ConfigError(
      `${where}: retryUntilMs ${options.retryUntilMs} looks like a duration; ` +
        `it is an absolute time (Date.now() + milliseconds)`,
    );
  }
}

interface AttemptFailure {
  retryable: boolean;
  kind: BoardErrorKind;
  detail: string;
  cause: unknown;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * One connection attempt; resolves on auth success, rejects with an AttemptFailure.
 * With `bannerTimeoutMs`, a server that sends nothing in that time is given up on.
 */
function attempt(
  options: SshConnectOptions,
  bannerTimeoutMs: number | undefined,
): Promise<{ client: ClientType; fingerprint: string }> {
  const target = `${options.user}@${options.host}:${options.port}`;
  const connectTimeoutMs = options.connectTimeoutMs ?? SSH_DEFAULTS.connectTimeoutMs;
  return new Promise((resolve, reject) => {
    const client = new Client();
    // Our own socket, so bytesRead tells whether the server said anything at all.
    const sock = new Socket();
    sock.setNoDelay(true); // commands are small request/reply exchanges: no Nagle delays
    let bannerTimer: NodeJS.Timeout | undefined;
    let settled = false;
    let presented: string | undefined;
    let mismatch = false;
    // The host verifier runs during key exchange, so once it ran the server is a
    // live sshd: a failure after that point is not "still starting".
    let kexReached = false;

    const fail = (failure: AttemptFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(bannerTimer);
      client.end();
      sock.destroy();
      reject(failure);
    };

    const classify = (error: Error & { code?: unknown; level?: string }): AttemptFailure => {
      if (mismatch) {
        return {
          retryable: false,
          kind: 'host-key-mismatch',
          detail:
            `${options.host}:${options.port} presented host key ${presented}, expected ${options.hostKey} (pinned); ` +
            `refusing to connect (if the board was reinstalled on purpose, update its hostKey)`,
          cause: error,
        };
      }
      if (error.level === 'client-authentication') {
        return {
          retryable: false,
          kind: 'auth-failed',
          detail: `${target} refused the private key (publickey auth): ${error.message}`,
          cause: error,
        };
      }
      const transient =
        (typeof error.code === 'string' && TRANSIENT_CODES.has(error.code)) ||
        error.message === 'Connection lost before handshake' ||
        (error.level === 'client-timeout' && !kexReached);
      if (transient && !kexReached) {
        const what = typeof error.code === 'string' ? error.code : error.message;
        return { retryable: true, kind: 'connection-refused', detail: `${target}: ${what}`, cause: error };
      }
      return {
        retryable: false,
        kind: 'protocol',
        detail: `${target}: ssh handshake failed: ${error.message}`,
        cause: error,
      };
    };

    client.on('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(bannerTimer);
      resolve({ client, fingerprint: presented ?? '(unknown)' });
    });
    client.on('error', (error: Error) => fail(classify(error)));
    client.on('close', () =>
      fail(
        kexReached
          ? { retryable: false, kind: 'protocol', detail: `${target} closed the connection during login`, cause: undefined }
          : { retryable: true, kind: 'connection-refused', detail: `${target} closed the connection before the handshake`, cause: undefined },
      ),
    );

    if (bannerTimeoutMs !== undefined) {
      bannerTimer = setTimeout(() => {
        if (sock.bytesRead > 0) return;
        fail({
          retryable: true,
          kind: 'connection-refused',
          detail: `${target}: no SSH banner within ${bannerTimeoutMs} ms`,
          cause: undefined,
        });
      }, bannerTimeoutMs);
    }

    try {
      sock.connect(options.port, options.host);
      client.connect({
        sock,
        host: options.host,
        port: options.port,
        username: options.user,
        privateKey: options.privateKey,
        ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
        tryKeyboard: false,
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: options.keepaliveIntervalMs ?? SSH_DEFAULTS.keepaliveIntervalMs,
        keepaliveCountMax: options.keepaliveCountMax ?? SSH_DEFAULTS.keepaliveCountMax,
        hostVerifier: (key: Buffer): boolean => {
          kexReached = true;
          presented = fingerprintOf(key);
          if (options.hostKey === null || presented === options.hostKey) return true;
          mismatch = true;
          return false;
        },
      });
    } catch (error) {
      // ssh2 throws synchronously for a key it cannot parse (or a wrong passphrase).
      fail({
        retryable: false,
        kind: 'auth-failed',
        detail: `private key for ${target} is unusable: ${(error as Error).message}`,
        cause: error,
      });
    }
  });
}

/** Connects and authenticates, retrying refused connections until options.retryUntilMs. */
export async function openConnection(options: SshConnectOptions): Promise<OpenedConnection> {
  validate(options);
  const started = performance.now();
  let delayMs = 50;
  // Short backoff: a board that just started its sshd should not wait long for us.
  for (let attempts = 1; ; attempts++) {
    const deadline = options.retryUntilMs;
    // The banner timeout only makes sense when there is time left for another attempt.
    const bannerTimeoutMs =
      deadline !== undefined && deadline - Date.now() > (options.bannerTimeoutMs ?? SSH_DEFAULTS.bannerTimeoutMs)
        ? Math.min(options.bannerTimeoutMs ?? SSH_DEFAULTS.bannerTimeoutMs, options.connectTimeoutMs ?? SSH_DEFAULTS.connectTimeoutMs)
        : undefined;
    try {
      const { client, fingerprint } = await attempt(options, bannerTimeoutMs);
      return { client, hostKeyFingerprint: fingerprint, attempts, connectMs: performance.now() - started };
    } catch (thrown) {
      const failure = thrown as AttemptFailure;
      if (failure.retryable && deadline !== undefined && Date.now() + delayMs < deadline) {
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, 250);
        continue;
      }
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      const detail = failure.retryable
        ? `${failure.detail} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${elapsed} s)`
        : failure.detail;
      throw new BoardError(failure.kind, options.board, detail, undefined, safeTail(options.consoleTail), {
        cause: failure.cause,
      });
    }
  }
}
