// A board session: the one object stages and commands use. It owns the
// console capture (from power-on to shutdown, across power cycles), the
// transport that runs commands (SSH or serial), power control and recovery.
// Emulated and real boards differ only in how power and images are handled.
import { readFile, stat } from 'node:fs/promises';
import { execa } from 'execa';
import type { BoardConfig, EmulatedBoardConfig, RealBoardConfig, TransportKind } from '../config/board.ts';
import { readSecret } from '../config/secrets.ts';
import { BoardError, ConfigError, HarnessError } from '../errors.ts';
import { EmulatedMachine, prepareImages, type EmulatedImages } from '../emulated/machine.ts';
import { SerialConsole } from '../transport/console.ts';
import { SerialTransport } from '../transport/serial.ts';
import { SshTransport, generateClientKey, type ClientKey } from '../transport/ssh.ts';
import type { Progress } from '../util/progress.ts';
import type { BoardTransport, CommandResult, RunOptions } from './session.ts';

/**
 * Slowest upload rate allowed for (bytes per ms): ~4 KiB/s. Measured: the
 * emulated board's serial console moves 1 MiB in ~96 s (~11 KiB/s); a loaded
 * host must not turn that into a timeout.
 */
const UPLOAD_BYTES_PER_MS_FLOOR = 4;

/** Time a power command (PDU/relay script) gets before it counts as failed. */
const POWER_COMMAND_TIMEOUT_MS = 60_000;

export interface OpenBoardOptions {
  transport?: TransportKind;
  progress: Progress;
  /** Extra kernel command line for the emulated board. */
  extraAppend?: string;
}

/** What happened when the board was recovered. */
export interface RecoveryReport {
  reason: string;
  method: 'qemu-restart' | 'power-cycle';
  /** Power-on to a usable shell. */
  bootMs: number;
  /** The whole recovery: teardown, power, boot, reconnect. */
  durationMs: number;
}

/** How to reach a board's sshd on one's own (a second connection, a tool, a test). */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** Private key contents (the emulated board's per-run key, which exists nowhere on disk). */
  privateKey: string;
  /** Pinned `SHA256:` host key fingerprint. */
  hostKey: string;
}

/** The console transcript of a board whose open() failed, by the error it threw. */
const consoleOfFailedOpen = new WeakMap<Error, string>();

/** The console a failed Board.open() captured before it gave up (boot messages, a login prompt), if any. */
export function consoleOfFailedBoot(error: unknown): string | undefined {
  return error instanceof Error ? consoleOfFailedOpen.get(error) : undefined;
}

export class Board {
  private transport: BoardTransport | undefined;
  private machine: EmulatedMachine | undefined;
  private readonly consoles: SerialConsole[] = [];
  private clientKey: ClientKey | undefined;
  private images: EmulatedImages | undefined;
  readonly recoveries: RecoveryReport[] = [];
  /** What limits this session without ending it (no console capture), for the results. */
  readonly warnings: string[] = [];
  /** Every command run through this session, in order, with its duration (bench replays them). */
  readonly commandLog: Array<{ command: string; durationMs: number }> = [];
  bootMs = 0;

  private constructor(
    readonly config: BoardConfig,
    readonly transportKind: TransportKind,
    private readonly options: OpenBoardOptions,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get emulated(): boolean {
    return this.config.kind === 'emulated';
  }

  /** Brings the board to a shell: emulated boards are built (cached) and booted; real ones connected. */
  static async open(config: BoardConfig, options: OpenBoardOptions): Promise<Board> {
    const kind = options.transport ?? config.defaultTransport;
    if (config.kind === 'real' && !config[kind]) {
      throw new ConfigError(`board ${config.name} (${config.file}) has no ${kind} section: it cannot use --transport ${kind}`);
    }
    const board = new Board(config, kind, options);
    try {
      if (config.kind === 'emulated') {
        board.images = await prepareImages(config, options.progress);
        board.clientKey = await generateClientKey({ comment: `vnet-harness-run-${process.pid}` });
      }
      await board.powerOnAndConnect({ powerOn: true });
      return board;
    } catch (error) {
      await board.close();
      // A boot or login that failed is exactly when the console matters: it travels with the error.
      if (error instanceof Error) consoleOfFailedOpen.set(error, board.consoleTranscript());
      throw error;
    }
  }

  /** The kernel build tree modules are built against (the cache's for the emulated board). */
  kernelTree(): string {
    if (this.config.kind === 'real') return this.config.kernelTree;
    if (!this.images) throw new HarnessError('emulated board images not prepared');
    return this.images.kernel.buildTree;
  }

  /** Last console lines, for error messages. */
  consoleTail(lines = 20): string[] {
    const current = this.consoles.at(-1);
    return current ? current.tail(lines) : [];
  }

  /** Every console byte since the first power-on, timestamped, across power cycles. */
  consoleTranscript(): string {
    return this.consoles.map((c, i) => (i === 0 ? '' : '\n===== power cycle =====\n') + c.transcript()).join('');
  }

  /** The live console of the current boot, when the board has one. */
  currentConsole(): SerialConsole | undefined {
    return this.consoles.at(-1);
  }

  private shell(): BoardTransport {
    if (!this.transport) throw new BoardError('board-lost', this.name, 'no connection to the board', undefined, this.consoleTail());
    return this.transport;
  }

  /** Runs a command on the board. */
  async run(command: string, options?: RunOptions): Promise<CommandResult> {
    const result = await this.shell().run(command, { timeoutMs: this.config.timeouts.command * 1000, ...options });
    this.commandLog.push({ command, durationMs: result.durationMs });
    return result;
  }

  /** Runs a command and fails with its output when it exits non-zero. */
  async check(command: string, options?: RunOptions): Promise<CommandResult> {
    const result = await this.run(command, options);
    if (result.exitCode !== 0) {
      throw new HarnessError(
        `board ${this.name}: command failed (exit ${result.exitCode ?? `signal ${result.signal}`}): ${command}\n${result.stdout}${result.stderr}`,
      );
    }
    return result;
  }

  /** Copies a file to the board (sha256 verified there); the timeout grows with the size (a serial line is slow). */
  async upload(localPath: string, remotePath: string): Promise<void> {
    const { size } = await stat(localPath);
    const timeoutMs = this.config.timeouts.command * 1000 + Math.ceil(size / UPLOAD_BYTES_PER_MS_FLOOR);
    await this.shell().upload(localPath, remotePath, { timeoutMs });
  }

  readFile(remotePath: string): Promise<string> {
    return this.shell().readFile(remotePath, { timeoutMs: this.config.timeouts.command * 1000 });
  }

  /**
   * Power-cycles the board and reconnects; the caller decides whether to go on.
   * Throws a BoardError naming the power command when that command fails.
   */
  async recover(reason: string): Promise<RecoveryReport> {
    const started = Date.now();
    // A power cut, not a shutdown: the board is presumed hung or gone, and a
    // graceful QMP quit to a stopped QEMU would only wait out its timeouts.
    this.killEmulator();
    await this.disconnect();
    const method = this.config.kind === 'emulated' ? 'qemu-restart' : 'power-cycle';
    if (this.config.kind === 'real') await this.power('cycle');
    await this.powerOnAndConnect({ powerOn: false });
    const report: RecoveryReport = { reason, method, bootMs: this.bootMs, durationMs: Date.now() - started };
    this.recoveries.push(report);
    return report;
  }

  /** Cuts the board off at once (the run was interrupted): in-flight commands fail now instead of at their timeouts. */
  abort(): void {
    this.killEmulator();
    void this.transport?.close().catch(() => undefined);
  }

  /** Kills the emulated board's QEMU at once (tests of board loss use it). */
  killEmulator(): void {
    this.machine?.qemu.kill();
  }

  /** The pid of the emulated board's QEMU, if any. */
  emulatorPid(): number | undefined {
    return this.machine?.qemu.pid;
  }

  /**
   * The emulated board's sshd as this boot exposes it (forwarded loopback
   * port, per-run client key, pinned host key), whatever transport the session
   * uses. Real boards have theirs in the YAML, so they have none here.
   */
  sshEndpoint(): SshEndpoint {
    if (this.config.kind !== 'emulated') {
      throw new HarnessError(`board ${this.name} is a real board: its SSH settings are in ${this.config.file}`);
    }
    if (!this.machine || !this.clientKey || !this.images) {
      throw new BoardError('board-lost', this.name, 'the emulated board is not running', undefined, this.consoleTail());
    }
    return {
      host: '127.0.0.1',
      port: this.machine.qemu.sshPort,
      user: this.config.ssh.user,
      privateKey: this.clientKey.privateKey,
      hostKey: this.images.rootfs.meta.hostKeyFingerprint,
    };
  }

  /** Boots (emulated) or powers on (real, at open only: a cycle leaves the board on) and connects. */
  private async powerOnAndConnect({ powerOn }: { powerOn: boolean }): Promise<void> {
    const started = Date.now();
    if (this.config.kind === 'emulated') {
      await this.bootEmulated(this.config);
    } else {
      await this.openRealConsole(this.config);
      if (powerOn && this.config.power?.on) await this.power('on');
    }
    this.transport = await this.connectTransport();
    this.bootMs = Date.now() - started;
  }

  private async bootEmulated(config: EmulatedBoardConfig): Promise<void> {
    if (!this.images || !this.clientKey) throw new HarnessError('emulated board images not prepared');
    this.machine = await EmulatedMachine.boot(config, this.images, {
      authorizedKey: this.clientKey.authorizedKey,
      openConsole: async (pty) => {
        const console = await SerialConsole.open({ path: pty, baudRate: config.serial.baud, name: config.name });
        this.consoles.push(console);
        return console;
      },
      timeoutMs: config.timeouts.boot * 1000,
      ...(this.options.extraAppend ? { extraAppend: this.options.extraAppend } : {}),
    });
  }

  private async openRealConsole(config: RealBoardConfig): Promise<void> {
    if (!config.serial) return;
    try {
      const console = await SerialConsole.open({ path: config.serial.device, baudRate: config.serial.baud, name: config.name });
      this.consoles.push(console);
    } catch (error) {
      // Only a serial run needs the console; over SSH the run goes on, blind to what only the console shows.
      if (this.transportKind === 'serial') throw error;
      const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
      const warning = `no console capture: ${why}; kernel faults are seen through dmesg only (a panic that kills the board shows as a hang)`;
      if (!this.warnings.includes(warning)) this.warnings.push(warning);
    }
  }

  private async connectTransport(): Promise<BoardTransport> {
    const config = this.config;
    const deadline = Date.now() + config.timeouts.boot * 1000;
    if (this.transportKind === 'ssh') {
      const tail = (): string[] => this.consoleTail();
      if (config.kind === 'emulated') {
        if (!this.machine || !this.clientKey || !this.images) throw new HarnessError('emulated board not booted');
        return SshTransport.connect({
          board: config.name,
          host: '127.0.0.1',
          port: this.machine.qemu.sshPort,
          user: config.ssh.user,
          privateKey: this.clientKey.privateKey,
          hostKey: this.images.rootfs.meta.hostKeyFingerprint,
          connectTimeoutMs: config.ssh.connectTimeout * 1000,
          keepaliveIntervalMs: config.ssh.keepaliveInterval * 1000,
          keepaliveCountMax: config.ssh.keepaliveCountMax,
          retryUntilMs: deadline,
          consoleTail: tail,
          defaultCommandTimeoutMs: config.timeouts.command * 1000,
        });
      }
      const ssh = config.ssh;
      if (!ssh) throw new ConfigError(`board ${config.name} has no ssh section`);
      const passphrase = ssh.passphraseEnv ? readSecret(ssh.passphraseEnv, { board: config.name, setting: 'ssh.passphrase_env' }) : undefined;
      return SshTransport.connect({
        board: config.name,
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        privateKey: await readFile(ssh.keyFile).catch((error: unknown) => {
          throw new ConfigError(`board ${config.name}: cannot read ssh.key_file ${ssh.keyFile}: ${String(error)}`);
        }),
        ...(passphrase === undefined ? {} : { passphrase }),
        hostKey: ssh.hostKey,
        connectTimeoutMs: ssh.connectTimeout * 1000,
        keepaliveIntervalMs: ssh.keepaliveInterval * 1000,
        keepaliveCountMax: ssh.keepaliveCountMax,
        retryUntilMs: deadline,
        consoleTail: tail,
        defaultCommandTimeoutMs: config.timeouts.command * 1000,
      });
    }
    const console = this.currentConsole();
    if (!console) throw new ConfigError(`board ${config.name} has no serial console`);
    const login = config.serial;
    if (!login) throw new ConfigError(`board ${config.name} has no serial section`);
    const password = login.passwordEnv ? readSecret(login.passwordEnv, { board: config.name, setting: 'serial.password_env' }) : undefined;
    const serial = new SerialTransport(console, { board: config.name, ...(login.prompt ? { prompt: login.prompt } : {}) });
    await serial.login({
      user: login.loginUser,
      ...(password === undefined ? {} : { password }),
      timeoutMs: Math.max(1000, deadline - Date.now()),
    });
    return serial;
  }

  /** Runs the board's power command (PDU/relay), in the YAML's directory, with a timeout. */
  private async power(action: 'on' | 'off' | 'cycle'): Promise<void> {
    if (this.config.kind !== 'real') return;
    const commands = this.config.power ?? {};
    const command = action === 'cycle' && !commands.cycle && commands.off && commands.on ? `${commands.off} && sleep 2 && ${commands.on}` : commands[action];
    if (!command) {
      throw new BoardError('board-lost', this.name, `no power ${action} command in ${this.config.file}: cannot recover the board`, undefined, this.consoleTail());
    }
    const r = await execa('sh', ['-c', command], { cwd: this.config.dir, reject: false, timeout: POWER_COMMAND_TIMEOUT_MS, all: true });
    if (r.exitCode !== 0 || r.timedOut) {
      const how = r.timedOut ? `did not finish within ${POWER_COMMAND_TIMEOUT_MS / 1000} s` : r.exitCode === undefined ? `was killed by ${r.signal ?? 'a signal'}` : `exited with ${r.exitCode}`;
      const output = (r.all ?? '').trim();
      const key = action === 'cycle' && !commands.cycle ? 'power.off and power.on' : `power.${action}`;
      throw new BoardError(
        'board-lost',
        this.name,
        `power ${action} command \`${command}\` (${key} in ${this.config.file}) ${how}${output ? `: ${output}` : ' (no output)'}`,
        command,
        this.consoleTail(),
      );
    }
  }

  private async disconnect(): Promise<void> {
    await this.transport?.close().catch(() => undefined);
    this.transport = undefined;
    await this.machine?.stop().catch(() => undefined);
    this.machine = undefined;
  }

  /** Ends the session: closes the transport, stops the emulator, closes the console. */
  async close(): Promise<void> {
    await this.disconnect();
    for (const console of this.consoles) await console.close().catch(() => undefined);
  }
}
