// The build cache: outside the repository, keyed by a hash of every input.
// An entry is trusted only when its completion marker exists; the marker is
// written last, by rename, so an interrupted build is never taken for a done one.
// The cache is private (0700 directories, 0600 files): the emulated board's
// initramfs holds its private host key.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../errors.ts';
import { writeFileAtomic } from './files.ts';
import { pidAlive } from './pid.ts';

const MARKER = '.complete.json';
/** Permission bits of group and others: none in the cache. */
const GROUP_OTHER = 0o077;

/**
 * The cache root: $VNET_HARNESS_CACHE, else $XDG_CACHE_HOME/vnet-harness, else
 * ~/.cache/vnet-harness. Created 0700, or made 0700 when an older version left
 * it open, so whatever is written below it is private.
 */
export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const root = process.env.VNET_HARNESS_CACHE || join(xdg, 'vnet-harness');
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new HarnessError(`cannot create the cache directory ${root} (VNET_HARNESS_CACHE): ${(error as Error).message}`);
  }
  const st = statSync(root);
  // A shared directory such as /tmp must not be made private (or hold the host key).
  if (st.mode & 0o1000) {
    throw new HarnessError(`cache directory ${root} is shared (sticky bit set, like /tmp): point VNET_HARNESS_CACHE at a directory of its own`);
  }
  try {
    if (st.mode & GROUP_OTHER) chmodSync(root, st.mode & 0o700);
  } catch (error) {
    throw new HarnessError(`cannot make the cache directory ${root} private (chmod 700): ${(error as Error).message}`);
  }
  return root;
}

/** Takes group and other permissions off an entry's directory and the files directly in it (the owner's keep theirs). */
async function makePrivate(dir: string): Promise<void> {
  for (const path of [dir, ...(await readdir(dir)).map((name) => join(dir, name))]) {
    // lstat: a symbolic link's target may lie outside the cache; it is never changed.
    const st = await lstat(path);
    if ((st.isFile() || st.isDirectory()) && st.mode & GROUP_OTHER) await chmod(path, st.mode & 0o700);
  }
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
  const reuse = async (): Promise<CacheEntry<M>> => {
    // Entries written before the cache was private are made private when used.
    await makePrivate(dir);
    return { dir, meta: JSON.parse(await readFile(marker, 'utf8')) as M, built: false };
  };
  if (existsSync(marker)) return reuse();
  await mkdir(root, { recursive: true, mode: 0o700 });
  const release = await takeBuildLock(`${dir}.lock`);
  try {
    // Another process may have finished the entry while we waited for the lock.
    if (existsSync(marker)) return await reuse();
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const meta = await build(dir);
    await makePrivate(dir);
    await writeFileAtomic(marker, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
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

/**
 * Serialises builders of one cache entry across processes: mkdir is atomic;
 * the lock names its owner pid, and a lock whose owner died is taken over.
 */
async function takeBuildLock(lockDir: string): Promise<() => Promise<void>> {
  for (;;) {
    try {
      await mkdir(lockDir, { mode: 0o700 });
      await writeFile(join(lockDir, 'pid'), String(process.pid), { mode: 0o600 });
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
