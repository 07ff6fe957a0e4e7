// Reads /sys/class/net/<if>/ in one board command and parses the result into
// an InterfaceReading. The command uses only shell builtins (read, printf,
// [ ), so busybox ash runs it without forking once per file, and prints it all
// with one printf: readings are taken before and after every ping and must
// cost next to nothing.
//
// Output of the command, one record per line:
//   @sysfs 1 <if>          header (format version 1)
//   <file>=<value>         a file and its first line, e.g. "flags=0x1083", "statistics/tx_bytes=294"
//   <file>!                a file that exists but could not be read
//   @missing <if>          instead of all of the above: no such interface
//   @end                   always last; a reading without it was cut short

import type { InterfaceReading } from '../results/model.ts';
import { decodeFlags, parseFlagWord } from './netflags.ts';
import { ParseError } from './parse-error.ts';

/** The files read besides statistics/*. */
export const SYSFS_FILES = ['address', 'flags', 'mtu', 'type', 'operstate', 'carrier', 'ifindex', 'tx_queue_len'] as const;

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

/** Returns the shell command (busybox ash, dash, bash) that prints one reading of interface `iface`. */
export function sysfsReadCommand(iface: string): string {
  if (!IFNAME.test(iface)) {
    throw new RangeError(`not a valid interface name: ${JSON.stringify(iface)} (1-15 of [A-Za-z0-9_.:-])`);
  }
  const d = `/sys/class/net/${iface}`;
  const files = SYSFS_FILES.map((f) => `"$d"/${f}`).join(' ');
  // `read` is a regular builtin, so a failed redirection only fails that one
  // command; v is reset first so a failed read never repeats the previous value.
  // A file is tested for existence only when it could not be read (absent:
  // left out; present: unreadable). The lines gather in o and go out in one
  // printf: a write per line cost a packet each over SSH (240 against 150 ms a
  // reading on the debug board).
  return [
    `d=${d}; n='\n'`,
    `if [ -d "$d" ]; then o="@sysfs 1 ${iface}"`,
    `for f in ${files} "$d"/statistics/*; do v=; if read -r v 2>/dev/null <"$f" || [ -n "$v" ]; then o="$o$n\${f#"$d"/}=$v"; elif [ -e "$f" ]; then o="$o$n\${f#"$d"/}!"; fi; done`,
    `printf '%s\\n@end\\n' "$o"`,
    `else printf '@missing %s\\n@end\\n' ${iface}; fi`,
  ].join('; ');
}

/** A parsed reading: the interface exists (with its values) or it does not. */
export type SysfsReading =
  | { iface: string; present: false }
  | {
      iface: string;
      present: true;
      reading: InterfaceReading;
      /** Files that exist but could not be read. */
      unreadable: string[];
      /** Every file's text as read, for reports. */
      raw: Record<string, string>;
    };

/** Parses the output of sysfsReadCommand(); `at` is the ISO time of the reading (default: now). */
export function parseSysfsReading(output: string, at: string = new Date().toISOString()): SysfsReading {
  const lines = output.split(/\r?\n/).map((l) => l.replace(/\r/g, ''));
  const start = lines.findIndex((l) => l.startsWith('@sysfs ') || l.startsWith('@missing '));
  if (start < 0) throw new ParseError('sysfs', 'no "@sysfs" or "@missing" header', output);
  const head = lines[start] ?? '';
  const missing = /^@missing (\S+)$/.exec(head);
  const end = lines.indexOf('@end', start);
  if (end < 0) throw new ParseError('sysfs', 'output ends before "@end": the reading was cut short', output);
  if (missing) return { iface: missing[1] ?? '', present: false };
  const h = /^@sysfs (\d+) (\S+)$/.exec(head);
  if (!h || h[1] !== '1') throw new ParseError('sysfs', 'unknown header (expected "@sysfs 1 <if>")', output, start + 1);

  const raw: Record<string, string> = {};
  const unreadable: string[] = [];
  const reading: InterfaceReading = { at, statistics: {} };
  for (let i = start + 1; i < end; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const bad = /^([\w/]+)!$/.exec(line);
    if (bad) {
      unreadable.push(bad[1] ?? '');
      continue;
    }
    const kv = /^([\w/]+)=(.*)$/.exec(line);
    if (!kv) throw new ParseError('sysfs', 'expected "file=value" or "file!"', output, i + 1);
    const file = kv[1] ?? '';
    const value = (kv[2] ?? '').trim();
    raw[file] = value;
    try {
      assign(reading, file, value);
    } catch (e) {
      if (e instanceof ParseError) throw new ParseError('sysfs', `${file}: ${e.reason}`, output, i + 1);
      throw e;
    }
  }
  return { iface: h[2] ?? '', present: true, reading, unreadable, raw };
}

function assign(r: InterfaceReading, file: string, value: string): void {
  if (file.startsWith('statistics/')) {
    r.statistics[file.slice('statistics/'.length)] = counter(value);
    return;
  }
  switch (file) {
    case 'address':
      // Kept verbatim when it is not an address: a broken driver makes the kernel
      // print e.g. "(null)" here, and that is an observation for the checks, not garbled output.
      r.address = /^([0-9a-f]{2}:)*[0-9a-f]{2}$/i.test(value) ? value.toLowerCase() : value;
      break;
    case 'flags':
      r.flags = parseFlagWord(value);
      r.flagNames = decodeFlags(r.flags);
      break;
    case 'mtu':
      r.mtu = counter(value);
      break;
    case 'type':
      r.type = counter(value);
      break;
    case 'operstate':
      r.operstate = value;
      break;
    default:
      // carrier, ifindex, tx_queue_len: kept in `raw` only; InterfaceReading has no field for them.
      break;
  }
}

function counter(value: string): number {
  if (!/^\d+$/.test(value)) throw new ParseError('sysfs', 'expected a decimal number', value);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ParseError('sysfs', 'number too large to be exact', value);
  return n;
}

/** Per-counter difference after - before (counters present in both readings). */
export function statisticsDelta(before: InterfaceReading, after: InterfaceReading): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.statistics)) {
    const b = before.statistics[k];
    if (b !== undefined) out[k] = v - b;
  }
  return out;
}
