// Identifies a driver tree for the results: path, git revision and dirty
// flag when it is inside a git work tree, and a hash of its content.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { DriverSource } from '../results/model.ts';
import { listSources } from './sync-tree.ts';

/** sha256 over the tree's file names and contents (sorted), hex. */
export async function contentHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const file of await listSources(dir)) {
    h.update(`${file}\0`);
    h.update(await readFile(join(dir, file)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Describes the driver tree at dir. */
export async function describeSource(dir: string): Promise<DriverSource> {
  const path = resolve(dir);
  const source: DriverSource = { path, contentHash: await contentHash(path) };
  const rev = await execa('git', ['-C', path, 'rev-parse', 'HEAD'], { reject: false, timeout: 10_000 });
  if (rev.exitCode === 0) {
    source.gitRevision = rev.stdout.trim();
    const status = await execa('git', ['-C', path, 'status', '--porcelain', '--', '.'], { reject: false, timeout: 10_000 });
    source.gitDirty = status.stdout.trim() !== '';
  }
  return source;
}
