// The typed board description the rest of the harness uses (camelCase; the
// YAML is snake_case). Paths are absolute, durations are in seconds.

/** SSH settings known before run time; for an emulated board this is all the YAML gives. */
export interface SshLogin {
  user: string;
  connectTimeout: number;
  /** Seconds between keepalives; the link is declared dead after keepaliveCountMax unanswered ones. */
  keepaliveInterval: number;
  keepaliveCountMax: number;
}

/** Complete SSH settings of a reachable board (a real board's YAML, or filled in by the harness). */
export interface SshConfig extends SshLogin {
  host: string;
  port: number;
  keyFile: string;
  /** Pinned host key, `SHA256:` + 43 base64 characters. */
  hostKey: string;
  /** Name of the environment variable holding the key's passphrase. */
  passphraseEnv?: string;
}

/** Serial console login settings known before run time. */
export interface SerialLogin {
  baud: number;
  loginUser: string;
  /** Name of the environment variable holding the login password. */
  passwordEnv?: string;
  /** Regular expression (source text) matching the shell prompt, when the default detection is not enough. */
  prompt?: string;
}

/** A console reached as a raw TCP port (ser2net, a terminal server). */
export interface NetworkSerial {
  host: string;
  port: number;
}

/** Complete serial settings of a real board: its console is a local device or a network port. */
export type SerialConfig = SerialLogin & ({ device: string; network?: undefined } | { network: NetworkSerial; device?: undefined });

/** Shell commands that switch the board's power (PDU, relay), as labgrid and LAVA do. */
export interface PowerCommands {
  on?: string;
  off?: string;
  cycle?: string;
}

export interface Timeouts {
  command: number;
  boot: number;
  stage: number;
}

export interface EmulatedConfig {
  /** QEMU binary, e.g. qemu-system-arm. */
  qemu: string;
  machine: string;
  memory: string;
  /**
   * `fragments`: the config fragments, applied in order on top of the defconfig;
   * `patches`: applied (patch -p1) to the extracted source first, in order.
   */
  kernel: { package: string; defconfig: string; fragments: string[]; patches: string[]; image: string; dtb: string };
  /**
   * `omitApplets`: busybox applets whose links the init removes; `wrappers`:
   * applet name → script that replaces its link (absolute paths) — a minimal
   * BSP userland on the emulated board.
   */
  rootfs: { arch: string; packages: string[]; init: string; inittab: string; omitApplets: string[]; wrappers: Record<string, string> };
  append: string;
  /** Guest address with prefix length, e.g. 10.0.2.15/24. */
  ip: string;
}

export type TransportKind = 'ssh' | 'serial';

interface BoardCommon {
  name: string;
  description: string;
  /** Absolute path of the YAML file it was loaded from. */
  file: string;
  /** Directory of that file: power commands and relative paths start here. */
  dir: string;
  arch: string;
  /** Toolchain prefix; absolute when the YAML gave a path. */
  crossCompile: string;
  timeouts: Timeouts;
  /** Seconds an object must be old before kmemleak reports it (5, the kernel's, unless its kernel is patched). */
  kmemleakMinAge: number;
  defaultTransport: TransportKind;
  /** Debian packages the host needs for this board (checked by doctor). */
  hostPackages: string[];
}

/** A board the harness reaches over SSH and/or serial; it never manages an emulator for it. */
export interface RealBoardConfig extends BoardCommon {
  kind: 'real';
  kernelTree: string;
  ssh?: SshConfig;
  serial?: SerialConfig;
  power?: PowerCommands;
  lock: { wait: number };
}

/** The emulated board: kernel, rootfs and QEMU made by the harness; SSH target filled in at run time. */
export interface EmulatedBoardConfig extends BoardCommon {
  kind: 'emulated';
  emulated: EmulatedConfig;
  ssh: SshLogin;
  serial: SerialLogin;
}

export type BoardConfig = RealBoardConfig | EmulatedBoardConfig;

/** The transports a board offers (an emulated board offers both). */
export function boardTransports(board: BoardConfig): TransportKind[] {
  if (board.kind === 'emulated') return ['ssh', 'serial'];
  const out: TransportKind[] = [];
  if (board.ssh) out.push('ssh');
  if (board.serial) out.push('serial');
  return out;
}
