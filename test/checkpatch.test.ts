// Kernel coding style of the drivers (issue 3): scripts/checkpatch.pl
// --strict --no-tree -f, taken from the emulated board's kernel source, must
// report nothing for any file of kernel-modules/virt_net but the one warning
// accepted by name below (ACCEPTED): the compat header's version gate uses
// LINUX_VERSION_CODE, the kernel's own convention, which checkpatch flags in
// every file because in-tree code never needs it. Also proves the sources
// build outside the project's Kbuild (copied into another tree).
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
import { emulatedKernelTree } from './helpers/kernel.ts';

const ROOT = join(import.meta.dirname, '..');
const DRIVERS = join(ROOT, 'kernel-modules/virt_net');
const PROBE = join(ROOT, 'kernel-modules/probe/vnet_probe.c');
const CLEAN = 'total: 0 errors, 0 warnings, 0 checks';

/**
 * The checkpatch findings accepted on purpose, by file and checkpatch type,
 * with how many times each may occur: anything else, or one more of these,
 * fails the gate. As the kernel's backports project does for the same rule.
 */
const ACCEPTED: Record<string, Record<string, number>> = {
  // VIRT_NET_KERNEL_AT_LEAST(): the one version gate of a driver built for 2.6.31 to 6.x.
  'virt_net_compat.h': { LINUX_VERSION_CODE: 1 },
};
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
  /** How many findings of each checkpatch type (ERROR:, WARNING: and CHECK: lines, by their --show-types tag). */
  types: Record<string, number>;
  output: string;
  exitCode: number | undefined;
}

/** Runs checkpatch --strict --no-tree -f on one file (named relative to its directory). */
async function checkpatch(dir: string, file: string): Promise<CheckpatchRun> {
  if (!script) throw new Error('checkpatch.pl was not located');
  const r = await execa('perl', [script, '--strict', '--no-tree', '--no-color', '--show-types', '-f', file], {
    cwd: dir,
    reject: false,
    all: true,
  });
  const output = r.all ?? '';
  const m = /^total: \d+ errors, \d+ warnings, (?:\d+ checks, )?/m.exec(output);
  if (!m) throw new Error(`checkpatch gave no total for ${join(dir, file)} (exit ${r.exitCode}):\n${output}`);
  const types: Record<string, number> = {};
  for (const t of output.matchAll(/^(?:ERROR|WARNING|CHECK):([A-Z0-9_]+):/gm)) types[t[1]!] = (types[t[1]!] ?? 0) + 1;
  return { total: m[0].replace(/, $/, ''), types, output, exitCode: r.exitCode };
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

  it('reports nothing for any file of kernel-modules/virt_net but the accepted findings', async () => {
    const found: Record<string, Record<string, number>> = {};
    const outputs: string[] = [];
    for (const f of driverFiles()) {
      const r = await checkpatch(DRIVERS, f);
      found[f] = r.types;
      if (r.total !== CLEAN) outputs.push(r.output);
    }
    const expected = Object.fromEntries(driverFiles().map((f) => [f, ACCEPTED[f] ?? {}]));
    expect(found, outputs.join('\n')).to.deep.equal(expected);
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
    expect(r.output).to.include('ERROR:CODE_INDENT: code indent should use tabs where possible');
  });

  it('can fail: a second LINUX_VERSION_CODE use is one more than accepted', async () => {
    const dir = tempCopy();
    const file = join(dir, 'virt_net4.c');
    const text = readFileSync(file, 'utf8');
    const more = text.replace('#include "virt_net_compat.h"\n', '#include "virt_net_compat.h"\n\n#if KERNEL_VERSION(3, 0, 0) > LINUX_VERSION_CODE\n#endif\n');
    expect(more, 'the fixture edit applied').to.not.equal(text);
    writeFileSync(file, more);
    const r = await checkpatch(dir, 'virt_net4.c');
    expect(r.types).to.deep.equal({ LINUX_VERSION_CODE: 1 });
    expect(ACCEPTED['virt_net4.c']).to.equal(undefined);
    expect(r.output).to.include('WARNING:LINUX_VERSION_CODE: LINUX_VERSION_CODE should be avoided');
  });


/** Runs make for an external-module target in dir against a kernel tree. */
function kbuild(tree: string, dir: string, cross: boolean, ...extra: string[]) {
  const args = ['-s', '-C', tree, `M=${dir}`, ...extra];
  if (cross) args.push(`ARCH=${ARCH}`, `CROSS_COMPILE=${CROSS}`);
  return execa('make', args, { reject: false, all: true, timeout: 120_000 });
}

describe('the version gate (LINUX_VERSION_CODE) @board', function () {
  this.timeout(120_000);
  before(prepareTree);

  it('builds the sources copied into another tree, with a Kbuild of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnet-checkpatch-'));
    temps.push(dir);
    for (const f of ['virt_net4.c', 'virt_net_compat.h']) cpSync(join(DRIVERS, f), join(dir, f));
    writeFileSync(join(dir, 'Kbuild'), 'obj-m += virt_net4.o\n');
    const r = await kbuild(armTree!, dir, true, 'virt_net4.ko');
    expect(r.exitCode, r.all).to.equal(0);
    expect(r.all ?? '', 'no compiler warning').to.not.match(/warning:/);
  });

  it('selects the current kernel APIs on the emulated board\'s tree (6.1), and can fail', async () => {
    const gate = async (assertion: string) => {
      const dir = tempCopy();
      writeFileSync(join(dir, 'gate.c'), `#include "virt_net_compat.h"\n_Static_assert(${assertion}, "gate");\n`);
      writeFileSync(join(dir, 'Kbuild'), 'obj-m += gate.o\n');
      return kbuild(armTree!, dir, true, 'gate.o');
    };
    const now = await gate('VIRT_NET_KERNEL_AT_LEAST(5, 18, 0) && !VIRT_NET_KERNEL_AT_LEAST(99, 0, 0)');
    expect(now.exitCode, now.all).to.equal(0);
    const wrong = await gate('!VIRT_NET_KERNEL_AT_LEAST(5, 18, 0)');
    expect(wrong.exitCode).to.not.equal(0);
    expect(wrong.all).to.include('static assertion failed: "gate"');
  });
});
});
