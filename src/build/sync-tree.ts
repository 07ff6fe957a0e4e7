// Mirrors a driver source tree into a build directory, writing only the files
// whose content changed. Unchanged files keep their mtime, so Kbuild sees
// nothing new and an unchanged rebuild does no compile work.

import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

const MANIFEST = '.vnet-sync.json';

// Build products found in a tree someone built in place: copying them would
// let Kbuild trust objects made for another kernel or architecture.
const ARTEFACT = [/\.(?:o|ko|a|mod|mod\.c|order|symvers|markers|dwo|su|cmd|tmp|d)$/];

/** What a sync did, by relative path. */
export interface SyncReport {
  written: string[];
  unchanged: string[];
  removed: string[];
}

// Files Kbuild never reads: documentation and patch leftovers. They are not
// copied into a build directory (so no build can depend on them) and not part
// of the key of a cached module build (src/build/module-cache.ts): a README
// change does not rebuild anything.
const NOT_BUILT = [/\.(?:md|rst|txt|adoc|html|patch|diff|orig|rej)$/i, /^(?:README|LICENSE|LICENCE|COPYING|CHANGELOG|CHANGES|MAINTAINERS)(?:\..*)?$/];

/** The source files a build reads (listSources without documentation), relative with "/", sorted. */
export async function buildSources(dir: string): Promise<string[]> {
  return (await listSources(dir)).filter((rel) => !NOT_BUILT.some((re) => re.test(rel.slice(rel.lastIndexOf('/') + 1))));
}

/** Copies the build sources of `sourceDir` (buildSources) into `buildDir`, touching only changed ones. */
export async function syncTree(sourceDir: string, buildDir: string): Promise<SyncReport> {
  const files = await buildSources(sourceDir);
  const report: SyncReport = { written: [], unchanged: [], removed: [] };
  await mkdir(buildDir, { recursive: true });

  for (const rel of files) {
    const from = join(sourceDir, rel);
    const to = join(buildDir, rel);
    const content = await readFile(from);
    const old = await readFile(to).catch(() => undefined);
    if (old !== undefined && old.equals(content)) {
      report.unchanged.push(rel);
      continue;
    }
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, content);
    report.written.push(rel);
  }

  // Files synced last time but gone from the source must go too, or a
  // deleted header would keep a broken tree compiling.
  const previous = await readManifest(buildDir);
  const current = new Set(files);
  for (const rel of previous) {
    if (current.has(rel) || rel.split('/').includes('..')) continue;
    await rm(join(buildDir, rel), { force: true });
    report.removed.push(rel);
  }
  await writeFile(join(buildDir, MANIFEST), `${JSON.stringify(files, null, 1)}\n`);
  return report;
}

/** Relative paths (with "/") of the source files under `dir`, sorted. */
export async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      // Hidden entries are VCS data, editor state or Kbuild's .cmd/.tmp files.
      if (entry.name.startsWith('.')) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && !ARTEFACT.some((re) => re.test(entry.name))) {
        out.push(relative(dir, full).split(sep).join('/'));
      }
    }
  };
  await walk(dir);
  return out.sort();
}

async function readManifest(buildDir: string): Promise<string[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(buildDir, MANIFEST), 'utf8'));
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
