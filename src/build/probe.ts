// Cross-compiles the board-side ICMP echo probe (kernel-modules/probe/) with
// the board's compiler, statically so it runs on any board userland.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.ts';

/** Static and stripped: it runs on any board userland and crosses a serial line in one piece. doctor links a test program with the same flags. */
export const PROBE_CFLAGS = ['-static', '-Os', '-s', '-Wall', '-Wextra', '-Werror'] as const;

/** Builds the probe into outDir unless an up-to-date binary is there; returns its path. */
export async function buildProbe(options: { source: string; crossCompile: string; outDir: string; board: string }): Promise<string> {
  const cc = `${options.crossCompile}gcc`;
  const flags = [...PROBE_CFLAGS];
  // spawns: board:cross_compile
  const version = (await execa(cc, ['--version'], { reject: false, timeout: 30_000 })).stdout.split('\n')[0] ?? '';
  const key = createHash('sha256').update(await readFile(options.source)).update(version).update(flags.join(' ')).digest('hex').slice(0, 16);
  const out = join(options.outDir, `vnet_probe-${key}`);
  if (existsSync(out) && existsSync(`${out}.gz`)) return out;
  await mkdir(options.outDir, { recursive: true });
  // spawns: board:cross_compile
  const r = await execa(cc, [...flags, '-o', `${out}.tmp`, options.source], { reject: false, timeout: 120_000, all: true });
  if (r.exitCode !== 0) throw new HarnessError(`board ${options.board}: the echo probe did not build with ${cc}:\n${r.all ?? ''}`);
  await writeFile(`${out}.gz`, gzipSync(await readFile(`${out}.tmp`), { level: 9 }));
  await rename(`${out}.tmp`, out);
  return out;
}
