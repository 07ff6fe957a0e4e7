// Marker and prompt matching for a shell on a serial console.
// Kernel messages reach the console behind the tty layer's back, so they can
// land in the middle of a prompt or a marker ("vnet-3f[  12.3] eth0: up\r\nc1# ").
// Matching therefore runs on the raw byte stream (latin1 text, one char per
// byte) and tolerates whole-line interruptions inside the searched literal.

import { randomBytes } from 'node:crypto';

/** A random lower-case hex token (`bytes` random bytes), for markers and prompts. */
export function randomToken(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

/** Quotes a string for a POSIX shell with single quotes. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A printf command that prints `head + tail` and a newline while its own text
 * never contains `head + tail`: an echoed command line cannot fake a marker.
 */
export function printfSplit(head: string, tail: string, extra = ''): string {
  return `printf '%s%s${extra}\\n' ${shellQuote(head)} ${shellQuote(tail)}`;
}

/** Where a (possibly interrupted) literal was found in a text. */
export interface TolerantMatch {
  /** Index of the literal's first character. */
  start: number;
  /** Index just past the literal's last character. */
  end: number;
  /** Number of line interruptions inside the match (0 for an exact match). */
  gaps: number;
}

/** Bounds of an interruption: kernel messages are lines, rarely more than a few. */
export const TOLERANCE = {
  maxGaps: 3,
  /** Total characters all interruptions of one match may span. */
  maxGapChars: 4096,
} as const;

/**
 * Finds the first occurrence of `literal` in `text` at or after `from`, allowing
 * it to be cut (after at least one character) by interruptions that run to the
 * end of a line plus any whole lines; the literal then resumes at a line start.
 */
export function findTolerant(text: string, literal: string, from = 0): TolerantMatch | undefined {
  if (literal.length === 0) return { start: from, end: from, gaps: 0 };
  const first = literal.charCodeAt(0);
  for (let p = text.indexOf(literal[0]!, Math.max(0, from)); p !== -1; p = text.indexOf(literal[0]!, p + 1)) {
    if (text.charCodeAt(p) !== first) continue;
    const found = matchFrom(text, literal, 1, p + 1, 0, 0);
    if (found !== undefined) return { start: p, end: found.end, gaps: found.gaps };
  }
  return undefined;
}

/** Backtracking matcher behind findTolerant; bounded by TOLERANCE. */
function matchFrom(
  text: string,
  literal: string,
  i: number,
  j: number,
  gaps: number,
  gapChars: number,
): { end: number; gaps: number } | undefined {
  // Plain run of equal characters first: the common, exact case costs nothing more.
  let ii = i;
  let jj = j;
  const runStarts: Array<[number, number]> = [];
  while (ii < literal.length) {
    runStarts.push([ii, jj]);
    if (jj >= text.length || text[jj] !== literal[ii]) break;
    ii++;
    jj++;
  }
  if (ii === literal.length) return { end: jj, gaps };
  if (gaps >= TOLERANCE.maxGaps) return undefined;
  // Try an interruption at each point of the run, latest first.
  for (let r = runStarts.length - 1; r >= 0; r--) {
    const [li, tj] = runStarts[r]!;
    let lineStart = text.indexOf('\n', tj);
    while (lineStart !== -1) {
      lineStart += 1;
      const used = gapChars + (lineStart - tj);
      if (used > TOLERANCE.maxGapChars) break;
      if (lineStart < text.length && text[lineStart] === literal[li]) {
        const found = matchFrom(text, literal, li, lineStart, gaps + 1, used);
        if (found !== undefined) return found;
      }
      lineStart = text.indexOf('\n', lineStart);
    }
  }
  return undefined;
}

/**
 * Where an incremental search may restart after the text grew from `previousLength`:
 * a match that started earlier would have been complete, and found, before.
 */
export function resumeFrom(previousLength: number, literal: string, floor = 0): number {
  return Math.max(floor, previousLength - literal.length - TOLERANCE.maxGapChars - 1);
}

/** Counts exact occurrences of `literal` in `text` from `from`. */
export function countOccurrences(text: string, literal: string, from = 0): number {
  let count = 0;
  for (let p = text.indexOf(literal, from); p !== -1; p = text.indexOf(literal, p + literal.length)) count++;
  return count;
}

/** True for bytes a shell conversation is expected to carry: printable ASCII, TAB, CR, LF, ESC. */
function isExpectedByte(byte: number): boolean {
  return (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x1b;
}

/**
 * Describes received bytes for an error message: the unexpected bytes in hex
 * (what line noise or a wrong baud rate looks like) and the text, escaped.
 */
export function describeGarbage(raw: Buffer | string, maxChars = 400): string {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const odd: string[] = [];
  for (const byte of bytes) {
    if (!isExpectedByte(byte)) odd.push(`0x${byte.toString(16).padStart(2, '0')}`);
  }
  const shown = bytes.length > maxChars ? bytes.subarray(bytes.length - maxChars) : bytes;
  const escaped = escapeBytes(shown);
  const oddPart =
    odd.length === 0
      ? 'no unexpected bytes'
      : `${odd.length} unexpected byte(s): ${odd.slice(0, 32).join(' ')}${odd.length > 32 ? ' …' : ''}`;
  const cut = bytes.length > maxChars ? `last ${maxChars} of ${bytes.length} bytes` : `${bytes.length} bytes`;
  return `${oddPart}; received (${cut}): "${escaped}"`;
}

/** Escapes bytes as printable text: \r, \n, \t and \xNN for the rest. */
export function escapeBytes(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    if (byte === 0x0a) out += '\\n';
    else if (byte === 0x0d) out += '\\r';
    else if (byte === 0x09) out += '\\t';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte === 0x22) out += '\\"';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}
