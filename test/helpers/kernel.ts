// The emulated board's prepared kernel build tree for tests: VNET_KERNEL_DIR
// when set, else the harness's own cached build (built on first use, as a
// user's first run would).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadBoard } from '../../src/config/board.ts';
import { prepareImages } from '../../src/emulated/machine.ts';
import { silentProgress, streamProgress } from '../../src/util/progress.ts';

let cached: Promise<string> | undefined;

/** Path of the ARM kernel build tree the project's modules are built against. */
export function emulatedKernelTree(): Promise<string> {
  if (process.env.VNET_KERNEL_DIR) return Promise.resolve(process.env.VNET_KERNEL_DIR);
  cached ??= (async () => {
    const board = loadBoard('qemu-imx25', { boardsDir: join(import.meta.dirname, '..', '..', 'boards') });
    if (board.kind !== 'emulated') throw new Error('qemu-imx25 is not an emulated board');
    const progress = process.stderr.isTTY ? streamProgress() : silentProgress();
    return (await prepareImages(board, progress)).kernel.buildTree;
  })();
  return cached;
}

/** Debian's amd64 headers tree (VNET_NATIVE_KERNEL_DIR overrides), or a failure saying how to install it. */
export function nativeKernelTree(): string {
  const fromEnv = process.env.VNET_NATIVE_KERNEL_DIR;
  if (fromEnv) return fromEnv;
  const found = existsSync('/usr/src') ? readdirSync('/usr/src').filter((d) => /^linux-headers-.*-amd64$/.test(d)).sort() : [];
  if (found.length === 0) {
    throw new Error('no /usr/src/linux-headers-*-amd64: run `apt-get install -y linux-headers-amd64` (or set VNET_NATIVE_KERNEL_DIR)');
  }
  return join('/usr/src', found.at(-1)!);
}
