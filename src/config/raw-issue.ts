// A problem located by key path only; board.ts turns it into file:line:col.
import type { z } from 'zod';
import { describeValue } from './issues.ts';
import { schemaAt } from './schema.ts';

/** Where a problem points: at a value, at a key (unknown keys), or at the mapping missing a key. */
export interface RawIssue {
  path: PropertyKey[];
  at: 'value' | 'key' | 'parent';
  message: string;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

/** Reads the value at `path` in plain data, or undefined. */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** Turns one zod issue into raw issues, each saying what was expected and what was found. */
export function fromZodIssue(issue: z.core.$ZodIssue, data: unknown): RawIssue[] {
  const path = issue.path as PropertyKey[];
  const found = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = Object.keys(schemaAt(path)?.shape ?? {});
      return issue.keys.map((key) => ({ path: [...path, key], at: 'key' as const, message: unknownKeyMessage(key, known) }));
    }
    case 'invalid_type': {
      const format = schemaAt(path)?.format;
      const integer = issue.expected === 'number' && (format === 'safeint' || format === 'int32');
      const expected = integer ? TYPE_NAMES.int : (TYPE_NAMES[issue.expected] ?? issue.expected);
      if (found === undefined && path.length > 0) {
        const key = String(path[path.length - 1]);
        return [{ path, at: 'parent', message: `missing required key "${key}" (expected ${expected})` }];
      }
      return [{ path, at: 'value', message: `expected ${expected}, found ${describeValue(found)}` }];
    }
    case 'invalid_value':
      return [
        {
          path,
          at: 'value',
          message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(found)}`,
        },
      ];
    case 'too_small':
    case 'too_big':
      return [{ path, at: 'value', message: `${boundText(issue)}, found ${describeFound(found)}` }];
    default:
      return [{ path, at: 'value', message: `${issue.message}, found ${describeValue(found)}` }];
  }
}

function describeFound(found: unknown): string {
  if (Array.isArray(found)) return `a list of ${found.length}`;
  return describeValue(found);
}

function boundText(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const op = small ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
  switch (issue.origin) {
    case 'array':
      return `expected a list with ${small ? 'at least' : 'at most'} ${issue.inclusive ? limit : limit + (small ? 1 : -1)} item(s)`;
    case 'string':
      return `expected a string of ${small ? 'at least' : 'at most'} ${limit} character(s)`;
    default:
      return `expected a number ${op} ${limit}`;
  }
}

/** Says a key is unknown, suggests the closest known key, and steers secrets to *_env keys. */
export function unknownKeyMessage(key: string, known: string[]): string {
  let msg = `unknown key "${key}"`;
  if (/^(password|passphrase|secret|token)$/i.test(key)) {
    return `${msg}: secrets never live in the YAML; use ${key.toLowerCase() === 'passphrase' ? 'passphrase_env' : 'password_env'} with the name of an environment variable`;
  }
  const limit = Math.max(1, Math.floor(key.length / 3));
  const close = known
    .map((k) => ({ k, d: editDistance(k, key, limit) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d)[0];
  if (close) msg += ` (did you mean "${close.k}"?)`;
  if (known.length > 0) msg += `; expected one of: ${known.join(', ')}`;
  return msg;
}

/** Levenshtein distance of a and b, or limit + 1 as soon as it is known to exceed limit. */
function editDistance(a: string, b: string, limit: number): number {
  // The distance is at least the difference in length: most keys stop here.
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    let best = row[0];
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
      best = Math.min(best, row[j]!);
    }
    if (best > limit) return limit + 1;
  }
  return row[b.length]!;
}
