// The emulated board's kernel: Debian's linux-source package, the board's
// defconfig plus the config fragment kept in boards/, built out of tree into
// the cache. The build tree stays: out-of-tree modules are built against it.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { HarnessError, PrerequisiteError } from '../errors.ts';
import { cachedEntry, completedEntry, inputsKey } from '../util/cache.ts';
import type { Progress } from '../util/progress.ts';

export interface KernelSpec {
  /** Debian package holding the source tarball, e.g. "linux-source-6.1". */
  sourcePackage: string;
  arch: string;
  crossCompile: string;
  defconfig: string;
  /** Paths of the config fragment files, applied in order (a later line wins). */
  fragments: string[];
  /** Paths of patches applied (patch -p1, in order) to the extracted source. */
  patches: string[];
  image: string;
  dtb: string;
}

export interface KernelMeta {
  release: string;
  sourceVersion: string;
  compiler: string;
  buildSeconds: number;
}

export interface KernelBuild {
  /** The prepared build tree (O= directory), for out-of-tree modules. */
  buildTree: string;
  image: string;
  dtb: string;
  meta: KernelMeta;
  built: boolean;
}

/** Objects the fragment's kernel compiles, measured; used only to show a percentage. */
const EXPECTED_OBJECTS = 960;

/** The installed version of a Debian package, or a PrerequisiteError saying how to get it. */
export async function installedVersion(pkg: string): Promise<string> {
  const r = await execa('dpkg-query', ['-W', '-f=${Version}', pkg], { reject: false, timeout: 30_000 });
  if (r.exitCode !== 0 || r.stdout === '') {
    throw new PrerequisiteError(`host package ${pkg} is not installed\n  fix: npx vnet-harness doctor --install`);
  }
  return r.stdout;
}

/** Finds the source tarball a linux-source-X package installs under /usr/src. */
export async function sourceTarball(pkg: string): Promise<string> {
  const candidates = (await readdir('/usr/src')).filter((f) => f.startsWith(`${pkg}.tar`));
  if (candidates[0] === undefined) throw new PrerequisiteError(`/usr/src/${pkg}.tar.* not found (package ${pkg})`);
  return join('/usr/src', candidates[0]);
}

/** Runs make in the build tree, feeding each output line to onLine. */
async function make(
  srcDir: string,
  outDir: string,
  spec: KernelSpec,
  targets: string[],
  onLine: (line: string) => void,
  timeoutMs: number,
): Promise<void> {
  const args = ['-C', srcDir, `O=${outDir}`, `ARCH=${spec.arch}`, `CROSS_COMPILE=${spec.crossCompile}`, ...targets];
  const child = execa('make', args, { all: true, reject: false, timeout: timeoutMs, buffer: { all: false } });
  const tail: string[] = [];
  for await (const line of child.iterable({ from: 'all' })) {
    const text = String(line);
    tail.push(text);
    if (tail.length > 40) tail.shift();
    onLine(text);
  }
  const result = await child;
  if (result.exitCode !== 0) {
    const why = result.timedOut ? `timed out after ${timeoutMs / 1000} s` : `exit code ${result.exitCode}`;
    throw new HarnessError(`kernel: make ${targets.join(' ')} failed (${why}):\n${tail.join('\n')}`);
  }
}

/**
 * Options the fragments set that the final .config does not have (kconfig
 * dropped them). `fragment` is the fragments' text in the order applied: for
 * an option set more than once, the last line is the one that counts.
 */
export function lostOptions(fragment: string, config: string): string[] {
  const lines = config.split('\n');
  const have = new Set(lines);
  const wanted = new Map<string, string>();
  for (const raw of fragment.split('\n')) {
    const line = raw.trim();
    const option = /^# (CONFIG_\w+) is not set$/.exec(line)?.[1] ?? /^(CONFIG_\w+)=/.exec(line)?.[1];
    if (option !== undefined) {
      wanted.delete(option);
      wanted.set(option, line);
    }
  }
  const lost: string[] = [];
  for (const [option, line] of wanted) {
    if (line.startsWith('#') ? lines.some((l) => l.startsWith(`${option}=`)) : !have.has(line)) lost.push(line);
  }
  return lost;
}

/** The cache key of a spec's kernel and the inputs it is made of that the build needs again. */
async function kernelKey(spec: KernelSpec): Promise<{ key: string; sourceVersion: string; fragment: string; compiler: string }> {
  const sourceVersion = await installedVersion(spec.sourcePackage);
  // For one fragment the text is the file itself, so a board that gains no
  // second fragment keeps its cache key.
  const fragment = (await Promise.all(spec.fragments.map((f) => readFile(f, 'utf8')))).join('\n');
  const patches = await Promise.all(spec.patches.map((f) => readFile(f, 'utf8')));
  // spawns: board:cross_compile
  const compiler = (await execa(`${spec.crossCompile}gcc`, ['--version'], { reject: false, timeout: 30_000 })).stdout.split('\n')[0];
  if (!compiler) {
    throw new PrerequisiteError(`cross compiler ${spec.crossCompile}gcc not found\n  fix: npx vnet-harness doctor --install`);
  }
  // Without patches the key is what it was before boards could have them.
  const key = inputsKey(['kernel-v1', spec.sourcePackage, sourceVersion, compiler, spec.arch, spec.defconfig, fragment, spec.image, spec.dtb, ...patches]);
  return { key, sourceVersion, fragment, compiler };
}

/** The build tree of this spec's kernel when the cache holds it complete, else null (never builds). */
export async function cachedKernelTree(spec: KernelSpec): Promise<string | null> {
  const dir = completedEntry('kernel', (await kernelKey(spec)).key);
  return dir === null ? null : join(dir, 'build');
}

/** Returns the cached kernel build for this spec, building it when an input changed. */
export async function ensureKernel(spec: KernelSpec, progress: Progress): Promise<KernelBuild> {
  const { key, sourceVersion, fragment, compiler } = await kernelKey(spec);
  const entry = await cachedEntry<KernelMeta>('kernel', key, async (dir) => {
    const started = Date.now();
    const src = join(dir, 'src');
    const out = join(dir, 'build');
    progress.phase(`kernel: extracting ${spec.sourcePackage} ${sourceVersion}`);
    await execa('mkdir', ['-p', src, out]);
    await execa('tar', ['-xf', await sourceTarball(spec.sourcePackage), '-C', src, '--strip-components=1'], { timeout: 600_000 });
    for (const p of spec.patches) {
      progress.phase(`kernel: applying ${p}`);
      const r = await execa('patch', ['-p1', '--batch', '--forward', '-d', src, '-i', p], { reject: false, all: true, timeout: 60_000 });
      if (r.exitCode !== 0) throw new HarnessError(`kernel: ${p} does not apply to ${spec.sourcePackage} ${sourceVersion}:\n${r.all}`);
    }
    progress.phase(`kernel: configuring ${spec.defconfig} + ${spec.fragments.join(' + ')}`);
    await make(src, out, spec, [spec.defconfig], () => {}, 120_000);
    // spawns: kernel-tree:merge_config.sh
    await execa(join(src, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', out, join(out, '.config'), ...spec.fragments], {
      env: { ARCH: spec.arch },
      timeout: 120_000,
    });
    await make(src, out, spec, ['olddefconfig'], () => {}, 120_000);
    const lost = lostOptions(fragment, await readFile(join(out, '.config'), 'utf8'));
    if (lost.length > 0) {
      throw new HarnessError(`kernel: kconfig did not keep these lines of ${spec.fragments.join(', ')} (dependencies unmet?):\n  ${lost.join('\n  ')}`);
    }
    let objects = 0;
    progress.phase(`kernel: compiling ${spec.image}, ${spec.dtb} and modules (about ${EXPECTED_OBJECTS} objects, ~4 min on 2 cores)`);
    const jobs = String(availableParallelism() + 1);
    await make(src, out, spec, [`-j${jobs}`, spec.image, spec.dtb, 'modules'], (line) => {
      if (/^\s+CC\b/.test(line)) {
        objects++;
        progress.update(Math.min(99, Math.round((100 * objects) / EXPECTED_OBJECTS)), `kernel: ${objects} objects`);
      }
    }, 40 * 60_000);
    const release = (await execa('make', ['-s', '-C', out, 'kernelrelease'], { timeout: 60_000 })).stdout.trim();
    progress.done(`kernel: ${release} built in ${Math.round((Date.now() - started) / 1000)} s`);
    return { release, sourceVersion, compiler, buildSeconds: Math.round((Date.now() - started) / 1000) };
  });
  const buildTree = join(entry.dir, 'build');
  const image = join(buildTree, 'arch', spec.arch, 'boot', spec.image);
  const dtb = join(buildTree, 'arch', spec.arch, 'boot', 'dts', spec.dtb);
  for (const f of [image, dtb, join(buildTree, 'Module.symvers')]) {
    if (!existsSync(f)) throw new HarnessError(`kernel cache ${entry.dir} is missing ${f}; delete the directory to rebuild`);
  }
  if (!entry.built) progress.phase(`kernel: cached ${entry.meta.release} (${entry.dir})`);
  return { buildTree, image, dtb, meta: entry.meta, built: entry.built };
}
