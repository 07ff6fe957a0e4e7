// A minimal QMP client: JSON commands over QEMU's control socket.
import { connect, type Socket } from 'node:net';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class Qmp {
  private buffer = '';
  private readonly pending: Pending[] = [];
  private readonly events: Array<{ event: string; data?: unknown }> = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => {
      for (const p of this.pending.splice(0)) p.reject(new Error('QMP socket closed'));
    });
    socket.on('error', () => {});
  }

  /** Connects to a QMP unix socket, retrying until QEMU listens, and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(socket);
        await qmp.greeting();
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`QMP: cannot connect to ${path}: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private greetingResolve?: () => void;
  private greeting(): Promise<void> {
    return new Promise((resolve) => {
      this.greetingResolve = resolve;
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string; data?: unknown };
      if (msg.QMP !== undefined) this.greetingResolve?.();
      else if (msg.event !== undefined) this.events.push({ event: msg.event, data: msg.data });
      else if (msg.error !== undefined) this.pending.shift()?.reject(new Error(`QMP error: ${msg.error.desc}`));
      else if ('return' in msg) this.pending.shift()?.resolve(msg.return);
    }
  }

  /** Runs one QMP command and returns its `return` value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  /** Events received so far (e.g. SHUTDOWN, STOP). */
  receivedEvents(): ReadonlyArray<{ event: string; data?: unknown }> {
    return this.events;
  }

  close(): void {
    this.socket.destroy();
  }
}
