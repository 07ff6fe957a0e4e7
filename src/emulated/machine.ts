// The emulated board as a machine: images (kernel + initramfs, cached) and
// one boot of QEMU with the console opened before the guest's first byte.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConsoleChunk } from '../transport/types.ts';
import type { EmulatedBoardConfig } from '../config/board.ts';
import { BoardError, HarnessError } from '../errors.ts';
import type { Progress } from '../util/progress.ts';
import { makeTempDir, releaseTempDir, sweepStaleTempDirs } from '../util/tempdirs.ts';
import { ensureKernel, type KernelBuild, type KernelSpec } from './kernel.ts';
import { QemuInstance } from './qemu.ts';
import { ensureRootfs, perRunArchive, type Rootfs } from './rootfs.ts';

/** Printed by the board's /init once dropbear runs (boards/qemu-imx25/init). */
export const READY_MARKER = 'vnet-harness: board ready';

export interface EmulatedImages {
  kernel: KernelBuild;
  rootfs: Rootfs;
}

/** The console as the machine needs it: something that reports bytes and can be closed. */
export interface MachineConsole {
  onData(listener: (chunk: ConsoleChunk) => void): () => void;
  tail(lines?: number): string[];
  close(): Promise<void>;
}

/** The kernel an emulated board runs, as the kernel cache takes it. */
export function kernelSpec(board: EmulatedBoardConfig): KernelSpec {
  const k = board.emulated.kernel;
  return {
    sourcePackage: k.package,
    arch: board.arch,
    crossCompile: board.crossCompile,
    defconfig: k.defconfig,
    fragments: k.fragments,
    patches: k.patches,
    image: k.image,
    dtb: k.dtb,
  };
}

/** The run's temporary directories (per-run initrd; QEMU's QMP socket): swept when their process is gone. */
export const TEMP_PREFIXES = ['vnet-run', 'vnet-qemu'] as const;

/** Set by `vnet-harness test --unit` for its mocha process and every child: no kernel build, no board. */
export const UNIT_ONLY_ENV = 'VNET_HARNESS_UNIT_ONLY';

/** Builds or reuses the kernel and the base initramfs of an emulated board. */
export async function prepareImages(board: EmulatedBoardConfig, progress: Progress): Promise<EmulatedImages> {
  // `vnet-harness test --unit` promises neither a kernel build nor a board boot:
  // a suite that reaches here without its @board tag is found at once.
  if (process.env[UNIT_ONLY_ENV] === '1') {
    throw new HarnessError(`board ${board.name}: the unit tests (test --unit) must not build or boot the emulated board; tag the suite that needs it with @board`);
  }
  const e = board.emulated;
  const kernel = await ensureKernel(kernelSpec(board), progress);
  const rootfs = await ensureRootfs(
    {
      arch: e.rootfs.arch,
      packages: e.rootfs.packages,
      initScript: await readFile(e.rootfs.init, 'utf8'),
      inittab: await readFile(e.rootfs.inittab, 'utf8'),
      omitApplets: e.rootfs.omitApplets,
      wrappers: Object.fromEntries(await Promise.all(Object.entries(e.rootfs.wrappers).map(async ([name, file]) => [name, await readFile(file, 'utf8')] as const))),
    },
    (line) => progress.phase(line),
  );
  return { kernel, rootfs };
}

/** One running QEMU with its console; stop() always ends it. */
export class EmulatedMachine {
  private constructor(
    readonly qemu: QemuInstance,
    readonly console: MachineConsole,
    private readonly runDir: string,
    readonly bootMs: number,
  ) {}

  /**
   * Boots the board: per-run initramfs (base + the run's authorized key),
   * QEMU paused, console opened, guest resumed, ready marker awaited.
   */
  static async boot(
    board: EmulatedBoardConfig,
    images: EmulatedImages,
    options: {
      authorizedKey: string;
      openConsole: (ptyPath: string) => Promise<MachineConsole>;
      timeoutMs: number;
      extraAppend?: string;
    },
  ): Promise<EmulatedMachine> {
    // What an earlier harness killed with SIGKILL left behind goes first.
    sweepStaleTempDirs(TEMP_PREFIXES);
    const runDir = await makeTempDir('vnet-run');
    const base = await readFile(images.rootfs.initrd);
    // Concatenated archives must start 4-byte aligned; the kernel skips the zero padding.
    const initrd = Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), perRunArchive(`${options.authorizedKey}\n`)]);
    const initrdPath = join(runDir, 'initrd.img');
    await writeFile(initrdPath, initrd);
    const e = board.emulated;
    let qemu: QemuInstance | undefined;
    let console: MachineConsole | undefined;
    try {
      qemu = await QemuInstance.start(
        {
          binary: e.qemu,
          machine: e.machine,
          memory: e.memory,
          kernel: images.kernel.image,
          dtb: images.kernel.dtb,
          initrd: initrdPath,
          append: [e.append, options.extraAppend].filter(Boolean).join(' '),
        },
        board.name,
      );
      console = await options.openConsole(qemu.consolePty);
      const started = Date.now();
      const ready = waitForMarker(console, READY_MARKER);
      await qemu.resume();
      const outcome = await Promise.race([
        ready.promise.then(() => 'ready' as const),
        qemu.exited.then(() => 'exited' as const),
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), options.timeoutMs).unref()),
      ]);
      ready.cancel();
      if (outcome !== 'ready') {
        const why = outcome === 'exited' ? `QEMU exited during boot (${qemu.stderr().trim() || 'no stderr'})` : `no "${READY_MARKER}" within ${options.timeoutMs / 1000} s`;
        throw new BoardError('boot-failed', board.name, why, undefined, console.tail(30));
      }
      return new EmulatedMachine(qemu, console, runDir, Date.now() - started);
    } catch (error) {
      await console?.close().catch(() => undefined);
      await qemu?.stop().catch(() => undefined);
      await releaseTempDir(runDir);
      throw error;
    }
  }

  /** Stops QEMU (kills it if QMP quit does not end it) and closes the console. */
  async stop(): Promise<void> {
    await this.qemu.stop();
    await this.console.close().catch(() => undefined);
    await releaseTempDir(this.runDir);
  }
}

/** Resolves when text appears in the console stream (matched across chunk borders). */
function waitForMarker(console: MachineConsole, marker: string): { promise: Promise<void>; cancel: () => void } {
  let window = '';
  let unsubscribe: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    unsubscribe = console.onData((chunk) => {
      window = (window + chunk.data.toString('latin1')).slice(-(marker.length + 4096));
      if (window.includes(marker)) {
        unsubscribe();
        resolve();
      }
    });
  });
  return { promise, cancel: () => unsubscribe() };
}
