// The suites can fail, and fail for the right reason: each seeded bug of
// test/fixtures/bugs/ (a patch to the project's drivers, as a driver change
// would be) is run on the emulated board, and must give exactly the expected
// stage verdicts and failing checks — nothing more, nothing less.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../src/paths.ts';
import type { RunResults } from '../src/results/model.ts';
import { stageMismatches, type StageExpectation } from './helpers/seeded-expectations.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'vnet-harness.js');
const BUGS = join(PROJECT_ROOT, 'test', 'fixtures', 'bugs');

interface Expectation {
  /** The seeded bug, or '' for the project's drivers as they are. */
  patch: string;
  stages: string;
  /** Per stage: its verdict and the ids of the checks that must fail (all others pass, or are not reached in a stage that stops early). */
  expect: Record<number, StageExpectation>;
  exitCode: number;
}

const PASS: StageExpectation = { verdict: 'pass', failing: [] };

const CASES: Expectation[] = [
  // The project's drivers as they are: every check of stage 4 passes, the frames through vnet0 included.
  { patch: '', stages: '4', expect: { 4: PASS }, exitCode: 0 },
  {
    // The tutorial's own stage 1: the board panics on the first frame; the run recovers and goes on.
    patch: 'stage1-null-xmit.patch',
    stages: '1,2,3,4',
    expect: { 1: { verdict: 'crash', failing: ['no-kernel-fault'] }, 2: PASS, 3: PASS, 4: PASS },
    exitCode: 1,
  },
  {
    // free_netdev without unregister_netdev: rmmod hits a kernel BUG (not fatal) and vnet0 stays;
    // the board is left dirty, so stage 2 starts with a power cycle and still passes.
    patch: 'stage1-no-unregister.patch',
    stages: '1,2',
    expect: { 1: { verdict: 'fail', failing: ['clean-unload', 'no-kernel-fault'] }, 2: PASS },
    exitCode: 1,
  },
  {
    // init frees a registered device (inverted error check): insmod dies on a kernel BUG. The stage
    // stops there and still reports the fault; stage 3 finds the board dirty, power-cycles, passes.
    patch: 'stage2-inverted-register-check.patch',
    stages: '2,3',
    expect: { 2: { verdict: 'fail', failing: ['module-loads', 'no-kernel-fault'] }, 3: PASS },
    exitCode: 1,
  },
  {
    // The board stops answering (the only CPU spins in the transmit path): the stage ends as a
    // hang when the link's keepalive gives up, the board is power-cycled, stage 3 passes.
    patch: 'stage2-xmit-spins.patch',
    stages: '2,3',
    expect: { 2: { verdict: 'hang', failing: ['no-kernel-fault'] }, 3: PASS },
    exitCode: 1,
  },
  { patch: 'stage2-cnt-from-zero.patch', stages: '2', expect: { 2: { verdict: 'fail', failing: ['send-lines'] } }, exitCode: 1 },
  { patch: 'stage3-wrong-mac.patch', stages: '3', expect: { 3: { verdict: 'fail', failing: ['mac-address'] } }, exitCode: 1 },
  { patch: 'stage3-no-tx-bytes.patch', stages: '3', expect: { 3: { verdict: 'fail', failing: ['tx-counters'] } }, exitCode: 1 },
  {
    // Without IFF_NOARP the stack ARPs for 3.3.3.4; stage 4 drops what is not an echo request: nothing is answered.
    patch: 'stage4-no-noarp.patch',
    stages: '4',
    expect: { 4: { verdict: 'fail', failing: ['noarp-flag', 'remote-ping-answered', 'wire-counters', 'probe-replies', 'probe-counters'] } },
    exitCode: 1,
  },
  {
    // Linux delivers echo replies to ping sockets without checking their ICMP checksum,
    // so busybox ping counts them: only the board-side probe sees the stale checksum.
    patch: 'stage4-stale-icmp-csum.patch',
    stages: '4',
    expect: { 4: { verdict: 'fail', failing: ['probe-replies', 'options-echo-answered'] } },
    exitCode: 1,
  },
  {
    // The IP layer drops a bad header checksum before ICMP sees it (the probe's packet socket sees it, and says so).
    patch: 'stage4-bad-ip-csum.patch',
    stages: '4',
    expect: { 4: { verdict: 'fail', failing: ['remote-ping-answered', 'probe-replies', 'options-echo-answered'] } },
    exitCode: 1,
  },
  {
    // A reply carrying another sequence number: busybox ping does not mind, the probe does.
    patch: 'stage4-swapped-sequence.patch',
    stages: '4',
    expect: { 4: { verdict: 'fail', failing: ['probe-replies', 'options-echo-answered'] } },
    exitCode: 1,
  },
  {
    // The tutorial's stage 4 behaviour: every frame is "answered" at IPv4 offsets. The pings still pass;
    // the frames a real network carries come back rewritten, and the type byte lands in the IP options.
    patch: 'stage4-rewrites-any-frame.patch',
    stages: '4',
    expect: { 4: { verdict: 'fail', failing: ['frames-dropped', 'frames-not-reflected', 'options-echo-answered'] } },
    exitCode: 1,
  },
  {
    // No length checks: the truncated echo request (42 bytes claiming 1500) is answered with 1514 bytes read
    // past its end. No fault without KASAN; the pings and the echo requests with options still pass.
    patch: 'stage4-oob-short-frame.patch',
    stages: '4',
    expect: { 4: { verdict: 'fail', failing: ['frames-dropped', 'frames-not-reflected'] } },
    exitCode: 1,
  },
];

/** A copy of the project's drivers with the seeded bug `patch` applied; its folder is added to `cleanup`. */
async function patchedTree(patch: string, cleanup: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-bug-'));
  cleanup.push(dir);
  const tree = join(dir, 'virt_net');
  cpSync(DEFAULT_MODULES_DIR, tree, { recursive: true });
  if (patch !== '') await execa('patch', ['-p1', '-s', '-i', join(BUGS, patch)], { cwd: tree });
  return tree;
}

describe('seeded bugs are caught by the right checks (emulated board) @board', function () {
  this.timeout(45 * 60_000);
  const cleanup: string[] = [];
  after(() => {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.patch || 'the project\'s drivers'}: ${Object.entries(c.expect).map(([s, e]) => `stage ${s} ${e.verdict}${e.failing.length ? ` (${e.failing.join(', ')})` : ''}`).join('; ')}`, async () => {
      const tree = await patchedTree(c.patch, cleanup);
      const out = join(tree, '..', 'run');
      const r = await execa('node', [BIN, 'run', '--modules', tree, '--stages', c.stages, '--out', out], { reject: false });
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
      // Verdicts, failing checks, and skips only where the expectation says the stage stops early.
      expect(stageMismatches(c.expect, results.stages), `${r.stdout}\n${r.stderr}`).to.deep.equal([]);
      expect(r.exitCode).to.equal(c.exitCode);
      if (c.patch === 'stage1-no-unregister.patch') {
        expect(results.stages.find((s) => s.stage === 1)?.kernelEvents.map((e) => e.class)).to.deep.equal(['bug']);
        expect(results.stages.find((s) => s.stage === 2)?.recovered, 'stage 2 power-cycled the dirty board').to.equal(true);
      }
      if (c.patch === 'stage1-null-xmit.patch') {
        const stage1 = results.stages.find((s) => s.stage === 1);
        expect(stage1?.kernelEvents.map((e) => e.class)).to.include('panic');
        expect(stage1?.recovered).to.equal(true);
      }
    });
  }
});
