// What a bisection asks git: the commits between the two ends that touch the
// driver tree, and who made a commit, when, and what it changed there.
import { execa } from 'execa';
import { HarnessError } from '../errors.ts';

const GIT_TIMEOUT_MS = 120_000;

/** A commit as the reports show it. */
export interface CommitInfo {
  commit: string;
  subject: string;
  /** `Name <email>`. */
  author: string;
  /** Author date, ISO 8601. */
  date: string;
}

async function git(repo: string, args: string[]): Promise<string> {
  const r = await execa('git', ['-C', repo, ...args], { reject: false, timeout: GIT_TIMEOUT_MS });
  if (r.exitCode !== 0) throw new HarnessError(`git ${args.join(' ')} in ${repo} failed: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? `exit ${String(r.exitCode)}`}`);
  return r.stdout;
}

/**
 * The commits to bisect, oldest first: those on the ancestry path from good
 * to bad that touch the driver tree (the others cannot change what is
 * tested, so they are never run). The last is `bad` itself, or the last
 * commit that touched the driver when `bad` has the same driver tree as it.
 * Throws a HarnessError when good is not an ancestor of bad.
 */
export async function commitsToBisect(repo: string, relPath: string, good: string, bad: string): Promise<string[]> {
  const ancestor = await execa('git', ['-C', repo, 'merge-base', '--is-ancestor', good, bad], { reject: false, timeout: GIT_TIMEOUT_MS });
  if (ancestor.exitCode !== 0) {
    throw new HarnessError(`--good ${good.slice(0, 12)} is not an ancestor of --bad ${bad.slice(0, 12)} in ${repo}: a bisection goes from an older good commit to a newer bad one`);
  }
  const path = relPath === '' ? '.' : relPath;
  const listed = (await git(repo, ['rev-list', '--ancestry-path', '--topo-order', '--reverse', `${good}..${bad}`, '--', path])).split('\n').filter(Boolean);
  const last = listed.at(-1);
  if (last === undefined || last === bad) return listed;
  // bad did not touch the driver: the last commit that did stands for it when their driver trees are the same.
  const same = await execa('git', ['-C', repo, 'diff', '--quiet', last, bad, '--', path], { reject: false, timeout: GIT_TIMEOUT_MS });
  return same.exitCode === 0 ? listed : [...listed, bad];
}

/** Subject, author and date of a commit. */
export async function commitInfo(repo: string, commit: string): Promise<CommitInfo> {
  const [hash = commit, subject = '', author = '', date = ''] = (await git(repo, ['show', '-s', '--format=%H%x00%s%x00%an <%ae>%x00%aI', commit])).split('\0');
  return { commit: hash.trim(), subject, author, date: date.trim() };
}

/** `git diff --stat` of a commit against its first parent, limited to the driver tree (for a root commit, what it added). */
export async function driverDiffStat(repo: string, relPath: string, commit: string): Promise<string> {
  const path = relPath === '' ? '.' : relPath;
  const parents = (await git(repo, ['rev-list', '--parents', '-n', '1', commit])).trim().split(' ');
  const args = parents.length > 1 ? ['diff', '--stat=120', parents[1] as string, commit, '--', path] : ['show', '--stat=120', '--format=', commit, '--', path];
  return (await git(repo, args)).trimEnd();
}
