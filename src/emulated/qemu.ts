// One QEMU process of the emulated board: started paused (-S) so the harness
// opens the console pty before the first byte, controlled over QMP, isolated
// (user networking with restrict=on, SSH forwarded on 127.0.0.1 only), and
// always reaped (see util/reaper.ts).
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { HarnessError } from '../errors.ts';
import { PDEATHSIG_PREFIX, registerChild, unregisterChild } from '../util/reaper.ts';
import { makeTempDir, releaseTempDir } from '../util/tempdirs.ts';
import { Qmp } from './qmp.ts';

export interface QemuSpec {
  binary: string;
  machine: string;
  memory: string;
  kernel: string;
  dtb: string;
  initrd: string;
  append: string;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The argv of QEMU for a spec; exported so tests can assert the isolation options. */
export function qemuArgs(spec: QemuSpec, qmpPath: string, sshPort: number): string[] {
  return [
    '-M', spec.machine,
    '-m', spec.memory,
    '-kernel', spec.kernel,
    '-dtb', spec.dtb,
    '-initrd', spec.initrd,
    '-append', spec.append,
    '-no-reboot',
    '-nodefaults',
    '-display', 'none',
    '-chardev', 'pty,id=console',
    '-serial', 'chardev:console',
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
    // restrict=on: the guest reaches nothing outside; only the forward in.
    '-nic', `user,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    '-S',
  ];
}

export class QemuInstance {
  private stopped = false;
  /** Set once the harness itself kills QEMU (a power cut, a stop that lingered). */
  private killedByHarness = false;
  private ended: { code: number | null; signal: string | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  private constructor(
    readonly pid: number,
    readonly sshPort: number,
    readonly consolePty: string,
    readonly qmp: Qmp,
    private readonly child: ResultPromise,
    private readonly runDir: string,
    private readonly stderrTail: () => string,
  ) {
    this.exited = child.then(
      (r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null }),
      () => ({ code: null, signal: null }),
    );
    void this.exited.then((ended) => {
      this.ended = ended;
      unregisterChild(pid);
    });
  }

  /**
   * Starts QEMU paused; returns once QMP answers and the console pty is known.
   * The caller opens the pty, then calls resume().
   */
  static async start(spec: QemuSpec, board: string): Promise<QemuInstance> {
    const runDir = await makeTempDir('vnet-qemu');
    const qmpPath = join(runDir, 'qmp.sock');
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const sshPort = await freePort();
      // spawns: setpriv board:qemu
      const child = execa(PDEATHSIG_PREFIX[0], [...PDEATHSIG_PREFIX.slice(1), spec.binary, ...qemuArgs(spec, qmpPath, sshPort)], {
        reject: false,
        stdin: 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
        cleanup: true,
      });
      if (child.pid === undefined) throw new HarnessError(`board ${board}: could not start ${spec.binary}`);
      registerChild(child.pid, `qemu for ${board}`);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      const early = child.then(() => 'exited' as const);
      try {
        const qmp = await Promise.race([Qmp.connect(qmpPath, 15_000), early]);
        if (qmp === 'exited') throw new Error(`QEMU exited at start: ${stderr.trim()}`);
        const chardevs = (await qmp.execute('query-chardev')) as Array<{ label: string; filename: string }>;
        const pty = chardevs.find((c) => c.label === 'console')?.filename.replace(/^pty:/, '');
        if (!pty) throw new Error(`QEMU reported no console pty: ${JSON.stringify(chardevs)}`);
        return new QemuInstance(child.pid, sshPort, pty, qmp, child, runDir, () => stderr);
      } catch (error) {
        lastError = String(error);
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone already
        }
        await child;
        unregisterChild(child.pid);
        // A port taken between freePort() and QEMU's bind is the one retryable failure.
        if (!/hostfwd|Could not set up host forwarding/i.test(lastError)) break;
      }
    }
    await releaseTempDir(runDir);
    throw new HarnessError(`board ${board}: QEMU did not start: ${lastError}`);
  }

  /** Lets the paused guest run. */
  async resume(): Promise<void> {
    await this.qmp.execute('cont');
  }

  /** QEMU's own stderr (last few KiB), for error messages. */
  stderr(): string {
    return this.stderrTail();
  }

  /** Stops QEMU now (QMP quit, then SIGKILL if it lingers) and removes its run directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // A QEMU that is already gone (killed, crashed) answers no QMP: don't wait for it.
    await Promise.race([this.qmp.execute('quit').catch(() => undefined), this.exited, new Promise((r) => setTimeout(r, 2000))]);
    const gone = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
    if (!gone) this.kill();
    await this.exited;
    this.qmp.close();
    await releaseTempDir(this.runDir);
  }

  /**
   * `killed by SIGKILL` when QEMU died of a signal the harness did not send
   * (another process, the host's OOM killer, a crash of QEMU itself); undefined
   * while it runs, after the harness ended it, or when it exited by itself (a
   * guest reset under -no-reboot exits with a status, as after a panic).
   */
  killedFromOutside(): string | undefined {
    if (!this.ended?.signal || this.killedByHarness) return undefined;
    return `killed by ${this.ended.signal}`;
  }

  /** Kills the QEMU process at once, as a power cut would. */
  kill(): void {
    if (!this.ended) this.killedByHarness = true;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    void this.child;
  }
}
