// Host prerequisites of a board: which tools, Debian packages and foreign
// architectures it needs, what is missing, and the ONE command installing it.
// The probe is injectable so tests can fake a host that lacks things.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ensureNolibc, NOLIBC_PACKAGE } from '../build/nolibc.ts';
import { PROBE_CFLAGS, probeCompileArgs } from '../build/probe.ts';
import { loadBoard } from '../config/board.ts';
import type { BoardConfig } from '../config/types.ts';
import { cachedKernelTree } from '../emulated/kernel.ts';
import { kernelSpec } from '../emulated/machine.ts';
import { ExitCode } from '../errors.ts';
import { fetchLavaTemplates, lavaTemplatesDir } from '../lava/templates.ts';
import { toolPackages } from './tools.ts';

export interface ProbeResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * A build doctor tries, because the presence of files proves nothing: a
 * user-space program built as the probe is (nolibc, no C library, the
 * probe's flags), or a tiny module built against the board's kernel tree.
 */
export type BuildCheck =
  | { kind: 'program'; cc: string; nolibcDir: string }
  | { kind: 'module'; kernelTree: string; arch: string; crossCompile: string };

/** What doctor asks of the host; replaced in tests. */
export interface HostProbe {
  /** Runs a command without a shell; never throws (a missing program gives exit code 127). */
  run(command: string, args: string[]): Promise<ProbeResult>;
  /** Absolute path of an executable (looked up in PATH unless it contains a slash), or null. */
  which(command: string): Promise<string | null>;
  /** True when the path exists (file, directory or device). */
  exists(p: string): Promise<boolean>;
  uid(): number;
  /** Runs a shell command with the terminal attached; resolves to its exit code. */
  shell(command: string): Promise<number>;
  /** Tries a build in a temporary directory (removed afterwards); never throws. */
  build(check: BuildCheck): Promise<ProbeResult>;
  /** nolibc's headers (extracted into the cache the first time), or why they cannot be had; never throws. */
  nolibc(): Promise<{ dir: string } | { error: string }>;
  /** The emulated board's kernel build tree when the harness cache holds it, else null (never builds). */
  cachedKernelTree(board: Extract<BoardConfig, { kind: 'emulated' }>): Promise<string | null>;
  /** lava-server's device-type templates in the cache (tests: the lava-run test renders its device file from them), or why not; never downloads. */
  lavaTemplates(): Promise<{ dir: string } | { missing: string }>;
  /** Downloads lava-server's .deb and unpacks its templates into the cache (doctor --install --tests); never throws. */
  fetchLavaTemplates(): Promise<{ dir: string } | { error: string }>;
}

/** `download`: files doctor --install fetches into the harness cache itself (not an apt install). */
export type MissingKind = 'command' | 'package' | 'architecture' | 'apt-package' | 'path' | 'build' | 'download';

/** One missing prerequisite. `package` is the Debian package that provides it, when there is one. */
export interface MissingItem {
  kind: MissingKind;
  name: string;
  detail: string;
  package?: string;
}

/** The host as it is: real commands, real PATH. */
export const systemProbe: HostProbe = {
  async run(command, args) {
    // spawns: callers
    const r = await execa(command, args, { reject: false, timeout: 60_000, env: { LC_ALL: 'C' } });
    const missingProgram = (r as { code?: string }).code === 'ENOENT';
    return {
      exitCode: missingProgram ? 127 : (r.exitCode ?? 1),
      stdout: String(r.stdout ?? ''),
      stderr: missingProgram ? `${command}: not found` : String(r.stderr ?? ''),
    };
  },
  async which(command) {
    const candidates = command.includes('/')
      ? [command]
      : (process.env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, command));
    for (const c of candidates) {
      try {
        await fs.promises.access(c, fs.constants.X_OK);
        if ((await fs.promises.stat(c)).isFile()) return path.resolve(c);
      } catch {
        // not here; next PATH entry
      }
    }
    return null;
  },
  async exists(p) {
    return fs.promises.access(p).then(
      () => true,
      () => false,
    );
  },
  uid: () => process.getuid?.() ?? -1,
  shell: (command) =>
    new Promise((resolve) => {
      const child = spawn('sh', ['-c', command], { stdio: 'inherit' });
      child.on('error', () => resolve(127));
      child.on('close', (code) => resolve(code ?? 1));
    }),
  async build(check) {
    const dir = await fs.promises.mkdtemp(path.join(tmpdir(), 'vnet-doctor-'));
    try {
      if (check.kind === 'program') {
        await fs.promises.writeFile(path.join(dir, 't.c'), TEST_PROGRAM);
        return await systemProbe.run(check.cc, probeCompileArgs(check.nolibcDir, path.join(dir, 't.c'), path.join(dir, 't')));
      }
      await fs.promises.writeFile(path.join(dir, 'vnet_doctor.c'), TEST_MODULE);
      await fs.promises.writeFile(path.join(dir, 'Kbuild'), 'obj-m := vnet_doctor.o\n');
      return await systemProbe.run('make', ['-s', '-C', check.kernelTree, `M=${dir}`, `ARCH=${check.arch}`, `CROSS_COMPILE=${check.crossCompile}`, 'modules']);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  },
  async nolibc() {
    return ensureNolibc().then(
      (h) => ({ dir: h.dir }),
      (error: Error) => ({ error: error.message }),
    );
  },
  async cachedKernelTree(board) {
    // Without the source package or the compiler there is no key, hence no tree.
    return cachedKernelTree(kernelSpec(board)).catch(() => null);
  },
  lavaTemplates: () => lavaTemplatesDir(),
  async fetchLavaTemplates() {
    return fetchLavaTemplates().then(
      (t) => ({ dir: t.dir }),
      (error: Error) => ({ error: error.message }),
    );
  },
};

/** What the harness's tests need in the cache besides packages: lava-server's device-type templates (for the lava-run test). */
export const LAVA_TEMPLATES_ITEM = 'lava-server device-type templates';

/**
 * A program using what the board-side probe uses: nolibc, the kernel's uapi
 * headers, raw system calls through my_syscall3 and 64-bit division (libgcc
 * on 32-bit ARM).
 */
const TEST_PROGRAM = `#include <linux/in.h>
#include <linux/uio.h>

int main(int argc, char **argv)
{
\tstruct timespec ts;
\tint64_t us;
\tlong fd;

\t(void)argv;
\tmy_syscall2(__NR_clock_gettime, CLOCK_MONOTONIC, &ts);
\tus = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
\tfd = my_syscall3(__NR_socket, 2, 3, IPPROTO_ICMP);
\tif (fd >= 0)
\t\tclose((int)fd);
\treturn (int)(us / (argc + 1000)) & 1;
}
`;

/** The smallest network-driver module: what the stage modules include, built as they are. */
const TEST_MODULE = `#include <linux/module.h>
#include <linux/netdevice.h>

static int __init vnet_doctor_init(void)
{
\treturn 0;
}

static void __exit vnet_doctor_exit(void)
{
}

module_init(vnet_doctor_init);
module_exit(vnet_doctor_exit);
MODULE_LICENSE("GPL");
`;

/**
 * The Debian package with the kernel's uapi headers for a cross compiler
 * prefix (linux-libc-dev-armel-cross for arm-linux-gnueabi-): all the probe
 * needs besides the compiler and its libgcc. No C library: it is built
 * against nolibc, and nothing else the harness builds for the board links one.
 * Only for Debian's own cross compilers: a BSP's toolchain brings its own.
 */
export function crossHeadersPackage(prefix: string): string | undefined {
  if (!crossCompilerPackage(prefix)) return undefined;
  const arch: Record<string, string> = {
    'arm-linux-gnueabi': 'armel',
    'arm-linux-gnueabihf': 'armhf',
    'aarch64-linux-gnu': 'arm64',
    'x86_64-linux-gnu': 'amd64',
    'i686-linux-gnu': 'i386',
  };
  const triplet = /([a-z0-9_]+-linux-gnu[a-z0-9]*)-$/.exec(prefix)?.[1];
  const a = triplet ? arch[triplet] : undefined;
  return a ? `linux-libc-dev-${a}-cross` : undefined;
}

/** The first line of a compiler's output that says what went wrong, or its last line. */
function firstError(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\b(error|fatal error|undefined reference|cannot find)\b/i.test(l)) ?? lines.at(-1) ?? '(no output)';
}

interface CommandNeed {
  command: string;
  package?: string;
  why: string;
}

/** The Debian package that ships a cross compiler prefix such as `arm-linux-gnueabi-` (or `/usr/bin/arm-linux-gnueabi-`), if it is Debian's. */
export function crossCompilerPackage(prefix: string): string | undefined {
  const m = /^(?:\/usr\/bin\/)?([a-z0-9_]+-linux-gnu[a-z0-9]*)-$/.exec(prefix);
  return m ? `gcc-${m[1]}` : undefined;
}

function commandNeeds(board: BoardConfig): CommandNeed[] {
  const cc = `${board.crossCompile}gcc`;
  const ccPackage = crossCompilerPackage(board.crossCompile);
  const needs: CommandNeed[] = [
    { command: cc, ...(ccPackage ? { package: ccPackage } : {}), why: 'cross compiler (cross_compile)' },
    { command: 'make', package: 'make', why: 'runs Kbuild' },
  ];
  if (board.kind === 'emulated') {
    const q = board.emulated.qemu;
    needs.push({ command: q, ...(/^qemu-system-(arm|aarch64)$/.test(q) ? { package: 'qemu-system-arm' } : {}), why: 'runs the emulated board' });
  }
  return needs;
}

/** The Debian packages a board needs: its own list, the declared tools (src/host/tools.ts) in scope, nolibc's source, the cross uapi headers. */
export function packageNeeds(board: BoardConfig, tests: boolean): string[] {
  const pkgs = [...board.hostPackages, ...toolPackages({ emulated: board.kind === 'emulated', tests })];
  if (board.kind === 'emulated') pkgs.push(board.emulated.kernel.package);
  pkgs.push(NOLIBC_PACKAGE);
  const headers = crossHeadersPackage(board.crossCompile);
  if (headers) pkgs.push(headers);
  return [...new Set(pkgs)];
}

/**
 * Lists every host prerequisite of `board` that is missing (empty when the
 * host is ready). `notes` receives what was checked by building, or why not.
 */
export async function checkHost(
  board: BoardConfig,
  probe: HostProbe = systemProbe,
  options: { tests?: boolean; notes?: string[] } = {},
): Promise<MissingItem[]> {
  const missing: MissingItem[] = [];

  for (const need of commandNeeds(board)) {
    if ((await probe.which(need.command)) === null) {
      missing.push({
        kind: 'command',
        name: need.command,
        // A command named by path (cross_compile: /opt/bsp/bin/arm-linux-gnueabi-) is looked for there only.
        detail: need.command.includes('/')
          ? `${need.why}: not found at ${need.command}${need.package ? '' : ' (not a Debian package; install it there or fix the path)'}`
          : `${need.why}: not found in PATH${need.package ? '' : ' (not a Debian package; install it and put it in PATH)'}`,
        ...(need.package ? { package: need.package } : {}),
      });
    }
  }

  const pkgs = packageNeeds(board, options.tests ?? false);
  const states = await Promise.all(pkgs.map((p) => probe.run('dpkg-query', ['-W', '-f=${Status}', p])));
  pkgs.forEach((p, i) => {
    const r = states[i]!;
    if (r.exitCode === 0 && /\binstall ok installed\b/.test(r.stdout)) return;
    const detail =
      r.exitCode === 127
        ? 'cannot check: dpkg-query not found (doctor needs a Debian-based host)'
        : r.exitCode === 0
          ? `not installed (dpkg status: ${r.stdout.trim() || 'unknown'})`
          : 'not installed';
    missing.push({ kind: 'package', name: p, detail, package: p });
  });

  if (board.kind === 'emulated') missing.push(...(await checkGuestArch(board.emulated.rootfs, probe)));
  else missing.push(...(await checkRealBoardPaths(board, probe)));
  if (options.tests) {
    const templates = await probe.lavaTemplates();
    if ('missing' in templates) missing.push({ kind: 'download', name: LAVA_TEMPLATES_ITEM, detail: `${templates.missing}; doctor --install --tests fetches them` });
  }

  // Builds only where nothing they need is already known to be missing.
  if (missing.every((m) => m.kind === 'download')) missing.push(...(await checkBuilds(board, probe, options.notes ?? [])));
  return missing;
}

/** Builds a program as the probe is built (nolibc, the probe's flags), and a module against the board's kernel tree where there is one. */
async function checkBuilds(board: BoardConfig, probe: HostProbe, notes: string[]): Promise<MissingItem[]> {
  const cc = `${board.crossCompile}gcc`;
  const name = `${cc} ${PROBE_CFLAGS.join(' ')} + nolibc`;
  const nolibc = await probe.nolibc();
  if ('error' in nolibc) {
    return [{ kind: 'build', name, detail: `cannot get nolibc's headers for the board-side probe: ${nolibc.error}`, package: NOLIBC_PACKAGE }];
  }
  const headers = crossHeadersPackage(board.crossCompile);
  const program = await probe.build({ kind: 'program', cc, nolibcDir: nolibc.dir });
  if (program.exitCode !== 0) {
    return [
      {
        kind: 'build',
        name,
        detail: `cannot build the board-side probe's kind of program: ${firstError(program.stdout + '\n' + program.stderr)}`,
        ...(headers ? { package: headers } : {}),
      },
    ];
  }
  notes.push(`a nolibc program builds with ${cc} ${PROBE_CFLAGS.join(' ')}`);
  const tree = board.kind === 'real' ? board.kernelTree : await probe.cachedKernelTree(board);
  if (tree === null) {
    notes.push('module build not tried: the emulated board\'s kernel is not built yet (its first run builds it)');
    return [];
  }
  const module = await probe.build({ kind: 'module', kernelTree: tree, arch: board.arch, crossCompile: board.crossCompile });
  if (module.exitCode !== 0) {
    return [
      {
        kind: 'build',
        name: `module against ${tree}`,
        detail: `a minimal network-driver module does not build: ${firstError(module.stdout + '\n' + module.stderr)}`,
      },
    ];
  }
  notes.push(`a module builds against ${tree}`);
  return [];
}

async function checkGuestArch(rootfs: { arch: string; packages: string[] }, probe: HostProbe): Promise<MissingItem[]> {
  const native = (await probe.run('dpkg', ['--print-architecture'])).stdout.trim();
  const foreign = (await probe.run('dpkg', ['--print-foreign-architectures'])).stdout.split(/\s+/).filter(Boolean);
  if (rootfs.arch !== native && !foreign.includes(rootfs.arch)) {
    return [
      {
        kind: 'architecture',
        name: rootfs.arch,
        detail: `Debian architecture of the emulated rootfs is not enabled (dpkg --print-foreign-architectures: ${foreign.join(' ') || 'none'})`,
      },
    ];
  }
  // The rootfs is made with `apt-get download pkg:arch`: apt must know each package.
  // One apt-cache call for all (each call costs ~1 s); it prints a stanza per package it knows.
  const names = rootfs.packages.map((p) => `${p}:${rootfs.arch}`);
  const shown = await probe.run('apt-cache', ['show', '--no-all-versions', ...names]);
  const known = new Set<string>();
  for (const stanza of shown.stdout.split(/\n\s*\n/)) {
    const pkg = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const arch = /^Architecture: (\S+)$/m.exec(stanza)?.[1];
    if (pkg && arch) known.add(`${pkg}:${arch}`);
  }
  return names.flatMap((n) =>
    known.has(n)
      ? []
      : [{ kind: 'apt-package' as const, name: n, detail: 'not known to apt (package lists not updated since the architecture was added?)' }],
  );
}

async function checkRealBoardPaths(board: Extract<BoardConfig, { kind: 'real' }>, probe: HostProbe): Promise<MissingItem[]> {
  const out: MissingItem[] = [];
  const need = async (p: string, detail: string) => {
    if (!(await probe.exists(p))) out.push({ kind: 'path', name: p, detail });
  };
  await need(path.join(board.kernelTree, 'Makefile'), `kernel_tree ${board.kernelTree} is not a kernel tree (no Makefile)`);
  await need(
    path.join(board.kernelTree, 'Module.symvers'),
    `kernel_tree ${board.kernelTree} is not built (no Module.symvers): run make modules there once`,
  );
  if (board.ssh) await need(board.ssh.keyFile, 'ssh.key_file: the SSH private key does not exist');
  if (board.serial?.device) await need(board.serial.device, 'serial.device: the serial TTY does not exist (board unplugged?)');
  return out;
}

/** The one shell command that installs every installable missing item, or null when apt cannot help. */
export function installCommand(missing: readonly MissingItem[]): string | null {
  const archs = [...new Set(missing.filter((m) => m.kind === 'architecture').map((m) => m.name))];
  const pkgs = [...new Set(missing.flatMap((m) => (m.package ? [m.package] : [])))];
  const needUpdate = archs.length > 0 || pkgs.length > 0 || missing.some((m) => m.kind === 'apt-package');
  if (!needUpdate) return null;
  const steps = archs.map((a) => `dpkg --add-architecture ${a}`);
  steps.push('apt-get update');
  // No recommends: they pull in hundreds of MB (QEMU GUI, firmware) the harness never uses.
  if (pkgs.length > 0) steps.push(`DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs.join(' ')}`);
  return steps.join(' && ');
}

function printMissing(board: BoardConfig, missing: readonly MissingItem[], out: { write(s: string): unknown }): void {
  const width = Math.max(...missing.map((m) => m.kind.length));
  out.write(`doctor: board ${board.name} (${board.kind}): ${missing.length} missing\n`);
  for (const m of missing) out.write(`  missing ${m.kind.padEnd(width)}  ${m.name}: ${m.detail}\n`);
  const notApt = missing.filter((m) => !m.package && m.kind !== 'architecture' && m.kind !== 'apt-package' && m.kind !== 'download');
  if (notApt.length > 0) out.write(`  (${notApt.length} of these cannot be installed with apt: fix them by hand)\n`);
}

export interface DoctorOptions {
  /** A loaded board, or `--board` as given (name in boardsDir or path to a YAML file). */
  board: BoardConfig | string;
  boardsDir?: string;
  install?: boolean;
  /** Also the packages the harness's own tests use (TEST_PACKAGES). */
  tests?: boolean;
  out?: { write(s: string): unknown };
  probe?: HostProbe;
}

/** `vnet-harness doctor`: prints what is missing and the install command; `install` runs it as root. Returns the exit code. */
export async function doctorCommand(options: DoctorOptions): Promise<number> {
  const { install = false, out = process.stdout, probe = systemProbe } = options;
  const board =
    typeof options.board === 'string' ? loadBoard(options.board, { boardsDir: options.boardsDir ?? 'boards', hostPaths: false }) : options.board;
  const tests = options.tests ?? false;
  let notes: string[] = [];
  let missing = await checkHost(board, probe, { tests, notes });
  const printNotes = () => notes.forEach((n) => out.write(`  checked: ${n}\n`));
  if (missing.length === 0) {
    out.write(`doctor: board ${board.name} (${board.kind}): every host prerequisite is present\n`);
    printNotes();
    return ExitCode.ok;
  }
  printMissing(board, missing, out);
  const command = installCommand(missing);
  const downloads = missing.some((m) => m.kind === 'download');
  if (command === null && !downloads) return ExitCode.infrastructure;
  if (!install) {
    if (command !== null) out.write(`install with (as root):\n  ${command}\nor: npx vnet-harness doctor --board ${board.name} --install${tests ? ' --tests' : ''}\n`);
    else out.write(`fetch with: npx vnet-harness doctor --board ${board.name} --install --tests\n`);
    return ExitCode.infrastructure;
  }
  if (command !== null) {
    const uid = probe.uid();
    if (uid !== 0) {
      out.write(
        `doctor --install refused: installing Debian packages needs root (uid 0), this process runs as uid ${uid}.\n` +
          `run as root:\n  sudo sh -c '${command}'\n`,
      );
      return ExitCode.infrastructure;
    }
    out.write(`doctor: running: ${command}\n`);
    const code = await probe.shell(command);
    if (code !== 0) {
      out.write(`doctor: the install command failed with exit code ${code}\n`);
      return ExitCode.infrastructure;
    }
  }
  // After the packages: the templates are fetched for the version of lava-dispatcher just installed.
  if (tests && ('missing' in (await probe.lavaTemplates()))) {
    out.write(`doctor: fetching the ${LAVA_TEMPLATES_ITEM} into the harness cache (apt-get download lava-server, dpkg-deb -x; not installed)\n`);
    const fetched = await probe.fetchLavaTemplates();
    if ('error' in fetched) out.write(`doctor: ${fetched.error}\n`);
  }
  notes = [];
  missing = await checkHost(board, probe, { tests, notes });
  if (missing.length === 0) {
    out.write(`doctor: board ${board.name}: every host prerequisite is present now\n`);
    printNotes();
    return ExitCode.ok;
  }
  out.write('doctor: still missing after the install:\n');
  printMissing(board, missing, out);
  return ExitCode.infrastructure;
}
