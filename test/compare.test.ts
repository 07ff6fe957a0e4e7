// Tests of run comparison: a seeded bug must read as a regression (exit 1),
// the same run against itself must not (exit 0), and noise must stay noise:
// timing judged by a rank test with a minimum effect (and on an emulated
// board only with --perf-gate), counters the kernel decides not compared.

import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_SCHEMA, type RunResults } from '../src/results/model.ts';
import { compareCommand } from '../src/compare/command.ts';
import { compareRuns, DEFAULT_COMPARE_OPTIONS } from '../src/compare/compare.ts';
import { normalizeEventLine } from '../src/compare/normalize.ts';
import { renderComparisonHtml } from '../src/compare/render-html.ts';
import { renderComparisonMarkdown } from '../src/compare/render-markdown.ts';
import { renderComparisonText } from '../src/compare/render-text.ts';
import { recordRunFolder, resolveRun, RUN_RECORDS } from '../src/compare/resolve.ts';
import { parseResults } from '../src/reporters/load-results.ts';
import { scanRuns } from '../src/reporters/run-index.ts';

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

  describe('round-trip times: rank test, minimum effect, perf gate', () => {
    function withRtts(rtts: number[], emulated = true): RunResults {
      const r = structuredClone(good);
      r.stages[3]!.rttsMs = rtts;
      r.board.emulated = emulated;
      return r;
    }
    // 20 echoes as stage 4 takes them now: the first one slow (warm-up), the rest around 0.47 ms.
    const normal = [1.21, 0.471, 0.468, 0.482, 0.466, 0.474, 0.49, 0.462, 0.477, 0.469, 0.473, 0.481, 0.465, 0.47, 0.476, 0.467, 0.479, 0.472, 0.486, 0.464];
    const plus = (d: number) => normal.map((v, i) => (i === 0 ? v : v + d));

    it('the issue\'s samples [1.647, 0.487, 0.474, 0.467, 0.476] against a normal run: not a regression, even with --perf-gate', () => {
      // Before: p95 0.490 → 1.415 ms (+189 %, +0.9 ms) made it a regression.
      const a = withRtts([0.49, 0.471, 0.468, 0.482, 0.466]);
      const b = withRtts([1.647, 0.487, 0.474, 0.467, 0.476]);
      for (const perfGate of [false, true]) {
        const c = compareRuns(a, b, { perfGate });
        expect(c.regression, c.reasons.join('\n')).to.equal(false);
        expect(c.rtt[0]).to.include({ stage: 4, samplesA: 4, samplesB: 4, warmup: 1, change: 'too-few-samples', regression: false });
        expect(c.reported).to.deep.equal([]);
      }
      // Real boards on both sides: still nothing to judge from 4 echoes.
      expect(compareRuns(withRtts([0.49, 0.471, 0.468, 0.482, 0.466], false), withRtts([1.647, 0.487, 0.474, 0.467, 0.476], false)).regression).to.equal(false);
    });

    it('a slow first echo and one slow echo later in 20 change nothing: no change, even with --perf-gate on real boards', () => {
      const b = [1.647, ...normal.slice(1)];
      b[7] = 1.52;
      const c = compareRuns(withRtts(normal, false), withRtts(b, false), { perfGate: true });
      expect(c.rtt[0]).to.include({ samplesA: 19, samplesB: 19, change: 'no-change', regression: false });
      expect(Math.abs(c.rtt[0]!.shiftMs!)).to.be.below(0.01);
      expect(c.regression, c.reasons.join('\n')).to.equal(false);
    });

    it('a 2 ms slowdown of every echo: reported on an emulated board, a regression only with --perf-gate', () => {
      const quiet = compareRuns(withRtts(normal), withRtts(plus(2)));
      expect(quiet.rtt[0]).to.include({ change: 'slower', gated: false, regression: false });
      expect(quiet.regression).to.equal(false);
      expect(quiet.reported).to.have.length(1);
      expect(quiet.reported[0]).to.match(/^stage 4: RTT slower by 2\.000 ms .*--perf-gate judges it\)$/);

      const gated = compareRuns(withRtts(normal), withRtts(plus(2)), { perfGate: true });
      expect(gated.rtt[0]).to.include({ change: 'slower', gated: true, regression: true });
      expect(gated.rtt[0]!.shiftMs).to.be.closeTo(2, 1e-9);
      expect(gated.rtt[0]!.pSlower).to.be.below(1e-6);
      expect(gated.rtt[0]!.shiftCiLowMs).to.be.above(1.9);
      expect(gated.regression).to.equal(true);
      expect(gated.reasons).to.have.length(1);
      expect(gated.reasons[0]).to.match(/^stage 4: RTT slower by 2\.000 ms \(median 0\.472 ms → 2\.472 ms; shift \+2\.000 ms, 95 % CI \+1\.9\d\d ms … \+2\.0\d\d ms; Mann-Whitney p < 0\.0001, n = 19\/19; minimum effect 0\.500 ms\)$/);
    });

    it('between two real boards a slowdown fails without --perf-gate', () => {
      const c = compareRuns(withRtts(normal, false), withRtts(plus(2), false));
      expect(c.rtt[0]).to.include({ change: 'slower', gated: true, regression: true });
    });

    it('+90 % on a sub-millisecond RTT stays under the 0.5 ms floor: significant, but no change', () => {
      const c = compareRuns(withRtts(normal), withRtts(normal.map((v) => v * 1.9)), { perfGate: true });
      expect(c.rtt[0]!.pSlower).to.be.below(0.001);
      expect(c.rtt[0]).to.include({ change: 'no-change', regression: false });
    });

    it('a shift under the noise of the samples is not significant, however large the floor allows', () => {
      // Every echo of B lies within A's spread: p is large.
      const c = compareRuns(withRtts(normal), withRtts([...normal].reverse()), { perfGate: true, rttMinDeltaMs: 0, rttThresholdPct: 0 });
      expect(c.rtt[0]!.pSlower).to.be.above(0.1);
      expect(c.rtt[0]!.change).to.equal('no-change');
    });

    it('a faster B is reported, never a regression', () => {
      const c = compareRuns(withRtts(plus(2)), withRtts(normal), { perfGate: true });
      expect(c.rtt[0]).to.include({ change: 'faster', regression: false });
      expect(c.regression).to.equal(false);
      expect(c.reported[0]).to.match(/^stage 4: RTT faster by 2\.000 ms/);
    });

    it('thresholds are options', () => {
      const c = compareRuns(withRtts(normal), withRtts(plus(0.2)), { perfGate: true, rttThresholdPct: 10, rttMinDeltaMs: 0.1 });
      expect(c.rtt[0]).to.include({ change: 'slower', regression: true });
      expect(compareRuns(withRtts(normal), withRtts(plus(0.2)), { perfGate: true }).regression).to.equal(false);
      // The options of the comparison are its own: a command's other fields do not leak into them.
      expect(Object.keys(c.options).sort()).to.deep.equal(Object.keys(DEFAULT_COMPARE_OPTIONS).sort());
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

  it('packet and byte counters are not compared: stage 3 tx_packets 1 → 2 (an ARP retry) is no metric change', () => {
    const a = structuredClone(good);
    const b = structuredClone(good);
    Object.assign(a.stages[2]!.readings[2]!.statistics, { tx_packets: 1, tx_bytes: 42 });
    Object.assign(b.stages[2]!.readings[2]!.statistics, { tx_packets: 2, tx_bytes: 84 });
    const c = compareRuns(a, b);
    expect(c.regression).to.equal(false);
    expect(c.counters.map((x) => x.counter)).to.not.include.members(['tx_packets', 'tx_bytes', 'rx_packets', 'rx_bytes']);
    expect(c.counters.filter((x) => x.delta !== 0)).to.deep.equal([]);
    // (Markdown escapes the underscore.)
    expect(renderComparisonMarkdown(c)).to.not.match(/tx\\?_(packets|bytes)/);
    expect(renderComparisonText(c)).to.not.match(/tx_packets|tx_bytes/);
  });

  it('a dropped counter is judged by its share of the frames: more frames all dropped is not a regression, drops where none were is', () => {
    const a = structuredClone(good);
    const b = structuredClone(good);
    // Stage 1 drops every frame by design: the kernel sent 12 frames instead of 3 (ARP retries).
    b.stages[0]!.readings[2]!.statistics.tx_dropped = 12;
    let c = compareRuns(a, b);
    expect(c.counters.find((x) => x.stage === 1 && x.counter === 'tx_dropped')).to.include({ a: 3, b: 12, delta: 9, shareA: 1, shareB: 1, regression: false });
    expect(c.regression).to.equal(false);
    // Stage 4 answers every echo: one dropped reply is below the minimum, three are a regression.
    const stats = b.stages[3]!.readings[b.stages[3]!.readings.length - 1]!.statistics;
    stats.rx_dropped = 1;
    expect(compareRuns(a, b).regression).to.equal(false);
    stats.rx_dropped = 3;
    c = compareRuns(a, b);
    expect(c.counters.find((x) => x.stage === 4 && x.counter === 'rx_dropped')).to.include({ a: 0, b: 3, delta: 3, regression: true });
    expect(c.reasons).to.deep.equal(['stage 4: rx_dropped 0 → 3 (after ping 3.3.3.4): 0 % → 23 % of the rx frames']);
  });

  describe('stages in only one run', () => {
    it('a 4-stage run against a --stages 4 run compares stage 4 and says which stages were not in both', () => {
      const only4 = structuredClone(good);
      only4.stages = only4.stages.filter((s) => s.stage === 4);
      const c = compareRuns(good, only4);
      expect(c.stages.map((s) => s.stage)).to.deep.equal([4]);
      expect(c.checks.every((x) => x.stage === 4 && x.change === 'still-passing')).to.equal(true);
      expect(c.onlyInA).to.deep.equal([1, 2, 3]);
      expect(c.onlyInB).to.deep.equal([]);
      expect(c.notes).to.include('stages 1, 2, 3 only in A: not compared');
      expect(c.regression).to.equal(false);
      expect(renderComparisonMarkdown(c)).to.not.contain('removed');
      expect(renderComparisonText(c)).to.contain('note: stages 1, 2, 3 only in A: not compared');
      expect(compareRuns(only4, good).notes).to.include('stages 1, 2, 3 only in B: not compared');
    });

    it('runs without a common stage cannot be compared (exit 2)', async () => {
      const only4 = structuredClone(good);
      only4.stages = only4.stages.filter((s) => s.stage === 4);
      only4.runId = 'only-stage-4';
      const only1 = structuredClone(good);
      only1.stages = only1.stages.filter((s) => s.stage === 1);
      expect(() => compareRuns(only1, only4)).to.throw(/have no stage in common \(A: 1; B: 4\): nothing to compare/);
      const dir = path.join(tmp, 'no-common');
      await mkdir(path.join(dir, 'a'), { recursive: true });
      await mkdir(path.join(dir, 'b'), { recursive: true });
      await writeFile(path.join(dir, 'a', 'results.json'), JSON.stringify(only1));
      await writeFile(path.join(dir, 'b', 'results.json'), JSON.stringify(only4));
      const cap = capture();
      expect(await compareCommand({ a: path.join(dir, 'a'), b: path.join(dir, 'b'), reportsRoot: root, ...cap.io })).to.equal(2);
      expect(cap.err.join('')).to.contain('no stage in common');
    });
  });
});

describe('compare: compareCommand', () => {
  it('by run id: prints plain text, writes Markdown beside run B, exits 1 on the seeded bug', async () => {
    const cap = capture();
    const code = await compareCommand({ a: good.runId, b: bug.runId, reportsRoot: root, ...cap.io });
    expect(code).to.equal(1);
    const text = cap.out.join('');
    expect(text).to.match(/^vnet-harness compare: REGRESSION\n/);
    expect(text).to.contain('stage 3 mac-address: new failure: /sys/class/net/vnet0/address differs: expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
    const out = path.join(root, `compare-${good.runId}-vs-${bug.runId}.md`);
    const md = await readFile(out, 'utf8');
    expect(md).to.contain('## vnet-harness compare: ❌ regression');
    expect(md).to.match(/\| 3 \| `mac-address` \| pass \| fail \| ❌ new failure \| `08:89:89:89:89:11` \| `08:89:89:89:89:12` \|/);
    expect(cap.err.join('')).to.contain(out);
  });

  it('the terminal gets no Markdown: no backslash escapes, tables, headings or code spans', async () => {
    // A check whose values are records: Markdown escapes them as `\{ received: \+0 \}`.
    const b = structuredClone(bug);
    const check = b.stages[3]!.checks.find((x) => x.id === 'ping-peer-answered')!;
    Object.assign(check, { verdict: 'fail', message: 'every echo request answered', expected: { transmitted: 3, received: 3 }, actual: { transmitted: 3, received: 0 } });
    const dir = path.join(tmp, 'terminal');
    await mkdir(path.join(dir, 'b'), { recursive: true });
    await writeFile(path.join(dir, 'b', 'results.json'), JSON.stringify(b));
    const cap = capture();
    expect(await compareCommand({ a: good.runId, b: path.join(dir, 'b'), reportsRoot: root, ...cap.io })).to.equal(1);
    const text = cap.out.join('');
    expect(text).to.contain('stage 4 ping-peer-answered: new failure: every echo request answered: expected received 3, transmitted 3, got received 0, transmitted 3');
    expect(text).to.not.match(/\\[{}()+*_`|#![\]~.-]/);
    expect(text).to.not.match(/^#|^\||\|---|`|\*\*|<sub>|&lt;|&gt;|&amp;/m);
    // The Markdown file has its escapes, as Markdown should.
    expect(await readFile(path.join(dir, `compare-${good.runId}-vs-${b.runId}.md`), 'utf8')).to.contain('## vnet-harness compare');
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
    expect(json).to.include({ kind: 'vnet-harness-comparison', version: 2, regression: false });
    expect(json.rtt[0]).to.include({ stage: 4, change: 'no-change', shiftMs: 0 });
    expect(cap.out.join('')).to.match(/^vnet-harness compare: no regression\n/);
  });

  it('html format writes one self-contained page to a file beside run B and prints the text summary, not the page', async () => {
    const cap = capture();
    const code = await compareCommand({ a: good.runId, b: bug.runId, reportsRoot: root, format: 'html', ...cap.io });
    expect(code).to.equal(1);
    const file = path.join(root, `compare-${good.runId}-vs-${bug.runId}.html`);
    const page = await readFile(file, 'utf8');
    expect(page).to.contain('mac-address');
    expect(page).to.not.match(/https?:\/\/|<script\b|<link\b|<img\b/i);
    expect(cap.out.join('')).to.not.match(/<html|<!doctype|<table/i);
    expect(cap.out.join('')).to.match(/^vnet-harness compare: REGRESSION/);
    expect(cap.err.join('')).to.contain(`report written to ${file}`);
    // Board text in a comparison is escaped too.
    const hostile = await load('hostile-run');
    const html = renderComparisonHtml(compareRuns(good, hostile));
    expect(html).to.not.match(/<script\b|<img\b/i);
    // …and on the terminal: no escape sequence or control character from the board.
    expect(renderComparisonText(compareRuns(good, hostile))).to.not.match(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('--out - prints the report itself on stdout and writes no file', async () => {
    const cap = capture();
    const code = await compareCommand({ a: good.runId, b: bug.runId, reportsRoot: root, format: 'json', out: '-', ...cap.io });
    expect(code).to.equal(1);
    expect(JSON.parse(cap.out.join(''))).to.include({ kind: 'vnet-harness-comparison', regression: true });
    expect(cap.err.join('')).to.equal('');
  });

  it('a run written elsewhere (run --out DIR) is found by its id, and the report goes beside it', async () => {
    const elsewhere = path.join(tmp, 'elsewhere', 'my-run');
    const copy = structuredClone(bug);
    copy.runId = '20251125-100000-0ut0';
    await mkdir(elsewhere, { recursive: true });
    await writeFile(path.join(elsewhere, 'results.json'), JSON.stringify(copy));
    const cap = capture();
    // Not recorded: not found, and the message says where it looked.
    expect(await compareCommand({ a: good.runId, b: copy.runId, reportsRoot: root, ...cap.io })).to.equal(2);
    expect(cap.err.join('')).to.contain(`recorded in ${path.join(root, RUN_RECORDS)}`);
    await recordRunFolder(root, copy.runId, elsewhere);
    expect(await resolveRun(copy.runId, root)).to.equal(path.join(elsewhere, 'results.json'));
    const cap2 = capture();
    expect(await compareCommand({ a: good.runId, b: copy.runId, reportsRoot: root, ...cap2.io }), cap2.err.join('')).to.equal(1);
    expect(existsSync(path.join(tmp, 'elsewhere', `compare-${good.runId}-vs-${copy.runId}.md`))).to.equal(true);
    // The record is no run folder: the reports index never lists it.
    expect((await scanRuns(root)).map((r) => r.dir)).to.not.include(RUN_RECORDS);
    // A recorded folder that was deleted is named as such.
    await rm(elsewhere, { recursive: true });
    const cap3 = capture();
    expect(await compareCommand({ a: good.runId, b: copy.runId, reportsRoot: root, ...cap3.io })).to.equal(2);
    expect(cap3.err.join('')).to.contain(`run "${copy.runId}" was written to ${elsewhere}`);
  });

  it('the command line: --perf-gate turns a reported slowdown on the emulated board into exit 1', async function () {
    this.timeout(60_000);
    const normal = [1.21, 0.471, 0.468, 0.482, 0.466, 0.474, 0.49, 0.462, 0.477, 0.469, 0.473, 0.481, 0.465, 0.47, 0.476, 0.467, 0.479, 0.472, 0.486, 0.464];
    const dir = path.join(tmp, 'cli-perf-gate');
    const a = structuredClone(good);
    const b = structuredClone(good);
    a.stages[3]!.rttsMs = normal;
    b.stages[3]!.rttsMs = normal.map((v, i) => (i === 0 ? v : v + 2));
    b.runId = 'slowed-run';
    for (const [name, r] of [['a', a], ['b', b]] as const) {
      await mkdir(path.join(dir, name), { recursive: true });
      await writeFile(path.join(dir, name, 'results.json'), JSON.stringify(r));
    }
    const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'vnet-harness.js');
    const cli = (...extra: string[]) =>
      // spawns: node
      execa(process.execPath, [bin, 'compare', path.join(dir, 'a'), path.join(dir, 'b'), '--out', path.join(dir, 'out.md'), ...extra], { reject: false });
    const plain = await cli();
    expect(plain.exitCode, plain.stderr).to.equal(0);
    expect(plain.stdout).to.contain('slower (reported only)');
    const gated = await cli('--perf-gate');
    expect(gated.exitCode, gated.stderr).to.equal(1);
    expect(gated.stdout).to.match(/^vnet-harness compare: REGRESSION\n/);
    expect(gated.stdout).to.contain('stage 4: RTT slower by 2.000 ms');
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
      const r = await run(JSON.stringify({ ...good, schema: RESULTS_SCHEMA + 1 }));
      expect(r.code).to.equal(2);
      expect(r.err).to.match(new RegExp(`results schema ${RESULTS_SCHEMA + 1}; this harness reads schemas? .*\\(written by a newer harness: update it\\)`));
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
