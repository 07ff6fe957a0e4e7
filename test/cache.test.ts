// The build cache is private: the emulated board's cached initramfs holds its
// private host key. Directories are 0700 and the files the harness writes
// 0600, new or left by an older version; a shared directory is refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { HarnessError } from '../src/errors.ts';
import { cacheRoot, cachedEntry } from '../src/util/cache.ts';

const modeOf = (p: string) => fs.statSync(p).mode & 0o7777;

describe('build cache: private to its user', () => {
  let tmp: string;
  let saved: string | undefined;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-cache-'));
    saved = process.env.VNET_HARNESS_CACHE;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.VNET_HARNESS_CACHE;
    else process.env.VNET_HARNESS_CACHE = saved;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a new cache: root and entry 0700, the files of the entry and its marker 0600', async () => {
    const root = path.join(tmp, 'a', 'cache');
    process.env.VNET_HARNESS_CACHE = root;
    expect(cacheRoot()).to.equal(root);
    expect(modeOf(root)).to.equal(0o700);
    const entry = await cachedEntry('rootfs', 'k1', async (dir) => {
      // As rootfs.ts writes the initramfs holding the host key (umask 022 would give 0644).
      fs.writeFileSync(path.join(dir, 'initrd.cpio.gz'), 'host key inside', { mode: 0o644 });
      fs.chmodSync(path.join(dir, 'initrd.cpio.gz'), 0o644);
      return { ok: true };
    });
    expect(entry.built).to.equal(true);
    expect(modeOf(root)).to.equal(0o700);
    expect(modeOf(entry.dir)).to.equal(0o700);
    expect(modeOf(path.join(entry.dir, 'initrd.cpio.gz'))).to.equal(0o600);
    expect(modeOf(path.join(entry.dir, '.complete.json'))).to.equal(0o600);
  });

  it('a cache left world-readable by an older version is made private when used', async () => {
    const root = path.join(tmp, 'cache');
    const dir = path.join(root, 'rootfs-k1');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'initrd.cpio.gz'), 'host key inside');
    fs.writeFileSync(path.join(dir, '.complete.json'), '{"ok":true}\n');
    fs.chmodSync(root, 0o755);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'initrd.cpio.gz'), 0o644);
    fs.chmodSync(path.join(dir, '.complete.json'), 0o644);
    process.env.VNET_HARNESS_CACHE = root;
    const entry = await cachedEntry('rootfs', 'k1', async () => {
      throw new Error('must be reused, not rebuilt');
    });
    expect(entry).to.deep.equal({ dir, meta: { ok: true }, built: false });
    expect([modeOf(root), modeOf(dir), modeOf(path.join(dir, 'initrd.cpio.gz')), modeOf(path.join(dir, '.complete.json'))]).to.deep.equal([
      0o700, 0o700, 0o600, 0o600,
    ]);
  });

  it('an executable file keeps its owner\'s execute bit', async () => {
    process.env.VNET_HARNESS_CACHE = path.join(tmp, 'cache');
    const entry = await cachedEntry('tool', 'k1', async (dir) => {
      fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n');
      fs.chmodSync(path.join(dir, 'run.sh'), 0o755);
      return {};
    });
    expect(modeOf(path.join(entry.dir, 'run.sh'))).to.equal(0o700);
  });

  it('a shared directory (sticky, world-writable like /tmp) is refused as the cache, and left as it was', () => {
    const shared = path.join(tmp, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777);
    process.env.VNET_HARNESS_CACHE = shared;
    expect(() => cacheRoot()).to.throw(HarnessError, `cache directory ${shared} is shared (sticky bit set, like /tmp): point VNET_HARNESS_CACHE at a directory of its own`);
    expect(modeOf(shared)).to.equal(0o1777);
  });

  it('a cache path that cannot be a directory is a clear error', () => {
    fs.writeFileSync(path.join(tmp, 'file'), '');
    process.env.VNET_HARNESS_CACHE = path.join(tmp, 'file', 'cache');
    expect(() => cacheRoot()).to.throw(HarnessError, /^cannot create the cache directory .*\/file\/cache \(VNET_HARNESS_CACHE\): ENOTDIR/);
  });
});
