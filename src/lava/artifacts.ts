// The images a LAVA job deploys: the board's kernel and device tree, and an
// initramfs carrying the stage modules, the board-side probe and the stage
// script (as one newc archive: LAVA unpacks the ramdisk with cpio, which
// stops at the first trailer, to add its overlay).
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildCpio, type CpioEntry } from '../emulated/cpio.ts';
import { LAVA_BOARD_DIR, stageScript } from './stage-script.ts';

/** The base archive without its trailer record, so more entries can follow in the same archive. */
export function withoutTrailer(cpio: Buffer): Buffer {
  const at = cpio.lastIndexOf(Buffer.from('TRAILER!!!\0', 'latin1'));
  if (at < 0) throw new Error('not a newc cpio archive: no TRAILER!!!');
  // The record's header (110 bytes, magic 070701) sits right before its name.
  const start = at - 110;
  if (start < 0 || cpio.subarray(start, start + 6).toString('latin1') !== '070701') throw new Error('not a newc cpio archive: bad trailer header');
  return cpio.subarray(0, start);
}

/** The ramdisk: the base initramfs (gzip cpio) with the modules, the probe and the stage script added under LAVA_BOARD_DIR. */
export function lavaRamdisk(baseGz: Buffer, modules: ReadonlyMap<number, Buffer>, probe: Buffer): Buffer {
  const dir = LAVA_BOARD_DIR.replace(/^\//, '');
  const parents = dir.split('/').map((_, i, all) => all.slice(0, i + 1).join('/'));
  const entries: CpioEntry[] = [
    ...parents.map((path) => ({ type: 'dir' as const, path })),
    ...[...modules].map(([stage, data]) => ({ type: 'file' as const, path: `${dir}/virt_net${stage}.ko`, data, mode: 0o644 })),
    { type: 'file', path: `${dir}/vnet_probe`, data: probe, mode: 0o755 },
    { type: 'file', path: `${dir}/vnet-stage.sh`, data: Buffer.from(stageScript()), mode: 0o755 },
  ];
  return gzipSync(Buffer.concat([withoutTrailer(gunzipSync(baseGz)), buildCpio(entries)]), { level: 9 });
}

export interface LavaArtifacts {
  kernel: string;
  dtb: string;
  ramdisk: string;
}

/** Writes the three images into dir (the ramdisk as ramdisk.cpio.gz, the name LAVA's tftp deploy expects). */
export async function writeArtifacts(dir: string, inputs: { kernel: string; dtb: string; baseInitrd: string; modules: ReadonlyMap<number, string>; probe: string }): Promise<LavaArtifacts> {
  await mkdir(dir, { recursive: true });
  const out = { kernel: join(dir, 'zImage'), dtb: join(dir, 'board.dtb'), ramdisk: join(dir, 'ramdisk.cpio.gz') };
  await copyFile(inputs.kernel, out.kernel);
  await copyFile(inputs.dtb, out.dtb);
  const modules = new Map<number, Buffer>();
  for (const [stage, path] of inputs.modules) modules.set(stage, await readFile(path));
  await writeFile(out.ramdisk, lavaRamdisk(await readFile(inputs.baseInitrd), modules, await readFile(inputs.probe)));
  return out;
}
