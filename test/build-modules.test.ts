// buildModules against real kernel trees: the emulated board's ARM tree (from
// VNET_KERNEL_DIR) and Debian's linux-headers-amd64 for the native build.
// Nothing here is skipped: a missing tree fails with what to set or install.

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildModules, kernelTreeRelease, untestedKernelWarning } from '../src/build/modules.ts';
import { HarnessError, PrerequisiteError } from '../src/errors.ts';
import type { BuildResult } from '../src/results/model.ts';
import { emulatedKernelTree, nativeKernelTree } from './helpers/kernel.ts';

const ROOT = join(import.meta.dirname, '..');
const DRIVERS = join(ROOT, 'kernel-modules/virt_net');
const BUGS = join(ROOT, 'test/fixtures/bugs');
const FIXTURES = join(ROOT, 'test/fixtures/drivers');
const ARCH = process.env.VNET_ARCH ?? 'arm';
const CROSS = process.env.VNET_CROSS_COMPILE ?? 'arm-linux-gnueabi-';
const BUILD_TIMEOUT = 600_000;

/** The ARM kernel build tree (set by the ARM suite's hook). */
let armDir: string | undefined;
function armKernelDir(): string {
  if (!armDir) throw new Error('the ARM kernel tree was not prepared');
  if (!existsSync(join(armDir, 'Makefile'))) throw new Error(`${armDir} is not a kernel build tree (no Makefile)`);
  return armDir;
}


const temps: string[] = [];
function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `vnet-${tag}-`));
  temps.push(d);
  return d;
}

/** A temporary copy of the project's drivers with the given patches applied. */
function patchedTree(...patches: string[]): string {
  const dir = tempDir('src');
  cpSync(DRIVERS, dir, { recursive: true });
  for (const p of patches) execFileSync('patch', ['-p1', '--quiet', '-d', dir, '-i', p]);
  return dir;
}

function armBuild(sourceDir: string, buildDir: string, stages?: number[]): Promise<BuildResult[]> {
  return buildModules({
    board: 'qemu-imx25',
    kernelDir: armKernelDir(),
    arch: ARCH,
    crossCompile: CROSS,
    sourceDir,
    buildDir,
    ...(stages ? { stages } : {}),
  });
}

/** Build artefacts in a directory, which must never appear in a source tree. */
function artefacts(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.(o|ko|mod|mod\.c|cmd|symvers|order)$/.test(f));
}

function elfMachine(ko: string): number {
  const b = readFileSync(ko);
  return b[5] === 1 ? b.readUInt16LE(18) : b.readUInt16BE(18);
}

const summary = (rs: BuildResult[]) => rs.map((r) => `${r.stage}:${r.ok ? 'ok' : 'failed'}`).join(' ');

after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('buildModules (ARM, emulated board tree) @board', function () {
  this.timeout(BUILD_TIMEOUT);

  before(async function () {
    // A cold cache builds the emulated board's kernel first (minutes).
    this.timeout(45 * 60_000);
    armDir = await emulatedKernelTree();
  });

  it('builds the project drivers: four ARM modules, vermagic of the tree, zero warnings', async () => {
    const release = execFileSync('make', ['-s', '-C', armKernelDir(), 'kernelrelease'], { encoding: 'utf8' }).trim();
    const build = tempDir('build');
    const rs = await armBuild(DRIVERS, build);
    expect(summary(rs)).to.equal('1:ok 2:ok 3:ok 4:ok');
    for (const r of rs) {
      expect(r.module, `stage ${r.stage}`).to.equal(join(build, `virt_net${r.stage}.ko`));
      expect(elfMachine(r.module!), `stage ${r.stage} e_machine`).to.equal(40); // EM_ARM
      expect(r.vermagic!.split(' ')[0], `stage ${r.stage} vermagic`).to.equal(release);
      // Cross-check the ELF reader against kmod's modinfo.
      const modinfo = execFileSync('modinfo', ['-F', 'vermagic', r.module!], { encoding: 'utf8' });
      expect(r.vermagic!.trim()).to.equal(modinfo.trim());
      expect(r.sha256).to.match(/^[0-9a-f]{64}$/);
      expect(r.warnings, `stage ${r.stage} warnings:\n${r.log}`).to.deep.equal([]);
      expect(r.diagnostics, `stage ${r.stage} diagnostics`).to.deep.equal([]);
      expect(r.compiled).to.equal(true);
    }
    expect(artefacts(DRIVERS), 'the source tree stays clean').to.deep.equal([]);
  });

  it('builds the other stages when one has a syntax error, with structured diagnostics for it', async () => {
    const src = patchedTree(join(BUGS, 'syntax-error.patch'));
    const rs = await armBuild(src, tempDir('build'));
    expect(summary(rs)).to.equal('1:ok 2:failed 3:ok 4:ok');
    for (const r of rs.filter((x) => x.stage !== 2)) {
      expect(existsSync(r.module!), `stage ${r.stage} module`).to.equal(true);
      expect(r.vermagic).to.be.a('string');
    }

    // Where the error is: right after "virt_net_consume_skb(skb)" (byte column).
    const lines = readFileSync(join(src, 'virt_net2.c'), 'utf8').split('\n');
    const at = lines.findIndex((l) => /virt_net_consume_skb\(skb\)\s*$/.test(l));
    expect(at, 'patched line').to.be.greaterThan(0);
    const stage2 = rs[1]!;
    expect(stage2.module).to.equal(undefined);
    expect(stage2.diagnostics[0]).to.deep.equal({
      file: join(src, 'virt_net2.c'),
      line: at + 1,
      column: lines[at]!.trimEnd().length + 1,
      severity: 'error',
      message: "expected ';' before 'return'",
    });
    expect(stage2.log).to.include("error: expected ';'");
    expect(artefacts(src), 'the source tree stays clean').to.deep.equal([]);
  });

  it('does no compile work when nothing changed, and only the changed stage\'s after an edit', async () => {
    const src = patchedTree();
    const build = tempDir('build');
    const first = await armBuild(src, build);
    expect(first.map((r) => r.compiled)).to.deep.equal([true, true, true, true]);

    const second = await armBuild(src, build);
    expect(second.map((r) => r.compiled)).to.deep.equal([false, false, false, false]);
    expect(second.map((r) => r.sha256)).to.deep.equal(first.map((r) => r.sha256));
    expect(second.every((r) => r.ok)).to.equal(true);

    const file = join(src, 'virt_net3.c');
    writeFileSync(file, readFileSync(file, 'utf8').replace('0x89, 0x11', '0x89, 0x12'));
    const third = await armBuild(src, build);
    expect(third.map((r) => r.compiled)).to.deep.equal([false, false, true, false]);
    expect(third[2]!.sha256).to.not.equal(first[2]!.sha256);
  });

  it('reports a compile warning as a finding of its stage, also when the module is up to date', async () => {
    const src = patchedTree(join(FIXTURES, 'stage3-warning.patch'));
    const build = tempDir('build');
    for (const round of ['first', 'unchanged rebuild']) {
      const rs = await armBuild(src, build);
      expect(summary(rs), round).to.equal('1:ok 2:ok 3:ok 4:ok');
      expect(rs.map((r) => r.warnings.length), round).to.deep.equal([0, 0, 1, 0]);
      expect(rs[2]!.warnings[0], round).to.include({
        file: join(src, 'virt_net3.c'),
        severity: 'warning',
        message: "unused variable 'unused_len'",
        option: '-Wunused-variable',
      });
      if (round !== 'first') expect(rs[2]!.compiled).to.equal(false);
    }
  });

  it('builds only the stages asked for', async () => {
    const rs = await armBuild(DRIVERS, tempDir('build'), [4, 2]);
    expect(summary(rs)).to.equal('4:ok 2:ok');
  });

  it('names a missing cross compiler and how to install it', async () => {
    const err = await buildModules({
      board: 'qemu-imx25',
      kernelDir: armKernelDir(),
      arch: 'arm',
      crossCompile: 'no-such-arch-linux-',
      sourceDir: DRIVERS,
      buildDir: tempDir('build'),
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PrerequisiteError);
    expect((err as Error).message).to.include('no-such-arch-linux-gcc not found in PATH');
    expect((err as Error).message).to.include('apt-get install gcc-no-such-arch-linux');
  });
});

describe('untestedKernelWarning: kernels older than the oldest tested (6.1)', () => {
  it('warns for 2.6.31 and 5.15, not for 6.1, 6.12 or an unreadable release', () => {
    expect(untestedKernelWarning('2.6.31-imx257')).to.match(/^kernel 2\.6\.31-imx257 is older than 6\.1, .*virt_net_compat\.h\) have never been compiled/);
    expect(untestedKernelWarning('5.15.0-91-generic')).to.match(/^kernel 5\.15\.0-91-generic is older than 6\.1/);
    expect(untestedKernelWarning('6.1.192-vnet')).to.equal(undefined);
    expect(untestedKernelWarning('6.12.57+deb12-amd64')).to.equal(undefined);
    expect(untestedKernelWarning('')).to.equal(undefined);
  });
});

describe('buildModules (input errors, no kernel needed)', () => {
  it('names a missing kernel tree', async () => {
    const err = await buildModules({
      board: 'qemu-imx25',
      kernelDir: '/nonexistent/kernel-tree',
      arch: 'arm',
      crossCompile: CROSS,
      sourceDir: DRIVERS,
      buildDir: tempDir('build'),
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PrerequisiteError);
    expect((err as Error).message).to.match(/board qemu-imx25: kernel tree \/nonexistent\/kernel-tree not found/);
    expect((err as Error).message).to.include('linux-headers-amd64');
  });

  it('refuses a build directory inside the source tree', async () => {
    const src = patchedTree();
    const err = await buildModules({
      board: 'qemu-imx25',
      kernelDir: '/nonexistent/kernel-tree',
      arch: '',
      crossCompile: '',
      sourceDir: src,
      buildDir: join(src, 'build'),
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HarnessError);
    expect((err as Error).message).to.include('must lie outside the source tree');
    expect(existsSync(join(src, 'build')), 'nothing written into the source').to.equal(false);
  });
});

describe('buildModules (native, linux-headers-amd64)', function () {
  this.timeout(BUILD_TIMEOUT);

  it('builds the same sources warning-free for the host', async () => {
    const kernelDir = nativeKernelTree();
    const rs = await buildModules({
      board: 'native',
      kernelDir,
      arch: '',
      crossCompile: '',
      sourceDir: DRIVERS,
      buildDir: tempDir('native'),
    });
    expect(summary(rs)).to.equal('1:ok 2:ok 3:ok 4:ok');
    const release = await kernelTreeRelease(kernelDir);
    for (const r of rs) {
      expect(r.warnings, `stage ${r.stage} warnings:\n${r.log}`).to.deep.equal([]);
      expect(r.diagnostics, `stage ${r.stage}`).to.deep.equal([]);
      expect(r.vermagic!.split(' ')[0]).to.equal(release);
      expect(elfMachine(r.module!), `stage ${r.stage} e_machine`).to.equal(62); // EM_X86_64
    }
  });
});
