// How a check's values and outcome read, the same in every view of the model
// (the terminal, JUnit, report.html, summary.md, compare): a failed check is
// "<the check's statement>: expected X, got Y", written from the expected and
// actual values the check recorded, never from an assertion library's
// sentence (chai's "expected <actual> to deeply equal <expected>" calls the
// observed value "expected").

import type { CheckResult } from './model.ts';

/** What an empty list or record reads as: every list a check compares is a list of problems or changes. */
export const NONE = 'none';

function scalar(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '""' : value;
  return String(value);
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

// A list of scalars as "a; b", or "none".
function list(values: readonly unknown[]): string {
  return values.length === 0 ? NONE : values.map(scalar).join('; ');
}

/** Renders an expected/actual value for people: strings as they are, records as "key value, …", the rest as compact JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '—';
  if (isScalar(value)) return scalar(value);
  if (Array.isArray(value) && value.every(isScalar)) return list(value);
  // A flat record ("rx_packets 0, tx_packets 0") reads better than JSON; a string in it is quoted.
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value).sort(([x], [y]) => x.localeCompare(y));
    if (entries.length === 0) return NONE;
    const flat = (v: unknown) => isScalar(v) || (Array.isArray(v) && v.every(isScalar));
    if (entries.every(([, v]) => flat(v))) {
      const item = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? (v.length === 0 ? NONE : `[${list(v)}]`) : String(v));
      return entries.map(([k, v]) => `${k} ${item(v)}`).join(', ');
    }
  }
  try {
    return JSON.stringify(sortKeysDeep(value)) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Returns a copy of a JSON-like value with object keys sorted at every depth. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * One line for a check that did not pass: "<statement>: expected X, got Y" for a
 * failed check that recorded its values, else its message.
 */
export function checkFailureText(check: Pick<CheckResult, 'message' | 'expected' | 'actual'> & Partial<Pick<CheckResult, 'id' | 'verdict'>>): string {
  const values =
    check.verdict !== 'error' && check.verdict !== 'skipped' && (check.expected !== undefined || check.actual !== undefined)
      ? `expected ${formatValue(check.expected)}, got ${formatValue(check.actual)}`
      : '';
  const text = [check.message, values].filter((p) => p !== undefined && p !== '').join(': ');
  return text || [check.id, check.verdict].filter(Boolean).join(' ');
}
