// Cross-compiles the board-side ICMP echo probe (kernel-modules/probe/) with
// the board's compiler against the kernel's nolibc: no C library, a few KB,
// static, so it runs on any board userland and kernel that has its system calls.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.ts';
import { ensureNolibc } from './nolibc.ts';

/**
 * No C library (nolibc is included into the one source file), static, small
 * (-Os, stripped, no unwind tables, no build id, non-PIE so constant tables
 * stay read-only and the file needs no page of writable data). doctor builds
 * a test program with the same flags.
 */
export const PROBE_CFLAGS = [
  '-Os',
  '-s',
  '-static',
  '-nostdlib',
  '-fno-pie',
  '-fno-asynchronous-unwind-tables',
  '-fno-ident',
  '-fno-stack-protector',
  '-Wl,--build-id=none',
  '-Wall',
  '-Wextra',
  '-Werror',
] as const;

/** The compiler's arguments for one nolibc program: nolibc's headers as system headers (their own warnings are not ours), libgcc for ARM's division helpers. */
export function probeCompileArgs(nolibcDir: string, source: string, out: string): string[] {
  return [...PROBE_CFLAGS, '-isystem', nolibcDir, '-include', 'nolibc.h', '-o', out, source, '-lgcc'];
}

/** Builds the probe into outDir unless an up-to-date binary is there; returns its path. */
export async function buildProbe(options: { source: string; crossCompile: string; outDir: string; board: string }): Promise<string> {
  const cc = `${options.crossCompile}gcc`;
  const nolibc = await ensureNolibc();
  // spawns: board:cross_compile
  const version = (await execa(cc, ['--version'], { reject: false, timeout: 30_000 })).stdout.split('\n')[0] ?? '';
  const key = createHash('sha256')
    .update(await readFile(options.source))
    .update(version)
    .update(PROBE_CFLAGS.join(' '))
    .update(`nolibc ${nolibc.sourceVersion}`)
    .digest('hex')
    .slice(0, 16);
  const out = join(options.outDir, `vnet_probe-${key}`);
  if (existsSync(out)) return out;
  await mkdir(options.outDir, { recursive: true });
  // spawns: board:cross_compile
  const r = await execa(cc, probeCompileArgs(nolibc.dir, options.source, `${out}.tmp`), { reject: false, timeout: 120_000, all: true });
  if (r.exitCode !== 0) throw new HarnessError(`board ${options.board}: the echo probe did not build with ${cc} and nolibc:\n${r.all ?? ''}`);
  await rename(`${out}.tmp`, out);
  return out;
}
