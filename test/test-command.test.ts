// `vnet-harness test --unit`: the harness's own tests that need no kernel and
// no board. Suites tagged @board are left out, and a suite that forgot its tag
// fails instead of building the emulated board's kernel (minutes, on a cold cache).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { loadBoard } from '../src/config/board.ts';
import type { EmulatedBoardConfig } from '../src/config/types.ts';
import { prepareImages, UNIT_ONLY_ENV } from '../src/emulated/machine.ts';
import { HarnessError } from '../src/errors.ts';
import { BOARD_TAG, testSelection } from '../src/commands/test.ts';
import { silentProgress } from '../src/util/progress.ts';

const REPO = resolve(import.meta.dirname, '..');

describe('test --unit selection', () => {
  it('leaves out titles tagged @board, with or without a grep', () => {
    const unit = testSelection(undefined, true)!;
    expect(unit.test('buildModules (ARM, emulated board tree) @board builds the project drivers')).to.equal(false);
    expect(unit.test('parsers/ping reads busybox output')).to.equal(true);
    const grep = testSelection('ping', true)!;
    expect(grep.test('parsers/ping reads busybox output')).to.equal(true);
    expect(grep.test('parsers/dmesg deltas')).to.equal(false);
    expect(grep.test('seeded bugs @board ping 3.3.3.4')).to.equal(false);
    // Without --unit, a grep alone, and nothing at all.
    expect(testSelection('ping', false)!.test('seeded bugs @board ping 3.3.3.4')).to.equal(true);
    expect(testSelection(undefined, false)).to.equal(undefined);
    expect(BOARD_TAG).to.equal('@board');
  });

  it('an untagged suite that asks for the emulated board fails at once instead of building its kernel', async () => {
    const board = loadBoard('qemu-imx25', { boardsDir: join(REPO, 'boards') }) as EmulatedBoardConfig;
    const before = process.env[UNIT_ONLY_ENV];
    process.env[UNIT_ONLY_ENV] = '1';
    try {
      const error = await prepareImages(board, silentProgress()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(HarnessError);
      expect((error as Error).message).to.match(/must not build or boot the emulated board; tag the suite that needs it with @board/);
    } finally {
      if (before === undefined) delete process.env[UNIT_ONLY_ENV];
      else process.env[UNIT_ONLY_ENV] = before;
    }
  });

  it('`test --unit --grep` with an empty cache runs its tests and leaves the cache empty (the root hooks used to build the kernel)', function () {
    this.timeout(120_000);
    const cache = mkdtempSync(join(tmpdir(), 'vnet-empty-cache-'));
    try {
      // A grep that also matches a tagged suite's title: the tag, not the grep, keeps it out.
      // spawns: node
      const r = spawnSync(process.execPath, ['bin/vnet-harness.js', 'test', '--unit', '--grep', 'ARM|netflags'], {
        cwd: REPO,
        encoding: 'utf8',
        env: { ...process.env, VNET_HARNESS_CACHE: cache, [UNIT_ONLY_ENV]: '' },
        timeout: 110_000,
      });
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^[1-9]\d* passed, 0 failed$/m);
      expect(r.stdout).to.not.include('@board');
      expect(readdirSync(cache).filter((e) => e.startsWith('kernel-'))).to.deep.equal([]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
