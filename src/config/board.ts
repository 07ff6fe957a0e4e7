// Loads and validates board files. `--board` is a name in boards/ or a path
// to any YAML file; every problem comes back as file:line:col: key: message.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { displayPath, formatIssue, keyPath } from './issues.ts';
import type { ConfigIssue } from './issues.ts';
import { expandHome, resolveConfigPath } from './paths.ts';
import { fromZodIssue } from './raw-issue.ts';
import type { RawIssue } from './raw-issue.ts';
import { checkRules } from './rules.ts';
import { boardFileSchema } from './schema.ts';
import type { BoardFile } from './schema.ts';
import type { BoardConfig } from './types.ts';
import { YamlSource } from './yaml-source.ts';

export type { ConfigIssue } from './issues.ts';
export { formatIssue } from './issues.ts';
export type * from './types.ts';
export { boardTransports } from './types.ts';

export interface BoardValidation {
  file: string;
  /** Present only when there are no issues. */
  board?: BoardConfig;
  issues: ConfigIssue[];
}

export interface BoardListEntry extends BoardValidation {
  /** File base name without extension. */
  name: string;
}

const YAML_EXT = /\.ya?ml$/;
/** Largest board file read: a real one is a few KiB; a bigger file is a mistake (or an attack on the parser). */
export const MAX_BOARD_FILE_BYTES = 1024 * 1024;

/** Turns `--board` into a file: a path when it looks like one, else `<boardsDir>/<name>.yaml`. */
export function resolveBoardFile(nameOrPath: string, boardsDir: string): string {
  if (nameOrPath.includes('/') || nameOrPath.startsWith('~') || YAML_EXT.test(nameOrPath)) {
    const file = path.resolve(expandHome(nameOrPath));
    if (!fs.existsSync(file)) throw new ConfigError(`board file ${nameOrPath} does not exist (resolved to ${file})`);
    return file;
  }
  for (const ext of ['.yaml', '.yml']) {
    const file = path.resolve(boardsDir, nameOrPath + ext);
    if (fs.existsSync(file)) return file;
  }
  const known = boardFiles(boardsDir).map((f) => path.basename(f).replace(YAML_EXT, ''));
  throw new ConfigError(
    `no board named "${nameOrPath}": ${displayPath(path.resolve(boardsDir, nameOrPath + '.yaml'))} does not exist; ` +
      `known boards: ${known.length > 0 ? known.join(', ') : '(none)'}; a path to a YAML file also works`,
  );
}

/** Loads a board by name or path; throws ConfigError listing every issue. */
export function loadBoard(nameOrPath: string, options: { boardsDir: string; hostPaths?: boolean }): BoardConfig {
  const result = validateBoardFile(resolveBoardFile(nameOrPath, options.boardsDir), options);
  if (!result.board) {
    throw new ConfigError(`board file ${displayPath(result.file)} is not valid`, result.issues.map(formatIssue));
  }
  return result.board;
}

/** Validates one board file and returns the board or all its issues, sorted by position. */
export function validateBoardFile(file: string, options: { boardsDir?: string; hostPaths?: boolean } = {}): BoardValidation {
  file = path.resolve(file);
  const text = readBoardText(file);
  if (typeof text !== 'string') return { file, issues: [text] };
  const source = new YamlSource(file, text);
  if (source.syntaxIssues.length > 0) return { file, issues: source.syntaxIssues };

  const value = source.value();
  if ('issue' in value) return { file, issues: [value.issue] };
  const data = value.data;
  const dir = path.dirname(file);
  const inBoardsDir = options.boardsDir !== undefined && path.resolve(options.boardsDir) === dir;
  const parsed = boardFileSchema.safeParse(data, { reportInput: true });
  const raw: RawIssue[] = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap((i) => fromZodIssue(i, data))),
    ...checkRules(data, {
      dir,
      ...(inBoardsDir ? { expectedName: path.basename(file).replace(YAML_EXT, '') } : {}),
      ...(options.hostPaths === false ? { hostPaths: false } : {}),
    }),
  ];
  const issues = raw.map((r) => locate(source, r)).sort((a, b) => a.line - b.line || a.col - b.col);
  if (issues.length > 0 || !parsed.success) return { file, issues };
  return { file, issues, board: toBoardConfig(parsed.data, file) };
}

/** The text of a board file, or the issue of a file too big to be one; throws ConfigError when it cannot be read. */
function readBoardText(file: string): string | ConfigIssue {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    // Not a regular file (a device, a FIFO): its size says nothing, and /dev/zero never ends.
    if (!st.isFile()) throw new ConfigError(`board file ${displayPath(file)} is not a regular file`);
    if (st.size > MAX_BOARD_FILE_BYTES) {
      const mib = (st.size / (1024 * 1024)).toFixed(1);
      return { file, line: 1, col: 1, key: '', message: `the file is ${mib} MiB: a board file is at most ${MAX_BOARD_FILE_BYTES / (1024 * 1024)} MiB (is this the right file?)` };
    }
    return fs.readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot read board file ${displayPath(file)}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Validates every *.yaml in boardsDir, sorted by name. */
export function listBoards(boardsDir: string): BoardListEntry[] {
  return boardFiles(boardsDir).map((file) => {
    const name = path.basename(file).replace(YAML_EXT, '');
    try {
      return { name, ...validateBoardFile(file, { boardsDir }) };
    } catch (e) {
      return { name, file, issues: [{ file, line: 1, col: 1, key: '', message: (e as Error).message }] };
    }
  });
}

function boardFiles(boardsDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(boardsDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => YAML_EXT.test(n))
    .sort()
    .map((n) => path.resolve(boardsDir, n));
}

function locate(source: YamlSource, issue: RawIssue): ConfigIssue {
  const last = issue.path[issue.path.length - 1];
  const pos =
    issue.at === 'key' && last !== undefined
      ? source.keyPos(issue.path.slice(0, -1), String(last))
      : issue.at === 'parent'
        ? source.valuePos(issue.path.slice(0, -1))
        : source.valuePos(issue.path);
  return { file: source.file, ...pos, key: keyPath(issue.path), message: issue.message };
}

function toBoardConfig(f: BoardFile, file: string): BoardConfig {
  const dir = path.dirname(file);
  const common = {
    name: f.name,
    description: f.description,
    file,
    dir,
    arch: f.arch,
    crossCompile: f.cross_compile.includes('/') ? resolveConfigPath(f.cross_compile, dir) : f.cross_compile,
    timeouts: f.timeouts,
    kmemleakMinAge: f.kmemleak?.min_age ?? 5,
    hostPackages: f.host_packages,
  };
  const ssh = f.ssh;
  const serial = f.serial;
  const sshLogin = {
    user: ssh?.user ?? 'root',
    connectTimeout: ssh?.connect_timeout ?? 10,
    keepaliveInterval: ssh?.keepalive_interval ?? 2,
    keepaliveCountMax: ssh?.keepalive_count_max ?? 3,
  };
  const serialLogin = {
    baud: serial?.baud ?? 115200,
    loginUser: serial?.login_user ?? 'root',
    ...(serial?.password_env !== undefined ? { passwordEnv: serial.password_env } : {}),
    ...(serial?.prompt !== undefined ? { prompt: serial.prompt } : {}),
  };
  if (f.emulated) {
    const e = f.emulated;
    return {
      ...common,
      kind: 'emulated',
      defaultTransport: f.default_transport ?? 'ssh',
      emulated: {
        qemu: e.qemu,
        machine: e.machine,
        memory: e.memory,
        kernel: {
          package: e.kernel.package,
          defconfig: e.kernel.defconfig,
          fragments: (typeof e.kernel.fragment === 'string' ? [e.kernel.fragment] : e.kernel.fragment).map((f) => resolveConfigPath(f, dir)),
          patches: e.kernel.patches.map((f) => resolveConfigPath(f, dir)),
          image: e.kernel.image,
          dtb: e.kernel.dtb,
        },
        rootfs: {
          arch: e.rootfs.arch,
          packages: e.rootfs.packages,
          init: resolveConfigPath(e.rootfs.init, dir),
          inittab: resolveConfigPath(e.rootfs.inittab, dir),
          omitApplets: e.rootfs.omit_applets,
          wrappers: Object.fromEntries(Object.entries(e.rootfs.wrappers).map(([name, file]) => [name, resolveConfigPath(file, dir)])),
        },
        append: e.append,
        ip: e.ip,
      },
      ssh: sshLogin,
      serial: serialLogin,
    };
  }
  // checkRules guarantees these keys for a real board; the fallbacks only satisfy the type checker.
  return {
    ...common,
    kind: 'real',
    defaultTransport: f.default_transport ?? (ssh ? 'ssh' : 'serial'),
    kernelTree: resolveConfigPath(f.kernel_tree ?? '', dir),
    ...(ssh
      ? {
          ssh: {
            ...sshLogin,
            host: ssh.host ?? '',
            port: ssh.port,
            keyFile: resolveConfigPath(ssh.key_file ?? '', dir),
            hostKey: ssh.host_key ?? '',
            ...(ssh.passphrase_env !== undefined ? { passphraseEnv: ssh.passphrase_env } : {}),
          },
        }
      : {}),
    ...(serial
      ? { serial: serial.network ? { ...serialLogin, network: { host: serial.network.host, port: serial.network.port } } : { ...serialLogin, device: expandHome(serial.device ?? '') } }
      : {}),
    ...(f.power ? { power: f.power } : {}),
    lock: { wait: f.lock?.wait ?? 0 },
  };
}
