// Turns what a user typed for a run (a results.json path, a run folder, or a
// run id, `latest` included) into a results.json path. Run ids are found
// under the reports folder, and for runs written elsewhere (`run --out DIR`)
// through the record `reports/.runs/<run-id>` that holds the folder's path.

import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../errors.ts';
import { writeFileAtomic } from '../util/files.ts';

/** Where runs written outside the reports folder are recorded (a dot folder: the run index skips it). */
export const RUN_RECORDS = '.runs';

async function kind(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

// A run id as the harness makes them; anything else is never a record's name.
const isRunId = (id: string) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) && id !== '..' && id !== '.';

/** Records that run `runId` was written to `runDir`, so `compare <run-id>` finds it; no-op for an id that is not a plain name. */
export async function recordRunFolder(reportsRoot: string, runId: string, runDir: string): Promise<void> {
  if (!isRunId(runId)) return;
  const dir = path.join(reportsRoot, RUN_RECORDS);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, runId), `${path.resolve(runDir)}\n`);
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
    if (isRunId(ref)) {
      const record = path.join(path.resolve(reportsRoot), RUN_RECORDS, ref);
      const recorded = (await readFile(record, 'utf8').catch(() => '')).trim();
      if (recorded !== '') {
        if ((await kind(recorded)) === 'dir') return path.join(recorded, 'results.json');
        throw new HarnessError(`run "${ref}" was written to ${recorded} (recorded in ${record}), which no longer exists`);
      }
    }
  }
  throw new HarnessError(
    `run "${ref}" not found: no file or folder ${direct}, and no run "${ref}" under ${path.resolve(reportsRoot)} or recorded in ${path.join(path.resolve(reportsRoot), RUN_RECORDS)}`,
  );
}
