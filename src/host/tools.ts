// Every host program the harness and its tests start, declared once, next to
// the Debian package that ships it. doctor installs from this table, and
// test/host-tools.test.ts scans src/ and test/ for spawned commands and fails
// on one that is not declared here: the next new tool cannot be forgotten.

/**
 * Who needs a tool: `harness` on every host that runs boards, `emulated` only
 * for emulated boards (building and starting them), `tests` only for `npm test`.
 */
export type ToolScope = 'harness' | 'emulated' | 'tests';

export interface HostTool {
  /** The program name as spawned (looked up in PATH). */
  command: string;
  /** The Debian package shipping it; null for the Node.js running the harness (assumed, never installed). */
  package: string | null;
  scope: ToolScope;
  why: string;
}

/** The declarations, one row per program. Board-dependent programs (cross compiler, QEMU binary) come from the board file. */
export const HOST_TOOLS: readonly HostTool[] = [
  { command: 'node', package: null, scope: 'harness', why: 'runs the harness and its child harness processes' },
  { command: 'sh', package: 'dash', scope: 'harness', why: 'power commands of a board file, doctor --install' },
  { command: 'make', package: 'make', scope: 'harness', why: 'Kbuild of the modules and the kernel' },
  { command: 'git', package: 'git', scope: 'harness', why: 'run --rev / --baseline worktrees, driver revisions' },
  { command: 'dpkg-query', package: 'dpkg', scope: 'harness', why: 'doctor: which packages are installed' },
  { command: 'dpkg', package: 'dpkg', scope: 'harness', why: 'doctor: host and foreign architectures' },
  { command: 'apt-cache', package: 'apt', scope: 'emulated', why: 'doctor and rootfs: which guest packages apt knows' },
  { command: 'apt-config', package: 'apt', scope: 'emulated', why: 'rootfs: where apt keeps its lists and preferences, so its answer is asked again only when they change' },
  { command: 'apt-get', package: 'apt', scope: 'emulated', why: 'downloads the guest packages of the initramfs' },
  { command: 'dpkg-deb', package: 'dpkg', scope: 'emulated', why: 'unpacks the guest packages of the initramfs' },
  { command: 'tar', package: 'tar', scope: 'harness', why: 'extracts linux-source (the emulated kernel; nolibc for the probe, any board)' },
  { command: 'xz', package: 'xz-utils', scope: 'harness', why: 'linux-source is a .tar.xz (tar calls xz)' },
  { command: 'mkdir', package: 'coreutils', scope: 'emulated', why: 'cache directories of the kernel and rootfs builds' },
  { command: 'dropbearkey', package: 'dropbear-bin', scope: 'emulated', why: 'makes the emulated board\'s host key and the run\'s key' },
  { command: 'setpriv', package: 'util-linux', scope: 'emulated', why: 'QEMU dies with the harness (--pdeathsig KILL)' },
  { command: 'bc', package: 'bc', scope: 'emulated', why: 'the kernel build (timeconst)' },
  { command: 'flex', package: 'flex', scope: 'emulated', why: 'the kernel build (kconfig, dtc)' },
  { command: 'bison', package: 'bison', scope: 'emulated', why: 'the kernel build (kconfig, dtc)' },
  { command: 'gcc', package: 'gcc', scope: 'emulated', why: 'host programs of the kernel build (HOSTCC); tests build the probe natively' },
  { command: 'perl', package: 'perl', scope: 'tests', why: 'runs the kernel\'s checkpatch.pl' },
  { command: 'patch', package: 'patch', scope: 'emulated', why: 'applies an emulated board\'s kernel patches (kernel.patches); tests apply the seeded-bug patches' },
  { command: 'modinfo', package: 'kmod', scope: 'tests', why: 'cross-checks the harness\'s own .modinfo reader' },
  { command: 'socat', package: 'socat', scope: 'tests', why: 'a real shell on a real pty for the serial transport tests' },
  { command: 'busybox', package: 'busybox', scope: 'tests', why: 'the board\'s shell (ash) on the host for the serial and sysfs tests' },
  { command: 'dropbear', package: 'dropbear-bin', scope: 'tests', why: 'a real SSH server on loopback for the SSH transport tests' },
  { command: 'unshare', package: 'util-linux', scope: 'tests', why: 'private mount and network namespaces for test servers and the probe' },
  { command: 'ssh-keygen', package: 'openssh-client', scope: 'tests', why: 'OpenSSH key formats in the board file tests' },
  { command: 'xmllint', package: 'libxml2-utils', scope: 'tests', why: 'validates junit.xml against its schema' },
  { command: 'chromium', package: 'chromium', scope: 'tests', why: 'loads report.html headless: renders, makes no request' },
  { command: 'dash', package: 'dash', scope: 'tests', why: 'a second shell for the sysfs reader' },
  { command: 'arm-linux-gnueabi-gcc', package: 'gcc-arm-linux-gnueabi', scope: 'tests', why: 'the probe test cross-builds for the emulated board by name' },
  { command: 'bash', package: 'bash', scope: 'tests', why: 'a third shell for the sysfs reader' },
  { command: 'ps', package: 'procps', scope: 'tests', why: 'the interrupt and fault-survival tests find the QEMU processes of a run' },
  { command: 'ip', package: 'iproute2', scope: 'tests', why: 'brings lo up, and a veth pair for the probe\'s -F, in the probe tests\' private network namespace' },
  { command: 'sysctl', package: 'procps', scope: 'tests', why: 'silences the kernel\'s echo replies in the probe tests\' namespace' },
  { command: 'python3', package: 'python3', scope: 'tests', why: 'Debian\'s Python runs junitparser (python3-junitparser), a JUnit reader that is not the harness, on the merged junit.xml of a board matrix; LAVA\'s own job schema (lava-common) on the job lava-job writes; and jinja2 over lava-server\'s qemu.jinja2 for the device file of lava-job --for lava-run' },
  { command: 'lava-run', package: 'lava-dispatcher', scope: 'tests', why: 'Debian\'s LAVA dispatcher runs the job lava-job --for lava-run writes on the emulated board, no server (test/lava-run-board.test.ts)' },
];

/**
 * Packages tests use that no spawned command names: files, not programs
 * (kernel headers for the native build, the uapi headers the flag decoder is
 * checked against, the SFTP server dropbear starts, iputils ping whose output
 * the ping parser fixtures came from, the JUnit reader the board matrix test
 * reads the merged junit.xml with, the second kernel's source that the
 * qemu-imx25-6.12 board tests build, LAVA's job schema the LAVA job is validated against).
 * lava-server's device-type templates are not a package the tests install: doctor --install
 * --tests downloads its .deb and unpacks them into the cache (src/lava/templates.ts).
 */
export const TEST_FILE_PACKAGES: readonly string[] = ['linux-headers-amd64', 'linux-libc-dev', 'openssh-sftp-server', 'iputils-ping', 'linux-source-6.12', 'python3-junitparser', 'lava-common'];

/** Names a spawn site may give in a `// spawns:` note besides declared commands: programs the board file names. */
export const BOARD_PROGRAMS: readonly string[] = ['board:cross_compile', 'board:qemu', 'kernel-tree:merge_config.sh', 'built:probe'];

/** The declaration of a command, if any. */
export function hostTool(command: string): HostTool | undefined {
  return HOST_TOOLS.find((t) => t.command === command);
}

/** The Debian packages of the declared tools a host needs: always `harness`, plus `emulated` and `tests` when asked. */
export function toolPackages(options: { emulated: boolean; tests: boolean }): string[] {
  const wanted = (s: ToolScope) => s === 'harness' || (s === 'emulated' && options.emulated) || (s === 'tests' && options.tests);
  const pkgs = HOST_TOOLS.filter((t) => wanted(t.scope) && t.package !== null).map((t) => t.package as string);
  if (options.tests) pkgs.push(...TEST_FILE_PACKAGES);
  return [...new Set(pkgs)];
}
