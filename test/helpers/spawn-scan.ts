// Finds every host program the code starts: calls of child_process/execa
// functions (and of a file's own wrappers, named in a `// spawn-wrapper: NAME`
// note) whose first argument is a string literal, or, when it is computed, the
// names given in a `// spawns: A B` note on the call's line or the three lines
// before it (`// spawns: callers` marks a wrapper's own call). A computed command without such a note is a finding too.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

export interface SpawnSite {
  file: string;
  line: number;
  /** The programs started here; empty when the site could not be read. */
  commands: string[];
  /** Why the site could not be read (computed command without a `// spawns:` note). */
  problem?: string;
}

const SPAWN_FUNCTIONS = ['execa', 'execaSync', 'spawn', 'spawnSync', 'execFile', 'execFileSync', 'execSync'];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The spawn sites of one source text. */
export function spawnSites(file: string, text: string): SpawnSite[] {
  const lines = text.split('\n');
  const wrappers = [...text.matchAll(/\/\/ spawn-wrapper: ([\w.$]+)/g)].map((m) => m[1]!);
  const names = [...SPAWN_FUNCTIONS, ...wrappers].map(escapeRegExp).join('|');
  const call = new RegExp(`(?<![\\w.$])(${names})\\(`, 'g');
  const sites: SpawnSite[] = [];
  lines.forEach((lineText, i) => {
    if (/^\s*(\/\/|\*|\/\*)/.test(lineText)) return;
    for (const m of lineText.matchAll(call)) {
      const before = lineText.slice(0, m.index);
      // A definition or an import, not a call.
      if (/\bfunction\s*$|\bimport\b|\bas\s*$/.test(before)) continue;
      const rest = (lineText.slice(m.index + m[0].length) + '\n' + (lines[i + 1] ?? '')).trimStart();
      const literal = /^(['"])([^'"]*)\1/.exec(rest) ?? /^`([^`$]*)/.exec(rest);
      const value = literal ? (literal.length === 3 ? literal[2]! : literal[1]!) : '';
      const word = value.trim().split(/\s+/)[0] ?? '';
      if (literal && word !== '') {
        sites.push({ file, line: i + 1, commands: [basename(word)] });
        continue;
      }
      const note = lines
        .slice(Math.max(0, i - 3), i + 1)
        .map((l) => /\/\/ spawns: (.+)$/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined)
        .at(-1);
      // `callers`: a wrapper's own call; its callers' literals are what is checked.
      if (note?.trim() === 'callers') sites.push({ file, line: i + 1, commands: [] });
      else if (note) sites.push({ file, line: i + 1, commands: note.trim().split(/\s+/) });
      else sites.push({ file, line: i + 1, commands: [], problem: `${m[1]}() with a computed command and no \`// spawns: NAME\` note` });
    }
  });
  return sites;
}

/** The scanner's own test: its sample texts are not calls. */
const SCAN_EXCLUDED = ['test/host-tools.test.ts'];

/** Every .ts/.js file under the given directories (node_modules and fixtures' data excluded). */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
      if (e.isFile() && /\.(ts|js)$/.test(e.name) && !e.parentPath.includes('node_modules')) out.push(join(e.parentPath, e.name));
    }
  }
  return out.sort();
}

/** The spawn sites of the project's code, with paths relative to root. */
export function projectSpawnSites(root: string, dirs: readonly string[] = ['src', 'test', 'suites', 'bin']): SpawnSite[] {
  return sourceFiles(root, dirs)
    .map((f) => relative(root, f))
    .filter((f) => !SCAN_EXCLUDED.includes(f))
    .flatMap((f) => spawnSites(f, readFileSync(join(root, f), 'utf8')));
}

/** Findings: sites that could not be read, and commands not in `declared`. */
export function undeclared(sites: readonly SpawnSite[], declared: ReadonlySet<string>): string[] {
  return sites.flatMap((s) => {
    if (s.problem) return [`${s.file}:${s.line}: ${s.problem}`];
    return s.commands.filter((c) => !declared.has(c)).map((c) => `${s.file}:${s.line}: spawns ${c}, which src/host/tools.ts does not declare`);
  });
}
