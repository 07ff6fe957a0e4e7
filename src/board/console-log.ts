// The console driver: the board's console captured from power-on to the end
// of the session, one SerialConsole per boot (a power cycle starts a new one).
// Whoever owns the line opens it (the serial device driver before power-on;
// the QEMU driver on its pty between start and resume) and attaches it here.
import { SerialConsole } from '../transport/console.ts';

/** Line the transcript puts between two boots. */
export const POWER_CYCLE_LINE = '===== power cycle =====';

export class ConsoleLog {
  private readonly consoles: SerialConsole[] = [];

  constructor(private readonly boardName: string) {}

  /** Opens a TTY as the console of a new boot and attaches it. */
  async open(path: string, baudRate: number): Promise<SerialConsole> {
    return this.attach(await SerialConsole.open({ path, baudRate, name: this.boardName }));
  }

  /** Adds the console of a new boot (opened elsewhere: a socket, a test double). */
  attach(console: SerialConsole): SerialConsole {
    this.consoles.push(console);
    return console;
  }

  /** The live console of the current boot, when the board has one. */
  current(): SerialConsole | undefined {
    return this.consoles.at(-1);
  }

  /** Last console lines of the current boot, for error messages. */
  tail(lines = 20): string[] {
    return this.current()?.tail(lines) ?? [];
  }

  /** Every console byte since the first power-on, timestamped, across power cycles. */
  transcript(): string {
    return this.consoles.map((c, i) => (i === 0 ? '' : `\n${POWER_CYCLE_LINE}\n`) + c.transcript()).join('');
  }

  /** Closes the current boot's console (its transcript stays), before the line is opened for the next boot. */
  async closeCurrent(): Promise<void> {
    await this.current()?.close().catch(() => undefined);
  }

  /** Closes every boot's console (the transcripts stay). */
  async close(): Promise<void> {
    for (const console of this.consoles) await console.close().catch(() => undefined);
  }
}

/** Opens the console of a boot before the board is powered on, when the board's console is a device of its own. */
export interface ConsoleDriver {
  openForBoot(): Promise<void>;
}

/** Opens a console driver's line; what a failure means is the driver's business. */
async function openOrWarn(open: () => Promise<unknown>, required: boolean, warnings: string[]): Promise<void> {
  try {
    await open();
  } catch (error) {
    if (required) throw error;
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const warning = `no console capture: ${why}; kernel faults are seen through dmesg only (a panic that kills the board shows as a hang)`;
    if (!warnings.includes(warning)) warnings.push(warning);
  }
}

/**
 * A real board's console shared over the network as a raw TCP port (ser2net,
 * a terminal server; labgrid's NetworkSerialPort): labs share one console
 * that way. Connected before power-on, like a local device, with the same
 * rule: only a serial session needs it.
 */
export class NetworkSerialConsole implements ConsoleDriver {
  constructor(
    private readonly log: ConsoleLog,
    private readonly boardName: string,
    private readonly endpoint: { host: string; port: number },
    private readonly required: boolean,
    private readonly warnings: string[],
  ) {}

  async openForBoot(): Promise<void> {
    await openOrWarn(
      async () => this.log.attach(await SerialConsole.connect({ ...this.endpoint, name: this.boardName })),
      this.required,
      this.warnings,
    );
  }
}

/**
 * A real board's local serial device. Only a serial session needs it: over
 * SSH an absent device (the cable on another host) is a warning, and the run
 * goes on blind to what only the console shows.
 */
export class SerialDeviceConsole implements ConsoleDriver {
  constructor(
    private readonly log: ConsoleLog,
    private readonly device: string,
    private readonly baudRate: number,
    private readonly required: boolean,
    private readonly warnings: string[],
  ) {}

  async openForBoot(): Promise<void> {
    await openOrWarn(() => this.log.open(this.device, this.baudRate), this.required, this.warnings);
  }
}
