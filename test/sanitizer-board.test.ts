// What pings cannot see (issue 15): on the debug board (qemu-imx25-debug:
// KASAN, kmemleak with a scan at the end of every stage, atomic-sleep
// checks, UBSAN bounds) memory bugs fail the stage at fault with their own
// class, and nothing else: the project's drivers pass every stage with no
// finding on the same board (no false alarm), and the seeded memory bugs and
// the tutorial's own drivers are each caught in the stage that has them.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../src/paths.ts';
import type { RunResults, StageResult } from '../src/results/model.ts';
import { stageMismatches, type StageExpectation } from './helpers/seeded-expectations.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'vnet-harness.js');
const BUGS = join(PROJECT_ROOT, 'test', 'fixtures', 'bugs');
const TUTORIAL = join(PROJECT_ROOT, 'examples', 'tutorial-original');
const BOARD = 'qemu-imx25-debug';
const PASS: StageExpectation = { verdict: 'pass', failing: [] };
const FAULT_CHECK = 'no-kernel-fault';

/** Runs the four stages of the drivers in `modules` on the debug board; returns the results, the exit code and what it printed. */
async function runOnDebugBoard(modules: string, out: string): Promise<{ results: RunResults; exitCode: number | undefined; printed: string }> {
  const r = await execa('node', [BIN, 'run', '--board', BOARD, '--modules', modules, '--out', out], { reject: false, all: true });
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
  return { results, exitCode: r.exitCode, printed: r.all ?? '' };
}

/**
 * Runs the drivers on the debug board; when a stage expected to be
 * `kmemleak` came out otherwise (kmemleak did not list the leaked skb),
 * runs them once more and judges that run. A lone leaked skb a stage was
 * missed in about 1 stage run of 3 (a stale pointer still referencing it;
 * scanning without task stacks did not help); since stages 1-3 send four
 * more ARP requests on a kmemleak board (LEAK_WITNESS_ADDRESSES), 10 stage-3
 * runs of 10 with the other core busy reported the leak, so the retry
 * should be rare. A harness that no longer finds leaks misses both runs and
 * fails; the retry is printed with the results.
 */
async function runExpectingLeaks(
  modules: string,
  dir: string,
  leakStages: readonly number[],
): Promise<{ results: RunResults; exitCode: number | undefined; printed: string }> {
  const first = await runOnDebugBoard(modules, join(dir, 'run'));
  const missed = leakStages.filter((n) => first.results.stages.find((s) => s.stage === n)?.verdict !== 'kmemleak');
  if (missed.length === 0) return first;
  const again = await runOnDebugBoard(modules, join(dir, 'run-again'));
  return { ...again, printed: `(kmemleak missed the leak of stage ${missed.join(', ')} in a first run; this is the second)\n${again.printed}` };
}

/** The kernel events of a stage as `class: first line`. */
const eventsOf = (s: StageResult | undefined): string[] => (s?.kernelEvents ?? []).map((e) => `${e.class}: ${e.firstLine}`);

interface SeededCase {
  patch: string;
  /** Per stage; all four run. */
  expect: Record<number, StageExpectation>;
  /** The stage at fault, and what its reason (the report's first line) must say. */
  stage: number;
  reason: RegExp;
}

const SEEDED: SeededCase[] = [
  {
    // The tutorial's stages 2 and 3: the skb is never freed.
    patch: 'stage3-leak-skb.patch',
    expect: { 1: PASS, 2: PASS, 3: { verdict: 'kmemleak', failing: [FAULT_CHECK] }, 4: PASS },
    stage: 3,
    reason: /^unreferenced object 0x[0-9a-f]+ \(size \d+\), comm "[\w/]+": an skb of the stage's traffic \(/,
  },
  {
    // The tutorial's stage 4: tx_bytes += skb->len after the skb was freed.
    patch: 'stage4-uaf-skb-len.patch',
    expect: { 1: PASS, 2: PASS, 3: PASS, 4: { verdict: 'kasan', failing: [FAULT_CHECK] } },
    stage: 4,
    reason: /BUG: KASAN: (?:slab-)?use-after-free in virt_net_send_packet\+0x[0-9a-f]+\/0x[0-9a-f]+ \[virt_net4\]/,
  },
  {
    // Headers read straight from skb->data and a length taken from the frame: the short frame is read past its end.
    patch: 'stage4-oob-short-frame.patch',
    expect: { 1: PASS, 2: PASS, 3: PASS, 4: { verdict: 'kasan', failing: ['frames-dropped', 'frames-not-reflected', FAULT_CHECK] } },
    stage: 4,
    reason: /BUG: KASAN: (?:slab-)?out-of-bounds in /,
  },
];

describe('the debug board catches what pings cannot see (qemu-imx25-debug) @board', function () {
  this.timeout(60 * 60_000);
  const cleanup: string[] = [];
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'vnet-sanitizer-'));
    cleanup.push(d);
    return d;
  };
  after(() => {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  it('the project\'s drivers pass all four stages with no finding, and every stage ended with a kmemleak scan', async () => {
    const { results, exitCode, printed } = await runOnDebugBoard(DEFAULT_MODULES_DIR, join(tempDir(), 'run'));
    expect(stageMismatches({ 1: PASS, 2: PASS, 3: PASS, 4: PASS }, results.stages), printed).to.deep.equal([]);
    expect(exitCode).to.equal(0);
    expect(results.board.kernelRelease).to.match(/-vnet-debug$/);
    for (const s of results.stages) {
      expect(eventsOf(s), `stage ${s.stage}`).to.deep.equal([]);
      expect(s.kmemleak, `stage ${s.stage} was scanned`).to.not.equal(undefined);
      expect(s.steps.map((t) => t.name)).to.include('kmemleak');
    }
  });

  for (const c of SEEDED) {
    it(`${c.patch}: stage ${c.stage} ${c.expect[c.stage]!.verdict}, the other stages pass`, async () => {
      const dir = tempDir();
      const tree = join(dir, 'virt_net');
      cpSync(DEFAULT_MODULES_DIR, tree, { recursive: true });
      await execa('patch', ['-p1', '-s', '-i', join(BUGS, c.patch)], { cwd: tree });
      const leakStages = Object.entries(c.expect).filter(([, e]) => e.verdict === 'kmemleak').map(([n]) => Number(n));
      const { results, exitCode, printed } = await runExpectingLeaks(tree, dir, leakStages);
      expect(stageMismatches(c.expect, results.stages), printed).to.deep.equal([]);
      expect(exitCode, 'a sanitizer finding is the driver\'s fault: exit 1').to.equal(1);
      const atFault = results.stages.find((s) => s.stage === c.stage);
      expect(atFault?.reason, JSON.stringify(eventsOf(atFault))).to.match(c.reason);
      // The report is attached: the whole kernel report, not only its first line.
      const report = atFault?.kernelEvents.find((e) => e.class === c.expect[c.stage]!.verdict);
      expect(report?.text.split('\n').length ?? 0).to.be.greaterThan(3);
    });
  }

  it('the tutorial\'s own drivers (examples/tutorial-original): stage 1 crash, stages 2 and 3 kmemleak, stage 4 kasan', async () => {
    const { results, exitCode, printed } = await runExpectingLeaks(TUTORIAL, tempDir(), [2, 3]);
    const verdicts = results.stages.map((s) => [s.stage, s.verdict]);
    expect(verdicts, printed).to.deep.equal([
      [1, 'crash'],
      [2, 'kmemleak'],
      [3, 'kmemleak'],
      [4, 'kasan'],
    ]);
    expect(exitCode).to.equal(1);
    const stage4 = results.stages.find((s) => s.stage === 4);
    expect(stage4?.reason).to.match(/BUG: KASAN: (?:slab-)?use-after-free in /);
    // It rewrites any frame as an ICMP reply: the hostile-frame checks fail too.
    const failing = stage4?.checks.filter((k) => k.verdict === 'fail').map((k) => k.id) ?? [];
    expect(failing).to.include.members(['frames-dropped', FAULT_CHECK]);
  });
});
