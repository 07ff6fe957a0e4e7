// Board file validation: every error names file:line:col, the key and what
// was expected; the two real board files validate; --board by name and path.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { boardsCommand } from '../src/commands/boards.ts';
import { formatIssue, listBoards, loadBoard, resolveBoardFile, validateBoardFile } from '../src/config/board.ts';
import { readSecret } from '../src/config/secrets.ts';
import { isSha256Fingerprint } from '../src/config/schema.ts';
import { ConfigError } from '../src/errors.ts';

const repo = path.resolve(import.meta.dirname, '..');
const boardsDir = path.join(repo, 'boards');
const fixtures = path.join(repo, 'test/fixtures/config');
/** The file name as issues print it: relative below the working directory (like a compiler), else absolute. */
const shown = (file: string) => (file.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), file) : file);
const fixture = (name: string) => path.join(fixtures, name);

/** Formatted issues of one fixture. */
function errorsOf(name: string): string[] {
  const result = validateBoardFile(fixture(name));
  expect(result.board, `${name} must not validate`).to.equal(undefined);
  return result.issues.map(formatIssue);
}

describe('board config: errors with file:line:col', () => {
  it('unknown key: points at the key, suggests the close known key', () => {
    const f = shown(fixture('unknown-key.yaml'));
    expect(errorsOf('unknown-key.yaml')).to.deep.equal([
      `${f}:6:3: ssh.host_key: missing required key "host_key" (the pinned host key fingerprint, SHA256:... as printed by \`ssh-keygen -lf\`)`,
      `${f}:9:3: ssh.hostkey: unknown key "hostkey" (did you mean "host_key"?); expected one of: host, port, user, key_file, host_key, passphrase_env, connect_timeout, keepalive_interval, keepalive_count_max`,
    ]);
  });

  it('wrong type: points at the value, says expected and found', () => {
    expect(errorsOf('wrong-type.yaml')).to.deep.equal([
      `${shown(fixture('wrong-type.yaml'))}:7:9: ssh.port: expected an integer, found the string "2222"`,
    ]);
  });

  it('missing field: points at the mapping that lacks it', () => {
    expect(errorsOf('missing-field.yaml')).to.deep.equal([
      `${shown(fixture('missing-field.yaml'))}:7:5: ssh.host_key: missing required key "host_key" (the pinned host key fingerprint, SHA256:... as printed by \`ssh-keygen -lf\`)`,
    ]);
  });

  it('missing top-level field: points at the top mapping (after leading comments)', () => {
    expect(errorsOf('missing-top-level.yaml')).to.deep.equal([
      `${shown(fixture('missing-top-level.yaml'))}:3:1: arch: missing required key "arch" (expected a string)`,
    ]);
  });

  it('bad fingerprint format: padding is refused, position inside a flow mapping', () => {
    expect(errorsOf('bad-fingerprint.yaml')).to.deep.equal([
      `${shown(fixture('bad-fingerprint.yaml'))}:5:70: ssh.host_key: expected 'SHA256:' followed by 43 base64 characters without '=' padding (as printed by \`ssh-keygen -lf\`), found the string "SHA256:uj741gNBnxSUVnv9MNUCuesEH/6p9JrIaVXjCMGalj8="`,
    ]);
  });

  it('YAML syntax error: an unclosed quote is reported where it opens', () => {
    expect(errorsOf('syntax-error.yaml')).to.deep.equal([
      `${shown(fixture('syntax-error.yaml'))}:7:9: YAML syntax error: Missing closing "quote (opened here, still open at 9:1)`,
    ]);
  });

  it('bad environment variable name for a secret', () => {
    expect(errorsOf('bad-env-name.yaml')).to.deep.equal([
      `${shown(fixture('bad-env-name.yaml'))}:7:17: serial.password_env: expected the NAME of an environment variable (A-Z, 0-9, _, not starting with a digit), found the string "lab-password"`,
    ]);
  });

  it('a secret written in the YAML is refused with the *_env hint', () => {
    expect(errorsOf('secret-in-yaml.yaml')).to.deep.equal([
      `${shown(fixture('secret-in-yaml.yaml'))}:7:3: serial.password: unknown key "password": secrets never live in the YAML; use password_env with the name of an environment variable`,
    ]);
  });

  it('missing referenced file: points at the value, names the resolved path', () => {
    expect(errorsOf('missing-file.yaml')).to.deep.equal([
      `${shown(fixture('missing-file.yaml'))}:16:11: emulated.rootfs.init: expected an existing file, found none at ${shown(fixture('emu/no-such-init'))}`,
    ]);
  });

  it('emulated board: run-time SSH keys are refused', () => {
    expect(errorsOf('emulated-runtime-keys.yaml')).to.deep.equal([
      `${shown(fixture('emulated-runtime-keys.yaml'))}:13:3: ssh.port: not allowed here: set at run time for an emulated board (the harness forwards a free loopback port to the guest); remove it`,
    ]);
  });

  it('reports every error of a file at once, sorted by position', () => {
    const f = shown(fixture('many-errors.yaml'));
    expect(errorsOf('many-errors.yaml')).to.deep.equal([
      `${f}:1:1: kernel_tree: missing required key "kernel_tree" (a real board needs the path of its prepared kernel build tree)`,
      `${f}:1:7: name: expected a board name of a-z, 0-9, ".", "_", "-", found the string "Lab Board"`,
      `${f}:3:16: cross_compile: expected a toolchain prefix ending in "-" such as arm-linux-gnueabi-, found the string "arm-linux-gnueabi"`,
      `${f}:8:13: ssh.host_key: expected 'SHA256:' followed by 43 base64 characters without '=' padding (as printed by \`ssh-keygen -lf\`), found the string "SHA256:tooshort"`,
      `${f}:9:24: ssh.keepalive_count_max: expected a number ≥ 1, found the number 0`,
      `${f}:10:21: timeouts.command: expected a number > 0, found the number -1`,
      `${f}:11:20: default_transport: expected one of "ssh", "serial", found the string "telnet"`,
      `${f}:12:23: host_packages[1]: expected a Debian package name, found the string "Bad_Package"`,
    ]);
  });

  it('loadBoard throws a ConfigError carrying the formatted issues', () => {
    let caught: unknown;
    try {
      loadBoard(fixture('wrong-type.yaml'), { boardsDir });
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.exitCode).to.equal(2);
    expect(err.issues).to.deep.equal([`${shown(fixture('wrong-type.yaml'))}:7:9: ssh.port: expected an integer, found the string "2222"`]);
    expect(err.message).to.contain(`${shown(fixture('wrong-type.yaml'))}:7:9: ssh.port:`);
  });
});

/** boards/ copied to a temp dir, imx257's kernel_tree pointed at an existing directory (the lab's tree exists only in the lab). */
function projectBoardsCopy(tmp: string): string {
  const dir = path.join(tmp, 'boards');
  fs.cpSync(boardsDir, dir, { recursive: true });
  fs.mkdirSync(path.join(tmp, 'linux-2.6.31'));
  const file = path.join(dir, 'imx257.yaml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(`kernel_tree: ${IMX257_TREE}`, `kernel_tree: ${path.join(tmp, 'linux-2.6.31')}`));
  return dir;
}
const IMX257_TREE = '/opt/imx257/linux-2.6.31';

describe('board config: the project boards', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-project-boards-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('every board in boards/ validates; imx257 only where its kernel tree exists', () => {
    const entries = listBoards(boardsDir);
    const treeIssue = `${shown(path.join(boardsDir, 'imx257.yaml'))}:14:14: kernel_tree: expected an existing directory (the board's prepared kernel build tree), found none at ${IMX257_TREE}`;
    expect(entries.map((e) => [e.name, e.issues.map(formatIssue)])).to.deep.equal([
      ['imx257', fs.existsSync(IMX257_TREE) ? [] : [treeIssue]],
      ['qemu-imx25-6.12', []],
      ['qemu-imx25-debug', []],
      ['qemu-imx25-minimal', []],
      ['qemu-imx25', []],
    ]);
    expect(listBoards(projectBoardsCopy(tmp)).map((e) => [e.name, e.issues.map(formatIssue)])).to.deep.equal([
      ['imx257', []],
      ['qemu-imx25-6.12', []],
      ['qemu-imx25-debug', []],
      ['qemu-imx25-minimal', []],
      ['qemu-imx25', []],
    ]);
  });

  it('qemu-imx25-debug: the base fragment, then its own, a kernel patch and kmemleak\'s minimum age', () => {
    const b = loadBoard('qemu-imx25-debug', { boardsDir });
    if (b.kind !== 'emulated') throw new Error(`expected emulated, got ${b.kind}`);
    expect(b.emulated.kernel.fragments).to.deep.equal([path.join(boardsDir, 'qemu-imx25/kernel.config'), path.join(boardsDir, 'qemu-imx25-debug/debug.config')]);
    expect(b.emulated.kernel.patches).to.deep.equal([path.join(boardsDir, 'qemu-imx25-debug/kmemleak-min-age.patch')]);
    // The board's setting is what its kernel patch sets (MSECS_MIN_AGE), not a number of its own.
    const patched = /^\+#define MSECS_MIN_AGE\s+(\d+)/m.exec(fs.readFileSync(path.join(boardsDir, 'qemu-imx25-debug/kmemleak-min-age.patch'), 'utf8'));
    expect(patched, 'the patch sets MSECS_MIN_AGE').to.not.equal(null);
    expect(b.kmemleakMinAge).to.equal(Number(patched?.[1]) / 1000);
    expect(b.kmemleakMinAge).to.equal(0.5);
    expect(loadBoard('qemu-imx25', { boardsDir }).kmemleakMinAge, 'the kernel\'s own 5 s by default').to.equal(5);
  });

  it('qemu-imx25-minimal: Debian\'s dynamic busybox without ip, base64, sha256sum, timeout; its ping wrapper resolved next to the YAML', () => {
    const b = loadBoard('qemu-imx25-minimal', { boardsDir });
    if (b.kind !== 'emulated') throw new Error(`expected emulated, got ${b.kind}`);
    expect(b.emulated.rootfs.packages[0]).to.equal('busybox');
    expect(b.emulated.rootfs.omitApplets).to.deep.equal(['ip', 'ipneigh', 'base64', 'sha256sum', 'timeout']);
    expect(b.emulated.rootfs.wrappers).to.deep.equal({ ping: path.join(boardsDir, 'qemu-imx25-minimal/ping') });
    expect(b.emulated.rootfs.init).to.equal(path.join(boardsDir, 'qemu-imx25-minimal/init'));
    const full = loadBoard('qemu-imx25', { boardsDir });
    if (full.kind !== 'emulated') throw new Error('expected emulated');
    expect([full.emulated.rootfs.omitApplets, full.emulated.rootfs.wrappers], 'the normal board leaves its userland whole').to.deep.equal([[], {}]);
    expect(full.emulated.kernel, 'the same kernel as the normal board').to.deep.equal(b.emulated.kernel);
  });

  it('rootfs.omit_applets and wrappers: applet names, existing wrapper files, and not with busybox-static', () => {
    const base = fs.readFileSync(path.join(boardsDir, 'qemu-imx25.yaml'), 'utf8');
    const dir = projectBoardsCopy(tmp);
    const file = path.join(dir, 'variant.yaml');
    const issuesOf = (text: string) => {
      fs.writeFileSync(file, text.replace('name: qemu-imx25\n', 'name: variant\n'));
      return validateBoardFile(file).issues.map((i) => formatIssue(i).replace(`${shown(file)}:`, ''));
    };
    const withRootfs = (extra: string, packages = 'busybox') =>
      base.replace('inittab: qemu-imx25/inittab', `inittab: qemu-imx25/inittab\n${extra}`).replace('packages: [busybox-static,', `packages: [${packages},`);
    expect(issuesOf(withRootfs('    omit_applets: [ip, base64]\n    wrappers: {ping: qemu-imx25-minimal/ping}'))).to.deep.equal([]);
    expect(issuesOf(withRootfs('    omit_applets: [ip, "Bad Name"]'))).to.deep.equal([
      '26:24: emulated.rootfs.omit_applets[1]: expected a busybox applet name such as ip, found the string "Bad Name"',
    ]);
    expect(issuesOf(withRootfs('    wrappers: {ping: nope/ping}'))).to.deep.equal([`26:22: emulated.rootfs.wrappers.ping: expected an existing file, found none at ${path.join(dir, 'nope/ping')}`]);
    expect(issuesOf(withRootfs('    omit_applets: [ip]', 'busybox-static'))).to.deep.equal([
      '23:16: emulated.rootfs.packages[0]: expected busybox, not busybox-static, with omit_applets: busybox-static runs its applets without their links',
    ]);
  });

  it('qemu-imx25-6.12: Debian\'s 6.12 source and its device tree under nxp/imx/', () => {
    const b = loadBoard('qemu-imx25-6.12', { boardsDir });
    if (b.kind !== 'emulated') throw new Error(`expected emulated, got ${b.kind}`);
    expect(b.emulated.kernel.package).to.equal('linux-source-6.12');
    expect(b.emulated.kernel.dtb).to.equal('nxp/imx/imx25-pdk.dtb');
    expect(b.emulated.kernel.patches).to.deep.equal([]);
  });

  it('a dtb path may have directories but no "." or ".." segment; a missing fragment or patch of a list is found at its item', () => {
    const base = fs.readFileSync(path.join(boardsDir, 'qemu-imx25.yaml'), 'utf8');
    const dir = projectBoardsCopy(tmp);
    const write = (text: string) => {
      const file = path.join(dir, 'variant.yaml');
      fs.writeFileSync(file, text.replace('name: qemu-imx25\n', 'name: variant\n'));
      return file;
    };
    const issuesOf = (file: string) => validateBoardFile(file).issues.map((i) => formatIssue(i).replace(`${shown(file)}:`, ''));
    expect(issuesOf(write(base.replace('dtb: imx25-pdk.dtb', 'dtb: ../imx25-pdk.dtb')))).to.deep.equal(['20:10: emulated.kernel.dtb: expected a path without "." or ".." segments, found the string "../imx25-pdk.dtb"']);
    expect(issuesOf(write(base.replace('dtb: imx25-pdk.dtb', 'dtb: /boot/imx25-pdk.dtb')))).to.have.length(1);
    expect(issuesOf(write(base.replace('fragment: qemu-imx25/kernel.config', 'fragment: [qemu-imx25/kernel.config, nope.config]\n    patches: [nope.patch]')))).to.deep.equal([
      `18:42: emulated.kernel.fragment[1]: expected an existing file, found none at ${path.join(dir, 'nope.config')}`,
      `19:15: emulated.kernel.patches[0]: expected an existing file, found none at ${path.join(dir, 'nope.patch')}`,
    ]);
  });

  it('qemu-imx25 is emulated, with files resolved next to the YAML', () => {
    const b = loadBoard('qemu-imx25', { boardsDir });
    if (b.kind !== 'emulated') throw new Error(`expected emulated, got ${b.kind}`);
    expect(b.emulated.kernel.fragments).to.deep.equal([path.join(boardsDir, 'qemu-imx25/kernel.config')]);
    expect(b.emulated.rootfs.init).to.equal(path.join(boardsDir, 'qemu-imx25/init'));
    expect(b.emulated.machine).to.equal('imx25-pdk');
    expect(b.ssh).to.deep.equal({ user: 'root', connectTimeout: 10, keepaliveInterval: 2, keepaliveCountMax: 3 });
    expect(b.defaultTransport).to.equal('ssh');
  });

  it('imx257 is real, with SSH, serial, power and a lock', () => {
    const b = loadBoard('imx257', { boardsDir: projectBoardsCopy(tmp) });
    if (b.kind !== 'real') throw new Error(`expected real, got ${b.kind}`);
    expect(b.ssh?.host).to.equal('192.168.1.50');
    expect(b.ssh?.keyFile).to.equal(path.join(process.env.HOME ?? os.homedir(), '.ssh/id_imx257'));
    expect(isSha256Fingerprint(b.ssh?.hostKey ?? '')).to.equal(true);
    expect(b.serial?.device).to.equal('/dev/ttyUSB0');
    expect(b.serial?.passwordEnv).to.equal('IMX257_PASSWORD');
    expect(b.power?.cycle).to.be.a('string');
    expect(b.lock.wait).to.equal(0);
  });
});

describe('board config: --board by name or path', () => {
  let tmp: string;
  let lab: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-config-'));
    // real-ok.yaml's kernel_tree is ../kernel-tree: board files go in lab/, next to it.
    lab = path.join(tmp, 'lab');
    fs.mkdirSync(lab);
    fs.mkdirSync(path.join(tmp, 'kernel-tree'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a name resolves in boards/, a path as a path (relative to the cwd)', () => {
    expect(resolveBoardFile('imx257', boardsDir)).to.equal(path.join(boardsDir, 'imx257.yaml'));
    expect(loadBoard(path.relative(process.cwd(), path.join(boardsDir, 'qemu-imx25.yaml')), { boardsDir }).name).to.equal('qemu-imx25');
  });

  it('a board file outside the repo: relative paths resolve from its directory, its name is free', () => {
    const file = path.join(lab, 'bench-2.yaml');
    fs.copyFileSync(fixture('real-ok.yaml'), file);
    const b = loadBoard(file, { boardsDir });
    if (b.kind !== 'real') throw new Error('expected a real board');
    expect(b.name).to.equal('lab-board');
    expect(b.ssh?.keyFile).to.equal(path.join(lab, 'keys/id_lab'));
    expect(b.kernelTree).to.equal(path.join(tmp, 'kernel-tree'));
    expect(b.dir).to.equal(lab);
    expect(b.defaultTransport).to.equal('ssh');
  });

  it('~ expands to $HOME', () => {
    const file = path.join(lab, 'home.yaml');
    fs.writeFileSync(file, fs.readFileSync(fixture('real-ok.yaml'), 'utf8').replace('keys/id_lab', '~/.ssh/id_lab'));
    const saved = process.env.HOME;
    process.env.HOME = '/home/lab-user';
    try {
      const b = loadBoard(file, { boardsDir });
      expect(b.kind === 'real' && b.ssh?.keyFile).to.equal('/home/lab-user/.ssh/id_lab');
    } finally {
      process.env.HOME = saved;
    }
  });

  it('an unknown name fails listing the known boards', () => {
    expect(() => loadBoard('imx258', { boardsDir })).to.throw(ConfigError, /no board named "imx258".*known boards: imx257, qemu-imx25/);
  });

  it('a file in boards/ must be named after its board', () => {
    fs.copyFileSync(fixture('real-ok.yaml'), path.join(lab, 'other.yaml'));
    expect(listBoards(lab).map((e) => e.issues.map(formatIssue))).to.deep.equal([
      [`${shown(path.join(lab, 'other.yaml'))}:2:7: name: expected "other" (a board in boards/ is named after its file), found "lab-board"`],
    ]);
  });
});

describe('vnet-harness boards', () => {
  let tmp: string;
  let lab: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-boards-'));
    lab = path.join(tmp, 'lab');
    fs.mkdirSync(lab);
    fs.mkdirSync(path.join(tmp, 'kernel-tree'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const run = (dir: string) => {
    let text = '';
    const code = boardsCommand({ boardsDir: dir, out: { write: (s: string) => (text += s) } });
    return { code, text };
  };

  it('lists the project boards and exits 0', () => {
    const { code, text } = run(projectBoardsCopy(tmp));
    expect(code).to.equal(0);
    expect(text).to.match(/^imx257 +real +ssh,serial +i\.MX257/m);
    expect(text).to.match(/^qemu-imx25 +emulated +ssh,serial +Emulated/m);
  });

  it('exits 2 (bad input) and prints each error as file:line:col: key: message', () => {
    fs.writeFileSync(path.join(lab, 'lab-board.yaml'), fs.readFileSync(fixture('real-ok.yaml')));
    fs.writeFileSync(path.join(lab, 'broken.yaml'), fs.readFileSync(fixture('wrong-type.yaml'), 'utf8').replace('lab-board', 'broken'));
    const { code, text } = run(lab);
    expect(code).to.equal(2);
    expect(text.split('\n')).to.deep.equal([
      'broken     INVALID   (1 error)',
      'lab-board  real      ssh,serial  ',
      `${shown(path.join(lab, 'broken.yaml'))}:7:9: ssh.port: expected an integer, found the string "2222"`,
      '1 of 2 board file(s) invalid',
      '',
    ]);
  });

  it('exits 2 when there is no board file at all', () => {
    const { code, text } = run(path.join(tmp, 'empty'));
    expect(code).to.equal(2);
    expect(text).to.match(/^no board files \(\*\.yaml\) in /);
  });
});

describe('board config: bad input is found at validation, fast', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-bad-input-'));
    fs.mkdirSync(path.join(tmp, 'kernel-tree'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** real-ok.yaml with `edit` applied, written into tmp/lab (its kernel_tree ../kernel-tree exists). */
  const variant = (edit: (text: string) => string, name = 'variant.yaml'): string => {
    fs.mkdirSync(path.join(tmp, 'lab'), { recursive: true });
    const file = path.join(tmp, 'lab', name);
    fs.writeFileSync(file, edit(fs.readFileSync(fixture('real-ok.yaml'), 'utf8')));
    return file;
  };
  const issuesOf = (file: string) => validateBoardFile(file).issues.map(formatIssue);

  it('a kernel_tree that does not exist (or is no directory) is an error at its value', () => {
    expect(errorsOf('missing-kernel-tree.yaml')).to.deep.equal([
      `${shown(fixture('missing-kernel-tree.yaml'))}:5:14: kernel_tree: expected an existing directory (the board's prepared kernel build tree), found none at ${shown(path.join(repo, 'test/fixtures/no-such-kernel-tree'))}`,
    ]);
    fs.writeFileSync(path.join(tmp, 'a-file'), '');
    const file = variant((t) => t.replace('kernel_tree: ../kernel-tree', `kernel_tree: ${path.join(tmp, 'a-file')}`));
    expect(issuesOf(file)).to.deep.equal([
      `${shown(file)}:5:14: kernel_tree: expected an existing directory (the board's prepared kernel build tree), found a file at ${path.join(tmp, 'a-file')}`,
    ]);
    expect(() => loadBoard(file, { boardsDir })).to.throw(ConfigError, /:5:14: kernel_tree: expected an existing directory/);
  });

  it('doctor and boot load a board whose kernel_tree is not on this host (doctor reports it; boot builds nothing)', () => {
    const missing = fixture('missing-kernel-tree.yaml');
    expect(() => loadBoard(missing, { boardsDir })).to.throw(ConfigError);
    const board = loadBoard(missing, { boardsDir, hostPaths: false });
    expect(board.kind === 'real' && board.kernelTree).to.equal(path.join(repo, 'test/fixtures/no-such-kernel-tree'));
    // Everything else is still validated.
    const broken = variant((t) => t.replace('kernel_tree: ../kernel-tree', 'kernel_tree: /nonexistent-tree\nbogus_key: 1'));
    expect(() => loadBoard(broken, { boardsDir, hostPaths: false })).to.throw(ConfigError, /bogus_key/);
  });

  it('cross_compile as an absolute prefix is accepted as given', () => {
    const file = variant((t) => t.replace('cross_compile: arm-linux-gnueabi-', 'cross_compile: /opt/bsp/bin/arm-linux-gnueabi-'));
    expect(issuesOf(file)).to.deep.equal([]);
    expect(loadBoard(file, { boardsDir }).crossCompile).to.equal('/opt/bsp/bin/arm-linux-gnueabi-');
  });

  it('cross_compile with shell metacharacters is refused at its value (it reaches a shell through Kbuild)', () => {
    for (const prefix of ['"arm-`touch /tmp/pwned`-"', "'arm-$(id)-'", "'arm;rm -rf ~;-'", "'arm linux-'", "'arm-|x-'"]) {
      const file = variant((t) => t.replace('cross_compile: arm-linux-gnueabi-', `cross_compile: ${prefix}`));
      const issues = issuesOf(file);
      expect(issues, prefix).to.have.length(1);
      expect(issues[0], prefix).to.match(
        /:4:16: cross_compile: expected only letters, digits and \. _ \+ - \/ ~ \(the prefix reaches a shell through Kbuild\), found the string /,
      );
    }
  });

  it('a board file over 1 MiB is refused without being parsed', () => {
    const file = variant((t) => `${t}# ${'x'.repeat(1024 * 1024)}\n`);
    expect(issuesOf(file)).to.deep.equal([
      `${shown(file)}:1:1: the file is 1.0 MiB: a board file is at most 1 MiB (is this the right file?)`,
    ]);
  });

  it('a board path that is not a regular file is refused', () => {
    expect(() => validateBoardFile('/dev/zero')).to.throw(ConfigError, 'board file /dev/zero is not a regular file');
  });

  it('validation time grows linearly with the number of keys (32k unknown keys: under 8 s even on a busy host; quadratic took 40 s)', function () {
    this.timeout(60_000);
    const keys = Array.from({ length: 32_000 }, (_, i) => `unknown_key_${i}: ${i}\n`).join('');
    const file = variant((t) => t + keys);
    expect(fs.statSync(file).size).to.be.below(1024 * 1024);
    const started = performance.now();
    const issues = validateBoardFile(file).issues;
    const ms = performance.now() - started;
    expect(issues).to.have.length(32_000);
    expect(formatIssue(issues[31_999]!)).to.match(/:32013:1: unknown_key_31999: unknown key "unknown_key_31999"; expected one of: /);
    expect(ms, `validation took ${ms.toFixed(0)} ms`).to.be.below(8000);
  });

  it('duplicate keys are still found, each pointing at the repeated key and at the first', () => {
    const file = variant((t) => t.replace('arch: arm\n', 'arch: arm\narch: arm64\n'));
    expect(issuesOf(file)).to.deep.equal([`${shown(file)}:4:1: YAML syntax error: duplicate key "arch" (first at 3:1)`]);
  });

  it('a YAML alias bomb is an error at the first alias, not an exception', () => {
    const lines = ['name: bomb', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const file = path.join(tmp, 'bomb.yaml');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    expect(issuesOf(file)).to.deep.equal([
      `${shown(file)}:3:10: YAML: more than 100 alias expansions (an alias bomb?): a board file needs few or no aliases`,
    ]);
  });

  it('an alias to an anchor not defined before it is an error at the alias', () => {
    const file = variant((t) => t.replace('arch: arm\n', 'arch: *cpu\n'));
    expect(issuesOf(file)).to.deep.equal([`${shown(file)}:3:7: YAML: alias *cpu names no anchor defined before it`]);
  });
});

describe('secrets and fingerprints', () => {
  it('readSecret names the board, the setting and the variable when it is unset', () => {
    delete process.env.VNET_TEST_UNSET_SECRET;
    expect(() => readSecret('VNET_TEST_UNSET_SECRET', { board: 'imx257', setting: 'serial.password_env' })).to.throw(
      'board imx257: serial.password_env names environment variable VNET_TEST_UNSET_SECRET, which is not set',
    );
    process.env.VNET_TEST_SET_SECRET = 's3cret';
    expect(readSecret('VNET_TEST_SET_SECRET', { board: 'b', setting: 's' })).to.equal('s3cret');
    delete process.env.VNET_TEST_SET_SECRET;
  });

  it('accepts the fingerprint ssh-keygen prints, refuses near misses', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-key-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')]);
      const fp = execFileSync('ssh-keygen', ['-lf', path.join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1]!;
      expect(isSha256Fingerprint(fp), fp).to.equal(true);
      expect(isSha256Fingerprint(`${fp}=`)).to.equal(false);
      expect(isSha256Fingerprint(fp.slice(0, -1))).to.equal(false);
      expect(isSha256Fingerprint(fp.replace('SHA256:', 'MD5:'))).to.equal(false);
      // 43 characters but the last one carries bits beyond 32 bytes: not an encoding of a digest.
      expect(isSha256Fingerprint(`SHA256:${'A'.repeat(42)}B`)).to.equal(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
