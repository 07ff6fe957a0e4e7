// Tests of run comparison: a seeded bug must read as a regression (exit 1),
// the same run against itself must not (exit 0), and noise must stay noise.

import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResults } from '../src/results/model.ts';
import { compareCommand } from '../src/compare/command.ts';
import { compareRuns } from '../src/compare/compare.ts';
import { normalizeEventLine } from '../src/compare/normalize.ts';
import { renderComparisonHtml } from '../src/compare/render-html.ts';
import { parseResults } from '../src/reporters/load-results.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'reports');

async function load(name: string): Promise<RunResults> {
  const file = path.join(FIXTURES, `${name}.json`);
  return parseResults(await readFile(file, 'utf8'), file);
}

let tmp: string;
let root: string;
let good: RunResults;
let bug: RunResults;

// A reports folder as runs leave it: reports/<run-id>/results.json.
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vnet-compare-'));
  root = path.join(tmp, 'reports');
  good = await load('pass-run');
  bug = await load('bug-run');
  for (const r of [good, bug]) {
    await mkdir(path.join(root, r.runId), { recursive: true });
    await cp(path.join(FIXTURES, `${r === good ? 'pass' : 'bug'}-run.json`), path.join(root, r.runId, 'results.json'));
  }
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// Collects what the command prints; `io` is what the command is given.
function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) } };
}

describe('compare: compareRuns', () => {
  it('project run vs seeded-bug run: regression, with the MAC check as a new failure', () => {
    const c = compareRuns(good, bug);
    expect(c.regression).to.equal(true);
    const mac = c.checks.find((x) => x.stage === 3 && x.id === 'mac-address');
    expect(mac).to.include({ change: 'new-failure', a: 'pass', b: 'fail', expected: '08:89:89:89:89:11', actual: '08:89:89:89:89:12', regression: true });
    expect(c.checks.filter((x) => x.change === 'new-failure').map((x) => `${x.stage}:${x.id}`)).to.deep.equal([
      '1:ping-peer-no-reply',
      '1:no-kernel-fault',
      '3:mac-address',
    ]);
    expect(c.checks.filter((x) => x.change === 'skipped').map((x) => x.id)).to.deep.equal(['tx-dropped', 'clean-unload']);
    expect(c.stages.map((s) => s.change)).to.deep.equal(['worse', 'same', 'worse', 'same']);
    expect(c.stages[0]).to.include({ a: 'pass', b: 'crash' });
    expect(c.newKernelEvents).to.have.length(1);
    expect(c.newKernelEvents[0]).to.include({ stage: 1, class: 'panic', countA: 0, countB: 1, fatal: true });
    expect(c.newWarnings.map((w) => w.key)).to.deep.equal(["virt_net3.c: unused variable 'i'"]);
    expect(c.driver).to.include({ sameRevision: false, sameContent: false });
    expect(c.driver.b.gitDirty).to.equal(true);
    expect(c.rtt.find((t) => t.stage === 4)?.regression).to.equal(false);
    expect(c.reasons.join('\n')).to.contain('stage 3 mac-address: new failure');
  });

  it('the same run against itself: no regression, every check still passing', () => {
    const c = compareRuns(good, good);
    expect(c.regression).to.equal(false);
    expect(c.reasons).to.deep.equal([]);
    expect(new Set(c.checks.map((x) => x.change))).to.deep.equal(new Set(['still-passing']));
    expect(c.driver).to.include({ sameRevision: true, sameContent: true });
    expect(c.notes).to.include('both sides are the same run');
  });

  it('the bug run against the project run: fixed, not a regression', () => {
    const c = compareRuns(bug, good);
    expect(c.regression, c.reasons.join('\n')).to.equal(false);
    expect(c.checks.find((x) => x.id === 'mac-address')?.change).to.equal('fixed');
    expect(c.stages.map((s) => s.change)).to.deep.equal(['better', 'same', 'better', 'same']);
    expect(c.goneKernelEvents).to.have.length(1);
    expect(c.goneWarnings).to.have.length(1);
  });

  it('a check failing in both runs is still failing, not new', () => {
    const c = compareRuns(bug, bug);
    expect(c.regression).to.equal(false);
    expect(c.checks.find((x) => x.id === 'mac-address')?.change).to.equal('still-failing');
  });

  describe('RTT thresholds', () => {
    function withRtts(rtts: number[]): RunResults {
      const r = structuredClone(good);
      r.stages[3]!.rttsMs = rtts;
      return r;
    }
    const base = [0.412, 0.388, 0.395, 0.401, 0.377, 0.42, 0.39, 0.405, 0.398, 0.61];

    it('noise under the threshold is not a regression (+40 %)', () => {
      const c = compareRuns(withRtts(base), withRtts(base.map((v) => v * 1.4)));
      expect(c.regression, c.reasons.join('\n')).to.equal(false);
    });
    it('+90 % on a sub-millisecond RTT stays under the 0.5 ms floor: not a regression', () => {
      // median 0.400 → 0.759 ms, p95 0.524 → 0.996 ms: both far over +50 %, both under +0.5 ms.
      const c = compareRuns(withRtts(base), withRtts(base.map((v) => v * 1.9)));
      expect(c.rtt[0]).to.include({ medianRegression: false, p95Regression: false });
      expect(c.regression).to.equal(false);
    });
    it('a real slowdown (median 0.4 → 1.6 ms) is a regression and says why', () => {
      const c = compareRuns(withRtts(base), withRtts(base.map((v) => v * 4)));
      expect(c.rtt[0]).to.include({ medianRegression: true, p95Regression: true, regression: true });
      expect(c.reasons.join('\n')).to.match(/stage 4: RTT median 0\.400 ms → 1\.598 ms/);
    });
    it('thresholds are options', () => {
      const c = compareRuns(withRtts(base), withRtts(base.map((v) => v * 1.4)), { rttThresholdPct: 10, rttMinDeltaMs: 0.1 });
      expect(c.regression).to.equal(true);
    });
  });

  it('matches kernel events by class and first line without addresses, timestamps, pids', () => {
    const a = structuredClone(bug);
    const b = structuredClone(bug);
    a.stages[1]!.kernelEvents = [
      { class: 'warning', firstLine: '[   12.345678] WARNING: CPU: 0 PID: 77 at net/core/dev.c:3021 skb_warn_bad_offload+0x8c/0x110', text: '', fatal: false },
    ];
    b.stages[1]!.kernelEvents = [
      { class: 'warning', firstLine: 'WARNING: CPU: 1 PID: 1203 at net/core/dev.c:3021 skb_warn_bad_offload+0x90/0x118', text: '', fatal: false },
    ];
    expect(compareRuns(a, b).newKernelEvents).to.deep.equal([]);
    b.stages[1]!.kernelEvents.push({ class: 'bug', firstLine: 'BUG: scheduling while atomic: ping/251/0x00000100', text: '', fatal: false });
    const c = compareRuns(a, b);
    expect(c.newKernelEvents.map((e) => e.class)).to.deep.equal(['bug']);
    expect(c.regression).to.equal(true);
    expect(normalizeEventLine('Unable to handle kernel NULL pointer dereference at virtual address 00000000')).to.equal(
      'Unable to handle kernel NULL pointer dereference at virtual address ?',
    );
  });

  it('matches build warnings by file name and message, not by line or folder', () => {
    const a = structuredClone(bug);
    const b = structuredClone(bug);
    const w = b.stages[2]!.build!.warnings[0]!;
    b.stages[2]!.build!.warnings = [{ ...w, file: '/elsewhere/virt_net3.c', line: 99, column: 5 }];
    b.stages[2]!.build!.diagnostics = [];
    expect(compareRuns(a, b).newWarnings).to.deep.equal([]);
    b.stages[2]!.build!.warnings.push({ ...w, message: "unused variable 'j'" });
    expect(compareRuns(a, b).newWarnings.map((x) => x.message)).to.deep.equal(["unused variable 'j'"]);
  });

  it('a dropped counter that jumps is a regression; one extra drop is not', () => {
    const a = structuredClone(good);
    const b = structuredClone(good);
    const stats = b.stages[0]!.readings[2]!.statistics;
    stats.tx_dropped = 4; // 3 → 4
    expect(compareRuns(a, b).regression).to.equal(false);
    stats.tx_dropped = 12; // 3 → 12
    const c = compareRuns(a, b);
    expect(c.counters.find((x) => x.stage === 1 && x.counter === 'tx_dropped')).to.include({ a: 3, b: 12, delta: 9, regression: true });
    expect(c.regression).to.equal(true);
  });
});

describe('compare: compareCommand', () => {
  it('by run id: prints Markdown, writes the default file, exits 1 on the seeded bug', async () => {
    const cap = capture();
    const code = await compareCommand({ a: good.runId, b: bug.runId, reportsRoot: root, ...cap.io });
    expect(code).to.equal(1);
    const text = cap.out.join('');
    expect(text).to.contain('## vnet-harness compare: ❌ regression');
    expect(text).to.match(/\| 3 \| `mac-address` \| pass \| fail \| ❌ new failure \| `08:89:89:89:89:11` \| `08:89:89:89:89:12` \|/);
    const out = path.join(root, `compare-${good.runId}-vs-${bug.runId}.md`);
    expect(await readFile(out, 'utf8')).to.equal(text);
    expect(cap.err.join('')).to.contain(out);
  });

  it('by folder and by results.json path: the same run twice exits 0', async () => {
    const cap = capture();
    const code = await compareCommand({
      a: path.join(root, good.runId),
      b: path.join(root, good.runId, 'results.json'),
      reportsRoot: root,
      format: 'json',
      out: path.join(tmp, 'same.json'),
      ...cap.io,
    });
    expect(code, cap.err.join('')).to.equal(0);
    const json = JSON.parse(await readFile(path.join(tmp, 'same.json'), 'utf8'));
    expect(json).to.include({ kind: 'vnet-harness-comparison', regression: false });
  });

  it('html format is one self-contained page', async () => {
    const cap = capture();
    const code = await compareCommand({ a: good.runId, b: bug.runId, reportsRoot: root, format: 'html', ...cap.io });
    expect(code).to.equal(1);
    const page = await readFile(path.join(root, `compare-${good.runId}-vs-${bug.runId}.html`), 'utf8');
    expect(page).to.contain('mac-address');
    expect(page).to.not.match(/https?:\/\/|<script\b|<link\b|<img\b/i);
    // Board text in a comparison is escaped too.
    const hostile = await load('hostile-run');
    const html = renderComparisonHtml(compareRuns(good, hostile));
    expect(html).to.not.match(/<script\b|<img\b/i);
  });

  describe('unreadable input: exit 2 with a clear message', () => {
    async function run(content: string | undefined, ref?: string) {
      const dir = path.join(tmp, `bad-${Math.random().toString(16).slice(2)}`);
      await mkdir(dir, { recursive: true });
      if (content !== undefined) await writeFile(path.join(dir, 'results.json'), content);
      const cap = capture();
      const code = await compareCommand({ a: good.runId, b: ref ?? dir, reportsRoot: root, out: path.join(dir, 'out.md'), ...cap.io });
      return { code, err: cap.err.join(''), dir, wrote: existsSync(path.join(dir, 'out.md')) };
    }

    it('invalid JSON names the file and line:col', async () => {
      const r = await run('{\n  "schema": 1,\n  "runId": "x",\n}\n');
      expect(r.code).to.equal(2);
      expect(r.err).to.contain(`${path.join(r.dir, 'results.json')}:4:1: not valid JSON`);
      expect(r.wrote).to.equal(false);
    });
    it('a truncated file says where it ends', async () => {
      const r = await run('{"schema": 1, "runId": ');
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/results\.json:1:24: not valid JSON/);
    });
    it('another schema version is named as such', async () => {
      const r = await run(JSON.stringify({ ...good, schema: 2 }));
      expect(r.code).to.equal(2);
      expect(r.err).to.contain('results schema 2; this harness reads schema 1 (written by a newer harness: update it)');
    });
    it('a wrong field is named by its path', async () => {
      const broken = structuredClone(good) as unknown as { stages: { checks: { verdict: string }[] }[] };
      broken.stages[2]!.checks[5]!.verdict = 'maybe';
      const r = await run(JSON.stringify(broken));
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/stages\[2\]\.checks\[5\]\.verdict: /);
    });
    it('a run that does not exist names what was tried', async () => {
      const cap = capture();
      const code = await compareCommand({ a: 'no-such-run', b: good.runId, reportsRoot: root, ...cap.io });
      expect(code).to.equal(2);
      expect(cap.err.join('')).to.contain(`run "no-such-run" not found: no file or folder ${path.resolve('no-such-run')}, and no run "no-such-run" under ${root}`);
    });
    it('a run folder without results.json says so', async () => {
      const r = await run(undefined);
      expect(r.code).to.equal(2);
      expect(r.err).to.contain(`${path.join(r.dir, 'results.json')}: cannot read results: no such file`);
    });
  });
});
