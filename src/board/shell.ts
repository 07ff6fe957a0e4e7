// Shell drivers: how the harness gets a shell on a booted board, as the
// transport that runs its commands. One connect path per transport: SSH to
// whatever endpoint the board's sshd has this boot (YAML or emulator), or a
// login on the current boot's console.
import type { TransportKind } from '../config/board.ts';
import { readSecret } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { SerialTransport } from '../transport/serial.ts';
import { SshTransport } from '../transport/ssh.ts';
import type { BoardTransport } from '../transport/types.ts';
import type { ConsoleLog } from './console-log.ts';
import type { SerialLine, SshService } from './resources.ts';

export interface ShellDriver {
  readonly kind: TransportKind;
  /** Connects (retrying while the board still boots) until `deadlineMs` (Date.now() clock). */
  connect(deadlineMs: number): Promise<BoardTransport>;
}

/** A shell over SSH, with keepalives that find a dead link. */
export class SshShell implements ShellDriver {
  readonly kind = 'ssh';

  constructor(
    private readonly board: string,
    private readonly ssh: SshService,
    private readonly console: ConsoleLog,
    private readonly commandTimeoutMs: number,
  ) {}

  async connect(deadlineMs: number): Promise<BoardTransport> {
    const { login } = this.ssh;
    return SshTransport.connect({
      board: this.board,
      ...(await this.ssh.endpoint()),
      connectTimeoutMs: login.connectTimeout * 1000,
      keepaliveIntervalMs: login.keepaliveInterval * 1000,
      keepaliveCountMax: login.keepaliveCountMax,
      retryUntilMs: deadlineMs,
      consoleTail: () => this.console.tail(),
      defaultCommandTimeoutMs: this.commandTimeoutMs,
      // One sh for the commands instead of a channel each: ~85 ms less a command on the debug board.
      commandShell: true,
    });
  }
}

/** A shell on the serial console of the current boot: logs in, commands wrapped in markers. */
export class SerialShell implements ShellDriver {
  readonly kind = 'serial';

  constructor(
    private readonly board: string,
    private readonly line: SerialLine,
    private readonly console: ConsoleLog,
  ) {}

  async connect(deadlineMs: number): Promise<BoardTransport> {
    const console = this.console.current();
    if (!console) throw new ConfigError(`board ${this.board} has no serial console`);
    const login = this.line.login;
    const password = login.passwordEnv ? readSecret(login.passwordEnv, { board: this.board, setting: 'serial.password_env' }) : undefined;
    const serial = new SerialTransport(console, { board: this.board, ...(login.prompt ? { prompt: login.prompt } : {}) });
    await serial.login({
      user: login.loginUser,
      ...(password === undefined ? {} : { password }),
      timeoutMs: Math.max(1000, deadlineMs - Date.now()),
    });
    return serial;
  }
}
