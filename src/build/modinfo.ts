// Reads the .modinfo section of a kernel module (.ko, an ELF relocatable)
// without any host tool, so a foreign-architecture module (ARM .ko on an
// x86 host) is read the same way as a native one.

import { readFile } from 'node:fs/promises';
import { HarnessError } from '../errors.ts';

/** The key=value entries of a module's .modinfo section, in file order. */
export type ModInfo = Array<{ key: string; value: string }>;

/** Parses the .modinfo section out of an ELF32/ELF64 image of either byte order. */
export function parseModinfo(elf: Buffer, where = 'module'): ModInfo {
  const fail = (why: string): never => {
    throw new HarnessError(`${where}: cannot read .modinfo: ${why}`);
  };
  if (elf.length < 52 || elf.readUInt32BE(0) !== 0x7f454c46) fail('not an ELF file');
  const is64 = elf[4] === 2;
  const le = elf[5] === 1;
  if (!is64 && elf[4] !== 1) fail(`unknown ELF class ${elf[4]}`);
  if (!le && elf[5] !== 2) fail(`unknown ELF byte order ${elf[5]}`);

  const u16 = (o: number) => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number) => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const word = (o: number) =>
    is64 ? Number(le ? elf.readBigUInt64LE(o) : elf.readBigUInt64BE(o)) : u32(o);

  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (shoff === 0 || shoff + shnum * shentsize > elf.length) fail('section header table out of range');

  const section = (i: number) => {
    const base = shoff + i * shentsize;
    return {
      name: u32(base),
      offset: word(base + (is64 ? 0x18 : 0x10)),
      size: word(base + (is64 ? 0x20 : 0x14)),
    };
  };
  const names = section(shstrndx);
  const nameOf = (off: number) => {
    const start = names.offset + off;
    const end = elf.indexOf(0, start);
    return elf.toString('latin1', start, end < 0 ? elf.length : end);
  };

  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameOf(s.name) !== '.modinfo') continue;
    if (s.offset + s.size > elf.length) fail('.modinfo section out of range');
    return elf
      .toString('utf8', s.offset, s.offset + s.size)
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => {
        const eq = entry.indexOf('=');
        return { key: entry.slice(0, eq), value: entry.slice(eq + 1) };
      });
  }
  return fail('no .modinfo section');
}

/** Reads a .ko file and returns its vermagic string exactly as the kernel compares it. */
export async function readVermagic(koPath: string): Promise<string> {
  const info = parseModinfo(await readFile(koPath), koPath);
  const entry = info.find((e) => e.key === 'vermagic');
  if (entry === undefined) throw new HarnessError(`${koPath}: .modinfo has no vermagic entry`);
  return entry.value;
}
