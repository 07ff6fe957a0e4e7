// Watches the board's console for kernel reports during a stage. A fatal
// report means the board is gone: the machine is powered off shortly after
// (an emulator at once; a real board's power is not cut), so the command in
// flight fails now, not at a keepalive timeout.
import { KernelEventWatcher, type KernelEventStart } from '../parsers/kernel-events.ts';
import type { KernelEvent } from '../results/model.ts';
import type { SerialConsole } from '../transport/console.ts';
import type { StageBoard } from './steps.ts';

/** Time a panicking board gets to print the rest of its report before its power is cut. */
const CUT_AFTER_FATAL_MS = 1500;

export class KernelWatch {
  private watcher: KernelEventWatcher;
  private console: SerialConsole | undefined;
  private startMark: number | undefined;
  private unsubscribe: () => void = () => {};
  private fatalSeen = false;

  constructor(private readonly board: Pick<StageBoard, 'console' | 'power'>) {
    this.watcher = new KernelEventWatcher({ onStart: (start) => this.onStart(start) });
    this.follow();
  }

  /** Watches the console of the current boot from now on (after a power cycle: the new one). */
  follow(): void {
    this.console = this.board.console.current();
    this.startMark = this.console?.mark();
    this.unsubscribe = this.console?.onData((chunk) => this.watcher.feed(chunk.data)) ?? (() => {});
  }

  /** Stops feeding the watcher (the board is about to be power-cycled, or the stage is over). */
  pause(): void {
    this.unsubscribe();
  }

  /**
   * From the board's uptime (`/proc/uptime`'s first field) on, reports older
   * than it are ignored, so a dmesg printed over the watched console cannot
   * report an earlier stage's faults again; the console so far is fed again.
   */
  ignoreBefore(uptime: string): void {
    const seconds = /^(\d+(?:\.\d+)?)/.exec(uptime);
    this.watcher = new KernelEventWatcher({
      ...(seconds ? { ignoreBeforeMs: Math.floor(Number(seconds[1]) * 1000) } : {}),
      onStart: (start) => this.onStart(start),
    });
    if (this.console && this.startMark !== undefined) this.watcher.feed(this.console.rawSince(this.startMark));
  }

  /** The reports seen so far, an unfinished one included. */
  events(): KernelEvent[] {
    return [...this.watcher.events(), ...this.watcher.flush()];
  }

  private onStart(start: KernelEventStart): void {
    if (!start.fatal || this.fatalSeen) return;
    this.fatalSeen = true;
    // Only the machine that panicked: by the time the timer fires the board may be rebooted already.
    const crashed = this.board.power.machinePid();
    if (crashed === undefined) return;
    setTimeout(() => {
      if (this.board.power.machinePid() === crashed) this.board.power.cut();
    }, CUT_AFTER_FATAL_MS).unref();
  }
}
