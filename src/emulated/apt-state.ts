// What apt would answer, cheaply: `apt-cache show` costs about 2 s on a host
// whose apt keeps no binary package cache (Dir::Cache::pkgcache ""), on every
// run of an emulated board. Its answer depends only on apt's configuration,
// its package lists, the preferences (pinning) and dpkg's status and foreign
// architectures, so a fingerprint of those (the configuration's text, each
// file's name, size and modification time) keys a remembered answer: a
// changed list (apt-get update) or configuration asks apt again.
import { readdir, readFile, rename, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot, inputsKey } from '../util/cache.ts';

/** name size mtime of a file, or of each file in a directory; `-` for what is absent. */
export async function fileStates(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return [`${path} -`];
  if (!st.isDirectory()) return [`${path} ${st.size} ${st.mtimeMs}`];
  const names = (await readdir(path).catch(() => [] as string[])).sort();
  const out = [`${path}/ ${st.mtimeMs}`];
  for (const name of names) {
    const s = await stat(join(path, name)).catch(() => undefined);
    out.push(s ? `${name} ${s.size} ${s.mtimeMs}` : `${name} -`);
  }
  return out;
}

/** The fingerprint of everything `apt-cache show` reads; undefined when apt's configuration cannot be read. */
export async function aptStateKey(): Promise<string | undefined> {
  const dump = await execa('apt-config', ['dump'], { reject: false, timeout: 30_000 });
  if (dump.exitCode !== 0) return undefined;
  // The directories as apt-config itself resolves them.
  const shell = await execa('apt-config', ['shell', 'L', 'Dir::State::lists/d', 'P', 'Dir::Etc::preferencesparts/d', 'F', 'Dir::Etc::preferences/f', 'S', 'Dir::State::status/f'], { reject: false, timeout: 30_000 });
  if (shell.exitCode !== 0) return undefined;
  const v = (name: string): string | undefined => new RegExp(`^${name}='([^']*)'$`, 'm').exec(shell.stdout)?.[1];
  const paths = [v('L') ?? '/var/lib/apt/lists/', v('P'), v('F'), v('S'), '/var/lib/dpkg/arch'].filter((p): p is string => p !== undefined).map((p) => p.replace(/\/+$/, ''));
  const states = (await Promise.all(paths.map(fileStates))).flat();
  return inputsKey(['apt-state-v1', dump.stdout, ...states]);
}

/** The remembered answer for this question and apt state, if any. */
export async function recalled<T>(question: readonly string[], compute: () => Promise<T>, stateKey: () => Promise<string | undefined> = aptStateKey): Promise<T> {
  const state = await stateKey();
  if (state === undefined) return compute();
  const dir = join(cacheRoot(), 'apt-answers');
  const file = join(dir, `${inputsKey([state, ...question])}.json`);
  const known = await readFile(file, 'utf8').then((t) => JSON.parse(t) as { answer: T }, () => undefined);
  if (known && typeof known === 'object' && 'answer' in known) return known.answer;
  const answer = await compute();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ question, answer }), { mode: 0o600 });
  await rename(tmp, file);
  return answer;
}
