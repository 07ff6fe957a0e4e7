// The checksum and encoding tools a board's shell may have, for file copies:
// what a board without sha256sum or base64 (an old BSP's busybox) is checked
// and fed with. Each checksum is computed here the way the board prints it.
import { createHash } from 'node:crypto';

/** A checksum program on the board, best first: sha256sum, md5sum, cksum (POSIX CRC and size). */
export type ChecksumTool = 'sha256' | 'md5' | 'cksum';

/** How file bytes travel as shell text: base64 decoded on the board, or printf octal escapes. */
export type TextEncoding = 'base64' | 'printf';

/** The file tools a transport may use on this board (default: sha256sum and base64). */
export interface FileTools {
  checksum: ChecksumTool;
  encoding: TextEncoding;
}

export const FULL_FILE_TOOLS: FileTools = { checksum: 'sha256', encoding: 'base64' };

/** The board command that checksums a file (its first word is the digest, as digestOf prints it). */
export function checksumCommand(tool: ChecksumTool, quotedPath: string): string {
  return tool === 'sha256' ? `sha256sum ${quotedPath}` : tool === 'md5' ? `md5sum ${quotedPath}` : `cksum ${quotedPath}`;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** POSIX cksum: CRC-32 (polynomial 0x04C11DB7, MSB first) over the bytes then the length, inverted. */
export function posixCksum(data: Uint8Array): number {
  let crc = 0;
  const step = (byte: number): void => {
    crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] ?? 0)) >>> 0;
  };
  for (const b of data) step(b);
  for (let n = data.length; n > 0; n = Math.floor(n / 256)) step(n & 0xff);
  return ~crc >>> 0;
}

/** The digest of `data` as the board's tool prints it first on its line ("CRC SIZE" for cksum). */
export function digestOf(tool: ChecksumTool, data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  if (tool === 'cksum') return `${posixCksum(bytes)} ${bytes.length}`;
  return createHash(tool).update(bytes).digest('hex');
}

/** The digest a tool printed (first line that looks like one), or undefined. */
export function parseDigest(tool: ChecksumTool, stdout: string): string | undefined {
  const re = tool === 'sha256' ? /^([0-9a-f]{64})\b/m : tool === 'md5' ? /^([0-9a-f]{32})\b/m : /^(\d+[ \t]+\d+)\b/m;
  return re.exec(stdout)?.[1]?.replace(/[ \t]+/, ' ');
}

/** What the tool is called on the board, for messages. */
export const checksumName = (tool: ChecksumTool): string => (tool === 'cksum' ? 'cksum' : `${tool}sum`);

/**
 * Bytes as a printf format in single quotes: printable ASCII as itself, every
 * other byte (and ', \, %, - lest a run start like an option) as a three-digit octal escape, which printf turns
 * back into the byte (old busybox printf included).
 */
export function printfEscape(data: Uint8Array): string {
  let out = '';
  for (const b of data) {
    out += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c && b !== 0x25 && b !== 0x2d ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}
