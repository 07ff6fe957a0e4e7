// Keys that let two runs' findings be matched although the details that change
// from boot to boot (addresses, timestamps, pids, line numbers) differ.

import path from 'node:path';
import type { Diagnostic, KernelEvent } from '../results/model.ts';

const RULES: [RegExp, string][] = [
  [/^\s*\[\s*\d+\.\d+\]\s*/, ''], // printk timestamp
  [/\b0x[0-9a-f]+\b/gi, '0x?'], // addresses, offsets, error codes
  [/\b[0-9a-f]{8,16}\b/gi, '?'], // bare addresses ("at virtual address 00000000", "c04b2c7c")
  [/\+0x\?\/0x\?/g, '+?'], // function+offset/size
  [/\b(pid|PID)([:=]\s*)\d+/g, '$1$2?'],
  [/\btask ([^\s:]+):\d+/g, 'task $1:?'], // hung task "task ping:251"
  [/\bCPU(:\s*|#)\d+/g, 'CPU$1?'],
  [/\[#\d+\]/g, '[#?]'], // oops counter
  [/\bTainted:.*$/g, 'Tainted: ?'],
  [/\b(stuck for )\d+s/g, '$1?s'],
  [/\b(more than )\d+( seconds)/g, '$1?$2'],
  [/\b(kworker|ksoftirqd|migration)\/[\w:+-]+/g, '$1/?'],
  [/\s+/g, ' '],
];

/** Normalizes a kernel event's first line: no addresses, timestamps, pids or CPU numbers. */
export function normalizeEventLine(line: string): string {
  let out = line;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out.trim();
}

/** The key two runs' kernel events are matched by: class and normalized first line. */
export function eventKey(event: KernelEvent): string {
  return `${event.class}: ${normalizeEventLine(event.firstLine)}`;
}

/** The key two builds' warnings are matched by: file base name and message, not the line. */
export function warningKey(d: Diagnostic): string {
  return `${path.basename(d.file)}: ${d.message.replace(/\s+/g, ' ').trim()}`;
}
