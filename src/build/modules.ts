// Builds the staged virt_net modules (virt_net1.ko … virt_netN.ko) of a driver
// tree with Kbuild, against a prepared kernel tree, into a build directory
// outside the source tree. One make per stage, so a stage that does not
// compile does not stop the others; compiler output is parsed into
// diagnostics, and compile warnings are findings, not noise.

import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { HarnessError, PrerequisiteError } from '../errors.ts';
import { parseGccOutput } from '../parsers/gcc.ts';
import type { BuildResult, Diagnostic } from '../results/model.ts';
import { readVermagic } from './modinfo.ts';
import { listSources, syncTree } from './sync-tree.ts';

export interface BuildModulesOptions {
  /** Board name, used in messages. */
  board: string;
  /** A prepared kernel build tree (the O= directory, or a linux-headers directory). */
  kernelDir: string;
  /** Kbuild ARCH, e.g. "arm"; "" builds for the host. */
  arch: string;
  /** Toolchain prefix, e.g. "arm-linux-gnueabi-"; "" uses the host gcc. */
  crossCompile: string;
  /** The driver tree: a Kbuild producing virt_net1.ko … virt_net4.ko. */
  sourceDir: string;
  /** Where the build happens; must lie outside sourceDir. Keep one per kernel tree. */
  buildDir: string;
  /** Stages to build (default 1–4). */
  stages?: number[];
  /** Timeout of each make, in ms (default 5 min). */
  timeoutMs?: number;
}

const DEFAULT_STAGES = [1, 2, 3, 4];
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const STATE_DIR = '.vnet-build';
// Kbuild's quiet output names every compile/link step; none means no work.
const WORK_LINE = /^\s+(?:CC|AS|LD|AR|BTF)\s+\[M\]\s/m;

/**
 * Builds each selected stage and returns one result per stage, in stage order.
 * `diagnostics` holds every parsed compiler message (errors, warnings, notes),
 * `warnings` the warnings among them. Columns are 1-based bytes where the
 * compiler supports saying so (gcc ≥ 11), gcc's display columns otherwise.
 * Throws a PrerequisiteError when the kernel tree or a tool is missing and a
 * HarnessError when a make times out.
 */
export async function buildModules(options: BuildModulesOptions): Promise<BuildResult[]> {
  const sourceDir = resolve(options.sourceDir);
  const buildDir = resolve(options.buildDir);
  const kernelDir = resolve(options.kernelDir);
  const stages = options.stages ?? DEFAULT_STAGES;
  await checkInputs(options.board, sourceDir, buildDir, kernelDir, stages);
  const cc = `${options.crossCompile}gcc`;
  await requireTool(options.board, 'make', 'apt-get install make');
  await requireTool(
    options.board,
    cc,
    options.crossCompile === ''
      ? 'apt-get install gcc'
      : `apt-get install gcc-${options.crossCompile.replace(/-$/, '')}`,
  );

  await syncTree(sourceDir, buildDir);
  const kcflags = await diagnosticFlags(cc);
  const stamp = await inputsStamp(buildDir, kernelDir, cc, kcflags, options);

  const results: BuildResult[] = [];
  for (const stage of stages) {
    const resultFile = join(buildDir, STATE_DIR, `stage-${stage}.result.json`);
    const previous = await upToDate(resultFile, stamp);
    if (previous) {
      results.push(previous);
      continue;
    }
    const result = await buildStage(stage, { ...options, sourceDir, buildDir, kernelDir }, kcflags);
    if (result.ok) await writeFile(resultFile, `${JSON.stringify({ stamp, result: { ...result, log: '' } }, null, 1)}\n`);
    else await rm(resultFile, { force: true });
    results.push(result);
  }
  return results;
}

/**
 * A hash of everything a stage's build depends on: the synced sources, the
 * kernel tree's configuration and symbols, the compiler and its flags. Equal
 * stamps mean make would do nothing; skipping it saves ~1 s per stage (Kbuild
 * reads the kernel's whole makefile tree even for a no-op).
 */
async function inputsStamp(buildDir: string, kernelDir: string, cc: string, kcflags: string, o: BuildModulesOptions): Promise<string> {
  const h = createHash('sha256');
  for (const rel of await listSources(buildDir)) h.update(`${rel}\0`).update(await readFile(join(buildDir, rel))).update('\0');
  for (const f of ['.config', 'Module.symvers', 'include/generated/utsrelease.h', 'include/generated/autoconf.h']) {
    const st = await stat(join(kernelDir, f)).catch(() => undefined);
    h.update(`${f}:${st ? `${st.size}:${st.mtimeMs}` : 'missing'}\0`);
  }
  // spawns: board:cross_compile
  const version = await execa(cc, ['--version'], { reject: false, timeout: 30_000 });
  h.update(`${version.stdout.split('\n')[0] ?? ''}\0${kcflags}\0${o.arch}\0${o.crossCompile}\0${resolve(kernelDir)}`);
  return h.digest('hex');
}

/** The saved result of a stage when its stamp matches and its .ko is the one built then. */
async function upToDate(resultFile: string, stamp: string): Promise<BuildResult | undefined> {
  const saved = await readFile(resultFile, 'utf8').then((t) => JSON.parse(t) as { stamp?: string; result?: BuildResult }).catch(() => undefined);
  const result = saved?.result;
  if (!result?.ok || saved?.stamp !== stamp || !result.module || !existsSync(result.module)) return undefined;
  const sha = createHash('sha256').update(await readFile(result.module)).digest('hex');
  if (sha !== result.sha256) return undefined;
  return { ...result, compiled: false, durationMs: 0, log: '(inputs unchanged since the last build: make not run)' };
}

/**
 * The oldest kernel the drivers were built and run against (Debian 12's
 * linux-source-6.1, the emulated board's). The compat header's branches for
 * older kernels were never compiled: no such kernel is reachable here.
 */
export const OLDEST_TESTED_KERNEL = [6, 1] as const;

/**
 * A warning for a kernel release older than OLDEST_TESTED_KERNEL (the drivers'
 * compat branches for it were never compiled), or undefined.
 */
export function untestedKernelWarning(release: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [oldMajor, oldMinor] = OLDEST_TESTED_KERNEL;
  if (major > oldMajor || (major === oldMajor && minor >= oldMinor)) return undefined;
  return (
    `kernel ${release} is older than ${oldMajor}.${oldMinor}, the oldest kernel these drivers were built and tested against: ` +
    `the compat branches they take here (kernel-modules/virt_net/virt_net_compat.h) have never been compiled (see kernel-modules/README.md)`
  );
}

/** Reads the release a kernel tree builds modules for (what vermagic starts with). */
export async function kernelTreeRelease(kernelDir: string): Promise<string> {
  const uts = join(kernelDir, 'include/generated/utsrelease.h');
  const text = await readFile(uts, 'utf8').catch(() => {
    throw new PrerequisiteError(`kernel tree ${kernelDir} has no ${uts}: it is not prepared`);
  });
  const m = /UTS_RELEASE\s+"([^"]+)"/.exec(text);
  if (!m) throw new HarnessError(`${uts}: no UTS_RELEASE definition`);
  return m[1]!;
}

/** Runs the make of one stage and turns its output into a BuildResult. */
async function buildStage(
  stage: number,
  o: BuildModulesOptions,
  kcflags: string,
): Promise<BuildResult> {
  const target = `virt_net${stage}.ko`;
  const ko = join(o.buildDir, target);
  const args = ['-C', o.kernelDir, `M=${o.buildDir}`, `KCFLAGS=${kcflags}`, target];
  if (o.arch !== '') args.push(`ARCH=${o.arch}`);
  if (o.crossCompile !== '') args.push(`CROSS_COMPILE=${o.crossCompile}`);
  const timeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = Date.now();

  const r = await execa('make', args, {
    reject: false,
    all: true,
    timeout,
    forceKillAfterDelay: 5_000,
    env: buildEnv(),
    extendEnv: false,
  });
  const log = r.all ?? '';
  if (r.timedOut) {
    throw new HarnessError(
      `board ${o.board}: stage ${stage}: make ${target} did not finish within ${timeout / 1000} s` +
        ` (make ${args.join(' ')})\n  last output:\n${tail(log)}`,
    );
  }
  if (r.failed && r.exitCode === undefined) {
    throw new HarnessError(`board ${o.board}: stage ${stage}: could not run make: ${r.message}`);
  }

  const compiled = WORK_LINE.test(log);
  const ok = r.exitCode === 0 && existsSync(ko);
  let diagnostics = parseGccOutput(log).map((d) => toSourcePath(d, o.buildDir, o.sourceDir));
  const stateFile = join(o.buildDir, STATE_DIR, `stage-${stage}.json`);
  if (compiled) {
    await saveState(stateFile, diagnostics);
  } else if (ok) {
    // Kbuild compiled nothing, so the module is the one the last compiling
    // run made: its warnings still stand and must not vanish from the results.
    diagnostics = mergeDiagnostics(await loadState(stateFile), diagnostics);
  }

  if (!ok) {
    // A .ko left from an earlier good build must not pass for this one.
    await rm(ko, { force: true });
    if (!diagnostics.some((d) => d.severity === 'error')) {
      diagnostics.push(makeFailure(log, r.exitCode, target));
    }
  }
  const result: BuildResult = {
    stage,
    ok,
    warnings: diagnostics.filter((d) => d.severity === 'warning'),
    diagnostics,
    compiled,
    durationMs: Date.now() - started,
    log,
  };
  if (ok) {
    result.module = ko;
    result.vermagic = await readVermagic(ko);
    result.sha256 = createHash('sha256').update(await readFile(ko)).digest('hex');
  }
  return result;
}

/** Refuses missing trees and a build directory inside the source tree. */
async function checkInputs(
  board: string,
  sourceDir: string,
  buildDir: string,
  kernelDir: string,
  stages: number[],
): Promise<void> {
  if (!existsSync(join(sourceDir, 'Kbuild')) && !existsSync(join(sourceDir, 'Makefile'))) {
    throw new HarnessError(
      `board ${board}: driver tree ${sourceDir} has no Kbuild (or Makefile) producing virt_net1.ko … virt_net4.ko`,
    );
  }
  if (isWithin(buildDir, sourceDir) || isWithin(sourceDir, buildDir)) {
    throw new HarnessError(
      `board ${board}: build directory ${buildDir} and driver tree ${sourceDir} overlap; ` +
        'the build directory must lie outside the source tree so the source stays clean',
    );
  }
  const bad = stages.filter((s) => !Number.isInteger(s) || s < 1);
  if (bad.length > 0) throw new HarnessError(`board ${board}: invalid stage number(s): ${bad.join(', ')}`);
  if (!existsSync(join(kernelDir, 'Makefile'))) {
    throw new PrerequisiteError(
      `board ${board}: kernel tree ${kernelDir} not found (no Makefile there). ` +
        'Point the board at a prepared kernel build tree: for the emulated board, the one the ' +
        'harness builds and caches; for a native build, `apt-get install linux-headers-amd64` ' +
        'gives /usr/src/linux-headers-<release>-amd64.',
    );
  }
  for (const needed of ['include/generated/utsrelease.h', 'Module.symvers']) {
    if (!existsSync(join(kernelDir, needed))) {
      throw new PrerequisiteError(
        `board ${board}: kernel tree ${kernelDir} has no ${needed}: run ` +
          `\`make modules_prepare\` and \`make modules\` in it once (out-of-tree modules need both).`,
      );
    }
  }
  await mkdir(join(buildDir, STATE_DIR), { recursive: true });
}

/** Fails with the install command when `tool` is not on PATH (or, named by path, not there). */
async function requireTool(board: string, tool: string, install: string): Promise<void> {
  // Only the compiler can be a path (cross_compile: /opt/bsp/bin/arm-linux-gnueabi-): used as given.
  if (tool.includes('/')) {
    const found = await access(tool, constants.X_OK).then(() => true, () => false);
    if (found) return;
    throw new PrerequisiteError(
      `board ${board}: ${tool} (cross_compile) does not exist or is not executable; ` +
        'install the toolchain there or fix cross_compile in the board file',
    );
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      await access(join(dir, tool), constants.X_OK);
      return;
    } catch {
      // not in this directory
    }
  }
  throw new PrerequisiteError(
    `board ${board}: ${tool} not found in PATH; install it with \`${install}\` ` +
      '(or run `vnet-harness doctor --install`)',
  );
}

/**
 * What identifies the board's compiler for a cached module build: the
 * compiler's real path, its `--version` line, the KCFLAGS the build passes,
 * ARCH and CROSS_COMPILE. Throws a PrerequisiteError (with the install
 * command) when make or the compiler is missing, as a build would.
 */
export async function toolchainIdentity(board: string, arch: string, crossCompile: string): Promise<string> {
  const cc = `${crossCompile}gcc`;
  await requireTool(board, 'make', 'apt-get install make');
  await requireTool(board, cc, crossCompile === '' ? 'apt-get install gcc' : `apt-get install gcc-${crossCompile.replace(/-$/, '')}`);
  const path = cc.includes('/') ? cc : ((process.env.PATH ?? '').split(delimiter).map((d) => join(d, cc)).find((p) => existsSync(p)) ?? cc);
  const real = await realpath(path).catch(() => path);
  // spawns: board:cross_compile
  const version = await execa(cc, ['--version'], { reject: false, timeout: 30_000 });
  return [real, version.stdout.split('\n')[0] ?? '', await diagnosticFlags(cc), arch, crossCompile].join('\0');
}

/**
 * KCFLAGS for the build: plain, uncoloured diagnostics with byte columns.
 * Nothing here hides a warning, and any KCFLAGS from the caller's environment
 * (which could carry -w) is replaced.
 */
async function diagnosticFlags(cc: string): Promise<string> {
  const flags: string[] = [];
  for (const flag of ['-fdiagnostics-color=never', '-fdiagnostics-column-unit=byte']) {
    // Old toolchains (the 2.6.31 BSP's) reject flags they do not know.
    // spawns: board:cross_compile
    const r = await execa(cc, [flag, '-fsyntax-only', '-x', 'c', '/dev/null'], {
      reject: false,
      timeout: 30_000,
    });
    if (r.exitCode === 0) flags.push(flag);
  }
  return flags.join(' ');
}

/** The environment of each make: C locale, and nothing that changes make's or Kbuild's output. */
function buildEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(?:LC_\w+|LANG|LANGUAGE|MAKEFLAGS|MFLAGS|MAKELEVEL|MAKEOVERRIDES|GNUMAKEFLAGS)$/.test(k)) continue;
    if (/^(?:KBUILD_\w+|KCFLAGS|KCPPFLAGS|KAFLAGS|CFLAGS_MODULE|V|W|C|O|M|ARCH|CROSS_COMPILE|GCC_COLORS)$/.test(k)) continue;
    env[k] = v;
  }
  // The kernel's Makefile unexports LC_ALL; LANG and LC_MESSAGES reach gcc.
  env.LANG = 'C';
  env.LC_ALL = 'C';
  env.LC_MESSAGES = 'C';
  return env;
}

/** Rewrites build-directory paths to the source tree the user edits. */
function toSourcePath(d: Diagnostic, buildDir: string, sourceDir: string): Diagnostic {
  const plain: Diagnostic = {
    file: d.file,
    line: d.line,
    column: d.column,
    severity: d.severity,
    message: d.message,
  };
  if (d.option !== undefined) plain.option = d.option;
  if (isAbsolute(d.file) && isWithin(d.file, buildDir)) {
    plain.file = join(sourceDir, relative(buildDir, d.file));
  } else if (!isAbsolute(d.file) && existsSync(join(sourceDir, d.file))) {
    plain.file = join(sourceDir, d.file);
  }
  return plain;
}

/** A diagnostic for a make that failed without any compiler error to show for it. */
function makeFailure(log: string, exitCode: number | undefined, target: string): Diagnostic {
  const lines = log.split('\n').filter((l) => /\*\*\*|No rule|Error \d|not found|missing/i.test(l));
  return {
    file: 'make',
    line: 0,
    column: 0,
    severity: 'error',
    message:
      lines.length > 0
        ? lines.map((l) => l.trim()).join(' | ')
        : `make ${target} exited with ${exitCode ?? 'no exit code'} and did not produce ${target}`,
  };
}

function mergeDiagnostics(saved: Diagnostic[], current: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => `${d.file}:${d.line}:${d.column}:${d.severity}:${d.message}`;
  const seen = new Set(saved.map(key));
  return [...saved, ...current.filter((d) => !seen.has(key(d)))];
}

async function saveState(file: string, diagnostics: Diagnostic[]): Promise<void> {
  await writeFile(file, `${JSON.stringify({ diagnostics }, null, 1)}\n`);
}

async function loadState(file: string): Promise<Diagnostic[]> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { diagnostics?: Diagnostic[] };
    return Array.isArray(parsed.diagnostics) ? parsed.diagnostics : [];
  } catch {
    return [];
  }
}

function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function tail(log: string, n = 15): string {
  return log
    .trimEnd()
    .split('\n')
    .slice(-n)
    .map((l) => `    | ${l}`)
    .join('\n');
}
