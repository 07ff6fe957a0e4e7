// doctor: what is missing on the host and the one command installing it.
// A fake probe plays a host that lacks things; one test asks this machine.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadBoard } from '../src/config/board.ts';
import { nativeKernelTree } from './helpers/kernel.ts';
import type { BoardConfig, EmulatedBoardConfig, RealBoardConfig } from '../src/config/types.ts';
import { checkHost, crossCompilerPackage, crossHeadersPackage, doctorCommand, installCommand, packageNeeds, systemProbe } from '../src/host/doctor.ts';
import type { BuildCheck, HostProbe, ProbeResult } from '../src/host/doctor.ts';
import { PROBE_CFLAGS } from '../src/build/probe.ts';

const boardsDir = path.resolve(import.meta.dirname, '../boards');
const emulated = () => loadBoard('qemu-imx25', { boardsDir }) as EmulatedBoardConfig;
const tmpDirs: string[] = [];
after(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A real board file in a temp dir, with `edit` applied; its kernel_tree exists (validation requires it). */
function realBoardFile(edit: (yaml: string) => string = (y) => y): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-doctor-'));
  tmpDirs.push(dir);
  fs.mkdirSync(path.join(dir, 'linux'));
  const text = fs.readFileSync(path.join(boardsDir, 'imx257.yaml'), 'utf8').replace(/^kernel_tree: .*$/m, `kernel_tree: ${path.join(dir, 'linux')}`);
  const file = path.join(dir, 'imx257.yaml');
  fs.writeFileSync(file, edit(text));
  return file;
}
const real = () => loadBoard(realBoardFile(), { boardsDir }) as RealBoardConfig;

/** A host described by data; `shell` applies `onShell` to it, as apt-get would. */
class FakeHost implements HostProbe {
  commands = new Set(['arm-linux-gnueabi-gcc', 'make', 'qemu-system-arm']);
  packages = new Set(packageNeeds(emulated(), false));
  foreign = ['armel'];
  aptKnows = new Set(emulated().emulated.rootfs.packages.map((p) => `${p}:armel`));
  paths = new Set<string>();
  userId = 0;
  shellCalls: string[] = [];
  onShell: (command: string) => number = () => 0;
  /** What a build check gives, by kind; `builds` records the checks asked for. */
  buildResult: Record<BuildCheck['kind'], ProbeResult> = {
    program: { exitCode: 0, stdout: '', stderr: '' },
    module: { exitCode: 0, stdout: '', stderr: '' },
  };
  builds: BuildCheck[] = [];
  kernelTree: string | null = '/cache/kernel-0123/build';
  nolibcHeaders: { dir: string } | { error: string } = { dir: '/cache/nolibc-0123/nolibc' };

  async run(command: string, args: string[]): Promise<ProbeResult> {
    const ok = (stdout: string): ProbeResult => ({ exitCode: 0, stdout, stderr: '' });
    if (command === 'dpkg-query') {
      const pkg = args[args.length - 1]!;
      return this.packages.has(pkg)
        ? ok('install ok installed')
        : { exitCode: 1, stdout: '', stderr: `dpkg-query: no packages found matching ${pkg}` };
    }
    if (command === 'dpkg' && args[0] === '--print-architecture') return ok('amd64\n');
    if (command === 'dpkg' && args[0] === '--print-foreign-architectures') return ok(this.foreign.map((a) => `${a}\n`).join(''));
    if (command === 'apt-cache') {
      const stanzas = args.slice(2).filter((n) => this.aptKnows.has(n)).map((n) => {
        const [pkg, arch] = n.split(':');
        return `Package: ${pkg}\nArchitecture: ${arch}\nVersion: 1.0\n`;
      });
      return ok(stanzas.join('\n'));
    }
    throw new Error(`fake host: unexpected command ${command} ${args.join(' ')}`);
  }
  async which(command: string) {
    if (!this.commands.has(command)) return null;
    return command.includes('/') ? command : `/usr/bin/${command}`;
  }
  async exists(p: string) {
    return this.paths.has(p);
  }
  uid() {
    return this.userId;
  }
  async shell(command: string) {
    this.shellCalls.push(command);
    return this.onShell(command);
  }
  async build(check: BuildCheck) {
    this.builds.push(check);
    return this.buildResult[check.kind];
  }
  async nolibc() {
    return this.nolibcHeaders;
  }
  async cachedKernelTree() {
    return this.kernelTree;
  }
  /** lava-server's templates in the cache (asked only with --tests); fetchLavaTemplates puts them there unless fetchError. */
  lavaTemplatesDir: string | null = '/cache/lava-server-templates-0123/device-types';
  fetchError: string | undefined;
  fetches = 0;
  async lavaTemplates() {
    return this.lavaTemplatesDir ? { dir: this.lavaTemplatesDir } : { missing: 'lava-server 2023.01-2\'s device-type templates are not in the harness cache' };
  }
  async fetchLavaTemplates() {
    this.fetches += 1;
    if (this.fetchError) return { error: this.fetchError };
    this.lavaTemplatesDir = '/cache/lava-server-templates-0123/device-types';
    return { dir: this.lavaTemplatesDir };
  }
}

async function doctor(board: BoardConfig, host: FakeHost, install = false) {
  let text = '';
  const code = await doctorCommand({ board, install, probe: host, out: { write: (s: string) => (text += s) } });
  return { code, text };
}

describe('doctor (fake host)', () => {
  it('a complete host: nothing missing, exit 0', async () => {
    const host = new FakeHost();
    expect(await checkHost(emulated(), host)).to.deep.equal([]);
    const { code, text } = await doctor(emulated(), host);
    expect(code).to.equal(0);
    expect(text).to.equal(
      'doctor: board qemu-imx25 (emulated): every host prerequisite is present\n' +
        `  checked: a nolibc program builds with arm-linux-gnueabi-gcc ${PROBE_CFLAGS.join(' ')}\n` +
        '  checked: a module builds against /cache/kernel-0123/build\n',
    );
  });

  it('names exactly what is missing and puts exactly that in the one install command', async () => {
    const host = new FakeHost();
    host.commands.delete('qemu-system-arm');
    host.packages.delete('qemu-system-arm');
    host.packages.delete('bison');
    host.foreign = [];
    const missing = await checkHost(emulated(), host);
    expect(missing.map((m) => `${m.kind} ${m.name}`)).to.deep.equal([
      'command qemu-system-arm',
      'package qemu-system-arm',
      'package bison',
      'architecture armel',
    ]);
    const command =
      'dpkg --add-architecture armel && apt-get update && ' +
      'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-arm bison';
    expect(installCommand(missing)).to.equal(command);
    const { code, text } = await doctor(emulated(), host);
    expect(code).to.equal(2);
    expect(text).to.contain(`install with (as root):\n  ${command}\n`);
    expect(text).to.contain('  missing package       bison: not installed\n');
    expect(host.shellCalls).to.deep.equal([]);
  });

  it('armel enabled but the package lists not updated: apt-get update alone', async () => {
    const host = new FakeHost();
    host.aptKnows.delete('dropbear-bin:armel');
    const missing = await checkHost(emulated(), host);
    expect(missing).to.deep.equal([
      {
        kind: 'apt-package',
        name: 'dropbear-bin:armel',
        detail: 'not known to apt (package lists not updated since the architecture was added?)',
      },
    ]);
    expect(installCommand(missing)).to.equal('apt-get update');
  });

  it('the cross compiler of the board is checked, and its Debian package suggested', async () => {
    const host = new FakeHost();
    host.commands.delete('arm-linux-gnueabi-gcc');
    const missing = await checkHost(emulated(), host);
    expect(missing.map((m) => [m.name, m.package])).to.deep.equal([['arm-linux-gnueabi-gcc', 'gcc-arm-linux-gnueabi']]);
    expect(crossCompilerPackage('aarch64-linux-gnu-')).to.equal('gcc-aarch64-linux-gnu');
    expect(crossCompilerPackage('/opt/bsp/bin/arm-none-linux-gnueabi-')).to.equal(undefined);
  });

  it('a cross compiler named by absolute prefix is looked up there, not in PATH', async () => {
    const host = new FakeHost();
    const board = loadBoard(realBoardFile((y) => y.replace(/^cross_compile: .*$/m, 'cross_compile: /opt/bsp/bin/arm-linux-gnueabi-')), { boardsDir });
    host.packages = new Set(board.hostPackages);
    const missing = (await checkHost(board, host)).filter((m) => m.kind === 'command');
    expect(missing).to.deep.equal([
      {
        kind: 'command',
        name: '/opt/bsp/bin/arm-linux-gnueabi-gcc',
        detail: 'cross compiler (cross_compile): not found at /opt/bsp/bin/arm-linux-gnueabi-gcc (not a Debian package; install it there or fix the path)',
      },
    ]);
    host.commands.add('/opt/bsp/bin/arm-linux-gnueabi-gcc');
    expect((await checkHost(board, host)).filter((m) => m.kind === 'command')).to.deep.equal([]);
    // Debian's own compiler named by its path is still Debian's package.
    expect(crossCompilerPackage('/usr/bin/arm-linux-gnueabi-')).to.equal('gcc-arm-linux-gnueabi');
  });

  it('--install as a normal user is refused and runs nothing', async () => {
    const host = new FakeHost();
    host.packages.delete('flex');
    host.userId = 1000;
    const { code, text } = await doctor(emulated(), host, true);
    expect(code).to.equal(2);
    expect(text).to.contain('doctor --install refused: installing Debian packages needs root (uid 0), this process runs as uid 1000.');
    expect(text).to.contain("sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends flex'");
    expect(host.shellCalls).to.deep.equal([]);
  });

  it('--install as root runs the command, then checks again', async () => {
    const host = new FakeHost();
    host.packages.delete('flex');
    host.foreign = [];
    host.onShell = () => {
      host.packages.add('flex');
      host.foreign = ['armel'];
      return 0;
    };
    const { code, text } = await doctor(emulated(), host, true);
    expect(host.shellCalls).to.deep.equal([
      'dpkg --add-architecture armel && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends flex',
    ]);
    expect(code).to.equal(0);
    expect(text).to.contain('every host prerequisite is present now');
  });

  it('--install whose apt-get fails (or installs too little) exits 2', async () => {
    const host = new FakeHost();
    host.packages.delete('flex');
    host.onShell = () => 100;
    expect((await doctor(emulated(), host, true)).code).to.equal(2);
    host.onShell = () => 0; // "succeeds" but flex is still missing
    const again = await doctor(emulated(), host, true);
    expect(again.code).to.equal(2);
    expect(again.text).to.contain('still missing after the install');
  });

  it('a real board: kernel tree, key file and serial device, which apt cannot install', async () => {
    const host = new FakeHost();
    const board = real();
    host.packages = new Set(packageNeeds(board, false));
    host.paths = new Set([path.join(board.kernelTree, 'Makefile'), board.ssh!.keyFile]);
    const missing = await checkHost(board, host);
    expect(missing.map((m) => `${m.kind} ${m.name}`)).to.deep.equal([
      `path ${path.join(board.kernelTree, 'Module.symvers')}`,
      'path /dev/ttyUSB0',
    ]);
    expect(installCommand(missing)).to.equal(null);
    const { code, text } = await doctor(board, host);
    expect(code).to.equal(2);
    expect(text).to.contain('(2 of these cannot be installed with apt: fix them by hand)');
    expect(text).not.to.contain('install with');
  });

  it('--tests: lava-server\'s templates missing from the cache are reported, and --install fetches them (after the packages), no apt-get install', async () => {
    const host = new FakeHost();
    host.packages = new Set(packageNeeds(emulated(), true));
    host.lavaTemplatesDir = null;
    const missing = await checkHost(emulated(), host, { tests: true });
    expect(missing.map((m) => `${m.kind} ${m.name}`)).to.deep.equal(['download lava-server device-type templates']);
    expect(installCommand(missing)).to.equal(null);
    // without the tests' packages asked for, the templates are not looked at
    expect(await checkHost(emulated(), host)).to.deep.equal([]);
    const run = async (install: boolean) => {
      let text = '';
      const code = await doctorCommand({ board: emulated(), install, tests: true, probe: host, out: { write: (s: string) => (text += s) } });
      return { code, text };
    };
    const asked = await run(false);
    expect(asked.code).to.equal(2);
    expect(asked.text).to.contain('fetch with: npx vnet-harness doctor --board qemu-imx25 --install --tests');
    expect(host.fetches).to.equal(0);
    host.fetchError = 'apt-get download lava-server=2023.01-2 failed: E: Unable to locate package';
    const failed = await run(true);
    expect(failed.code).to.equal(2);
    expect(failed.text).to.contain(`doctor: ${host.fetchError}\n`);
    expect(failed.text).to.contain('still missing after the install');
    host.fetchError = undefined;
    const fetched = await run(true);
    expect(fetched.code).to.equal(0);
    expect(host.fetches).to.equal(2);
    expect(host.shellCalls).to.deep.equal([]);
    expect(await checkHost(emulated(), host, { tests: true })).to.deep.equal([]);
  });

  it('--tests declares LAVA\'s dispatcher (lava-dispatcher, for lava-run) among the tests\' packages', () => {
    expect(packageNeeds(emulated(), true)).to.include.members(['lava-dispatcher', 'lava-common']);
    expect(packageNeeds(emulated(), false)).to.not.include('lava-dispatcher');
  });
});

describe('doctor (this machine)', function () {
  this.timeout(60_000);

  it('agrees with the shell and dpkg, and reports a package that is surely absent', async () => {
    const board = emulated();
    board.hostPackages = [...board.hostPackages, 'vnet-harness-no-such-package'];
    const missing = await checkHost(board, systemProbe);
    // Independent oracle: the shell's command -v and dpkg-query's own status line.
    const shellHas = (c: string) => {
      try {
        execFileSync('sh', ['-c', `command -v ${c}`]);
        return true;
      } catch {
        return false;
      }
    };
    const dpkgHas = (p: string) => {
      try {
        return execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8', stdio: 'pipe' }).includes('install ok installed');
      } catch {
        return false;
      }
    };
    const expectedCommands = ['arm-linux-gnueabi-gcc', 'make', 'qemu-system-arm'].filter((c) => !shellHas(c));
    const expectedPackages = packageNeeds(board, false).filter((p) => !dpkgHas(p));
    expect(missing.filter((m) => m.kind === 'command').map((m) => m.name)).to.deep.equal(expectedCommands);
    expect(missing.filter((m) => m.kind === 'package').map((m) => m.name)).to.deep.equal(expectedPackages);
    expect(expectedPackages).to.include('vnet-harness-no-such-package');
    expect(installCommand(missing)).to.match(/apt-get install -y --no-install-recommends .*\bvnet-harness-no-such-package\b/);
  });
});

describe('doctor builds instead of trusting files (fake host)', () => {
  const missingHeaders: ProbeResult = {
    exitCode: 1,
    stdout: '',
    stderr:
      'In file included from <command-line>:\n' +
      '/cache/nolibc-0123/nolibc/std.h:36:10: fatal error: linux/types.h: No such file or directory\ncompilation terminated.\n',
  };

  it('builds a nolibc program with the probe\'s flags, then a module against the cached kernel tree', async () => {
    const host = new FakeHost();
    const { code, text } = await doctor(emulated(), host);
    expect(code).to.equal(0);
    expect(host.builds).to.deep.equal([
      { kind: 'program', cc: 'arm-linux-gnueabi-gcc', nolibcDir: '/cache/nolibc-0123/nolibc' },
      { kind: 'module', kernelTree: '/cache/kernel-0123/build', arch: 'arm', crossCompile: 'arm-linux-gnueabi-' },
    ]);
    expect(text).to.contain('  checked: a nolibc program builds with arm-linux-gnueabi-gcc -Os -s -static -nostdlib');
    expect(text).to.contain('  checked: a module builds against /cache/kernel-0123/build\n');
  });

  it('a compiler without the kernel\'s uapi headers (installed without recommends): reported with the package that has them, and installed', async () => {
    const host = new FakeHost();
    host.buildResult.program = missingHeaders;
    const missing = await checkHost(emulated(), host);
    expect(missing).to.deep.equal([
      {
        kind: 'build',
        name: `arm-linux-gnueabi-gcc ${PROBE_CFLAGS.join(' ')} + nolibc`,
        detail: "cannot build the board-side probe's kind of program: /cache/nolibc-0123/nolibc/std.h:36:10: fatal error: linux/types.h: No such file or directory",
        package: 'linux-libc-dev-armel-cross',
      },
    ]);
    host.onShell = () => {
      host.buildResult.program = { exitCode: 0, stdout: '', stderr: '' };
      return 0;
    };
    const { code, text } = await doctor(emulated(), host, true);
    expect(host.shellCalls).to.deep.equal(['apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-libc-dev-armel-cross']);
    expect(code).to.equal(0);
    expect(text).to.contain('every host prerequisite is present now');
  });

  it('a module that does not build against the tree is reported (apt cannot fix it), exit 2', async () => {
    const host = new FakeHost();
    host.buildResult.module = { exitCode: 2, stdout: '', stderr: 'make[1]: *** No rule to make target \'scripts/module.lds\'.  Stop.\nmake: *** [Makefile:1] Error 2\n' };
    const { code, text } = await doctor(emulated(), host);
    expect(code).to.equal(2);
    expect(text).to.contain('missing build');
    expect(text).to.contain('module against /cache/kernel-0123/build: a minimal network-driver module does not build: make: *** [Makefile:1] Error 2');
  });

  it('an emulated board whose kernel is not built yet: the module build is not tried, and says so', async () => {
    const host = new FakeHost();
    host.kernelTree = null;
    const { code, text } = await doctor(emulated(), host);
    expect(code).to.equal(0);
    expect(host.builds.map((b) => b.kind)).to.deep.equal(['program']);
    expect(text).to.contain("checked: module build not tried: the emulated board's kernel is not built yet");
  });

  it('no build is tried while a tool it needs is missing', async () => {
    const host = new FakeHost();
    host.commands.delete('make');
    await checkHost(emulated(), host);
    expect(host.builds).to.deep.equal([]);
  });

  it('nolibc\'s headers that cannot be had (tarball missing): reported with linux-source, no build tried', async () => {
    const host = new FakeHost();
    host.nolibcHeaders = { error: '/usr/src/linux-source-6.1.tar.* not found (package linux-source-6.1)' };
    const missing = await checkHost(emulated(), host);
    expect(missing).to.deep.equal([
      {
        kind: 'build',
        name: `arm-linux-gnueabi-gcc ${PROBE_CFLAGS.join(' ')} + nolibc`,
        detail: "cannot get nolibc's headers for the board-side probe: /usr/src/linux-source-6.1.tar.* not found (package linux-source-6.1)",
        package: 'linux-source-6.1',
      },
    ]);
    expect(host.builds).to.deep.equal([]);
  });

  it('knows the uapi headers package of Debian\'s cross compilers; every board needs it and nolibc\'s source, no cross C library', () => {
    expect(crossHeadersPackage('arm-linux-gnueabi-')).to.equal('linux-libc-dev-armel-cross');
    expect(crossHeadersPackage('arm-linux-gnueabihf-')).to.equal('linux-libc-dev-armhf-cross');
    expect(crossHeadersPackage('aarch64-linux-gnu-')).to.equal('linux-libc-dev-arm64-cross');
    expect(crossHeadersPackage('arm-none-eabi-')).to.equal(undefined);
    expect(packageNeeds(emulated(), false)).to.include('linux-libc-dev-armel-cross');
    expect(packageNeeds(real(), false)).to.include.members(['linux-source-6.1', 'linux-libc-dev-armel-cross', 'tar', 'xz-utils']);
    expect(packageNeeds(emulated(), true)).to.include.members(['kmod', 'linux-libc-dev-armel-cross', 'chromium']);
    expect(packageNeeds(emulated(), true).filter((p) => p.startsWith('libc6-dev-'))).to.deep.equal([]);
  });
});

describe('doctor builds on this machine', function () {
  this.timeout(120_000);

  it('the board\'s cross compiler builds the probe\'s kind of program with nolibc; headers that are not nolibc are caught', async () => {
    const nolibc = await systemProbe.nolibc();
    if ('error' in nolibc) throw new Error(nolibc.error);
    const ok = await systemProbe.build({ kind: 'program', cc: 'arm-linux-gnueabi-gcc', nolibcDir: nolibc.dir });
    expect(ok.exitCode, ok.stderr).to.equal(0);
    const bad = await systemProbe.build({ kind: 'program', cc: 'arm-linux-gnueabi-gcc', nolibcDir: '/nonexistent-nolibc' });
    expect(bad.exitCode).to.not.equal(0);
    expect(bad.stderr).to.match(/nolibc\.h: No such file or directory/);
  });

  it('a module builds against linux-headers-amd64, and a tree that is not one fails', async () => {
    const tree = nativeKernelTree();
    const ok = await systemProbe.build({ kind: 'module', kernelTree: tree, arch: 'x86', crossCompile: '' });
    expect(ok.exitCode, ok.stderr).to.equal(0);
    const bad = await systemProbe.build({ kind: 'module', kernelTree: '/nonexistent-tree', arch: 'x86', crossCompile: '' });
    expect(bad.exitCode).to.not.equal(0);
  });
});

describe('doctor (this machine): a cross compiler outside PATH', function () {
  this.timeout(60_000);

  it('an absolute prefix naming an executable is present', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-doctor-bsp-'));
    try {
      fs.writeFileSync(path.join(dir, 'arm-bsp-linux-gnueabi-gcc'), '#!/bin/sh\n', { mode: 0o755 });
      const board = { ...emulated(), crossCompile: path.join(dir, 'arm-bsp-linux-gnueabi-') };
      const missing = await checkHost(board, systemProbe);
      expect(missing.filter((m) => m.name.includes('arm-bsp'))).to.deep.equal([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('doctor --board as given on the command line', () => {
  it('takes a board name and loads it from boardsDir', async () => {
    let text = '';
    const host = new FakeHost();
    const code = await doctorCommand({ board: 'qemu-imx25', boardsDir, probe: host, out: { write: (s: string) => (text += s) } });
    expect(code).to.equal(0);
    expect(text).to.contain('board qemu-imx25 (emulated)');
  });
});
