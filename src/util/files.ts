// Atomic file operations: a reader (a browser, CI, a later `compare`, the
// build cache's next run) never sees half a file or a missing `latest` link.
// The temporary name is hidden, and unique per process and call, so two
// writers of one file (two processes, or two calls in one) never share it.
import { randomBytes } from 'node:crypto';
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A fresh hidden name beside `target`. */
function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Writes a file through a temporary file and a rename; the temporary file is
 * removed when either fails. `mode` is the new file's mode (default 0o666,
 * less the umask, as writeFile makes it).
 */
export async function writeFileAtomic(file: string, content: string | Buffer, options: { mode?: number } = {}): Promise<void> {
  const tmp = tempName(file);
  try {
    await writeFile(tmp, content, options.mode === undefined ? {} : { mode: options.mode });
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
