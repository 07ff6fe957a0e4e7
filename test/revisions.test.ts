// `run --rev` and `run --baseline` on a throwaway git repository with two
// driver revisions: A = the project's drivers, B = A + the stage 3 wrong-MAC
// bug. Each revision is tested as it was, on the real emulated board, from a
// temporary worktree that is gone afterwards; the user's working tree, index
// and HEAD are left exactly as they were (the repository is deliberately
// dirty, with a staged and an untracked change, so "untouched" means something).
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Comparison } from '../src/compare/compare.ts';
import { loadResults } from '../src/reporters/load-results.ts';
import type { RunResults } from '../src/results/model.ts';
import { git, initDriverRepo } from './helpers/driver-repo.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'vnet-harness.js');
const MAC_BUG = path.join(ROOT, 'test', 'fixtures', 'bugs', 'stage3-wrong-mac.patch');

// The CLI as a user runs it; stdout and stderr are kept for the assertion messages.
async function cli(...args: string[]) {
  const r = await execa('node', [CLI, ...args], { cwd: ROOT, reject: false, all: true, timeout: 40 * 60_000 });
  return { code: r.exitCode, stdout: r.stdout, all: r.all ?? '' };
}

// Everything that would show the user's repository was touched.
async function repoState(repo: string): Promise<Record<string, string>> {
  return {
    head: await git(repo, 'rev-parse', 'HEAD'),
    branch: await git(repo, 'symbolic-ref', '-q', 'HEAD'),
    status: await git(repo, 'status', '--porcelain=v1', '--untracked-files=all'),
    staged: await git(repo, 'diff', '--cached'),
    unstaged: await git(repo, 'diff'),
    worktrees: await git(repo, 'worktree', 'list', '--porcelain'),
    notes: await readFile(path.join(repo, 'NOTES.md'), 'utf8'),
    scratch: await readFile(path.join(repo, 'scratch.txt'), 'utf8'),
    mac: await readFile(path.join(repo, 'drivers', 'virt_net', 'virt_net3.c'), 'utf8'),
  };
}

async function revTemps(): Promise<string[]> {
  return (await readdir(os.tmpdir())).filter((n) => n.startsWith('vnet-harness-rev-'));
}

function failedChecks(results: RunResults): string[] {
  return results.stages.flatMap((s) => s.checks.filter((c) => c.verdict !== 'pass').map((c) => `${s.stage}:${c.id}:${c.verdict}`));
}

describe('run --rev / --baseline: driver revisions from a temporary worktree (emulated board) @board', function () {
  // The first run may have to build the kernel when the cache is cold.
  this.timeout(45 * 60_000);
  let tmp: string;
  let repo: string;
  let modules: string;
  let revA: string;
  let revB: string;
  let initial: Record<string, string>;
  let tempsBefore: string[];

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vnet-revisions-'));
    ({ repo, modules, first: revA } = await initDriverRepo(tmp, { 'NOTES.md': 'driver notes\n' }));
    await execa('patch', ['-p1', '-i', MAC_BUG], { cwd: modules });
    await git(repo, 'commit', '-q', '-am', 'B: stage 3 MAC ends in 0x12');
    revB = await git(repo, 'rev-parse', 'HEAD');
    // A staged change and an untracked file outside the driver tree: --rev must leave both alone.
    await writeFile(path.join(repo, 'NOTES.md'), 'driver notes\nstaged, not committed\n');
    await git(repo, 'add', 'NOTES.md');
    await writeFile(path.join(repo, 'scratch.txt'), 'untracked\n');
    initial = await repoState(repo);
    tempsBefore = await revTemps();
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  // Checked after every run: same HEAD, branch, index, working tree, one worktree, no temp dir left.
  async function expectRepoUntouched(): Promise<void> {
    expect(await repoState(repo)).to.deep.equal(initial);
    expect((await git(repo, 'worktree', 'list')).trim().split('\n')).to.have.length(1);
    expect(await revTemps()).to.deep.equal(tempsBefore);
  }

  it('a bad revision is refused before any board boots: names the revision and the repository, exit 2', async () => {
    const r = await cli('run', '--modules', modules, '--rev', 'no-such-rev', '--stages', '3', '--out', path.join(tmp, 'bad'));
    expect(r.code, r.all).to.equal(2);
    expect(r.all).to.contain('no-such-rev').and.to.contain(repo);
    expect(r.all).to.not.contain('board qemu-imx25: up');
    const base = await cli('run', '--modules', modules, '--baseline', 'no-such-base', '--stages', '3', '--out', path.join(tmp, 'bad2'));
    expect(base.code, base.all).to.equal(2);
    expect(base.all).to.contain('no-such-base').and.to.contain(repo);
    expect(existsSync(path.join(tmp, 'bad', 'results.json'))).to.equal(false);
    await expectRepoUntouched();
  });

  it('--rev A (the project drivers) passes stage 3, and the results name A, clean, at the path given', async () => {
    const out = path.join(tmp, 'rev-a');
    const r = await cli('run', '--modules', modules, '--rev', revA, '--stages', '3', '--out', out);
    expect(r.code, r.all).to.equal(0);
    const results = await loadResults(path.join(out, 'results.json'));
    expect(results.verdict).to.equal('pass');
    expect(results.stages.map((s) => [s.stage, s.verdict])).to.deep.equal([[3, 'pass']]);
    expect(results.driver.path).to.equal(modules);
    expect(results.driver.gitRevision).to.equal(revA);
    expect(results.driver.gitDirty).to.equal(false);
    await expectRepoUntouched();
  });

  it('--rev main (= B, the wrong MAC) fails only the MAC check of stage 3', async () => {
    const out = path.join(tmp, 'rev-b');
    // Name B by its branch: the name must be resolved in the driver's repository, not the project's.
    const r = await cli('run', '--modules', modules, '--rev', 'main', '--stages', '3', '--out', out);
    expect(r.code, r.all).to.equal(1);
    const results = await loadResults(path.join(out, 'results.json'));
    expect(failedChecks(results)).to.deep.equal(['3:mac-address:fail']);
    const mac = results.stages[0]?.checks.find((c) => c.id === 'mac-address');
    expect(mac?.expected).to.equal('08:89:89:89:89:11');
    expect(mac?.actual).to.equal('08:89:89:89:89:12');
    expect(results.driver.gitRevision).to.equal(revB);
    expect(results.driver.gitDirty).to.equal(false);
    expect(results.driver.path).to.equal(modules);
    await expectRepoUntouched();
  });

  it('--baseline A with the tree at B: both runs, compare.md names the new stage 3 mac-address failure, exit 1', async () => {
    const out = path.join(tmp, 'baseline');
    const r = await cli('run', '--modules', modules, '--baseline', revA, '--stages', '3', '--out', out);
    expect(r.code, r.all).to.equal(1);
    const a = await loadResults(path.join(out, 'baseline', 'results.json'));
    const b = await loadResults(path.join(out, 'results.json'));
    expect(a.driver.gitRevision).to.equal(revA);
    expect(a.driver.gitDirty).to.equal(false);
    expect(a.verdict).to.equal('pass');
    // B is the working tree itself (HEAD = B); the staged NOTES.md lies outside the driver tree, so it is clean.
    expect(b.driver.gitRevision).to.equal(revB);
    expect(b.driver.gitDirty).to.equal(false);
    expect(failedChecks(b)).to.deep.equal(['3:mac-address:fail']);
    for (const f of ['compare.md', 'compare.html', 'compare.json']) expect(existsSync(path.join(out, f)), f).to.equal(true);
    const md = await readFile(path.join(out, 'compare.md'), 'utf8');
    expect(md).to.contain('❌ regression');
    // The checks table: one row per changed check, and only the MAC check changed.
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && l.includes('new failure'));
    expect(rows, md).to.have.length(1);
    expect(rows[0]).to.match(/^\| 3 \| `mac-address` \| pass \| fail \| ❌ new failure \| `08:89:89:89:89:11` \| `08:89:89:89:89:12` \|$/);
    expect(md).to.contain('- stage 3 mac-address: new failure');
    // The terminal gets the plain-text view of the same comparison.
    expect(r.stdout).to.contain('vnet-harness compare: REGRESSION');
    expect(r.stdout).to.match(/stage 3 mac-address: new failure: .*expected 08:89:89:89:89:11, got 08:89:89:89:89:12/);
    const json = JSON.parse(await readFile(path.join(out, 'compare.json'), 'utf8')) as Comparison;
    expect(json.regression).to.equal(true);
    expect(json.checks.filter((c) => c.change === 'new-failure').map((c) => `${c.stage}:${c.id}`)).to.deep.equal(['3:mac-address']);
    expect(json.driver.a.gitRevision).to.equal(revA);
    expect(json.driver.b.gitRevision).to.equal(revB);
    await expectRepoUntouched();
  });
});
