// The console log for report.html, escaped, with each kernel event's lines
// highlighted and anchored so the event list can link to where it happened.

import type { KernelEvent } from '../results/model.ts';
import { cleanText, html } from './text.ts';

// Lines that look like a fault report even when no event was recorded for them
// (a watcher that missed one should not hide it from a reader).
const FAULT_LINE =
  /Kernel panic|Unable to handle kernel|Internal error:|\bOops\b|\bBUG:|\bWARNING:|cut here \]|end trace|soft lockup|blocked for more than|rcu_\w*.*stall|KASAN|kmemleak|UBSAN/;

const TIMESTAMP = /^\s*\[\s*\d+\.\d+\]\s*/;

export interface LocatedEvent {
  event: KernelEvent;
  /** Index into the flat event list of the run, used for anchors. */
  index: number;
  /** First console line (0-based) of the event, when it was found. */
  line?: number;
}

// Where a report starts: the first line of its text (a panic's `firstLine` is
// often its last line, after the oops that led to it), else its `firstLine`.
function needles(event: KernelEvent): string[] {
  const first = cleanText(event.text).split('\n').find((l) => l.trim() !== '') ?? '';
  return [first, event.firstLine].map((l) => cleanText(l).replace(TIMESTAMP, '').trim()).filter((l) => l !== '');
}

/** Finds each event's start in the console, in order, so repeated reports map to successive places. */
export function locateEvents(lines: readonly string[], events: readonly KernelEvent[]): LocatedEvent[] {
  let from = 0;
  return events.map((event, index) => {
    for (const needle of needles(event)) {
      let at = lines.findIndex((l, i) => i >= from && l.includes(needle));
      if (at < 0) at = lines.findIndex((l) => l.includes(needle));
      if (at < 0) continue;
      from = at + 1;
      return { event, index, line: at };
    }
    return { event, index };
  });
}

/** Renders the transcript as the body of a <pre>, kernel events marked with <span class="ev">. */
export function renderConsoleHtml(transcript: string, events: readonly KernelEvent[]): { body: string; located: LocatedEvent[]; lineCount: number } {
  const lines = cleanText(transcript).split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const located = locateEvents(lines, events);
  const mark = new Map<number, 'ev' | 'fault'>();
  const anchors = new Map<number, number>();
  for (const l of located) {
    if (l.line === undefined) continue;
    const length = Math.min(400, Math.max(1, cleanText(l.event.text).split('\n').filter((s) => s !== '').length));
    for (let i = l.line; i < Math.min(lines.length, l.line + length); i++) mark.set(i, 'ev');
    if (!anchors.has(l.line)) anchors.set(l.line, l.index);
  }
  lines.forEach((line, i) => {
    if (!mark.has(i) && FAULT_LINE.test(line)) mark.set(i, 'fault');
  });
  const out: string[] = [];
  let open: 'ev' | 'fault' | undefined;
  lines.forEach((line, i) => {
    const m = mark.get(i);
    if (m !== open) {
      if (open) out.push('</span>');
      if (m) out.push(`<span class="${m}">`);
      open = m;
    }
    const anchor = anchors.get(i);
    out.push(anchor === undefined ? '' : `<a id="console-ev-${anchor}"></a>`);
    out.push(html(line), '\n');
  });
  if (open) out.push('</span>');
  return { body: out.join(''), located, lineCount: lines.length };
}
