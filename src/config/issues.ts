// One validation problem in a board file, and how it is printed. Every problem
// carries a position so the user can jump to it from a terminal or an editor.
import path from 'node:path';

/** A problem found in a board YAML file, 1-based line and column. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted key path such as `ssh.host_key` or `emulated.rootfs.packages[2]`; empty for syntax errors. */
  key: string;
  message: string;
}

/** Shows a file path relative to the working directory when it lies below it, as compilers do. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Formats an issue as `file:line:col: key: message`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${displayPath(issue.file)}:${issue.line}:${issue.col}`;
  return issue.key === '' ? `${where}: ${issue.message}` : `${where}: ${issue.key}: ${issue.message}`;
}

/** Joins a path of keys and indexes as `a.b[2].c`. */
export function keyPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? String(s) : `.${String(s)}`;
  }
  return out;
}

/** Describes a found value for "expected X, found Y" messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
