// What a board HAS, as the drivers take it: an sshd to reach, a serial line,
// power commands, an emulator's images. Resources are data (from the board
// YAML, or made at run time for the emulated board); drivers (power.ts,
// qemu.ts, console-log.ts, shell.ts) are how the harness uses them.
import { readFile } from 'node:fs/promises';
import type { BoardConfig, NetworkSerial, PowerCommands, RealBoardConfig, SerialLogin, SshConfig, SshLogin } from '../config/board.ts';
import { readSecret } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { prepareImages, type EmulatedImages } from '../emulated/machine.ts';
import type { ClientKey } from '../transport/ssh.ts';
import type { Progress } from '../util/progress.ts';

/** How to reach a board's sshd on one's own (the harness's transport, a second connection, a tool, a test). */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** Private key contents (the emulated board's per-run key exists nowhere on disk). */
  privateKey: string | Buffer;
  passphrase?: string;
  /** Pinned `SHA256:` host key fingerprint. */
  hostKey: string;
}

/** A board's sshd: where it is for the current boot, and how patient to be with it. */
export interface SshService {
  /** The endpoint now (an emulated board's forwarded port changes per boot; a real board's key file is read when asked). */
  endpoint(): Promise<SshEndpoint>;
  login: SshLogin;
}

/** A board's serial line: the login on it, and the device when it is a fixed one (QEMU's pty is made per boot). */
export interface SerialLine {
  login: SerialLogin;
  device?: string;
  /** A console shared as a raw TCP port (ser2net), instead of a local device. */
  network?: NetworkSerial;
}

/** The power commands of a real board (PDU, relay), run in the board file's directory. */
export interface PowerSwitch {
  commands: PowerCommands;
  /** The board file's directory (commands run there) and path (messages name it). */
  dir: string;
  file: string;
}

/** The emulated board's cached images and the per-run client key its initramfs authorizes. */
export interface EmulatorImages {
  images: EmulatedImages;
  clientKey: ClientKey;
}

/** Everything a board has; absent members are what it does not have. */
export interface BoardResources {
  ssh?: SshService;
  serial?: SerialLine;
  power?: PowerSwitch;
  emulator?: EmulatorImages;
  /** The kernel build tree modules are built against. */
  kernelTree: string;
}

/** The kernel build tree of a board: a real board's kernel_tree, the emulated board's cached kernel build (built when missing). */
export async function kernelTreeOf(config: BoardConfig, progress: Progress, images?: EmulatedImages): Promise<string> {
  if (config.kind === 'real') return config.kernelTree;
  return (images ?? (await prepareImages(config, progress))).kernel.buildTree;
}

/** A real board's sshd from its YAML: the key file and passphrase are read at each connect. */
export function yamlSshService(config: RealBoardConfig, ssh: SshConfig): SshService {
  return {
    login: ssh,
    async endpoint() {
      const passphrase = ssh.passphraseEnv ? readSecret(ssh.passphraseEnv, { board: config.name, setting: 'ssh.passphrase_env' }) : undefined;
      const privateKey = await readFile(ssh.keyFile).catch((error: unknown) => {
        throw new ConfigError(`board ${config.name}: cannot read ssh.key_file ${ssh.keyFile}: ${String(error)}`);
      });
      return { host: ssh.host, port: ssh.port, user: ssh.user, privateKey, ...(passphrase === undefined ? {} : { passphrase }), hostKey: ssh.hostKey };
    },
  };
}

/** What a real board's YAML says it has. */
export function realBoardResources(config: RealBoardConfig): BoardResources {
  return {
    ...(config.ssh ? { ssh: yamlSshService(config, config.ssh) } : {}),
    ...(config.serial
      ? {
          serial: {
            login: config.serial,
            ...(config.serial.device !== undefined ? { device: config.serial.device } : {}),
            ...(config.serial.network !== undefined ? { network: config.serial.network } : {}),
          },
        }
      : {}),
    ...(config.power ? { power: { commands: config.power, dir: config.dir, file: config.file } } : {}),
    kernelTree: config.kernelTree,
  };
}
