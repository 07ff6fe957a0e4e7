// The kernel's own minimal C library, nolibc (tools/include/nolibc), that the
// board-side probe is built against: taken once from the host's Debian
// linux-source package into the cache, whatever the board (a lab board's old
// kernel tree has no nolibc; the probe needs nothing of it but system calls).
import { join } from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.ts';
import { installedVersion, sourceTarball } from '../emulated/kernel.ts';
import { cachedEntry, inputsKey } from '../util/cache.ts';

/** The host package whose source tarball holds nolibc (6.1's has arch-arm.h and arch-x86_64.h). */
export const NOLIBC_PACKAGE = 'linux-source-6.1';

export interface NolibcHeaders {
  /** The directory holding nolibc.h, for `-isystem`. */
  dir: string;
  /** The version of NOLIBC_PACKAGE they came from. */
  sourceVersion: string;
}

/** nolibc's headers in the cache, extracted from NOLIBC_PACKAGE's tarball the first time (keyed by its version). */
export async function ensureNolibc(pkg = NOLIBC_PACKAGE): Promise<NolibcHeaders> {
  const sourceVersion = await installedVersion(pkg);
  const entry = await cachedEntry('nolibc', inputsKey(['nolibc-v1', pkg, sourceVersion]), async (dir) => {
    const tarball = await sourceTarball(pkg);
    // Only nolibc's folder: tar still reads the whole stream (about 10 s for 6.1's 130 MB).
    const r = await execa('tar', ['-xf', tarball, '-C', dir, '--strip-components=3', `${pkg}/tools/include/nolibc/`], {
      reject: false,
      timeout: 300_000,
      all: true,
    });
    if (r.exitCode !== 0) throw new HarnessError(`cannot extract tools/include/nolibc from ${tarball}: ${r.all ?? ''}`);
    return { sourcePackage: pkg, sourceVersion };
  });
  return { dir: join(entry.dir, 'nolibc'), sourceVersion };
}
