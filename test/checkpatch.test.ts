// Kernel coding style of the drivers (issue 3): scripts/checkpatch.pl
// --strict --no-tree -f, taken from the emulated board's kernel source, must
// report nothing for any file of kernel-modules/virt_net. Also proves that
// the version gate which made virt_net_compat.h checkpatch-clean
// (VIRT_NET_KV_CODE from the Kbuild instead of LINUX_VERSION_CODE) selects
// exactly what LINUX_VERSION_CODE would, on both kernel trees the drivers are
// built against.
//
// kernel-modules/probe/vnet_probe.c is userland C (a board-side ICMP probe
// built with the board's libc). It is held to checkpatch's errors only
// (layout: indentation, braces, spacing, which apply to any C written in
// kernel style); its warnings and checks are not required, because the rules
// that fire there assume kernel headers: u16/s64 instead of the stdint types
// a userland program has, and pr_*-style "%s", __func__ messages.

import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { emulatedKernelTree, nativeKernelTree } from './helpers/kernel.ts';

const ROOT = join(import.meta.dirname, '..');
const DRIVERS = join(ROOT, 'kernel-modules/virt_net');
const PROBE = join(ROOT, 'kernel-modules/probe/vnet_probe.c');
const CLEAN = 'total: 0 errors, 0 warnings, 0 checks';
const ARCH = process.env.VNET_ARCH ?? 'arm';
const CROSS = process.env.VNET_CROSS_COMPILE ?? 'arm-linux-gnueabi-';

/** The ARM kernel build tree (set by prepareTree). */
let armTree: string | undefined;
/** checkpatch.pl of the emulated board's kernel source (set by prepareTree). */
let script: string | undefined;

/** Locates the ARM tree and its checkpatch.pl: a `before` hook of each suite (a cold cache builds the kernel, minutes). */
async function prepareTree(this: Mocha.Context): Promise<void> {
  this.timeout(45 * 60_000);
  armTree = await emulatedKernelTree();
  script = checkpatchIn(armTree);
}

/** Finds checkpatch.pl for a kernel build tree: in the tree, or in the harness cache's src/ beside it. */
function checkpatchIn(buildTree: string): string {
  const candidates = [
    join(buildTree, 'scripts/checkpatch.pl'),
    join(buildTree, '..', 'src', 'scripts/checkpatch.pl'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`no checkpatch.pl for kernel tree ${buildTree}: looked at ${candidates.join(', ')}`);
  // Without these beside it, checkpatch silently skips its spelling and const-struct checks.
  for (const aux of ['spelling.txt', 'const_structs.checkpatch']) {
    const p = join(found, '..', aux);
    if (!existsSync(p)) throw new Error(`${p} missing: checkpatch would skip the checks it feeds`);
  }
  return found;
}

interface CheckpatchRun {
  /** The "total: …" line, without the line count. */
  total: string;
  output: string;
  exitCode: number | undefined;
}

/** Runs checkpatch --strict --no-tree -f on one file (named relative to its directory). */
async function checkpatch(dir: string, file: string): Promise<CheckpatchRun> {
  if (!script) throw new Error('checkpatch.pl was not located');
  const r = await execa('perl', [script, '--strict', '--no-tree', '--no-color', '-f', file], {
    cwd: dir,
    reject: false,
    all: true,
  });
  const output = r.all ?? '';
  const m = /^total: \d+ errors, \d+ warnings, (?:\d+ checks, )?/m.exec(output);
  if (!m) throw new Error(`checkpatch gave no total for ${join(dir, file)} (exit ${r.exitCode}):\n${output}`);
  return { total: m[0].replace(/, $/, ''), output, exitCode: r.exitCode };
}

const temps: string[] = [];
function tempCopy(): string {
  const d = mkdtempSync(join(tmpdir(), 'vnet-checkpatch-'));
  temps.push(d);
  cpSync(DRIVERS, d, { recursive: true });
  return d;
}

after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** Every file of the driver tree except hidden ones (editor or VCS state). */
function driverFiles(): string[] {
  return readdirSync(DRIVERS, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

describe('checkpatch --strict (kernel coding style) @board', function () {
  this.timeout(120_000);
  before(prepareTree);

  it('covers at least the four stages, the compat header and the Kbuild', () => {
    expect(driverFiles()).to.include.members([
      'Kbuild', 'virt_net1.c', 'virt_net2.c', 'virt_net3.c', 'virt_net4.c', 'virt_net_compat.h',
    ]);
  });

  it('reports no error, warning or check for any file of kernel-modules/virt_net', async () => {
    const totals: Record<string, string> = {};
    const outputs: string[] = [];
    for (const f of driverFiles()) {
      const r = await checkpatch(DRIVERS, f);
      totals[f] = r.total;
      if (r.total !== CLEAN || r.exitCode !== 0) outputs.push(r.output);
    }
    const expected = Object.fromEntries(driverFiles().map((f) => [f, CLEAN]));
    expect(totals, outputs.join('\n')).to.deep.equal(expected);
  });

  it('reports no error for the userland probe (layout rules only, see the header comment)', async () => {
    const r = await checkpatch(join(PROBE, '..'), 'vnet_probe.c');
    expect(r.total, r.output).to.match(/^total: 0 errors,/);
  });

  it('can fail: a space-indented line in a stage is reported', async () => {
    const dir = tempCopy();
    const file = join(dir, 'virt_net1.c');
    const text = readFileSync(file, 'utf8');
    const broken = text.replace(/^\treturn /m, '        return ');
    expect(broken, 'the fixture edit applied').to.not.equal(text);
    writeFileSync(file, broken);
    const r = await checkpatch(dir, 'virt_net1.c');
    expect(r.total).to.not.equal(CLEAN);
    expect(r.exitCode).to.not.equal(0);
    expect(r.output).to.include('ERROR: code indent should use tabs where possible');
  });

  it('can fail: the LINUX_VERSION_CODE gate the header replaced is reported', async () => {
    const dir = tempCopy();
    const file = join(dir, 'virt_net_compat.h');
    const text = readFileSync(file, 'utf8');
    const old = text.replace('<= VIRT_NET_KV_CODE)', '<= LINUX_VERSION_CODE)');
    expect(old, 'the fixture edit applied').to.not.equal(text);
    writeFileSync(file, old);
    const r = await checkpatch(dir, 'virt_net_compat.h');
    expect(r.total).to.equal('total: 0 errors, 1 warnings, 0 checks');
    expect(r.output).to.include('WARNING: LINUX_VERSION_CODE should be avoided');
  });
});


/** Runs make for an external-module target in dir against a kernel tree. */
function kbuild(tree: string, dir: string, cross: boolean, ...extra: string[]) {
  const args = ['-s', '-C', tree, `M=${dir}`, ...extra];
  if (cross) args.push(`ARCH=${ARCH}`, `CROSS_COMPILE=${CROSS}`);
  return execa('make', args, { reject: false, all: true, timeout: 120_000 });
}

/**
 * Preprocesses a probe file through the drivers' own Kbuild and returns the
 * values VIRT_NET_KV_CODE and the kernel's LINUX_VERSION_CODE expand to.
 */
async function versionCodes(tree: string, cross: boolean, ...extra: string[]) {
  const dir = tempCopy();
  writeFileSync(
    join(dir, 'kvcode.c'),
    '#include <linux/version.h>\nint kv = VIRT_NET_KV_CODE;\nint lvc = LINUX_VERSION_CODE;\n',
  );
  writeFileSync(join(dir, 'Kbuild'), `${readFileSync(join(dir, 'Kbuild'), 'utf8')}obj-m += kvcode.o\n`);
  const r = await kbuild(tree, dir, cross, 'kvcode.i', ...extra);
  if (r.exitCode !== 0) throw new Error(`make kvcode.i against ${tree} failed:\n${r.all}`);
  const text = readFileSync(join(dir, 'kvcode.i'), 'utf8');
  const kv = /int kv = (\d+);/.exec(text)?.[1];
  const lvc = /int lvc = (\d+);/.exec(text)?.[1];
  if (!kv || !lvc) throw new Error(`kvcode.i from ${tree} lacks the expanded values:\n${text.slice(-400)}`);
  return { kv: Number(kv), lvc: Number(lvc) };
}

/** KERNEL_VERSION(a, b, c) of a tree's `make kernelversion` ("6.1.192"), c clamped at 255. */
async function expectedCode(tree: string): Promise<number> {
  const r = await execa('make', ['-s', '-C', tree, 'kernelversion'], { reject: false, all: true });
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec((r.stdout ?? '').trim());
  if (!m) throw new Error(`make kernelversion in ${tree} printed ${JSON.stringify(r.all)}`);
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3]), 255);
}

describe('VIRT_NET_KV_CODE (the checkpatch-clean version gate) @board', function () {
  this.timeout(120_000);
  before(prepareTree);

  const trees = [
    { name: 'emulated board (ARM)', tree: () => armTree!, cross: true },
    { name: 'linux-headers-amd64 (native)', tree: nativeKernelTree, cross: false },
  ];
  for (const t of trees) {
    it(`equals LINUX_VERSION_CODE on the ${t.name} tree`, async () => {
      const { kv, lvc } = await versionCodes(t.tree(), t.cross);
      expect(kv).to.equal(lvc);
      expect(kv).to.equal(await expectedCode(t.tree()));
    });
  }

  it('clamps a SUBLEVEL above 255 at 255, as the kernel does since 4.9.256', async () => {
    // Only our Kbuild reads SUBLEVEL here; the tree's version.h stays as generated.
    const { kv, lvc } = await versionCodes(nativeKernelTree(), false, 'SUBLEVEL=300');
    expect(kv).to.equal((lvc & ~0xff) + 255);
  });

  it('stops the Kbuild with a clear error when the kernel gives no SUBLEVEL', async () => {
    const dir = tempCopy();
    const r = await kbuild(nativeKernelTree(), dir, false, 'virt_net1.o', 'SUBLEVEL=');
    expect(r.exitCode).to.not.equal(0);
    expect(r.all).to.include("virt_net: the kernel's VERSION, PATCHLEVEL and SUBLEVEL are not all set");
  });

  it('fails the build with a clear #error when a Kbuild does not pass it', async () => {
    const dir = tempCopy();
    writeFileSync(join(dir, 'Kbuild'), 'obj-m += virt_net1.o\n');
    const r = await kbuild(nativeKernelTree(), dir, false, 'virt_net1.o');
    expect(r.exitCode).to.not.equal(0);
    expect(r.all).to.match(/virt_net_compat\.h:\d+:\d+: error: #error "VIRT_NET_KV_CODE undefined: build with virt_net's Kbuild, which sets it"/);
  });
});
