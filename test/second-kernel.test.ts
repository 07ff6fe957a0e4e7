// The drivers on the second kernel (issue 15): Debian's linux-source-6.12 as
// the board qemu-imx25-6.12, same machine, initramfs and config fragment as
// qemu-imx25 (6.1). Every stage must build without a warning and pass, so
// an out-of-tree driver that the kernel's API moved under is caught here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/paths.ts';
import type { RunResults } from '../src/results/model.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'vnet-harness.js');

describe('the drivers on the second kernel (qemu-imx25-6.12) @board', function () {
  this.timeout(45 * 60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vnet-6.12-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds every stage without a warning and passes all four stages on 6.12', async () => {
    const out = join(dir, 'run');
    const r = await execa('node', [BIN, 'run', '--board', 'qemu-imx25-6.12', '--out', out], { reject: false, all: true });
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    expect(results.board.kernelRelease, r.all).to.match(/^6\.12\.\d+-vnet$/);
    expect(results.stages.map((s) => [s.stage, s.verdict, s.reason ?? '']), r.all).to.deep.equal([
      [1, 'pass', ''],
      [2, 'pass', ''],
      [3, 'pass', ''],
      [4, 'pass', ''],
    ]);
    for (const s of results.stages) {
      expect(s.build?.warnings.map((w) => `${w.file}:${w.line}: ${w.message}`), `stage ${s.stage} build`).to.deep.equal([]);
      expect(s.build?.vermagic).to.match(/^6\.12\.\d+-vnet /);
    }
    expect(r.exitCode).to.equal(0);
  });
});
