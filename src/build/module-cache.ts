// Module builds cached by what they are made of, not by where the driver tree
// lies: one cache entry per stage module, keyed by the driver's build sources
// (buildSources: the files Kbuild can read, by name and content), the kernel
// tree's identity (its path, release, .config, Module.symvers and autoconf.h,
// by content) and the compiler's (toolchainIdentity). A revision checked out
// in a fresh worktree (run --rev, run --baseline, every bisect step) builds
// nothing when a tree with the same content was built before.
//
// Entries are the build cache's (src/util/cache.ts): 0700, completed
// atomically by a marker written last, one builder at a time; an entry keeps
// the module and the compiler's output, nothing of the build. Only modules
// that built are kept; a failed build is removed and made again next time
// (a compile error costs seconds, and a failure of the host must not stick).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import type { BuildResult, Diagnostic } from '../results/model.ts';
import { cachedEntry, cacheRoot, completedEntry, inputsKey } from '../util/cache.ts';
import { buildModules, kernelTreeRelease, toolchainIdentity, type BuildModulesOptions } from './modules.ts';
import { buildSources } from './sync-tree.ts';

/** The cache entries' name: `<cache>/module-<key>`. */
export const MODULE_ENTRY = 'module';
/** Changes whenever what an entry holds or how it is built changes. */
const RECIPE = 'vnet-module-build/1';
const LOG = 'build.log';
const MARKER = '.complete.json';
/** Entries kept beyond those used in the last KEEP_RECENT_MS: the most recently used ones. */
const KEEP_ENTRIES = 64;
const KEEP_RECENT_MS = 60 * 60_000;

/** What the marker of an entry holds. */
interface EntryMeta {
  recipe: string;
  stage: number;
  /** The driver tree the entry was built from: its diagnostics name files there. */
  builtFrom: string;
  /** The result, without its log (in build.log) and with the module's file name only. */
  result: Omit<BuildResult, 'log'>;
}

export type CachedBuildOptions = Omit<BuildModulesOptions, 'buildDir'>;

/** A stage's build, and the cache entry it came from. */
export interface CachedBuild extends BuildResult {
  /** The cache entry (directory) holding the module. */
  entry: string;
}

/** sha256 of the build sources of a driver tree: names and contents. */
export async function driverBuildHash(sourceDir: string): Promise<string> {
  const h = createHash('sha256');
  for (const rel of await buildSources(sourceDir)) h.update(`${rel}\0`).update(await readFile(join(sourceDir, rel))).update('\0');
  return h.digest('hex');
}

const kernelIds = new Map<string, Promise<string>>();

/** What identifies a kernel tree for module builds: path, release, and the content of .config, Module.symvers and autoconf.h. */
export async function kernelTreeIdentity(kernelDir: string): Promise<string> {
  const dir = resolve(kernelDir);
  const files = ['.config', 'Module.symvers', 'include/generated/autoconf.h', 'include/generated/utsrelease.h'];
  // Remembered while the files are unchanged (Module.symvers is megabytes for a full kernel).
  const stamps = await Promise.all(files.map((f) => stat(join(dir, f)).then((s) => `${s.size}:${s.mtimeMs}`, () => 'missing')));
  const memo = `${dir}\0${stamps.join('\0')}`;
  let id = kernelIds.get(memo);
  if (!id) {
    id = (async () => {
      const parts = [dir, await kernelTreeRelease(dir).catch(() => 'no release')];
      for (const f of files) {
        const content = await readFile(join(dir, f)).catch(() => undefined);
        parts.push(`${f}:${content ? createHash('sha256').update(content).digest('hex') : 'missing'}`);
      }
      return parts.join('\0');
    })();
    kernelIds.set(memo, id);
    id.catch(() => kernelIds.delete(memo));
  }
  return id;
}

const toolchains = new Map<string, Promise<string>>();

function toolchainOf(o: CachedBuildOptions): Promise<string> {
  const memo = `${o.board}\0${o.arch}\0${o.crossCompile}`;
  let id = toolchains.get(memo);
  if (!id) {
    id = toolchainIdentity(o.board, o.arch, o.crossCompile);
    toolchains.set(memo, id);
    id.catch(() => toolchains.delete(memo));
  }
  return id;
}

/** The cache key of one stage's module built from a driver tree: sources, kernel tree, compiler, stage. */
export async function moduleBuildKey(o: CachedBuildOptions, stage: number): Promise<string> {
  const [sources, kernel, toolchain] = await Promise.all([driverBuildHash(o.sourceDir), kernelTreeIdentity(o.kernelDir), toolchainOf(o)]);
  return inputsKey([RECIPE, `stage ${stage}`, sources, kernel, toolchain]);
}

/**
 * Builds each selected stage (default 1–4) of a driver tree, or takes it from
 * the cache when a tree with the same build sources was built against the
 * same kernel tree with the same compiler. One result per stage, in order, as
 * buildModules gives them; a reused one has `compiled: false`, its original
 * compiler output and warnings, and names the files of `sourceDir`.
 */
export async function buildModulesCached(o: CachedBuildOptions): Promise<CachedBuild[]> {
  const sourceDir = resolve(o.sourceDir);
  const options = { ...o, sourceDir };
  const stages = o.stages ?? [1, 2, 3, 4];
  const keys = await Promise.all(stages.map((stage) => moduleBuildKey(options, stage)));
  const results: CachedBuild[] = new Array(stages.length);
  let built = false;
  // Each stage has its own build directory and only reads the kernel tree, so
  // the stages that must be built are built side by side, one per host CPU:
  // the board waits for them with nothing to do.
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < stages.length; i = next++) {
      const stage = stages[i] as number;
      const key = keys[i] as string;
      const reused = await reuse(key, stage, sourceDir);
      if (reused) results[i] = reused;
      else {
        built = true;
        results[i] = await buildEntry(key, stage, options);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(availableParallelism(), stages.length)) }, lane));
  if (built) await pruneModuleEntries().catch(() => undefined);
  return results;
}

/** The entry's result for `sourceDir`, when the entry is complete and its module the one built; a damaged entry is removed. */
async function reuse(key: string, stage: number, sourceDir: string): Promise<CachedBuild | undefined> {
  const dir = completedEntry(MODULE_ENTRY, key);
  if (!dir) return undefined;
  const meta = await readFile(join(dir, MARKER), 'utf8').then((t) => JSON.parse(t) as EntryMeta).catch(() => undefined);
  const module = meta?.result.module ? join(dir, meta.result.module) : undefined;
  const sha = module ? await readFile(module).then((b) => createHash('sha256').update(b).digest('hex'), () => undefined) : undefined;
  if (!meta || meta.recipe !== RECIPE || meta.stage !== stage || !meta.result.ok || !module || sha !== meta.result.sha256) {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  // The marker's time is the entry's last use (pruning keeps the recent ones).
  const now = new Date();
  await utimes(join(dir, MARKER), now, now).catch(() => undefined);
  const log = await readFile(join(dir, LOG), 'utf8').catch(() => '');
  const diagnostics = meta.result.diagnostics.map((d) => rebase(d, meta.builtFrom, sourceDir));
  return {
    ...meta.result,
    module,
    diagnostics,
    warnings: diagnostics.filter((d) => d.severity === 'warning'),
    compiled: false,
    durationMs: 0,
    log: `(cached: built from the same sources, kernel tree and compiler before; make not run; its output was:)\n${log}`,
    entry: dir,
  };
}

/** A failed build, carried out of cachedEntry so no marker is written. */
class BuildFailed extends Error {
  constructor(readonly result: BuildResult) {
    super(`stage ${result.stage} did not build`);
  }
}

async function buildEntry(key: string, stage: number, o: CachedBuildOptions & { sourceDir: string }): Promise<CachedBuild> {
  let fresh: BuildResult | undefined;
  try {
    const entry = await cachedEntry<EntryMeta>(MODULE_ENTRY, key, async (dir) => {
      try {
        const [result] = await buildModules({ ...o, buildDir: dir, stages: [stage] });
        if (!result) throw new Error(`buildModules returned no result for stage ${stage}`);
        fresh = result;
        if (!result.ok || !result.module) throw new BuildFailed(result);
        await writeFile(join(dir, LOG), result.log, { mode: 0o600 });
        // An entry is never built again in place: only the module and the compiler output stay (12 KB, not 240).
        const keep = new Set([basename(result.module), LOG]);
        for (const name of await readdir(dir)) if (!keep.has(name)) await rm(join(dir, name), { recursive: true, force: true });
        const { log: _log, ...rest } = result;
        return { recipe: RECIPE, stage, builtFrom: o.sourceDir, result: { ...rest, module: result.module.slice(dir.length + 1) } };
      } catch (error) {
        // Removed while the entry's lock is still held: no other builder of this key is in it.
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    });
    if (fresh) return { ...fresh, entry: entry.dir };
    // Another process built it while this one waited for the entry's lock.
    const reused = await reuse(key, stage, o.sourceDir);
    if (reused) return reused;
    throw new Error(`module cache entry ${entry.dir} vanished right after it was built`);
  } catch (error) {
    if (!(error instanceof BuildFailed)) throw error;
    return { ...error.result, entry: join(cacheRoot(), `${MODULE_ENTRY}-${key}`) };
  }
}

function rebase(d: Diagnostic, from: string, to: string): Diagnostic {
  return from !== to && d.file.startsWith(from + sep) ? { ...d, file: join(to, d.file.slice(from.length + 1)) } : d;
}

/**
 * Removes module entries neither among the KEEP_ENTRIES most recently used
 * nor used in the last hour (a run still uploading its module keeps it), and
 * never one being built (its lock exists, or it has no marker yet).
 */
export async function pruneModuleEntries(root = cacheRoot(), now = Date.now()): Promise<string[]> {
  const names = (await readdir(root)).filter((n) => n.startsWith(`${MODULE_ENTRY}-`) && !n.endsWith('.lock'));
  const entries: { dir: string; used: number }[] = [];
  for (const n of names) {
    const dir = join(root, n);
    if (existsSync(`${dir}.lock`)) continue;
    const used = await stat(join(dir, MARKER)).then((s) => s.mtimeMs, () => undefined);
    // No marker: a build that died (or one just starting); cachedEntry removes it when its key is built again.
    if (used !== undefined) entries.push({ dir, used });
  }
  entries.sort((a, b) => b.used - a.used);
  const removed: string[] = [];
  for (const [i, e] of entries.entries()) {
    if (i < KEEP_ENTRIES || now - e.used < KEEP_RECENT_MS) continue;
    await rm(e.dir, { recursive: true, force: true });
    removed.push(e.dir);
  }
  return removed;
}
