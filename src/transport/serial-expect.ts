// Waiting for something to appear on the console: the raw text since a mark,
// grown chunk by chunk, tested after each chunk, with a deadline, an optional
// idle period, and the console's end as a distinct outcome.

import type { SerialConsole, ConsoleClosed } from './console.ts';

/** The wait ran out of time. */
export class ExpectTimeout extends Error {
  override name = 'ExpectTimeout';
}

/** The console closed while waiting (board lost, QEMU killed, cable pulled). */
export class ExpectClosed extends Error {
  override name = 'ExpectClosed';
  constructor(readonly info: ConsoleClosed) {
    super(`console closed: ${info.reason}`);
  }
}

/** What a test sees: the latin1 text since the mark and how long it was at the previous test. */
export type ExpectTest<T> = (text: string, previousLength: number) => T | undefined;

/** The raw console text from a mark on, one char per byte (latin1), kept up to date. */
export class ConsoleReader {
  private raw: string;

  constructor(
    readonly console: SerialConsole,
    /** Byte offset in the console capture where this reader starts. */
    readonly from: number,
  ) {
    this.raw = console.rawSince(from).toString('latin1');
  }

  /** The text received since `from`, refreshed from the console. */
  get text(): string {
    const have = this.from + this.raw.length;
    if (this.console.size > have) this.raw += this.console.rawSince(have).toString('latin1');
    return this.raw;
  }

  /** The raw bytes of text[start, end). */
  bytes(start = 0, end?: number): Buffer {
    return Buffer.from(this.text.slice(start, end), 'latin1');
  }

  /**
   * Resolves with the first non-undefined result of `test`; with undefined when
   * `idleMs` passes without new bytes; rejects with ExpectTimeout at `timeoutMs`
   * and with ExpectClosed if the console closes first.
   */
  wait<T>(test: ExpectTest<T>, timeoutMs: number, idleMs?: number): Promise<T | undefined> {
    const first = test(this.text, 0);
    if (first !== undefined) return Promise.resolve(first);
    if (this.console.isClosed) return Promise.reject(new ExpectClosed(this.console.closeInfo!));
    return new Promise<T | undefined>((resolve, reject) => {
      let previous = this.raw.length;
      let idleTimer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        clearTimeout(idleTimer);
        unsubscribe();
        closedWatch.cancelled = true;
      };
      const armIdle = (): void => {
        if (idleMs === undefined) return;
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          done();
          resolve(undefined);
        }, idleMs);
      };
      const timer = setTimeout(() => {
        done();
        reject(new ExpectTimeout(`nothing matched within ${timeoutMs} ms`));
      }, Math.max(0, timeoutMs));
      const unsubscribe = this.console.onData(() => {
        const text = this.text;
        let result: T | undefined;
        try {
          result = test(text, previous);
        } catch (error) {
          done();
          reject(error as Error);
          return;
        }
        previous = text.length;
        if (result !== undefined) {
          done();
          resolve(result);
        } else armIdle();
      });
      const closedWatch = { cancelled: false };
      void this.console.closed.then((info) => {
        if (closedWatch.cancelled) return;
        done();
        reject(new ExpectClosed(info));
      });
      armIdle();
    });
  }
}
