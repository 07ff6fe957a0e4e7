// Text helpers shared by the reporters. Everything a board prints is hostile
// input here: it may hold markup, escape sequences, NUL padding from a serial
// line or half a UTF-16 pair, and every report must stay valid whatever it is.

// ANSI CSI/OSC sequences and lone ESC-x pairs: colour codes from the board's
// shell would otherwise leave "[0m" litter once ESC itself is stripped.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]/g;

// Anything outside the XML 1.0 Char production: C0 controls other than tab,
// newline and CR, lone surrogates (the `u` flag sees them as code points), and
// U+FFFE/U+FFFF. C1 controls are legal XML but garbage on a page: gone too.
const INVALID_XML = /[^\t\n\r\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** Removes ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Removes every character XML 1.0 does not allow (and C1 controls). */
export function stripInvalidXmlChars(text: string): string {
  return text.replace(INVALID_XML, '');
}

/** Makes board text safe to embed: no escape sequences, no invalid characters, `\n` line ends. */
export function cleanText(text: string): string {
  return stripInvalidXmlChars(stripAnsi(text)).replace(/\r+\n/g, '\n').replace(/\r/g, '\n');
}

/** Escapes text for an XML element body (after cleaning it). */
export function xmlText(text: string): string {
  return cleanText(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes text for a double-quoted XML attribute; line breaks survive attribute normalization. */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/** Escapes text for HTML element bodies and double- or single-quoted attributes. */
export function html(text: string): string {
  return cleanText(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// Written in the results room so the stages (the terminal) and every report
// phrase values alike; compare imports them from here.
export { formatValue, sortKeysDeep } from '../results/check-text.ts';

/** Shortens text to at most `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Milliseconds as a short human duration: "850 ms", "12.3 s", "2 min 05 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
}

/** Milliseconds as seconds with millisecond precision, the unit JUnit uses ("1.234"). */
export function seconds(ms: number | undefined): string {
  return Number.isFinite(ms) && (ms as number) >= 0 ? ((ms as number) / 1000).toFixed(3) : '0.000';
}
