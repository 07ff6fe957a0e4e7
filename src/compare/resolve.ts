// Turns what a user typed for a run (a results.json path, a run folder, or a
// run id under the reports folder, `latest` included) into a results.json path.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../errors.ts';

async function kind(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** Resolves a run reference to its results.json; throws HarnessError naming everything it tried. */
export async function resolveRun(ref: string, reportsRoot: string): Promise<string> {
  const direct = path.resolve(ref);
  const k = await kind(direct);
  if (k === 'file') return direct;
  if (k === 'dir') return path.join(direct, 'results.json');
  // A bare id must not climb out of the reports folder.
  if (!ref.includes('/') && !ref.includes(path.sep) && ref !== '..' && ref !== '.') {
    const underRoot = path.resolve(reportsRoot, ref);
    if ((await kind(underRoot)) === 'dir') return path.join(underRoot, 'results.json');
  }
  throw new HarnessError(
    `run "${ref}" not found: no file or folder ${direct}, and no run "${ref}" under ${path.resolve(reportsRoot)}`,
  );
}
