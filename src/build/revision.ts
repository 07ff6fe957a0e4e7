// A driver tree as it was at a git revision, in a temporary worktree of the
// repository that holds it. The user's working tree, index and HEAD are never
// touched: `git worktree add` only adds an admin entry under .git/worktrees/,
// which is removed again with the worktree (also when the harness is killed
// by SIGINT/SIGTERM: a synchronous 'exit' hook does it).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.ts';
import { installExitHandlers } from '../util/reaper.ts';

const GIT_TIMEOUT_MS = 120_000;

/** Where a driver tree lives in its repository and which commit a revision names. */
export interface ResolvedRevision {
  /** The revision as the user gave it, e.g. `main~1`. */
  rev: string;
  /** Full commit id it resolves to. */
  commit: string;
  /** The repository's top-level directory (real path). */
  repo: string;
  /** The driver tree relative to `repo`, with "/" ('' when it is the top). */
  relPath: string;
  /** The driver tree as the user named it (absolute). */
  originalDir: string;
}

/** A checked-out revision; `remove()` deletes the worktree (idempotent). */
export interface RevisionTree extends ResolvedRevision {
  /** Root of the temporary worktree. */
  worktree: string;
  /** The driver tree inside the worktree: what gets built. */
  modulesDir: string;
  remove(): Promise<void>;
}

async function git(cwd: string, args: string[]) {
  // Hooks of the user's repository must not run for a throwaway checkout.
  return execa('git', ['-C', cwd, '-c', 'core.hooksPath=/dev/null', ...args], { reject: false, timeout: GIT_TIMEOUT_MS });
}

// The driver tree may be gone from the working tree but present at the
// revision: ask git in its nearest existing ancestor.
function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** Finds the repository holding modulesDir and resolves rev to a commit that has the driver tree; throws a HarnessError naming rev and repo otherwise. */
export async function resolveRevision(modulesDir: string, rev: string): Promise<ResolvedRevision> {
  const originalDir = resolve(modulesDir);
  if (rev.trim() === '') throw new HarnessError(`--rev: empty git revision for driver tree ${originalDir}`);
  const anchor = nearestExisting(originalDir);
  const top = await git(anchor, ['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0 || top.stdout.trim() === '') {
    const why = top.stderr.trim().split('\n')[0] || `git exited with ${String(top.exitCode)}`;
    throw new HarnessError(`git revision ${rev}: driver tree ${originalDir} is not inside a git repository (${why})`);
  }
  const repo = top.stdout.trim();
  // show-toplevel answers with the real path: compare real paths with it.
  const realAnchor = await realpath(anchor);
  const relPath = relative(repo, join(realAnchor, relative(anchor, originalDir))).split(sep).join('/');
  if (relPath.startsWith('..') || isAbsolute(relPath)) {
    throw new HarnessError(`git revision ${rev}: driver tree ${originalDir} lies outside its repository ${repo}`);
  }
  const parsed = await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
  if (parsed.exitCode !== 0) {
    throw new HarnessError(`git revision ${rev} is not a commit in repository ${repo} (git rev-parse --verify found nothing)`);
  }
  const commit = parsed.stdout.trim();
  const type = await git(repo, ['cat-file', '-t', `${commit}:${relPath}`]);
  if (type.exitCode !== 0 || type.stdout.trim() !== 'tree') {
    throw new HarnessError(
      `git revision ${rev} (${commit.slice(0, 12)}) of repository ${repo} has no directory ${relPath || '.'}: ` +
        'the driver tree did not exist there at that revision',
    );
  }
  return { rev, commit, repo, relPath, originalDir };
}

/**
 * Checks the driver tree out as it was at rev, in a temporary worktree.
 * Only the driver tree's own path is checked out (a kernel-sized repository
 * costs no more than the driver): the build copies nothing else anyway.
 */
export async function checkoutRevision(modulesDir: string, rev: string): Promise<RevisionTree> {
  const resolved = await resolveRevision(modulesDir, rev);
  const { repo, commit, relPath } = resolved;
  const parent = await mkdtemp(join(tmpdir(), 'vnet-harness-rev-'));
  const worktree = join(parent, `vnet-harness-${commit.slice(0, 12)}`);
  let adminDir: string | undefined;
  let done = false;
  let removing: Promise<void> | undefined;

  // Remove only what this checkout made: a global `git worktree prune` would
  // also drop the admin entries of the user's own worktrees that happen to be
  // unreachable right now (an unmounted disk), so it is not used.
  const removeSync = (): void => {
    if (done) return;
    done = true;
    spawnSync('git', ['-C', repo, 'worktree', 'remove', '--force', worktree], { stdio: 'ignore', timeout: GIT_TIMEOUT_MS });
    if (adminDir) rmSync(adminDir, { recursive: true, force: true });
    rmSync(parent, { recursive: true, force: true });
  };
  // A signal must end the process through 'exit' for this hook to run, also
  // before the board's QEMU (and with it the reaper) exists.
  installExitHandlers();
  const unhook = (): void => {
    process.removeListener('exit', removeSync);
  };
  process.on('exit', removeSync);
  const removeAsync = async (): Promise<void> => {
    const r = await git(repo, ['worktree', 'remove', '--force', worktree]);
    if (r.exitCode !== 0 && adminDir) await rm(adminDir, { recursive: true, force: true });
    await rm(parent, { recursive: true, force: true });
    // The exit hook stays until the worktree is really gone.
    done = true;
    unhook();
  };
  const remove = (): Promise<void> => (done ? Promise.resolve() : (removing ??= removeAsync()));

  try {
    const add = await git(repo, ['worktree', 'add', '--detach', '--no-checkout', worktree, commit]);
    if (add.exitCode !== 0) {
      throw new HarnessError(`git revision ${rev}: cannot add a temporary worktree of ${repo} at ${worktree}: ${add.stderr.trim()}`);
    }
    const gitDir = await git(worktree, ['rev-parse', '--absolute-git-dir']);
    // Only ever a linked worktree's own admin entry, never a repository's .git.
    const dir = gitDir.stdout.trim();
    if (gitDir.exitCode === 0 && basename(dirname(dir)) === 'worktrees') adminDir = dir;
    const co = await git(worktree, ['checkout', commit, '--', relPath === '' ? '.' : relPath]);
    if (co.exitCode !== 0) {
      throw new HarnessError(`git revision ${rev}: cannot check out ${relPath || '.'} of ${repo} at ${commit.slice(0, 12)}: ${co.stderr.trim()}`);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return { ...resolved, worktree, modulesDir: relPath === '' ? worktree : join(worktree, ...relPath.split('/')), remove };
}
