// File operations of the reporters, each atomic: a reader (a browser, CI, a
// later `compare`) never sees half a report or a missing `latest` link.

import { randomBytes } from 'node:crypto';
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes a file through a temporary file and a rename. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = tempName(file);
  try {
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Points `link` at `target` (made relative to the link's folder) by creating a
 * temporary symlink and renaming it over the old one. A real directory in the
 * link's place makes the rename fail: nobody's data is deleted to make room.
 */
export async function replaceSymlink(link: string, target: string): Promise<void> {
  const relative = path.relative(path.dirname(link), target) || '.';
  const tmp = tempName(link);
  try {
    await symlink(relative, tmp);
    await rename(tmp, link);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
