// The harness on a minimal BSP-like userland (issue 13): qemu-imx25-minimal
// has no ip, base64, sha256sum or timeout, and its ping refuses -i and -W.
// All four stages pass over SSH and over serial with the fallbacks the probe
// picked, and results.json says which; the normal board keeps its full tools
// (no fallback in its results). A board without insmod or any checksum tool
// stops before its first stage: exit 2, verdict error, the list once.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/paths.ts';
import type { RunResults } from '../src/results/model.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'vnet-harness.js');

const MISSING = ['sha256sum', 'base64', 'ping -W', 'ping -i', 'ip', 'timeout'];
const FALLBACKS = [
  'no sha256sum: uploads and the probe on the board checked with md5sum',
  'ping without -W: bounded by a background kill -INT (count × interval + the reply wait)',
  'ping without -i: one echo request a second (the local ping takes 3 s, not 0.6)',
  'no ip: arp -d instead of ip neigh flush (the peer 3.3.3.4 is the only neighbour of vnet0)',
];

describe('a minimal BSP userland on the emulated board @board', function () {
  this.timeout(20 * 60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vnet-minimal-userland-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** One run of the harness; its exit code, output and results.json (`board`: a name in boards/ or a file). */
  async function run(board: string, transport: string, stages = '1,2,3,4'): Promise<{ code: number | undefined; all: string; results: RunResults; seconds: number }> {
    const out = join(dir, `${board.replace(/.*\//, '')}-${transport}`);
    const t = Date.now();
    const r = await execa('node', [BIN, 'run', '--board', board, '--transport', transport, '--stages', stages, '--out', out, '--reports-dir', join(dir, 'reports')], {
      reject: false,
      all: true,
    });
    const seconds = (Date.now() - t) / 1000;
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8').catch(() => '{}')) as RunResults;
    const stageSeconds = (results.stages ?? []).map((s) => (s.durationMs / 1000).toFixed(1)).join(' + ');
    console.log(`      (${board} over ${transport}, stages ${stages}: ${seconds.toFixed(1)} s wall, run ${((results.durationMs ?? 0) / 1000).toFixed(1)} s, stages ${stageSeconds} s)`);
    if (results.stages === undefined) expect.fail(`no results.json (exit ${r.exitCode}):\n${r.all ?? ''}`);
    return { code: r.exitCode, all: r.all ?? '', results, seconds };
  }

  it('over SSH: all four stages pass on the fallbacks, and the results say which', async () => {
    const { code, all, results } = await run('qemu-imx25-minimal', 'ssh');
    expect(code, all).to.equal(0);
    expect(results.stages.map((s) => `${s.stage}:${s.verdict}`)).to.deep.equal(['1:pass', '2:pass', '3:pass', '4:pass']);
    expect(results.board.userland).to.deep.equal({ missing: MISSING, fallbacks: FALLBACKS });
    expect(all).to.contain('userland: no ip: arp -d instead of ip neigh flush');
  });

  it('over serial: all four stages pass, the uploads as printf escapes', async () => {
    const { code, all, results } = await run('qemu-imx25-minimal', 'serial');
    expect(code, all).to.equal(0);
    expect(results.stages.map((s) => `${s.stage}:${s.verdict}`)).to.deep.equal(['1:pass', '2:pass', '3:pass', '4:pass']);
    expect(results.board.userland).to.deep.equal({
      missing: MISSING,
      fallbacks: [FALLBACKS[0], 'no base64: serial uploads as printf octal escapes', ...FALLBACKS.slice(1)],
    });
  });

  it('the normal board keeps its full tools: no fallback in its results', async () => {
    const { code, all, results } = await run('qemu-imx25', 'serial', '4');
    expect(code, all).to.equal(0);
    expect(results.board.userland).to.deep.equal({ missing: [], fallbacks: [] });
    expect(all).to.not.contain('userland:');
  });

  it('a board without insmod or any checksum tool: the run stops before its first stage, exit 2, the list once', async () => {
    // The minimal board's file with two more applets left out, its relative paths made absolute (it lives in the temp dir).
    const boards = join(PROJECT_ROOT, 'boards');
    const text = readFileSync(join(boards, 'qemu-imx25-minimal.yaml'), 'utf8')
      .replace('name: qemu-imx25-minimal', 'name: qemu-imx25-no-insmod')
      .replace(/(fragment|init|inittab|ping): (qemu-imx25[-a-z]*\/)/g, `$1: ${boards}/$2`)
      .replace('omit_applets: [ip, ipneigh, base64, sha256sum, timeout]', 'omit_applets: [ip, ipneigh, base64, sha256sum, timeout, insmod, md5sum]');
    const file = join(dir, 'qemu-imx25-no-insmod.yaml');
    writeFileSync(file, text);
    const { code, all, results } = await run(file, 'ssh');
    expect(code, all).to.equal(2);
    expect(results.verdict).to.equal('error');
    expect(results.errors).to.deep.equal([
      'board qemu-imx25-no-insmod: its userland lacks what the harness cannot do without (2):\n' +
        '  - insmod: not found (needed to load the driver)\n' +
        '  - sha256sum, md5sum, cksum: none found (needed to check an upload)',
    ]);
    expect(results.stages.map((s) => `${s.stage}:${s.verdict}:${s.steps.length}`)).to.deep.equal(['1:error:0', '2:error:0', '3:error:0', '4:error:0']);
    expect(results.stages.every((s) => s.reason?.startsWith('board qemu-imx25-no-insmod: its userland lacks'))).to.equal(true);
    expect(all.match(/insmod: not found/g)?.length, 'the list said once on the terminal').to.equal(1);
  });
});
