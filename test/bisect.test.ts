// `vnet-harness bisect` without a board: the search (src/bisect/search.ts)
// with fake oracles (every position of one bad commit among 8 to 16 within
// ⌈log2 n⌉ + 2 calls, a flaky oracle retried, a skip next to the boundary
// giving an honest range, both ends verified), the judging of a run against
// the watched checks, the three report files from a made-up result, the whole
// command over a throwaway git repository with a fake run in place of the
// board, and its usage errors.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commitsToBisect } from '../src/bisect/git.ts';
import { renderBisectHtml, renderBisectJson, renderBisectMarkdown, type BisectReport } from '../src/bisect/report.ts';
import { bisectCommits, maxCalls, type Answer, type Outcome, type StepRole } from '../src/bisect/search.ts';
import { checkState, judgeRun, parseCheckList, regressedChecks, resolveChecks, type WatchedCheck } from '../src/bisect/signal.ts';
import { main } from '../src/cli.ts';
import { bisectCommand, checkCatalog } from '../src/commands/bisect.ts';
import type { OneRun, RunDone } from '../src/commands/run.ts';
import { compareRuns } from '../src/compare/compare.ts';
import { PROJECT_ROOT } from '../src/paths.ts';
import { RESULTS_SCHEMA, type CheckVerdict, type RunResults, type StageVerdict } from '../src/results/model.ts';
import type { BoardTarget } from '../src/board/target.ts';
import { loadBoard } from '../src/config/board.ts';
import { BoardSession } from '../src/stages/run.ts';
import { silentProgress } from '../src/util/progress.ts';

// ---------------------------------------------------------------- the search

const names = (n: number) => Array.from({ length: n }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);

/** An oracle over commits c01…cNN where those from `firstBad` on are bad; `special` overrides answers per commit (one per attempt). */
function fakeOracle(firstBad: number, special: Record<string, Outcome[]> = {}) {
  const calls: { commit: string; role: StepRole; attempt: number }[] = [];
  const oracle = async (commit: string, role: StepRole, attempt: number): Promise<Answer> => {
    calls.push({ commit, role, attempt });
    const scripted = special[commit]?.[attempt - 1];
    if (scripted) return { outcome: scripted };
    if (commit === 'good') return { outcome: 'good' };
    if (commit === 'bad') return { outcome: 'bad' };
    return { outcome: Number(commit.slice(1)) >= firstBad ? 'bad' : 'good' };
  };
  return { calls, oracle };
}

describe('bisect: the search (pure, fake oracles)', () => {
  it('finds every position of one bad commit among 8 to 16 in at most ⌈log2 n⌉ + 2 calls, never asking the last commit', async () => {
    for (let n = 8; n <= 16; n++) {
      // The last commit is the bad end itself here: the search takes it as bad once the end is verified.
      const commits = [...names(n - 1), 'bad'];
      for (let bad = 1; bad <= n; bad++) {
        const { calls, oracle } = fakeOracle(bad);
        const r = await bisectCommits({ good: 'good', bad: 'bad', commits, oracle });
        const expected = commits[bad - 1];
        expect(r, `n=${n} bad=${bad}`).to.include({ kind: 'found', firstBad: expected, lastGood: bad === 1 ? 'good' : commits[bad - 2] });
        expect(calls.length, `n=${n} bad=${bad}`).to.be.at.most(Math.ceil(Math.log2(n)) + 2);
        expect(calls.slice(0, 2).map((c) => c.role)).to.deep.equal(['good-end', 'bad-end']);
        expect(calls.filter((c) => c.role === 'step').map((c) => c.commit)).to.not.include('bad');
        expect(r.skipped).to.deep.equal([]);
      }
    }
    expect(maxCalls(8)).to.equal(5);
    expect(maxCalls(16)).to.equal(6);
    expect(maxCalls(9)).to.equal(6);
  });

  it('retries a step that ended in an infrastructure error once, and uses the second answer', async () => {
    const commits = names(12);
    // The first question of the search is the middle one, c06: error, then good.
    const { calls, oracle } = fakeOracle(9, { c06: ['error', 'good'] });
    const r = await bisectCommits({ good: 'good', bad: 'c12', commits, oracle });
    expect(r).to.include({ kind: 'found', firstBad: 'c09', lastGood: 'c08' });
    expect(calls.filter((c) => c.commit === 'c06').map((c) => c.attempt)).to.deep.equal([1, 2]);
    expect(r.steps.find((s) => s.commit === 'c06' && s.attempt === 2)?.answer.outcome).to.equal('good');
    expect(calls.length).to.be.at.most(maxCalls(12) + 1);
    expect(r.skipped).to.deep.equal([]);
  });

  it('a commit erring twice is skipped; a skip right before the first bad commit makes the answer an honest range', async () => {
    const commits = names(10);
    const { calls, oracle } = fakeOracle(6, { c05: ['error', 'error'] });
    const r = await bisectCommits({ good: 'good', bad: 'c10', commits, oracle });
    expect(r).to.deep.include({ kind: 'range', firstBad: 'c06', lastGood: 'c04', candidates: ['c05', 'c06'], untestable: ['c05'], skipped: ['c05'] });
    expect(calls.filter((c) => c.commit === 'c05')).to.have.length(2);
    // A skip (build error) is not retried.
    const skip = fakeOracle(6, { c05: ['skip'] });
    const s = await bisectCommits({ good: 'good', bad: 'c10', commits, oracle: skip.oracle });
    expect(s).to.deep.include({ kind: 'range', candidates: ['c05', 'c06'], untestable: ['c05'] });
    expect(skip.calls.filter((c) => c.commit === 'c05')).to.have.length(1);
  });

  it('a skip away from the boundary still gives the exact commit (the question moves to a neighbour)', async () => {
    const commits = names(16);
    const { oracle } = fakeOracle(11, { c08: ['skip'] });
    const r = await bisectCommits({ good: 'good', bad: 'c16', commits, oracle });
    expect(r).to.include({ kind: 'found', firstBad: 'c11', lastGood: 'c10' });
    expect(r.skipped).to.deep.equal(['c08']);
  });

  it('skips on both sides of the first bad commit: the range runs from after the last good to the first known bad', async () => {
    const commits = names(10);
    const { oracle } = fakeOracle(5, { c04: ['skip'], c05: ['skip'], c06: ['skip'] });
    const r = await bisectCommits({ good: 'good', bad: 'c10', commits, oracle });
    expect(r).to.deep.include({ kind: 'range', lastGood: 'c03', firstBad: 'c07', candidates: ['c04', 'c05', 'c06', 'c07'], untestable: ['c04', 'c05', 'c06'] });
  });

  it('verifies both ends first: a bad --good or a good --bad stops the search; an end erring twice is not retried more', async () => {
    const commits = names(8);
    const goodIsBad = fakeOracle(1, { good: ['bad'] });
    expect(await bisectCommits({ good: 'good', bad: 'c08', commits, oracle: goodIsBad.oracle })).to.include({ kind: 'end-mismatch', end: 'good', outcome: 'bad' });
    expect(goodIsBad.calls).to.have.length(1);
    const badIsGood = fakeOracle(99);
    expect(await bisectCommits({ good: 'good', bad: 'c08', commits, oracle: badIsGood.oracle })).to.include({ kind: 'end-mismatch', end: 'bad', outcome: 'good' });
    expect(badIsGood.calls.map((c) => c.role)).to.deep.equal(['good-end', 'bad-end']);
    const dead = fakeOracle(3, { good: ['error', 'error'] });
    expect(await bisectCommits({ good: 'good', bad: 'c08', commits, oracle: dead.oracle })).to.include({ kind: 'end-mismatch', end: 'good', outcome: 'error' });
    expect(dead.calls.map((c) => c.attempt)).to.deep.equal([1, 2]);
    const flakyEnd = fakeOracle(3, { c08: ['error', 'bad'] });
    expect(await bisectCommits({ good: 'good', bad: 'c08', commits, oracle: flakyEnd.oracle })).to.include({ kind: 'found', firstBad: 'c03' });
  });

  it('one commit between the ends: it is the answer once both ends are verified, with no step of its own', async () => {
    const { calls, oracle } = fakeOracle(1);
    expect(await bisectCommits({ good: 'good', bad: 'c01', commits: ['c01'], oracle })).to.include({ kind: 'found', firstBad: 'c01', lastGood: 'good' });
    expect(calls).to.have.length(2);
  });
});

// ---------------------------------------------------------------- judging a run

interface MadeStage {
  stage: number;
  verdict: StageVerdict;
  checks?: Record<string, CheckVerdict>;
}

/** A made-up run with the stages and check verdicts given. */
function madeRun(stages: MadeStage[], extra: Partial<RunResults> = {}): RunResults {
  return {
    schema: RESULTS_SCHEMA,
    runId: extra.runId ?? 'run-1',
    startedAt: '2026-11-25T12:00:00.000Z',
    durationMs: 11_000,
    harnessVersion: '0.1.0',
    board: { name: 'qemu-imx25', transport: 'ssh', emulated: true },
    driver: { path: '/repo/drivers/virt_net', gitRevision: 'a'.repeat(40), gitDirty: false, contentHash: 'sha256:abc' },
    verdict: stages.every((s) => s.verdict === 'pass') ? 'pass' : stages.some((s) => s.verdict === 'error') ? 'error' : 'fail',
    stages: stages.map((s) => ({
      stage: s.stage,
      title: `stage ${s.stage}`,
      verdict: s.verdict,
      checks: Object.entries(s.checks ?? {}).map(([id, verdict]) => ({
        id,
        title: id,
        verdict,
        ...(verdict === 'fail' ? { expected: '08:89:89:89:89:11', actual: '08:89:89:89:89:12', message: 'MAC set by the driver' } : {}),
      })),
      readings: [],
      pings: [],
      rttsMs: [],
      dmesg: [],
      kernelEvents: [],
      steps: [],
      startedAt: '2026-11-25T12:00:00.000Z',
      durationMs: 3000,
    })),
    errors: [],
    ...extra,
  };
}

const MAC: WatchedCheck = { stage: 3, id: 'mac-address' };
const stage3 = (mac: CheckVerdict, verdict: StageVerdict = mac === 'fail' ? 'fail' : 'pass') =>
  madeRun([{ stage: 3, verdict, checks: { 'module-loads': 'pass', 'mac-address': mac, 'tx-counters': 'pass', 'no-kernel-fault': 'pass' } }]);

describe('bisect: judging a run against the watched checks', () => {
  it('bad when a watched check fails or its stage crashed or hung; good when all pass', () => {
    expect(judgeRun(stage3('pass'), [MAC])).to.equal('good');
    expect(judgeRun(stage3('fail'), [MAC])).to.equal('bad');
    expect(judgeRun(stage3('skipped', 'crash'), [MAC])).to.equal('bad');
    expect(judgeRun(stage3('skipped', 'hang'), [MAC])).to.equal('bad');
    // A failure elsewhere is not what is watched.
    const other = madeRun([{ stage: 3, verdict: 'fail', checks: { 'mac-address': 'pass', 'tx-counters': 'fail' } }]);
    expect(judgeRun(other, [MAC])).to.equal('good');
  });

  it('a build error is untestable (skip) unless the build itself is watched; an infrastructure error is error', () => {
    const unbuilt = madeRun([{ stage: 3, verdict: 'build-error', checks: { 'mac-address': 'skipped' } }]);
    expect(checkState(unbuilt, MAC)).to.equal('unbuilt');
    expect(judgeRun(unbuilt, [MAC])).to.equal('skip');
    expect(judgeRun(unbuilt, [{ stage: 3, id: 'build' }])).to.equal('bad');
    expect(judgeRun(stage3('pass'), [{ stage: 3, id: 'build' }])).to.equal('good');
    expect(judgeRun(madeRun([{ stage: 3, verdict: 'error' }]), [MAC])).to.equal('error');
    // The watched stage was not run at all: the harness's doing.
    expect(judgeRun(madeRun([{ stage: 1, verdict: 'pass' }]), [MAC])).to.equal('error');
    // Not reached (an earlier check failed): cannot tell.
    expect(judgeRun(madeRun([{ stage: 3, verdict: 'fail', checks: { 'module-loads': 'fail', 'mac-address': 'skipped' } }]), [MAC])).to.equal('skip');
    // A watched failure outweighs an error elsewhere.
    expect(judgeRun(madeRun([{ stage: 3, verdict: 'fail', checks: { 'mac-address': 'fail' } }, { stage: 4, verdict: 'error' }]), [MAC, { stage: 4, id: 'probe-replies' }])).to.equal('bad');
  });

  it('derives the watched checks from the ends: failing at bad and passing at good; a crash adds no-kernel-fault, a build error the build', () => {
    const good = madeRun([
      { stage: 1, verdict: 'fail', checks: { 'frames-dropped': 'fail', 'clean-unload': 'pass' } },
      { stage: 3, verdict: 'pass', checks: { 'mac-address': 'pass', 'no-kernel-fault': 'pass' } },
      { stage: 4, verdict: 'pass', checks: { 'probe-replies': 'pass' } },
    ]);
    const bad = madeRun([
      { stage: 1, verdict: 'fail', checks: { 'frames-dropped': 'fail', 'clean-unload': 'pass' } },
      { stage: 3, verdict: 'crash', checks: { 'mac-address': 'fail', 'no-kernel-fault': 'skipped' } },
      { stage: 4, verdict: 'build-error', checks: { 'probe-replies': 'skipped' } },
    ]);
    expect(regressedChecks(good, bad)).to.deep.equal([
      { stage: 3, id: 'mac-address' },
      { stage: 3, id: 'no-kernel-fault' },
      { stage: 4, id: 'build' },
    ]);
  });

  it('--check: a bare id in every stage that has it, a stage-qualified one in that stage; unknown ids are refused', async () => {
    const catalog = await checkCatalog();
    expect(catalog.get(3)).to.include('mac-address');
    expect(resolveChecks(parseCheckList('mac-address'), catalog, [1, 2, 3, 4])).to.deep.equal([MAC]);
    expect(resolveChecks(parseCheckList('remote-ping-no-reply'), catalog, [1, 2, 3, 4]).map((w) => w.stage)).to.deep.equal([1, 2, 3]);
    expect(resolveChecks(parseCheckList('remote-ping-no-reply'), catalog, [2])).to.deep.equal([{ stage: 2, id: 'remote-ping-no-reply' }]);
    expect(resolveChecks(parseCheckList('2:build,3:mac-address'), catalog, [1, 2, 3, 4])).to.deep.equal([{ stage: 2, id: 'build' }, MAC]);
    expect(() => resolveChecks(parseCheckList('4:mac-address'), catalog, [1, 2, 3, 4])).to.throw(RangeError, /no check "mac-address" in stage 4/);
    expect(() => parseCheckList('3:Mac Address')).to.throw(RangeError, /not a check id/);
    expect(() => parseCheckList(',')).to.throw(RangeError, /comma list/);
  });
});

// ---------------------------------------------------------------- the report files

const commit = (c: string, subject: string) => ({ commit: c.repeat(40).slice(0, 40), subject, author: 'Ann Dev <ann@example.org>', date: '2026-11-20T10:00:00+01:00' });

function madeReport(over: Partial<BisectReport> = {}): BisectReport {
  const goodRun = stage3('pass');
  const badRun = { ...stage3('fail'), runId: 'run-2' };
  return {
    kind: 'vnet-harness-bisect',
    version: 1,
    status: 'found',
    message: '555555555555 "stage 3: MAC <ends> in 0x12" (Ann Dev) is the first bad commit',
    startedAt: '2026-11-25T12:00:00.000Z',
    durationMs: 95_000,
    board: 'qemu-imx25',
    driver: { repo: '/tmp/repo', relPath: 'drivers/virt_net', dir: '/tmp/repo/drivers/virt_net' },
    good: commit('0', 'A: the drivers'),
    bad: commit('8', 'comment 8'),
    commits: 8,
    maxRuns: 5,
    runs: 5,
    stages: { ends: [1, 2, 3, 4], steps: [3] },
    watched: [MAC],
    watchedFrom: 'ends',
    firstBad: { ...commit('5', 'stage 3: MAC <ends> in 0x12'), diffStat: ' drivers/virt_net/virt_net3.c | 4 ++--\n 1 file changed, 2 insertions(+), 2 deletions(-)' },
    lastGood: commit('4', 'comment 4'),
    skipped: [],
    steps: [
      { n: 1, commit: '0'.repeat(40), subject: 'A: the drivers', role: 'good-end', attempt: 1, outcome: 'good', watched: [{ ...MAC, state: 'pass' }], stages: [{ stage: 3, verdict: 'pass' }], durationMs: 12_000, runId: 'run-1', runDir: 'runs/01-000000000000' },
      { n: 2, commit: '8'.repeat(40), subject: 'comment 8', role: 'bad-end', attempt: 1, outcome: 'bad', watched: [{ ...MAC, state: 'fail' }], stages: [{ stage: 3, verdict: 'fail' }], durationMs: 12_500, runId: 'run-2', runDir: 'runs/02-888888888888' },
      { n: 3, commit: '4'.repeat(40), subject: 'comment 4', role: 'step', attempt: 1, outcome: 'error', watched: [], stages: [], durationMs: 900, error: 'cannot add a worktree' },
    ],
    comparison: compareRuns(goodRun, badRun),
    ...over,
  };
}

describe('bisect: the report files from a made-up result', () => {
  it('bisect.md names the first bad commit, its diff stat, the steps and the comparison', () => {
    const md = renderBisectMarkdown(madeReport());
    expect(md).to.match(/^# vnet-harness bisect: 🎯 first bad commit: 555555555555 stage 3: MAC &lt;ends&gt; in 0x12/);
    expect(md).to.contain('## First bad commit');
    expect(md).to.contain(`| \`${'5'.repeat(40)}\` | stage 3: MAC &lt;ends&gt; in 0x12 | Ann Dev &lt;ann@example.org&gt; | 2026-11-20T10:00:00\\+01:00 |`);
    expect(md).to.contain('drivers/virt_net/virt_net3.c | 4 ++--');
    expect(md).to.contain('| 1 | --good | `000000000000` | A: the drivers | ✅ good | 3:mac-address pass | 3 pass | 12.0 s |');
    expect(md).to.contain('| 3 | step | `444444444444` | comment 4 | ⚠️ error | cannot add a worktree | — | 900 ms |');
    expect(md).to.contain('## vnet-harness compare: ❌ regression');
    expect(md).to.contain('`3:mac-address`');
  });

  it('bisect.html stands alone in the report style and escapes what came from commits', () => {
    const page = renderBisectHtml(madeReport());
    expect(page).to.contain('Content-Security-Policy');
    expect(page).to.contain('--pass:#1a7f37');
    expect(page).to.contain('stage 3: MAC &lt;ends&gt; in 0x12');
    expect(page).to.not.contain('MAC <ends>');
    expect(page).to.contain('<a href="runs/01-000000000000/report.html">run-1</a>');
    // The comparison is nested: its own title is an h2 under the page's h1.
    expect(page.match(/<h1>/g)).to.have.length(1);
    expect(page).to.match(/<h2>vnet-harness compare <span class="badge v-fail big">regression<\/span><\/h2>/);
  });

  it('bisect.json is the report itself; a range lists its candidates and says they are untestable', () => {
    const r = madeReport({ status: 'range', range: [commit('5', 'five'), commit('6', 'six')], skipped: ['5'.repeat(40)], message: 'one of 2' });
    expect(JSON.parse(renderBisectJson(r))).to.deep.equal(JSON.parse(JSON.stringify(r)));
    const md = renderBisectMarkdown(r);
    expect(md).to.contain('first bad commit: one of 2 \\(555555555555, 666666666666\\)');
    expect(md).to.contain('## First bad commit: one of these');
    expect(md).to.contain('Untestable: `555555555555`');
    expect(renderBisectHtml(r)).to.contain('<h2>First bad commit: one of these</h2>');
  });
});

// ---------------------------------------------------------------- the command, with a fake run

async function git(repo: string, ...args: string[]): Promise<string> {
  return (await execa('git', ['-C', repo, ...args])).stdout;
}

/**
 * A driver repository: a first commit (good), then `count` commits that each
 * change a comment in virt_net3.c. The commit numbered in `bugs` also turns
 * the MAC into ...:12; in `broken`, the file gets a syntax error marker (the
 * fake run says the module does not build), removed again by the next commit.
 */
async function driverRepo(dir: string, count: number, bugs: Record<number, 'mac' | 'build'>): Promise<{ repo: string; modules: string; commits: string[] }> {
  const repo = path.join(dir, 'repo');
  const modules = path.join(repo, 'drivers', 'virt_net');
  await mkdir(modules, { recursive: true });
  await writeFile(path.join(repo, 'README'), 'not the driver\n');
  await git(dir, 'init', '-q', '-b', 'main', repo);
  await git(repo, 'config', 'user.name', 'vnet test');
  await git(repo, 'config', 'user.email', 'vnet-test@localhost');
  let mac = '0x11';
  const write = async (i: number, broken: boolean) =>
    writeFile(path.join(modules, 'virt_net3.c'), `/* revision ${i} */\nstatic const u8 mac_last = ${mac};${broken ? '\nBROKEN' : ''}\n`);
  await write(0, false);
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'A: the drivers');
  const commits = [await git(repo, 'rev-parse', 'HEAD')];
  for (let i = 1; i <= count; i++) {
    if (bugs[i] === 'mac') mac = '0x12';
    await write(i, bugs[i] === 'build');
    await git(repo, 'commit', '-q', '-am', bugs[i] === 'mac' ? `commit ${i}: stage 3 MAC ends in 0x12` : `commit ${i}: comment`);
    commits.push(await git(repo, 'rev-parse', 'HEAD'));
    // A commit outside the driver tree, never run.
    if (i === 2) {
      await writeFile(path.join(repo, 'README'), 'still not the driver\n');
      await git(repo, 'commit', '-q', '-am', 'docs only');
    }
  }
  return { repo, modules, commits };
}

/** A run that reads virt_net3.c at the revision instead of booting a board; `errors` lists commits whose first run fails. */
function fakeRun(repo: string, log: OneRun[], errors = new Set<string>()) {
  return async (o: OneRun): Promise<RunDone> => {
    log.push(o);
    const rev = o.rev as string;
    const text = await git(repo, 'show', `${rev}:drivers/virt_net/virt_net3.c`);
    const flaky = errors.has(rev);
    errors.delete(rev);
    const stages = o.stages.map((stage): MadeStage => {
      if (flaky) return { stage, verdict: 'error' };
      if (text.includes('BROKEN')) return { stage, verdict: 'build-error', checks: { 'module-loads': 'skipped' } };
      if (stage !== 3) return { stage, verdict: 'pass', checks: { 'module-loads': 'pass' } };
      const wrong = text.includes('0x12');
      return { stage, verdict: wrong ? 'fail' : 'pass', checks: { 'module-loads': 'pass', 'mac-address': wrong ? 'fail' : 'pass', 'no-kernel-fault': 'pass' } };
    });
    const results = madeRun(stages, { runId: `run-${log.length}`, driver: { path: o.modulesDir, gitRevision: rev, gitDirty: false, contentHash: `sha256:${rev}` } });
    return { results, outDir: o.outDir as string, exitCode: 0 };
  };
}

describe('bisect: the command over a git repository, with a fake run instead of a board', function () {
  this.timeout(60_000);
  let tmp: string;
  const out: string[] = [];
  const options = (modules: string, good: string, bad: string, extra: Record<string, string> = {}) => ({
    board: 'qemu-imx25',
    boardsDir: path.join(PROJECT_ROOT, 'boards'),
    modules,
    good,
    bad,
    out: path.join(tmp, 'out'),
    ...extra,
  });
  const deps = (run: (o: OneRun) => Promise<RunDone>) => ({ run, progress: silentProgress(), stdout: (t: string) => void out.push(t) });

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vnet-bisect-'));
    out.length = 0;
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('lists only the commits that touch the driver tree, oldest first', async () => {
    const { repo, commits } = await driverRepo(tmp, 4, {});
    expect(await commitsToBisect(repo, 'drivers/virt_net', commits[0] as string, commits[4] as string)).to.deep.equal(commits.slice(1));
    // --bad a docs-only commit after the last driver commit: that commit stands for it.
    await writeFile(path.join(repo, 'README'), 'docs again\n');
    await git(repo, 'commit', '-q', '-am', 'docs again');
    expect(await commitsToBisect(repo, 'drivers/virt_net', commits[0] as string, 'HEAD')).to.deep.equal(commits.slice(1));
  });

  it('names the seeded commit among 10, runs only stage 3 after the ends, within ⌈log2 n⌉ + 2 runs, and writes the three files', async () => {
    const { repo, modules, commits } = await driverRepo(tmp, 10, { 6: 'mac' });
    const log: OneRun[] = [];
    const code = await bisectCommand(options(modules, commits[0] as string, 'main'), deps(fakeRun(repo, log)));
    expect(code, out.join('')).to.equal(0);
    const report = JSON.parse(await readFile(path.join(tmp, 'out', 'bisect.json'), 'utf8')) as BisectReport;
    expect(report.status).to.equal('found');
    expect(report.firstBad?.commit).to.equal(commits[6]);
    expect(report.firstBad?.subject).to.equal('commit 6: stage 3 MAC ends in 0x12');
    expect(report.firstBad?.author).to.equal('vnet test <vnet-test@localhost>');
    expect(report.firstBad?.diffStat).to.match(/drivers\/virt_net\/virt_net3\.c \| 4 \+\+--/);
    expect(report.lastGood?.commit).to.equal(commits[5]);
    expect(report.watched).to.deep.equal([MAC]);
    expect(report.commits).to.equal(10);
    expect(log.length).to.be.at.most(Math.ceil(Math.log2(10)) + 2);
    expect(report.runs).to.equal(log.length);
    expect(log.slice(0, 2).map((o) => o.stages)).to.deep.equal([[1, 2, 3, 4], [1, 2, 3, 4]]);
    for (const o of log.slice(2)) expect(o.stages).to.deep.equal([3]);
    // One board for every run: the same session, handed to each.
    expect(log[0]?.session).to.be.instanceOf(BoardSession);
    expect(new Set(log.map((o) => o.session)).size).to.equal(1);
    // The docs-only commit is never run.
    const docs = await git(repo, 'log', '--format=%H', '--grep', 'docs only');
    expect(log.map((o) => o.rev)).to.not.include(docs);
    expect(report.comparison?.checks.filter((c) => c.change === 'new-failure').map((c) => `${c.stage}:${c.id}`)).to.deep.equal(['3:mac-address']);
    expect(report.steps[0]?.watched).to.deep.equal([{ ...MAC, state: 'pass' }]);
    for (const f of ['bisect.md', 'bisect.html']) expect(existsSync(path.join(tmp, 'out', f)), f).to.equal(true);
    expect(out.join('')).to.contain(`bisect: first bad commit: ${(commits[6] as string).slice(0, 12)} commit 6: stage 3 MAC ends in 0x12`);
  });

  it('a module that does not build next to the seeded commit, and a flaky run: the answer is an honest range, the flaky run retried', async () => {
    const { repo, modules, commits } = await driverRepo(tmp, 8, { 4: 'build', 5: 'mac' });
    const log: OneRun[] = [];
    // The first step (commit 4 of 8, the middle) does not build; its neighbour 3 errs once.
    const code = await bisectCommand(options(modules, commits[0] as string, commits[8] as string, { check: 'mac-address' }), deps(fakeRun(repo, log, new Set([commits[3] as string]))));
    expect(code, out.join('')).to.equal(0);
    const report = JSON.parse(await readFile(path.join(tmp, 'out', 'bisect.json'), 'utf8')) as BisectReport;
    expect(report.status).to.equal('range');
    expect(report.range?.map((c) => c.commit)).to.deep.equal([commits[4], commits[5]]);
    expect(report.skipped).to.deep.equal([commits[4]]);
    expect(report.lastGood?.commit).to.equal(commits[3]);
    expect(report.watchedFrom).to.equal('check-option');
    // With --check, the ends run only stage 3 too.
    expect(log.every((o) => o.stages.join() === '3')).to.equal(true);
    expect(report.steps.filter((s) => s.commit === commits[3]).map((s) => s.outcome)).to.deep.equal(['error', 'good']);
    expect(report.message).to.contain('could not be tested');
  });

  it('the regression does not reproduce: exit 1 with the reason (--bad not bad; --good not good)', async () => {
    const { repo, modules, commits } = await driverRepo(tmp, 3, { 1: 'mac' });
    const notBad = await bisectCommand(options(modules, commits[1] as string, commits[3] as string), deps(fakeRun(repo, [])));
    expect(notBad, out.join('')).to.equal(1);
    expect(out.join('')).to.match(/--bad \w+ is not bad: no check fails there that passes at --good \w+ \(failing at both ends: 3:mac-address\)/);
    out.length = 0;
    const notGood = await bisectCommand(options(modules, commits[1] as string, commits[3] as string, { check: '3:mac-address', out: path.join(tmp, 'out2') }), deps(fakeRun(repo, [])));
    expect(notGood).to.equal(1);
    expect(out.join('')).to.contain('is not good: the watched checks fail there (3:mac-address fail)');
    expect(JSON.parse(await readFile(path.join(tmp, 'out2', 'bisect.json'), 'utf8'))).to.include({ status: 'not-reproduced' });
  });

  it('an end the harness cannot test twice: exit 2', async () => {
    const { repo, modules, commits } = await driverRepo(tmp, 3, { 2: 'mac' });
    const dead = async (): Promise<RunDone> => {
      throw new (await import('../src/errors.ts')).HarnessError('board qemu-imx25: boot-failed: no console');
    };
    expect(await bisectCommand(options(modules, commits[0] as string, commits[3] as string), deps(dead))).to.equal(2);
    expect(out.join('')).to.contain('could not be tested, twice: board qemu-imx25: boot-failed: no console');
    void repo;
  });

  it('bad input before any run: unknown revision, --good not an ancestor, no driver commit between, unknown check', async () => {
    const { repo, modules, commits } = await driverRepo(tmp, 2, {});
    const log: OneRun[] = [];
    const run = fakeRun(repo, log);
    const rejects = async (o: ReturnType<typeof options>, message: RegExp) => {
      let error: unknown;
      await bisectCommand(o, deps(run)).catch((e: unknown) => (error = e));
      expect(error, String(message)).to.be.instanceOf(Error);
      expect((error as Error).name).to.equal('HarnessError');
      expect((error as Error).message).to.match(message);
    };
    await rejects(options(modules, 'no-such-rev', 'main'), /git revision no-such-rev is not a commit/);
    await rejects(options(modules, commits[2] as string, commits[0] as string), /is not an ancestor of --bad/);
    await writeFile(path.join(repo, 'README'), 'docs\n');
    await git(repo, 'commit', '-q', '-am', 'docs');
    await rejects(options(modules, commits[2] as string, 'main'), /no commit .* touches the driver tree drivers\/virt_net/);
    await rejects(options(modules, commits[0] as string, 'main', { check: 'no-such-check' }), /--check: no check "no-such-check"/);
    expect(log).to.have.length(0);
  });
});

// ---------------------------------------------------------------- usage errors

describe('bisect: usage errors on the command line (one line, exit 2, nothing run)', () => {
  async function cli(...words: string[]): Promise<{ code: number; stderr: string; ran: boolean }> {
    let stderr = '';
    let ran = false;
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    }) as typeof process.stderr.write;
    const record = async () => {
      ran = true;
      return 0;
    };
    try {
      const actions = Object.fromEntries(['boards', 'doctor', 'build', 'boot', 'run', 'test', 'compare', 'bench', 'bisect'].map((c) => [c, record]));
      const code = await main(['node', 'vnet-harness', 'bisect', ...words], actions as unknown as Parameters<typeof main>[1]);
      return { code, stderr, ran };
    } finally {
      process.stderr.write = write;
    }
  }

  it('--good and --bad are required', async () => {
    const noGood = await cli('--bad', 'main');
    expect(noGood).to.deep.include({ code: 2, ran: false });
    expect(noGood.stderr).to.match(/^vnet-harness: required option '--good <git-rev>' not specified\n$/);
    const noBad = await cli('--good', 'v1');
    expect(noBad.stderr).to.match(/required option '--bad <git-rev>' not specified/);
  });

  it('a malformed --check or --stages is refused when parsed', async () => {
    const check = await cli('--good', 'a', '--bad', 'b', '--check', 'Mac Address');
    expect(check).to.deep.include({ code: 2, ran: false });
    expect(check.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(check.stderr).to.match(/--check.*"Mac Address" is not a check id/);
    const stages = await cli('--good', 'a', '--bad', 'b', '--stages', '5');
    expect(stages).to.deep.include({ code: 2, ran: false });
  });

  it('the action gets what the table says: no default stages (the ends decide), the rest defaulted', async () => {
    let seen: object | undefined;
    const actions = Object.fromEntries(
      ['boards', 'doctor', 'build', 'boot', 'run', 'test', 'compare', 'bench', 'bisect'].map((c) => [
        c,
        async (o: object) => {
          seen = { ...o };
          return 0;
        },
      ]),
    );
    await main(['node', 'vnet-harness', 'bisect', '--good', 'v1', '--bad', 'main', '--check', '3:mac-address'], actions as unknown as Parameters<typeof main>[1]);
    expect(seen).to.deep.equal({
      board: 'qemu-imx25',
      boardsDir: path.join(PROJECT_ROOT, 'boards'),
      modules: path.join(PROJECT_ROOT, 'kernel-modules', 'virt_net'),
      good: 'v1',
      bad: 'main',
      check: '3:mac-address',
    });
  });
});

// ---------------------------------------------------------------- one board for every run

/** A board that answers `true` while `alive`, counts its boots and recoveries, and records being closed. */
function fakeBoard(name: string, opts: { recoverFails?: boolean } = {}) {
  const state = { alive: true, closed: false, recoveries: 0, transcript: `${name} boot\n` };
  const strategy = {
    boots: 1,
    recover: async (_why: string) => {
      if (opts.recoverFails) throw new Error('power cycle failed');
      state.recoveries++;
      strategy.boots++;
      state.alive = true;
      state.transcript += '===== power cycle =====\nboot again\n';
      return { reason: _why, method: 'kill-restart', bootMs: 1, durationMs: 1 };
    },
  };
  const board = {
    name,
    transportKind: 'ssh',
    strategy,
    console: { transcript: () => state.transcript },
    run: async () => {
      if (!state.alive) throw new Error('board-lost');
      return { exitCode: 0, stdout: '', stderr: '', durationMs: 1 };
    },
    close: async () => {
      state.closed = true;
    },
  };
  return { board: board as unknown as BoardTarget, state };
}

describe('bisect: one board for every run (BoardSession, fake boards)', () => {
  const config = loadBoard('qemu-imx25', { boardsDir: path.join(PROJECT_ROOT, 'boards') });
  const mark = <T>(_phase: string, body: () => Promise<T>) => body();

  it('opens the board once, hands it to the next runs as it is, and closes it at the end', async () => {
    const opened: ReturnType<typeof fakeBoard>[] = [];
    const open = async () => {
      const b = fakeBoard(`board-${opened.length + 1}`);
      opened.push(b);
      return b.board;
    };
    const session = new BoardSession(config, { progress: silentProgress(), open });
    const first = await session.acquire(mark);
    expect(first).to.include({ reused: false, consoleFrom: 0 });
    opened[0]!.state.transcript += 'run 1 output\n';
    const second = await session.acquire(mark);
    expect(second.reused).to.equal(true);
    expect(second.board).to.equal(first.board);
    // The second run's console starts where the first run's ended.
    expect(second.consoleFrom).to.equal(opened[0]!.state.transcript.length);
    expect(opened).to.have.length(1);
    expect(session.runs).to.equal(2);
    expect(session.boots).to.equal(1);
    await session.close();
    expect(opened[0]!.state.closed).to.equal(true);
    expect(session.boots).to.equal(1);
  });

  it('a board that stopped answering is power-cycled before the next run; one that cannot be is opened anew', async () => {
    const opened: ReturnType<typeof fakeBoard>[] = [];
    const open = async () => {
      const b = fakeBoard(`board-${opened.length + 1}`, { recoverFails: opened.length === 0 ? false : true });
      opened.push(b);
      return b.board;
    };
    const session = new BoardSession(config, { progress: silentProgress(), open });
    await session.acquire(mark);
    opened[0]!.state.alive = false;
    const recovered = await session.acquire(mark);
    expect(recovered.reused).to.equal(true);
    expect(opened[0]!.state.recoveries).to.equal(1);
    expect(session.boots).to.equal(2);
    // The recovery is part of the run that needed it: its console starts before the power cycle.
    expect(opened[0]!.state.transcript.slice(recovered.consoleFrom)).to.contain('===== power cycle =====');
    // The next board cannot be recovered: it is closed and a new one opened.
    await session.close();
    await session.acquire(mark);
    opened[1]!.state.alive = false;
    const fresh = await session.acquire(mark);
    expect(fresh.reused).to.equal(false);
    expect(opened).to.have.length(3);
    expect(opened[1]!.state.closed).to.equal(true);
    expect(session.boots).to.equal(2 + 1 + 1);
    await session.close();
    expect(opened[2]!.state.closed).to.equal(true);
  });
});
