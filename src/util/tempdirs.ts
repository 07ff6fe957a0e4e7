// Temporary directories of a run (the per-run initrd, QEMU's QMP socket):
// named after the harness's pid, removed when they are released and, failing
// that, on every exit of the process (normal end, error, SIGINT/SIGTERM/HUP
// through the reaper's handlers). A SIGKILL cannot be caught: the next run
// sweeps the directories whose process is gone.
import { readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from './pid.ts';
import { installExitHandlers } from './reaper.ts';

const live = new Set<string>();
let hooked = false;

/** Makes `<tmp>/<prefix>-<pid>-XXXXXX`, removed on release or at the latest when the process exits. */
export async function makeTempDir(prefix: string): Promise<string> {
  if (!hooked) {
    hooked = true;
    installExitHandlers();
    process.on('exit', () => {
      for (const dir of live) rmSync(dir, { recursive: true, force: true });
      live.clear();
    });
  }
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-${process.pid}-`));
  live.add(dir);
  return dir;
}

/** Removes a directory made by makeTempDir. */
export async function releaseTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}

/** Removes `<tmp>/<prefix>-<pid>-*` left by processes that no longer exist; returns what it removed. */
export function sweepStaleTempDirs(prefixes: readonly string[], root = tmpdir()): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of entries) {
    for (const prefix of prefixes) {
      const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-[A-Za-z0-9]{6}$`).exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid === process.pid || pidAlive(pid)) continue;
      rmSync(join(root, name), { recursive: true, force: true });
      removed.push(join(root, name));
    }
  }
  return removed;
}
