// `vnet-harness bisect` on the emulated board: a throwaway git repository of
// the project's drivers with 8 commits of harmless comment changes, the 5th of
// which also seeds the stage 3 wrong-MAC bug (test/fixtures/bugs/
// stage3-wrong-mac.patch), and a commit outside the driver tree that is never
// run. Without --check, the ends decide what is watched (all four stages run
// there); the steps run stage 3 only, and bisect names exactly the 5th commit
// in at most ⌈log2 8⌉ + 2 = 5 runs, on one boot of the board. The user's
// repository is left as it was.
//
// The second scenario is a history that is harder to read: the commit that
// seeds the wrong MAC also breaks the stage 3 build (fixed by the next
// commit), and the first step is hit by an infrastructure failure: its QEMU
// is SIGKILLed from outside in the middle of stage 3, which the harness sees
// as `error` (the host's doing, never the driver's). bisect runs that step
// again on the recovered board, treats the commit that does not build as
// untestable (`git bisect skip`), and answers with the honest range: the
// commit that broke the build or the one after it.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BisectReport } from '../src/bisect/report.ts';
import { maxCalls } from '../src/bisect/search.ts';
import { loadResults } from '../src/reporters/load-results.ts';
import { git, initDriverRepo } from './helpers/driver-repo.ts';
import { qemusOf, startCli } from './helpers/harness-process.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'vnet-harness.js');
const MAC_BUG = path.join(ROOT, 'test', 'fixtures', 'bugs', 'stage3-wrong-mac.patch');
const COMMITS = 8;
const BUG_AT = 5;

describe('bisect: names the commit that seeded the wrong MAC among 8 driver commits (emulated board) @board', function () {
  // The first run may have to build the kernel when the cache is cold; then about 8 runs with module builds.
  this.timeout(60 * 60_000);
  let tmp: string;
  let repo: string;
  let modules: string;
  let good: string;
  let commits: string[];
  let docsOnly: string;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vnet-bisect-board-'));
    ({ repo, modules, first: good } = await initDriverRepo(tmp, { 'NOTES.md': 'driver notes\n' }));
    commits = [];
    for (let i = 1; i <= COMMITS; i++) {
      // A comment at the end of one driver file: changes nothing the board sees.
      await appendFile(path.join(modules, `virt_net${((i - 1) % 4) + 1}.c`), `/* bisect test: revision ${i} */\n`);
      if (i === BUG_AT) await execa('patch', ['-p1', '-i', MAC_BUG], { cwd: modules });
      await git(repo, 'commit', '-q', '-am', i === BUG_AT ? `commit ${i}: comment, and stage 3 MAC ends in 0x12` : `commit ${i}: comment`);
      commits.push(await git(repo, 'rev-parse', 'HEAD'));
      if (i === 3) {
        await writeFile(path.join(repo, 'NOTES.md'), 'driver notes\nmore notes\n');
        await git(repo, 'commit', '-q', '-am', 'notes only');
        docsOnly = await git(repo, 'rev-parse', 'HEAD');
      }
    }
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it(`bisect --good A --bad main names commit ${BUG_AT} in at most ⌈log2 ${COMMITS}⌉ + 2 runs, with its diff stat and the comparison`, async () => {
    const out = path.join(tmp, 'bisect');
    const head = await git(repo, 'rev-parse', 'HEAD');
    const r = await execa('node', [CLI, 'bisect', '--modules', modules, '--good', good, '--bad', 'main', '--out', out], { cwd: ROOT, reject: false, all: true, timeout: 55 * 60_000 });
    const all = r.all ?? '';
    expect(r.exitCode, all).to.equal(0);
    const report = JSON.parse(await readFile(path.join(out, 'bisect.json'), 'utf8')) as BisectReport;
    expect(report.status, all).to.equal('found');
    expect(report.firstBad?.commit).to.equal(commits[BUG_AT - 1]);
    expect(report.firstBad?.subject).to.equal(`commit ${BUG_AT}: comment, and stage 3 MAC ends in 0x12`);
    expect(report.firstBad?.author).to.equal('vnet test <vnet-test@localhost>');
    expect(report.firstBad?.diffStat).to.contain('drivers/virt_net/virt_net3.c');
    expect(report.lastGood?.commit).to.equal(commits[BUG_AT - 2]);
    expect(report.commits).to.equal(COMMITS);
    // Only the MAC check regressed: it is all that is watched, and the steps run only its stage.
    expect(report.watched).to.deep.equal([{ stage: 3, id: 'mac-address' }]);
    expect(report.stages).to.deep.equal({ ends: [1, 2, 3, 4], steps: [3] });
    const limit = Math.ceil(Math.log2(COMMITS)) + 2;
    expect(report.runs, all).to.be.at.most(limit);
    expect(report.steps).to.have.length(report.runs);
    expect(report.skipped).to.deep.equal([]);
    expect(report.steps.map((s) => s.role).slice(0, 2)).to.deep.equal(['good-end', 'bad-end']);
    // One boot of the board for every run: the steps found it as the run before left it, and its reset step cleaned it.
    expect(report.boardBoots, all).to.equal(1);
    expect(all.match(/board qemu-imx25: up in /g), 'boots announced').to.have.length(1);
    expect(all.match(/board qemu-imx25: still up from the previous run/g), 'runs on the same boot').to.have.length(report.runs - 1);
    for (const s of report.steps.slice(2)) expect(s.stages.map((x) => x.stage), s.commit).to.deep.equal([3]);
    // Each step's verdict agrees with where the bug is.
    for (const s of report.steps.filter((x) => x.role === 'step')) {
      const bad = commits.indexOf(s.commit) >= BUG_AT - 1;
      expect(s.outcome, s.commit).to.equal(bad ? 'bad' : 'good');
      expect(s.watched).to.deep.equal([{ stage: 3, id: 'mac-address', state: bad ? 'fail' : 'pass' }]);
    }
    expect(report.steps.map((s) => s.commit)).to.not.include(docsOnly);
    // One run folder per run, each with its reports.
    const runs = await readdir(path.join(out, 'runs'));
    expect(runs).to.have.length(report.runs);
    for (const s of report.steps) expect(existsSync(path.join(out, s.runDir ?? 'none', 'results.json')), s.runDir).to.equal(true);
    // The comparison of the last good run with the first bad one: the MAC check, nothing else.
    expect(report.comparison?.regression).to.equal(true);
    expect(report.comparison?.checks.filter((c) => c.change === 'new-failure').map((c) => `${c.stage}:${c.id}`)).to.deep.equal(['3:mac-address']);
    const md = await readFile(path.join(out, 'bisect.md'), 'utf8');
    expect(md).to.contain(`first bad commit: ${(commits[BUG_AT - 1] as string).slice(0, 12)}`);
    expect(md).to.contain('## vnet-harness compare: ❌ regression');
    expect(await readFile(path.join(out, 'bisect.html'), 'utf8')).to.contain('Content-Security-Policy');
    expect(r.stdout).to.contain(`bisect: first bad commit: ${(commits[BUG_AT - 1] as string).slice(0, 12)}`);
    // The user's repository: same HEAD, clean, one worktree.
    expect(await git(repo, 'rev-parse', 'HEAD')).to.equal(head);
    expect(await git(repo, 'status', '--porcelain')).to.equal('');
    expect((await git(repo, 'worktree', 'list')).trim().split('\n')).to.have.length(1);
  });
});

describe('bisect: a commit that does not build and a step whose board is killed from outside (emulated board) @board', function () {
  this.timeout(60 * 60_000);
  let tmp: string;
  let modules: string;
  let good: string;
  const commits: string[] = [];
  /** The commit that seeds the wrong MAC and breaks the stage 3 build; the next one mends the build. */
  const BROKEN_AT = 5;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vnet-bisect-board2-'));
    const made = await initDriverRepo(tmp);
    const repo = made.repo;
    ({ modules, first: good } = made);
    const stage3 = path.join(modules, 'virt_net3.c');
    for (let i = 1; i <= COMMITS; i++) {
      await appendFile(path.join(modules, `virt_net${((i - 1) % 4) + 1}.c`), `/* bisect test 2: revision ${i} */\n`);
      let subject = `commit ${i}: comment`;
      if (i === BROKEN_AT) {
        await execa('patch', ['-p1', '-i', MAC_BUG], { cwd: modules });
        await appendFile(stage3, '#error "bisect test: this revision does not build"\n');
        subject = `commit ${i}: stage 3 MAC ends in 0x12, and stage 3 does not build`;
      }
      if (i === BROKEN_AT + 1) {
        await writeFile(stage3, (await readFile(stage3, 'utf8')).replace('#error "bisect test: this revision does not build"\n', ''));
        subject = `commit ${i}: comment, and stage 3 builds again`;
      }
      await git(repo, 'commit', '-q', '-am', subject);
      commits.push(await git(repo, 'rev-parse', 'HEAD'));
    }
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('retries the step whose QEMU was killed, skips the commit that does not build, and answers with the honest range', async () => {
    const out = path.join(tmp, 'bisect');
    const run = startCli(['bisect', '--modules', modules, '--good', good, '--bad', 'main', '--check', '3:mac-address', '--out', out]);
    // The first step (the middle commit, 4 of 8) is in stage 3: its board's QEMU is killed from outside.
    await run.when(/bisect: run 3 \(step\)[^\n]*\n[\s\S]*stage 3: exercising/);
    await new Promise((r) => setTimeout(r, 300));
    const qemus = qemusOf(run.pid);
    expect(qemus, 'one QEMU of this bisection').to.have.length(1);
    process.kill(qemus[0]!.pid, 'SIGKILL');
    const end = await run.exited;
    const all = run.output();
    expect(end.code, all).to.equal(0);
    expect(qemusOf(run.pid), 'QEMU of the bisection left running').to.deep.equal([]);
    const report = JSON.parse(await readFile(path.join(out, 'bisect.json'), 'utf8')) as BisectReport;
    const at = (n: number) => commits[n - 1] as string;
    // Whether commit 5 or 6 brought the wrong MAC cannot be told: 5 does not build. Both are named, 4 is the last good.
    expect(report.status, all).to.equal('range');
    expect(report.range?.map((c) => c.commit)).to.deep.equal([at(BROKEN_AT), at(BROKEN_AT + 1)]);
    expect(report.firstBad?.commit).to.equal(at(BROKEN_AT + 1));
    expect(report.lastGood?.commit).to.equal(at(BROKEN_AT - 1));
    expect(report.skipped).to.deep.equal([at(BROKEN_AT)]);
    expect(report.message).to.contain('could not be tested');
    // The runs, in order: both ends, the killed step and its retry, then halving.
    const steps = report.steps.map((s) => `${s.role}:${s.commit === good ? 'A' : commits.indexOf(s.commit) + 1}:${s.attempt}:${s.outcome}`);
    expect(steps, all).to.deep.equal(['good-end:A:1:good', 'bad-end:8:1:bad', 'step:4:1:error', 'step:4:2:good', 'step:6:1:bad', 'step:5:1:skip']);
    // Without the retry, the clean bound; the retry is the one run more.
    expect(report.runs).to.equal(maxCalls(COMMITS) + 1);
    for (const s of report.steps) expect(s.stages.map((x) => x.stage), s.commit).to.deep.equal([3]);
    // The killed step: stage 3 an error naming the kill, the host's doing, never the driver's.
    const killed = await loadResults(path.join(out, report.steps[2]!.runDir!, 'results.json'));
    expect(killed.stages[0]?.verdict).to.equal('error');
    expect(killed.stages[0]?.reason).to.match(/QEMU \(pid \d+\) was killed by SIGKILL from outside the harness/);
    expect(report.steps[2]!.watched).to.deep.equal([{ stage: 3, id: 'mac-address', state: 'error' }]);
    expect(report.steps[3]!.watched).to.deep.equal([{ stage: 3, id: 'mac-address', state: 'pass' }]);
    // The commit that does not build: its module's diagnostics, the check not observed.
    const unbuilt = report.steps[5]!;
    expect(unbuilt.stages).to.deep.equal([{ stage: 3, verdict: 'build-error' }]);
    expect(unbuilt.watched).to.deep.equal([{ stage: 3, id: 'mac-address', state: 'unbuilt' }]);
    const unbuiltRun = await loadResults(path.join(out, unbuilt.runDir!, 'results.json'));
    expect(unbuiltRun.stages[0]?.build?.diagnostics.some((d) => d.severity === 'error' && /this revision does not build/.test(d.message))).to.equal(true);
    // One boot for the bisection, and one power cycle: the recovery after the kill.
    expect(report.boardBoots, all).to.equal(2);
    const md = await readFile(path.join(out, 'bisect.md'), 'utf8');
    expect(md).to.contain('## First bad commit: one of these');
  });
});
