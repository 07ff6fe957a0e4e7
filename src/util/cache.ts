// The build cache: outside the repository, keyed by a hash of every input.
// An entry is trusted only when its completion marker exists; the marker is
// written last, by rename, so an interrupted build is never taken for a done one.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

const MARKER = '.complete.json';

/** The cache root: $VNET_HARNESS_CACHE, else $XDG_CACHE_HOME/vnet-harness, else ~/.cache/vnet-harness. */
export function cacheRoot(): string {
  if (process.env.VNET_HARNESS_CACHE) return process.env.VNET_HARNESS_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'vnet-harness');
}

/** sha256 (hex, first 16 chars) of the given inputs, in order, with separators. */
export function inputsKey(inputs: ReadonlyArray<string | Buffer>): string {
  const h = createHash('sha256');
  for (const input of inputs) {
    h.update(String(Buffer.byteLength(input)));
    h.update(':');
    h.update(input);
  }
  return h.digest('hex').slice(0, 16);
}

/** Writes a file atomically: to a temporary name, then rename. */
export async function writeFileAtomic(path: string, data: string | Buffer, mode?: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, mode === undefined ? {} : { mode });
  await rename(tmp, path);
}

export interface CacheEntry<M> {
  dir: string;
  meta: M;
  /** Whether this call built the entry (false: reused). */
  built: boolean;
}

/**
 * Returns the entry `<root>/<name>-<key>`, building it with `build(dir)` when
 * it has no completion marker. A leftover of an interrupted build is removed
 * first. `build` returns metadata stored in the marker.
 */
export async function cachedEntry<M>(
  name: string,
  key: string,
  build: (dir: string) => Promise<M>,
  root = cacheRoot(),
): Promise<CacheEntry<M>> {
  const dir = join(root, `${name}-${key}`);
  const marker = join(dir, MARKER);
  if (existsSync(marker)) {
    return { dir, meta: JSON.parse(await readFile(marker, 'utf8')) as M, built: false };
  }
  await mkdir(root, { recursive: true });
  const release = await takeBuildLock(`${dir}.lock`);
  try {
    // Another process may have finished the entry while we waited for the lock.
    if (existsSync(marker)) {
      return { dir, meta: JSON.parse(await readFile(marker, 'utf8')) as M, built: false };
    }
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const meta = await build(dir);
    await writeFileAtomic(marker, `${JSON.stringify(meta, null, 2)}\n`);
    return { dir, meta, built: true };
  } finally {
    await release();
  }
}

/** The directory of entry `<root>/<name>-<key>` when it is complete, else null; never builds. */
export function completedEntry(name: string, key: string, root = cacheRoot()): string | null {
  const dir = join(root, `${name}-${key}`);
  return existsSync(join(dir, MARKER)) ? dir : null;
}

/** Whether a process with this pid exists on this host. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Serialises builders of one cache entry across processes: mkdir is atomic;
 * the lock names its owner pid, and a lock whose owner died is taken over.
 */
async function takeBuildLock(lockDir: string): Promise<() => Promise<void>> {
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
