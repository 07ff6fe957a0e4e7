// Temporary directories of a run: removed on release, on every exit of the
// process (a signal included), and swept by the next run when a SIGKILL left
// them. Real child processes play the harness that is interrupted or killed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { makeTempDir, releaseTempDir, sweepStaleTempDirs } from '../src/util/tempdirs.ts';

const REPO = resolve(import.meta.dirname, '..');
const MODULE = pathToFileURL(join(REPO, 'src/util/tempdirs.ts')).href;

/** Starts a node process that makes a temp dir under `root`, prints it, and waits. */
function holder(root: string, extra = ''): Promise<{ pid: number; dir: string; exited: Promise<number | null> }> {
  const script = `
    process.env.TMPDIR = ${JSON.stringify(root)};
    const { makeTempDir } = await import(${JSON.stringify(MODULE)});
    ${extra}
    const dir = await makeTempDir('vnet-run');
    process.stdout.write(dir + '\\n');
    setInterval(() => {}, 1000);
  `;
  // spawns: node
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, env: { ...process.env, TMPDIR: root } });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolveHolder, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolveHolder({ pid: child.pid!, dir: out.trim(), exited });
    });
    child.on('error', reject);
    setTimeout(() => reject(new Error(`holder printed nothing: ${out}`)), 20_000).unref();
  });
}

describe('util/tempdirs', function () {
  this.timeout(30_000);
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'vnet-tempdirs-test-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names a directory after the process and removes it on release', async () => {
    const dir = await makeTempDir('vnet-unit');
    expect(dir).to.match(new RegExp(`/vnet-unit-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(existsSync(dir)).to.equal(true);
    await releaseTempDir(dir);
    expect(existsSync(dir)).to.equal(false);
  });

  it('SIGTERM: the exiting process removes its directories itself (exit 143)', async () => {
    const h = await holder(root);
    expect(existsSync(h.dir)).to.equal(true);
    process.kill(h.pid, 'SIGTERM');
    expect(await h.exited).to.equal(143);
    expect(existsSync(h.dir)).to.equal(false);
  });

  it('SIGKILL: the directory stays, and the next sweep removes it; those of a live process and others are kept', async () => {
    const killed = await holder(root);
    const alive = await holder(root);
    process.kill(killed.pid, 'SIGKILL');
    await killed.exited;
    expect(existsSync(killed.dir)).to.equal(true);
    const unrelated = join(root, 'vnet-run-notapid-abcdef');
    const oldStyle = join(root, 'vnet-run-AbC123');
    mkdirSync(unrelated);
    mkdirSync(oldStyle);
    try {
      expect(sweepStaleTempDirs(['vnet-run', 'vnet-qemu'], root)).to.deep.equal([killed.dir]);
      expect(readdirSync(root).filter((n) => n.startsWith('vnet-')).sort()).to.deep.equal(
        [alive.dir.slice(root.length + 1), 'vnet-run-AbC123', 'vnet-run-notapid-abcdef'].sort(),
      );
    } finally {
      process.kill(alive.pid, 'SIGTERM');
      await alive.exited;
    }
  });
});
