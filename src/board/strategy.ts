// The board's strategy: a small state machine over the drivers that brings
// the board to the state a caller asks for, as labgrid's strategies do.
//
//   off ──ensureShell()──► shell ──(fault)──► recover() ──► shell
//                           │
//                           └─ensureClean(step)─► the step finds the board dirty
//                                                  ──► recover() ──► step again
//
// The drivers say how (power, console, shell); the strategy says when.
import { BoardError } from '../errors.ts';
import type { BoardTransport } from '../transport/types.ts';
import type { ConsoleDriver, ConsoleLog } from './console-log.ts';
import type { PowerDriver, RecoveryMethod } from './power.ts';
import type { ShellDriver } from './shell.ts';

/** What happened when the board was recovered. */
export interface RecoveryReport {
  reason: string;
  method: RecoveryMethod;
  /** Power-on to a usable shell. */
  bootMs: number;
  /** The whole recovery: teardown, power, boot, reconnect. */
  durationMs: number;
}

/** The drivers a strategy moves a board with. */
export interface BoardDrivers {
  power: PowerDriver;
  /** The console to open before each power-on, when the board's console is a device of its own (QEMU's comes with its power). */
  console?: ConsoleDriver;
  shell: ShellDriver;
  /** Where every boot's console is captured. */
  log: ConsoleLog;
}

/** What ensureClean() hands back: the step's result on a clean board, and the recovery it took, if one. */
export interface CleanOutcome<T> {
  result: T;
  recovery?: RecoveryReport;
}

export class BoardStrategy {
  private transport: BoardTransport | undefined;
  /** Power-ons so far (the first boot is 1): tells one boot from the next. */
  boots = 0;
  /** Power-on to shell, of the latest boot. */
  bootMs = 0;
  readonly recoveries: RecoveryReport[] = [];

  constructor(
    private readonly board: string,
    private readonly drivers: BoardDrivers,
    private readonly bootTimeoutMs: number,
  ) {}

  /** The shell of the current boot; a board-lost error when there is none (a recovery failed). */
  shell(): BoardTransport {
    if (!this.transport) throw new BoardError('board-lost', this.board, 'no connection to the board', undefined, this.drivers.log.tail());
    return this.transport;
  }

  /** off → shell: powers the board on (booting it, for an emulator) and connects, once; later calls return the shell. */
  async ensureShell(): Promise<BoardTransport> {
    if (!this.transport) await this.bootAndConnect(this.boots === 0);
    return this.shell();
  }

  /**
   * Runs a step that starts by checking the board's state (no round trip of
   * its own: the check is part of the step's command). When `dirty` says the
   * step found the board dirty (a module an earlier stage could not unload),
   * a power cycle brings the known state back and the step runs once more;
   * its second result is returned whatever it says.
   */
  async ensureClean<T>(
    step: () => Promise<T>,
    dirty: (result: T) => string | undefined,
    hooks: { recovering?: (why: string) => string; recovered?: (report: RecoveryReport) => void } = {},
  ): Promise<CleanOutcome<T>> {
    const first = await step();
    const why = dirty(first);
    if (why === undefined) return { result: first };
    const reason = hooks.recovering?.(why) ?? `board not in a known state: ${why}`;
    const recovery = await this.recover(reason);
    hooks.recovered?.(recovery);
    return { result: await step(), recovery };
  }

  /**
   * any state → shell by a power cycle: the board is presumed hung or gone.
   * Throws a BoardError naming the power command when that command fails,
   * leaving no shell behind.
   */
  async recover(reason: string): Promise<RecoveryReport> {
    const started = Date.now();
    this.drivers.power.cut();
    await this.closeShell();
    // A console of its own (a TTY, a ser2net port) is closed and opened again
    // before the cycle: a TTY has one owner, ser2net serves one client, and
    // the next boot starts printing while the cycle command still runs.
    if (this.drivers.console) {
      await this.drivers.log.closeCurrent();
      await this.drivers.console.openForBoot();
    }
    await this.drivers.power.cycle();
    await this.bootAndConnect(false, { consoleOpen: this.drivers.console !== undefined });
    const report: RecoveryReport = { reason, method: this.drivers.power.method, bootMs: this.bootMs, durationMs: Date.now() - started };
    this.recoveries.push(report);
    return report;
  }

  /** Cuts the board off at once (the run was interrupted): in-flight commands fail now instead of at their timeouts. */
  abort(): void {
    this.drivers.power.cut();
    void this.transport?.close().catch(() => undefined);
  }

  /** shell → released: closes the shell, ends what the harness started (an emulator), closes the consoles. */
  async close(): Promise<void> {
    await this.closeShell();
    await this.drivers.power.release();
    await this.drivers.log.close();
  }

  /** Power-on (the console first, so no boot byte is lost) and a shell; `first`: the session's first power-on. */
  private async bootAndConnect(first: boolean, options: { consoleOpen?: boolean } = {}): Promise<void> {
    const started = Date.now();
    this.boots++;
    if (!options.consoleOpen) await this.drivers.console?.openForBoot();
    await this.drivers.power.on(first);
    this.transport = await this.drivers.shell.connect(Date.now() + this.bootTimeoutMs);
    this.bootMs = Date.now() - started;
  }

  private async closeShell(): Promise<void> {
    await this.transport?.close().catch(() => undefined);
    this.transport = undefined;
  }
}
