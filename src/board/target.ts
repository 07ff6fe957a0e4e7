// A board as the stages and commands use it: its resources, its drivers and
// its strategy, assembled once by openBoard() — the one place that tells an
// emulated board from a real one. See README.md in this folder.
import { stat } from 'node:fs/promises';
import type { BoardConfig, TransportKind } from '../config/board.ts';
import { ConfigError, HarnessError } from '../errors.ts';
import { prepareImages } from '../emulated/machine.ts';
import { generateClientKey } from '../transport/ssh.ts';
import { commandFailedMessage, type BoardTransport, type CommandResult, type RunOptions } from '../transport/types.ts';
import type { Progress } from '../util/progress.ts';
import { ConsoleLog, NetworkSerialConsole, SerialDeviceConsole } from './console-log.ts';
import { ExternalPowerDriver, ManualPowerDriver, type PowerDriver } from './power.ts';
import { QemuDriver } from './qemu.ts';
import { kernelTreeOf, realBoardResources, type BoardResources } from './resources.ts';
import { SerialShell, SshShell, type ShellDriver } from './shell.ts';
import { BoardStrategy, type BoardDrivers } from './strategy.ts';
import { parseUserlandProbe, userlandFrom, userlandProbeCommand, type Userland } from './userland.ts';

/**
 * Slowest upload rate allowed for (bytes per ms): ~4 KiB/s. Measured: the
 * emulated board's serial console moves 1 MiB in ~96 s (~11 KiB/s); a loaded
 * host must not turn that into a timeout.
 */
const UPLOAD_BYTES_PER_MS_FLOOR = 4;

export interface OpenBoardOptions {
  transport?: TransportKind;
  progress: Progress;
  /** Extra kernel command line for the emulated board. */
  extraAppend?: string;
}

/** One command run through the board, as its listeners see it. */
export interface CommandRecord {
  command: string;
  durationMs: number;
}

/** The console transcript of a board whose open failed, by the error it threw. */
const consoleOfFailedOpen = new WeakMap<Error, string>();

/** The console a failed openBoard() captured before it gave up (boot messages, a login prompt), if any. */
export function consoleOfFailedBoot(error: unknown): string | undefined {
  return error instanceof Error ? consoleOfFailedOpen.get(error) : undefined;
}

/** An assembled board in the state its strategy brought it to. */
export class BoardTarget {
  private readonly commandListeners = new Set<(record: CommandRecord) => void>();
  /** What the userland offers, probed once per boot (the boot it was probed in). */
  private probed: { boot: number; userland: Userland } | undefined;

  constructor(
    readonly config: BoardConfig,
    readonly transportKind: TransportKind,
    readonly resources: BoardResources,
    readonly power: PowerDriver,
    readonly console: ConsoleLog,
    readonly strategy: BoardStrategy,
    /** What limits this session without ending it (no console capture), for the results. */
    readonly warnings: string[],
  ) {}

  get name(): string {
    return this.config.name;
  }

  get emulated(): boolean {
    return this.resources.emulator !== undefined;
  }

  /** The kernel build tree modules are built against (the cache's for the emulated board). */
  kernelTree(): string {
    return this.resources.kernelTree;
  }

  private shell(): BoardTransport {
    return this.strategy.shell();
  }

  /** Runs a command on the board (the board's command timeout unless given). */
  async run(command: string, options?: RunOptions): Promise<CommandResult> {
    const result = await this.shell().run(command, { timeoutMs: this.config.timeouts.command * 1000, ...options });
    for (const listener of this.commandListeners) listener({ command, durationMs: result.durationMs });
    return result;
  }

  /** Calls `listener` after every command run through run() or check(); returns the unsubscribe. */
  onCommand(listener: (record: CommandRecord) => void): () => void {
    this.commandListeners.add(listener);
    return () => this.commandListeners.delete(listener);
  }

  /** Runs a command and fails with its output when it exits non-zero. */
  async check(command: string, options?: RunOptions): Promise<CommandResult> {
    const result = await this.run(command, options);
    if (result.exitCode !== 0) {
      throw new HarnessError(commandFailedMessage(this.name, result));
    }
    return result;
  }

  /**
   * What the board's userland offers and the command variants picked from it:
   * ONE probing command, run once per boot (a session's later runs on the same
   * boot reuse it).
   */
  async probeUserland(): Promise<Userland> {
    if (this.probed?.boot === this.strategy.boots) return this.probed.userland;
    const result = await this.check(userlandProbeCommand());
    const userland = userlandFrom(parseUserlandProbe(result.stdout), this.transportKind);
    this.probed = { boot: this.strategy.boots, userland };
    return userland;
  }

  /** The userland of the latest probe (undefined before the first): the steps pick their command variants from it. */
  get userland(): Userland | undefined {
    return this.probed?.userland;
  }

  /** Copies a file to the board (checksum verified there); the timeout grows with the size (a serial line is slow). */
  async upload(localPath: string, remotePath: string): Promise<void> {
    const { size } = await stat(localPath);
    // Shell text escapes take up to four characters a byte, base64 1.33.
    const expansion = this.userland?.files.encoding === 'printf' ? 3 : 1;
    const timeoutMs = this.config.timeouts.command * 1000 + Math.ceil((size * expansion) / UPLOAD_BYTES_PER_MS_FLOOR);
    await this.shell().upload(localPath, remotePath, { timeoutMs, ...(this.userland ? { tools: this.userland.files } : {}) });
  }

  readFile(remotePath: string): Promise<string> {
    return this.shell().readFile(remotePath, { timeoutMs: this.config.timeouts.command * 1000 });
  }

  /** Cuts the board off at once (the run was interrupted): in-flight commands fail now instead of at their timeouts. */
  abort(): void {
    this.strategy.abort();
  }

  /** Ends the session: closes the shell, stops the emulator, closes the console. */
  close(): Promise<void> {
    return this.strategy.close();
  }
}

/** The resources and drivers of a board: the one place that tells its kinds apart. */
async function assemble(
  config: BoardConfig,
  kind: TransportKind,
  log: ConsoleLog,
  warnings: string[],
  options: OpenBoardOptions,
): Promise<{ resources: BoardResources; drivers: BoardDrivers }> {
  const tail = (): string[] => log.tail();
  let resources: BoardResources;
  let power: PowerDriver;
  let console: BoardDrivers['console'];
  if (config.kind === 'emulated') {
    const images = await prepareImages(config, options.progress);
    const emulator = { images, clientKey: await generateClientKey({ comment: `vnet-harness-run-${process.pid}` }) };
    const qemu = new QemuDriver(config, emulator, log, options.extraAppend);
    resources = { ssh: qemu.sshService(), serial: { login: config.serial }, emulator, kernelTree: await kernelTreeOf(config, options.progress, images) };
    power = qemu;
  } else {
    resources = realBoardResources(config);
    power = resources.power ? new ExternalPowerDriver(config.name, resources.power, tail) : new ManualPowerDriver(config.name, config.file, tail);
    const line = resources.serial;
    if (line?.device) console = new SerialDeviceConsole(log, line.device, line.login.baud, kind === 'serial', warnings);
    else if (line?.network) console = new NetworkSerialConsole(log, config.name, line.network, kind === 'serial', warnings);
  }
  let shell: ShellDriver;
  if (kind === 'ssh') {
    if (!resources.ssh) throw new ConfigError(`board ${config.name} has no ssh section`);
    shell = new SshShell(config.name, resources.ssh, log, config.timeouts.command * 1000);
  } else {
    if (!resources.serial) throw new ConfigError(`board ${config.name} has no serial section`);
    shell = new SerialShell(config.name, resources.serial, log);
  }
  return { resources, drivers: { power, shell, log, ...(console ? { console } : {}) } };
}

/** Assembles a board and brings it to a shell: emulated boards are built (cached) and booted; real ones connected. */
export async function openBoard(config: BoardConfig, options: OpenBoardOptions): Promise<BoardTarget> {
  const kind = options.transport ?? config.defaultTransport;
  if (config.kind === 'real' && !config[kind]) {
    throw new ConfigError(`board ${config.name} (${config.file}) has no ${kind} section: it cannot use --transport ${kind}`);
  }
  const log = new ConsoleLog(config.name);
  const warnings: string[] = [];
  let strategy: BoardStrategy | undefined;
  try {
    const { resources, drivers } = await assemble(config, kind, log, warnings, options);
    strategy = new BoardStrategy(config.name, drivers, config.timeouts.boot * 1000);
    await strategy.ensureShell();
    return new BoardTarget(config, kind, resources, drivers.power, log, strategy, warnings);
  } catch (error) {
    await (strategy ? strategy.close() : log.close());
    // A boot or login that failed is exactly when the console matters: it travels with the error.
    if (error instanceof Error) consoleOfFailedOpen.set(error, log.transcript());
    throw error;
  }
}
