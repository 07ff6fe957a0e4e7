// The emulated board's driver: QEMU is the machine, so it is the board's
// power (starting QEMU powers on, killing it cuts the power, a new QEMU is
// the power cycle), its console (QEMU's pty, opened before the guest's first
// byte) and the sshd endpoint of each boot (a forwarded loopback port).
import type { EmulatedBoardConfig } from '../config/board.ts';
import { BoardError } from '../errors.ts';
import { EmulatedMachine } from '../emulated/machine.ts';
import { pidAlive } from '../util/pid.ts';
import type { ConsoleLog } from './console-log.ts';
import type { PowerDriver } from './power.ts';
import type { EmulatorImages, SshEndpoint, SshService } from './resources.ts';

export class QemuDriver implements PowerDriver {
  readonly method = 'qemu-restart';
  private machine: EmulatedMachine | undefined;

  constructor(
    private readonly config: EmulatedBoardConfig,
    private readonly emulator: EmulatorImages,
    private readonly console: ConsoleLog,
    /** Extra kernel command line. */
    private readonly extraAppend?: string,
  ) {}

  /** Boots a new QEMU: paused, console attached, resumed, ready marker awaited. */
  async on(): Promise<void> {
    const config = this.config;
    this.machine = await EmulatedMachine.boot(config, this.emulator.images, {
      authorizedKey: this.emulator.clientKey.authorizedKey,
      openConsole: (pty) => this.console.open(pty, config.serial.baud),
      timeoutMs: config.timeouts.boot * 1000,
      ...(this.extraAppend ? { extraAppend: this.extraAppend } : {}),
    });
  }

  /** Kills QEMU: a power cut, not a shutdown (a graceful QMP quit to a stopped QEMU would only wait out its timeouts). */
  cut(): void {
    this.machine?.qemu.kill();
  }

  /** Ends the old QEMU; the next on() starts a new one. */
  async cycle(): Promise<void> {
    await this.release();
  }

  async release(): Promise<void> {
    await this.machine?.stop().catch(() => undefined);
    this.machine = undefined;
  }

  machinePid(): number | undefined {
    return this.machine?.qemu.pid;
  }

  running(): boolean | undefined {
    const pid = this.machinePid();
    return pid === undefined ? undefined : pidAlive(pid);
  }

  killedFromOutside(): string | undefined {
    const how = this.machine?.qemu.killedFromOutside();
    return how && `QEMU (pid ${this.machinePid()}) was ${how} from outside the harness`;
  }

  /** The sshd of the running boot: forwarded loopback port, per-run client key, pinned host key. */
  sshService(): SshService {
    return { login: this.config.ssh, endpoint: async () => this.sshEndpoint() };
  }

  private sshEndpoint(): SshEndpoint {
    if (!this.machine) throw new BoardError('board-lost', this.config.name, 'the emulated board is not running', undefined, this.console.tail());
    return {
      host: '127.0.0.1',
      port: this.machine.qemu.sshPort,
      user: this.config.ssh.user,
      privateKey: this.emulator.clientKey.privateKey,
      hostKey: this.emulator.images.rootfs.meta.hostKeyFingerprint,
    };
  }
}
