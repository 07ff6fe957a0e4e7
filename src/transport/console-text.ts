// Turning raw console bytes into text people read: error messages (last lines)
// and console.log reports (timestamped lines). The raw bytes stay available
// from the console itself; this is only the readable view.

import type { ConsoleChunk } from './types.ts';

// CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and two-byte ESC sequences.
const ANSI_PATTERN = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// Control characters other than TAB and LF (CR is handled before).
const CONTROL_PATTERN = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Cleans one piece of console text: drops terminal escapes, CRs and other control characters. */
export function cleanConsoleText(text: string): string {
  return text.replace(ANSI_PATTERN, '').replace(/\r/g, '').replace(CONTROL_PATTERN, '');
}

/** Decodes console bytes as UTF-8 and cleans them. */
export function cleanConsoleBytes(bytes: Buffer): string {
  return cleanConsoleText(bytes.toString('utf8'));
}

/** Splits cleaned console bytes into lines, dropping trailing empty lines. */
export function consoleLines(bytes: Buffer): string[] {
  const lines = cleanConsoleBytes(bytes).split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

/** Formats a millisecond offset as the `[+12.345s]` prefix of transcript lines. */
export function formatOffset(atMs: number): string {
  return `[+${(atMs / 1000).toFixed(3)}s]`;
}

/**
 * Renders chunks as lines, each prefixed with the time its first byte arrived.
 * Lines are split on LF bytes before decoding, so a UTF-8 character cut across
 * chunks still decodes whole.
 */
export function renderTranscript(chunks: readonly ConsoleChunk[]): string {
  const out: string[] = [];
  let parts: Buffer[] = [];
  let lineStartMs: number | undefined;
  const flush = (): void => {
    if (lineStartMs === undefined) return;
    out.push(`${formatOffset(lineStartMs)} ${cleanConsoleBytes(Buffer.concat(parts))}`);
    parts = [];
    lineStartMs = undefined;
  };
  for (const chunk of chunks) {
    let pos = 0;
    while (pos < chunk.data.length) {
      lineStartMs ??= chunk.atMs;
      const nl = chunk.data.indexOf(0x0a, pos);
      if (nl === -1) {
        parts.push(chunk.data.subarray(pos));
        break;
      }
      parts.push(chunk.data.subarray(pos, nl));
      flush();
      pos = nl + 1;
    }
  }
  flush();
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
