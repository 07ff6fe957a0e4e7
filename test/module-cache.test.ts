// Module builds cached by content (src/build/module-cache.ts), built for the
// host against Debian's linux-headers-amd64 (no board, no ARM kernel): the
// same driver sources at another path (a fresh worktree) build nothing and
// name the files of the new path; documentation does not count, a comment in
// any source does; a module that does not build leaves no entry; a damaged
// entry is built again; the kernel tree's identity is its content and path;
// pruning keeps the recently used entries. The cache is a temporary one.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildModulesCached, kernelTreeIdentity, moduleBuildKey, MODULE_ENTRY, pruneModuleEntries } from '../src/build/module-cache.ts';
import { syncTree } from '../src/build/sync-tree.ts';
import { nativeKernelTree } from './helpers/kernel.ts';

const ROOT = join(import.meta.dirname, '..');
const DRIVERS = join(ROOT, 'kernel-modules/virt_net');
const WARNING = join(ROOT, 'test/fixtures/drivers/stage3-warning.patch');

describe('module builds cached by the driver sources, kernel tree and compiler (native headers)', function () {
  this.timeout(600_000);
  let tmp: string;
  let saved: string | undefined;
  let cache: string;
  const entries = () => readdirSync(cache).filter((n) => n.startsWith(`${MODULE_ENTRY}-`) && !n.endsWith('.lock')).sort();
  const tree = (name: string): string => {
    const dir = join(tmp, name, 'drivers', 'virt_net');
    mkdirSync(join(tmp, name, 'drivers'), { recursive: true });
    cpSync(DRIVERS, dir, { recursive: true });
    execFileSync('patch', ['-p1', '--quiet', '-d', dir, '-i', WARNING]);
    return dir;
  };
  const build = (sourceDir: string, stages = [3]) => buildModulesCached({ board: 'native', kernelDir: nativeKernelTree(), arch: '', crossCompile: '', sourceDir, stages });

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'vnet-module-cache-'));
    saved = process.env.VNET_HARNESS_CACHE;
    cache = join(tmp, 'cache');
    process.env.VNET_HARNESS_CACHE = cache;
  });
  after(() => {
    if (saved === undefined) delete process.env.VNET_HARNESS_CACHE;
    else process.env.VNET_HARNESS_CACHE = saved;
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the same sources at another path build nothing: same module, its warning named in the new tree, the original compiler output', async () => {
    const a = tree('a');
    const [first] = await build(a);
    expect(first?.ok, first?.log).to.equal(true);
    expect(first?.compiled).to.equal(true);
    expect(first?.warnings.map((w) => `${w.file}:${w.option}`)).to.deep.equal([`${join(a, 'virt_net3.c')}:-Wunused-variable`]);
    expect(entries()).to.have.length(1);
    expect(statSync(first!.entry).mode & 0o777).to.equal(0o700);
    // The tree as a worktree of another revision with the same content would have it.
    const b = tree('b');
    const [second] = await build(b);
    expect(second?.compiled).to.equal(false);
    expect(second?.durationMs).to.equal(0);
    expect(second?.module).to.equal(first?.module);
    expect(second?.sha256).to.equal(first?.sha256);
    expect(second?.vermagic).to.equal(first?.vermagic);
    expect(second?.warnings.map((w) => `${w.file}:${w.line}:${w.option}`)).to.deep.equal([`${join(b, 'virt_net3.c')}:${first?.warnings[0]?.line}:-Wunused-variable`]);
    expect(second?.log).to.match(/^\(cached: /).and.to.contain('unused_len');
    expect(entries()).to.have.length(1);
  });

  it('documentation is not a build input; a comment in any source (another stage\'s too) is', async () => {
    const c = tree('c');
    writeFileSync(join(c, 'README.md'), '# notes\n');
    const [docs] = await build(c);
    expect(docs?.compiled).to.equal(false);
    appendFileSync(join(c, 'virt_net1.c'), '/* a comment */\n');
    const [comment] = await build(c);
    expect(comment?.compiled).to.equal(true);
    expect(comment?.ok).to.equal(true);
    expect(entries()).to.have.length(2);
    // The README never reaches a build directory: no build can depend on it.
    const synced = join(tmp, 'synced');
    await syncTree(c, synced);
    expect(existsSync(join(synced, 'virt_net1.c'))).to.equal(true);
    expect(existsSync(join(synced, 'README.md'))).to.equal(false);
    // An entry keeps the module and the compiler output, nothing of the build.
    expect(readdirSync(comment!.entry).sort()).to.deep.equal(['.complete.json', 'build.log', 'virt_net3.ko']);
  });

  it('a module that does not build leaves no entry and is built again next time; the other stage asked for builds and is kept', async () => {
    const d = tree('d');
    appendFileSync(join(d, 'virt_net3.c'), '#error "this stage does not build"\n');
    const before = entries();
    const [failed, other] = await build(d, [3, 1]);
    expect(failed?.ok).to.equal(false);
    expect(failed?.diagnostics.some((x) => x.severity === 'error' && x.file === join(d, 'virt_net3.c'))).to.equal(true);
    expect(existsSync(failed!.entry)).to.equal(false);
    expect(other?.ok).to.equal(true);
    expect(entries()).to.have.length(before.length + 1);
    const [again] = await build(d, [3]);
    expect(again?.ok).to.equal(false);
    expect(again?.diagnostics.some((x) => x.severity === 'error')).to.equal(true);
  });

  it('an entry whose module was damaged is built again', async () => {
    const e = tree('e');
    const [first] = await build(e);
    expect(first?.compiled).to.equal(false);
    writeFileSync(first!.module!, 'not a module');
    const [rebuilt] = await build(e);
    expect(rebuilt?.compiled).to.equal(true);
    expect(rebuilt?.ok).to.equal(true);
    expect(createHash('sha256').update(readFileSync(rebuilt!.module!)).digest('hex')).to.equal(rebuilt?.sha256);
  });

  it('stages that must be built are built side by side; the results come in the order asked for', async () => {
    const f = tree('f');
    appendFileSync(join(f, 'virt_net_compat.h'), '/* all four stages change */\n');
    const rs = await build(f, [4, 2, 1, 3]);
    expect(rs.map((r) => `${r.stage}:${r.ok}:${r.compiled}`)).to.deep.equal(['4:true:true', '2:true:true', '1:true:true', '3:true:true']);
    expect(new Set(rs.map((r) => r.entry)).size).to.equal(4);
    for (const r of rs) expect(r.module).to.equal(join(r.entry, `virt_net${r.stage}.ko`));
    const again = await build(f, [3, 1]);
    expect(again.map((r) => `${r.stage}:${r.compiled}`)).to.deep.equal(['3:false', '1:false']);
  });

  it('the key changes with the stage and the kernel tree (content and path), not with the driver tree\'s path', async () => {
    const kernel = join(tmp, 'kernel');
    mkdirSync(join(kernel, 'include', 'generated'), { recursive: true });
    writeFileSync(join(kernel, '.config'), 'CONFIG_X=y\n');
    writeFileSync(join(kernel, 'Module.symvers'), '0x1\tsym\tvmlinux\tEXPORT_SYMBOL\t\n');
    writeFileSync(join(kernel, 'include/generated/autoconf.h'), '#define CONFIG_X 1\n');
    writeFileSync(join(kernel, 'include/generated/utsrelease.h'), '#define UTS_RELEASE "6.1.0-test"\n');
    const id = await kernelTreeIdentity(kernel);
    expect(id).to.contain('6.1.0-test');
    const copy = join(tmp, 'kernel-copy');
    cpSync(kernel, copy, { recursive: true });
    expect(await kernelTreeIdentity(copy)).to.not.equal(id);
    writeFileSync(join(kernel, 'Module.symvers'), '0x2\tsym\tvmlinux\tEXPORT_SYMBOL\t\n');
    // Another size and time: the identity is read again.
    utimesSync(join(kernel, 'Module.symvers'), new Date(), new Date(Date.now() + 5_000));
    expect(await kernelTreeIdentity(kernel)).to.not.equal(id);
    const opts = (sourceDir: string, kernelDir: string) => ({ board: 'native', kernelDir, arch: '', crossCompile: '', sourceDir });
    const a = join(tmp, 'a', 'drivers', 'virt_net');
    const b = join(tmp, 'b', 'drivers', 'virt_net');
    expect(await moduleBuildKey(opts(a, copy), 3)).to.equal(await moduleBuildKey(opts(b, copy), 3));
    expect(await moduleBuildKey(opts(a, copy), 3)).to.not.equal(await moduleBuildKey(opts(a, copy), 2));
    expect(await moduleBuildKey(opts(a, copy), 3)).to.not.equal(await moduleBuildKey(opts(a, kernel), 3));
  });

  it('pruning keeps the 64 most recently used entries and any used in the last hour, never one without its marker', async () => {
    const root = join(tmp, 'prune');
    mkdirSync(root);
    const now = Date.now();
    const made: string[] = [];
    for (let i = 0; i < 70; i++) {
      const dir = join(root, `${MODULE_ENTRY}-${String(i).padStart(16, '0')}`);
      mkdirSync(dir);
      writeFileSync(join(dir, '.complete.json'), '{}');
      // Entry i was last used i hours ago (0: now).
      const t = new Date(now - i * 3_600_000 - 60_000);
      utimesSync(join(dir, '.complete.json'), t, t);
      made.push(dir);
    }
    mkdirSync(join(root, `${MODULE_ENTRY}-building`));
    const removed = await pruneModuleEntries(root, now);
    expect(removed.sort()).to.deep.equal(made.slice(64).sort());
    expect(existsSync(join(root, `${MODULE_ENTRY}-building`))).to.equal(true);
    expect(existsSync(made[63]!)).to.equal(true);
  });
});
