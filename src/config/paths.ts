// Paths written in a board file: `~` is the user's home, relative paths start
// at the YAML file's directory (labs keep board files next to their keys).
import os from 'node:os';
import path from 'node:path';

/** Expands a leading `~` or `~/` to $HOME (or the OS home directory). */
export function expandHome(p: string): string {
  if (p !== '~' && !p.startsWith('~/')) return p;
  const home = process.env.HOME ?? os.homedir();
  return path.join(home, p.slice(1));
}

/** Resolves a path from a board file: `~` expanded, relative paths from `dir`. */
export function resolveConfigPath(p: string, dir: string): string {
  return path.resolve(dir, expandHome(p));
}
