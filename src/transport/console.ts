// The board's console: a TTY (USB-serial adapter on the real board, QEMU's pty
// on the emulated one) whose every byte is kept with its arrival time, from the
// moment it is opened until it closes, whatever transport runs the commands.
// Memory is fine for this: a run lasts minutes and a console says little.

import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { SerialPort } from 'serialport';
import type { BindingInterface } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import type { ConsoleChunk } from './types.ts';
import { HarnessError } from '../errors.ts';
import { cleanConsoleBytes, consoleLines, renderTranscript } from './console-text.ts';

export interface SerialConsoleOptions {
  /** TTY device, e.g. /dev/ttyUSB0 or the /dev/pts/N QEMU printed for `-chardev pty`. */
  path: string;
  /** Line speed (default 115200); a pty ignores it. */
  baudRate?: number;
  /** serialport binding; defaults to the platform's, tests pass @serialport/binding-mock. */
  binding?: BindingInterface;
  /** Name used in messages (default: the path). */
  name?: string;
}

/** Why and how the console ended. */
export interface ConsoleClosed {
  /** Human-readable reason, e.g. "closed by the harness" or "disconnected: …". */
  reason: string;
  /** True when close() was called; false when the other end went away (board lost). */
  byHarness: boolean;
  error?: Error;
}

/** Listener for console bytes as they arrive. */
export type ConsoleListener = (chunk: ConsoleChunk) => void;

/** Thrown when writing to a console that is closed. */
export class ConsoleClosedError extends HarnessError {
  override name = 'ConsoleClosedError';
  constructor(
    readonly consoleName: string,
    readonly closedInfo: ConsoleClosed,
  ) {
    super(`console ${consoleName} is closed (${closedInfo.reason})`);
  }
}

/** A board console that records everything it receives. */
export class SerialConsole {
  /** Wall-clock time the capture started; chunk times are relative to it. */
  readonly openedAt = new Date();
  /** Resolves (never rejects) once the console is closed, with the reason. */
  readonly closed: Promise<ConsoleClosed>;

  private readonly startedAt = performance.now();
  private readonly captured: ConsoleChunk[] = [];
  /** Byte offset of each captured chunk's first byte, for since()/rawSince(). */
  private readonly offsets: number[] = [];
  private total = 0;
  private readonly listeners = new Set<ConsoleListener>();
  private closedInfo: ConsoleClosed | undefined;
  private resolveClosed!: (info: ConsoleClosed) => void;
  private closing = false;

  private constructor(
    readonly name: string,
    private readonly stream: Duplex,
    /** The serialport object when opened from a device (tests reach its binding). */
    readonly port: SerialPort | undefined,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    stream.on('data', (data: Buffer | string) => this.record(typeof data === 'string' ? Buffer.from(data) : data));
    stream.on('error', (error: Error) => this.finish({ reason: `error: ${error.message}`, byHarness: this.closing, error }));
    stream.on('end', () => this.finish({ reason: 'the other end closed the stream', byHarness: this.closing }));
    stream.on('close', (error?: Error | null) => {
      if (error) this.finish({ reason: `disconnected: ${error.message}`, byHarness: this.closing, error });
      else this.finish({ reason: this.closing ? 'closed by the harness' : 'the stream closed', byHarness: this.closing });
    });
  }

  /** Opens a TTY with serialport; resolves once it is open and capturing. */
  static async open(options: SerialConsoleOptions): Promise<SerialConsole> {
    const name = options.name ?? options.path;
    // serialport spreads our options over its own, so a given binding replaces the native one.
    const portOptions = {
      path: options.path,
      baudRate: options.baudRate ?? 115200,
      autoOpen: false,
      ...(options.binding === undefined ? {} : { binding: options.binding }),
    } as ConstructorParameters<typeof SerialPort>[0];
    const port = new SerialPort(portOptions);
    // Listeners go on before open() so not a single early byte is missed.
    const console = new SerialConsole(name, port, port);
    await new Promise<void>((resolve, reject) => {
      port.open((error) => {
        if (error) {
          reject(new HarnessError(`cannot open console ${name} (${options.path}): ${error.message}`, { cause: error }));
        } else resolve();
      });
    });
    return console;
  }

  /**
   * Connects to a console shared over the network as a raw TCP port (ser2net,
   * a terminal server); resolves once connected and capturing.
   */
  static async connect(options: { host: string; port: number; name?: string; timeoutMs?: number }): Promise<SerialConsole> {
    const where = `${options.host}:${options.port}`;
    const name = options.name ?? where;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const socket = new Socket();
    socket.setNoDelay(true);
    // Listeners go on before connecting so not a single early byte is missed.
    const console = new SerialConsole(name, socket, undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new HarnessError(`cannot open console ${name} (tcp ${where}): no connection within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new HarnessError(`cannot open console ${name} (tcp ${where}): ${error.message}`, { cause: error }));
      });
      socket.connect(options.port, options.host);
    });
    return console;
  }

  /** Wraps any duplex stream (a socket, a test double) as a console. */
  static fromStream(stream: Duplex, name: string): SerialConsole {
    return new SerialConsole(name, stream, undefined);
  }

  /** True once the console is closed, for whatever reason. */
  get isClosed(): boolean {
    return this.closedInfo !== undefined;
  }

  /** The close reason, or undefined while open. */
  get closeInfo(): ConsoleClosed | undefined {
    return this.closedInfo;
  }

  /** Number of bytes captured so far. */
  get size(): number {
    return this.total;
  }

  /** Every captured chunk, in order (a copy of the list; the buffers are shared). */
  chunks(): ConsoleChunk[] {
    return [...this.captured];
  }

  /** Calls `listener` for each chunk from now on; returns the unsubscribe function. */
  onData(listener: ConsoleListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Sends bytes to the board; resolves once handed to the OS. */
  async write(data: string | Buffer): Promise<void> {
    if (this.closedInfo) throw new ConsoleClosedError(this.name, this.closedInfo);
    await new Promise<void>((resolve, reject) => {
      this.stream.write(data, (error) => {
        if (error) reject(this.closedInfo ? new ConsoleClosedError(this.name, this.closedInfo) : error);
        else resolve();
      });
    });
  }

  /** A position in the capture (byte offset) for since()/rawSince(). */
  mark(): number {
    return this.total;
  }

  /** The raw bytes received after `mark`. */
  rawSince(mark: number): Buffer {
    if (mark >= this.total) return Buffer.alloc(0);
    const first = Math.max(0, this.chunkIndexAt(mark));
    const parts: Buffer[] = [];
    for (let i = first; i < this.captured.length; i++) {
      const chunk = this.captured[i]!.data;
      const skip = Math.max(0, mark - this.offsets[i]!);
      parts.push(skip > 0 ? chunk.subarray(skip) : chunk);
    }
    return Buffer.concat(parts);
  }

  /** The cleaned text received after `mark` (stage deltas). */
  since(mark: number): string {
    return cleanConsoleBytes(this.rawSince(mark));
  }

  /** The last `n` lines, control characters cleaned, for error messages. */
  tail(n = 20): string[] {
    // Walk back only as far as needed: enough newlines, capped at 256 KiB.
    let bytes = 0;
    let newlines = 0;
    let i = this.captured.length - 1;
    for (; i >= 0 && newlines <= n && bytes < 256 * 1024; i--) {
      const data = this.captured[i]!.data;
      bytes += data.length;
      for (const byte of data) if (byte === 0x0a) newlines++;
    }
    const lines = consoleLines(this.rawSince(this.offsets[i + 1] ?? this.total));
    return lines.slice(-n);
  }

  /** The whole capture as text, each line prefixed with its `[+12.345s]` arrival time. */
  transcript(): string {
    return renderTranscript(this.captured);
  }

  /** Closes the TTY; the capture stays readable. */
  async close(): Promise<void> {
    if (this.closedInfo) return;
    this.closing = true;
    if (this.port) {
      if (this.port.isOpen) {
        await new Promise<void>((resolve) => this.port!.close(() => resolve()));
      }
      this.finish({ reason: 'closed by the harness', byHarness: true });
    } else {
      this.stream.destroy();
      this.finish({ reason: 'closed by the harness', byHarness: true });
    }
    await this.closed;
  }

  private record(data: Buffer): void {
    if (data.length === 0) return;
    const chunk: ConsoleChunk = { atMs: performance.now() - this.startedAt, data: Buffer.from(data) };
    this.captured.push(chunk);
    this.offsets.push(this.total);
    this.total += data.length;
    for (const listener of [...this.listeners]) {
      // A broken listener must not stop the capture or the other listeners.
      try {
        listener(chunk);
      } catch {
        /* ignored on purpose */
      }
    }
  }

  private finish(info: ConsoleClosed): void {
    if (this.closedInfo) return;
    this.closedInfo = info;
    this.resolveClosed(info);
  }

  /** Index of the chunk holding byte `offset` (binary search over chunk offsets). */
  private chunkIndexAt(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
