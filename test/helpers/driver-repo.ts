// A temporary git repository holding a copy of the project's drivers under
// drivers/virt_net, committed once as "A: the project drivers" by a test
// identity: the start of the revision and bisect tests' driver histories.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { DEFAULT_MODULES_DIR } from '../../src/paths.ts';

/** `git -C repo args…`, its stdout. */
export async function git(repo: string, ...args: string[]): Promise<string> {
  return (await execa('git', ['-C', repo, ...args])).stdout;
}

/** Makes `<root>/repo` with the drivers (and `files`, by path in the repository) in its first commit. */
export async function initDriverRepo(root: string, files: Record<string, string> = {}): Promise<{ repo: string; modules: string; first: string }> {
  const repo = path.join(root, 'repo');
  const modules = path.join(repo, 'drivers', 'virt_net');
  await mkdir(path.dirname(modules), { recursive: true });
  await cp(DEFAULT_MODULES_DIR, modules, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(repo, name), text);
  await git(repo, 'init', '-q', '-b', 'main');
  await git(repo, 'config', 'user.name', 'vnet test');
  await git(repo, 'config', 'user.email', 'vnet-test@localhost');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'A: the project drivers');
  return { repo, modules, first: await git(repo, 'rev-parse', 'HEAD') };
}
