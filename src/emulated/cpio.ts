// A writer for the cpio "newc" format the kernel unpacks as initramfs.
// Written here rather than calling cpio(1) so archives are reproducible
// (fixed owner and mtime) and a per-run archive needs no host tool.

/** One entry of an archive. Paths are relative, without a leading slash. */
export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer; mode?: number }
  | { type: 'symlink'; path: string; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** Pads a length to the 4-byte boundary newc requires. */
function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Encodes one header + name + data, padded. */
function record(ino: number, mode: number, nlink: number, name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii');
  const headPad = Buffer.alloc(pad4(header.length + nameBytes.length));
  return Buffer.concat([header, nameBytes, headPad, data, Buffer.alloc(pad4(data.length))]);
}

/** Builds a complete newc archive (with trailer) from entries, in the order given. */
export function buildCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const path = entry.path.replace(/^\/+/, '');
    if (path === '' || path.includes('\0')) throw new Error(`cpio: invalid path ${JSON.stringify(entry.path)}`);
    switch (entry.type) {
      case 'dir':
        parts.push(record(ino++, S_IFDIR | (entry.mode ?? 0o755), 2, path, Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(record(ino++, S_IFREG | (entry.mode ?? 0o644), 1, path, entry.data));
        break;
      case 'symlink':
        parts.push(record(ino++, S_IFLNK | 0o777, 1, path, Buffer.from(entry.target, 'utf8')));
        break;
    }
  }
  parts.push(record(0, 0, 1, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
