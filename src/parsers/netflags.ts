// Interface flags (IFF_*) as the kernel defines them in
// include/uapi/linux/if.h (checked against linux-source-6.1): the word read
// from /sys/class/net/<if>/flags, e.g. 0x1083 = UP|BROADCAST|NOARP|MULTICAST.
// Names drop the IFF_ prefix, as `ip link` prints them.

import { ParseError } from './parse-error.ts';

/** Every IFF_* bit the kernel defines, by name without the prefix. */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  DEBUG: 0x4,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  NOTRAILERS: 0x20,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  ALLMULTI: 0x200,
  MASTER: 0x400,
  SLAVE: 0x800,
  MULTICAST: 0x1000,
  PORTSEL: 0x2000,
  AUTOMEDIA: 0x4000,
  DYNAMIC: 0x8000,
  LOWER_UP: 0x10000,
  DORMANT: 0x20000,
  ECHO: 0x40000,
} as const;

export type IffName = keyof typeof IFF;

const NAME_OF_BIT = new Map<number, string>(Object.entries(IFF).map(([n, b]) => [b, n]));

/** Decodes a flag word into names, lowest bit first; unknown bits appear as hex ("0x100000"). */
export function decodeFlags(word: number): string[] {
  checkWord(word);
  const names: string[] = [];
  for (let i = 0; i < 32; i++) {
    if (((word >>> i) & 1) === 0) continue;
    const bit = 2 ** i;
    const name = NAME_OF_BIT.get(bit);
    names.push(name ?? `0x${bit.toString(16)}`);
  }
  return names;
}

/** Builds a flag word from names (with or without the IFF_ prefix). */
export function encodeFlags(names: readonly string[]): number {
  let word = 0;
  for (const raw of names) {
    const name = raw.replace(/^IFF_/, '').toUpperCase();
    if (!(name in IFF)) {
      throw new RangeError(`unknown interface flag ${JSON.stringify(raw)}; known: ${Object.keys(IFF).join(', ')}`);
    }
    word |= IFF[name as IffName];
  }
  return word >>> 0;
}

/** Whether the flag word has the named flag set. */
export function hasFlag(word: number, name: IffName): boolean {
  return (word & IFF[name]) !== 0;
}

/** Formats a flag word as "0x1083 <UP|BROADCAST|NOARP|MULTICAST>". */
export function formatFlags(word: number): string {
  return `0x${word.toString(16)} <${decodeFlags(word).join('|')}>`;
}

/** Parses the text of a sysfs flags file ("0x1083\n"); throws ParseError on anything else. */
export function parseFlagWord(text: string): number {
  const t = text.trim();
  if (!/^0x[0-9a-f]{1,8}$/i.test(t)) {
    throw new ParseError('interface flags', 'expected a hex flag word like 0x1083', text);
  }
  return Number.parseInt(t.slice(2), 16);
}

function checkWord(word: number): void {
  if (!Number.isInteger(word) || word < 0 || word > 0xffffffff) {
    throw new RangeError(`interface flag word must be an unsigned 32-bit integer, got ${word}`);
  }
}
