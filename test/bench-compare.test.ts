// Tests of the false-regression benchmark's statistics (src/commands/bench-compare.ts)
// with synthetic runs: no board is booted here. The benchmark itself runs on the
// emulated board: `npx tsx src/commands/bench-compare.ts --runs 20 --load spin`.

import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeTally, parseBenchArgs, parseLoad, SLOWDOWN_PATCH, startLoad, tallyNoise } from '../src/commands/bench-compare.ts';
import { parseResults } from '../src/reporters/load-results.ts';
import type { RunResults } from '../src/results/model.ts';
import { pidAlive } from '../src/util/pid.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'reports');

// A small seeded generator (mulberry32): the same "random" runs every time.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Alive and not a zombie (a killed orphan waits for init to reap it).
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

let base: RunResults;
before(async () => {
  const file = path.join(FIXTURES, 'pass-run.json');
  base = parseResults(await readFile(file, 'utf8'), file);
});

/** A run of the unchanged tree: stage-4 echoes as given, and the counters the kernel decides varying. */
function run(id: string, rtts: number[], random: () => number = () => 0): RunResults {
  const r = structuredClone(base);
  r.runId = id;
  r.stages[3]!.rttsMs = rtts;
  // ARP retries: 1-4 frames in stages 1 (all dropped) and 3 (all sent).
  const frames = 1 + Math.floor(random() * 4);
  Object.assign(r.stages[0]!.readings[2]!.statistics, { tx_dropped: frames });
  Object.assign(r.stages[2]!.readings[2]!.statistics, { tx_packets: frames, tx_bytes: 42 * frames });
  return r;
}

/**
 * 20 echoes as a loaded 2-core host gives them: a slow warm-up echo, a base RTT
 * that moves from run to run (0.45-0.65 ms), jitter, and now and then an echo
 * delayed by a descheduled QEMU (+0.3-1.5 ms).
 */
function loadedEchoes(random: () => number, extraMs = 0): number[] {
  const level = 0.45 + random() * 0.2;
  return Array.from({ length: 20 }, (_, i) => {
    const warmup = i === 0 ? 0.8 + random() * 0.9 : 0;
    const hiccup = random() < 0.08 ? 0.3 + random() * 1.2 : 0;
    return Number((level + random() * 0.04 + warmup + hiccup + extraMs).toFixed(3));
  });
}

describe('bench-compare: tallying pairwise comparisons', () => {
  it('the issue\'s samples [1.647, 0.487, 0.474, 0.467, 0.476] against a normal run: no regression, where the former rule saw one', () => {
    const t = tallyNoise([run('normal', [0.49, 0.471, 0.468, 0.482, 0.466]), run('issue', [1.647, 0.487, 0.474, 0.467, 0.476])], []);
    expect(t.unchangedPairs).to.equal(1);
    expect(t.falseRegressions).to.deep.equal({ default: [], perfGate: [] });
    expect(t.oldRuleRegressions).to.equal(1);
    expect(t.pass).to.equal(true);
  });

  it('20 unchanged runs on a loaded host: 0 regressions in 190 pairs, with and without --perf-gate; 5 slowed runs (+2 ms) caught in all 100 pairs', () => {
    const random = rng(10);
    const unchanged = Array.from({ length: 20 }, (_, i) => run(`u${i}`, loadedEchoes(random), random));
    const slowed = Array.from({ length: 5 }, (_, i) => run(`s${i}`, loadedEchoes(random, 2), random));
    const t = tallyNoise(unchanged, slowed);
    expect(t.unchangedPairs).to.equal(190);
    expect(t.falseRegressions.default, JSON.stringify(t.falseRegressions.default[0])).to.deep.equal([]);
    expect(t.falseRegressions.perfGate, JSON.stringify(t.falseRegressions.perfGate[0])).to.deep.equal([]);
    // The former rule, over every echo with the slow warm-up and the hiccups, cries wolf.
    expect(t.oldRuleRegressions).to.be.above(0);
    expect(t.slowedPairs).to.equal(100);
    expect(t.detected).to.deep.equal({ perfGate: 100, reportedByDefault: 100 });
    expect(t.missed).to.deep.equal([]);
    expect(Math.min(...t.shiftsMs.slowed)).to.be.above(1.5);
    expect(Math.max(...t.shiftsMs.unchanged.map(Math.abs))).to.be.below(0.3);
    expect(t.pass).to.equal(true);
    const text = describeTally(t).join('\n');
    expect(text).to.match(/^unchanged tree: 20 runs, 190 pairs compared: 0 regressions by default, 0 with --perf-gate/);
    expect(text).to.contain('seeded slowdown: 5 runs, 100 pairs: 100/100 regressions with --perf-gate, 100/100 reported without it');
    expect(text).to.match(/PASS: no false regression, every slowdown caught$/);
  });

  it('a slowdown that did not slow anything (patch not applied) is counted as missed and fails the benchmark', () => {
    const random = rng(3);
    const unchanged = Array.from({ length: 3 }, (_, i) => run(`u${i}`, loadedEchoes(random)));
    const t = tallyNoise(unchanged, [run('not-slowed', loadedEchoes(random))]);
    expect(t.missed.map((m) => `${m.a}/${m.b}`)).to.deep.equal(['u0/not-slowed', 'u1/not-slowed', 'u2/not-slowed']);
    expect(t.missed[0]!.reasons).to.include('stage 4 RTT: no-change');
    expect(t.pass).to.equal(false);
    expect(describeTally(t).at(-1)).to.equal('FAIL');
  });

  it('an unchanged run that failed a stage is a false regression the benchmark reports', () => {
    const random = rng(5);
    const a = run('u0', loadedEchoes(random));
    const b = run('u1', loadedEchoes(random));
    b.stages[1]!.verdict = 'fail';
    const t = tallyNoise([a, b], []);
    expect(t.falseRegressions.perfGate).to.have.length(1);
    expect(t.falseRegressions.perfGate[0]!.reasons[0]).to.equal('stage 2: verdict pass → fail');
    expect(t.pass).to.equal(false);
  });
});

describe('bench-compare: command line and load', () => {
  it('parses its options', () => {
    const o = parseBenchArgs(['--runs', '24', '--slow-runs', '4', '--load', 'spin:2', '--stages', '4', '--out', '/tmp/x']);
    expect(o).to.include({ runs: 24, slowRuns: 4, outDir: '/tmp/x', board: 'qemu-imx25' });
    expect(o.load).to.deep.equal({ kind: 'spin', workers: 2 });
    expect(o.stages).to.deep.equal([4]);
    expect(parseBenchArgs([])).to.include({ runs: 20, slowRuns: 5 });
    expect(parseLoad('none')).to.deep.equal({ kind: 'none' });
    expect(parseLoad('make -C ~/linux -j2')).to.deep.equal({ kind: 'command', command: 'make -C ~/linux -j2' });
    expect(() => parseBenchArgs(['--runs', 'many'])).to.throw('--runs takes a whole number, got "many"');
    expect(SLOWDOWN_PATCH).to.match(/test\/fixtures\/bugs\/stage4-slow-echo\.patch$/);
  });

  it('the seeded slowdown patch busy-waits 2 ms in stage 4\'s transmit path', async () => {
    const patch = await readFile(SLOWDOWN_PATCH, 'utf8');
    expect(patch).to.match(/^\+\+\+ b\/virt_net4\.c$/m);
    expect(patch).to.match(/^\+\s+udelay\(2000\);$/m);
    expect(patch).to.match(/^\+#include <linux\/delay\.h>$/m);
  });

  it('a command load runs in its own process group and is stopped with everything it started', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vnet-load-'));
    const pidFile = path.join(dir, 'pids');
    const load = startLoad(parseLoad(`sleep 30 & echo $! > ${pidFile}; sleep 30`));
    for (let i = 0; i < 50 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 20));
    const background = Number((await readFile(pidFile, 'utf8')).trim());
    const pids = [...load.pids, background];
    expect(pids.every((p) => pidAlive(p))).to.equal(true);
    expect(await load.stop()).to.equal(undefined);
    for (let i = 0; i < 50 && pids.some(running); i++) await new Promise((r) => setTimeout(r, 20));
    expect(pids.filter(running)).to.deep.equal([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a spinning load is stopped by pid', async () => {
    const load = startLoad({ kind: 'spin', workers: 1 });
    expect(load.pids).to.have.length(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(pidAlive(load.pids[0]!)).to.equal(true);
    await load.stop();
    expect(pidAlive(load.pids[0]!)).to.equal(false);
  });
});
