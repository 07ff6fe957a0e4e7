// Rules that involve several keys or the file system. They run on the raw
// data even when the schema found type errors, so one run reports everything.
import fs from 'node:fs';
import path from 'node:path';
import { resolveConfigPath } from './paths.ts';
import type { RawIssue } from './raw-issue.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

// Keys the harness fills in at run time for an emulated board; a value in the
// YAML would be ignored, and a silently ignored setting misleads.
const RUNTIME_SSH_KEYS: Record<string, string> = {
  host: 'the harness forwards a free loopback port to the guest',
  port: 'the harness forwards a free loopback port to the guest',
  key_file: 'the harness installs a per-run key',
  host_key: 'the harness pins the host key it generated for the cached rootfs',
  passphrase_env: 'the per-run key has no passphrase',
};

export interface RuleContext {
  /** Directory of the YAML file: relative paths inside it resolve from here. */
  dir: string;
  /** Base name of the file without extension, when the file lies in boards/ (its name must match). */
  expectedName?: string;
  /**
   * Whether paths on this host that only building needs (kernel_tree) must
   * exist (default true). doctor and boot load without: doctor reports a
   * missing tree itself, and boot builds nothing.
   */
  hostPaths?: boolean;
}

/** Checks the rules that span several keys or need the file system. */
export function checkRules(data: unknown, ctx: RuleContext): RawIssue[] {
  if (!isObj(data)) return [];
  const issues: RawIssue[] = [];
  const missing = (p: PropertyKey[], why: string) => {
    const key = String(p[p.length - 1]);
    issues.push({ path: p, at: 'parent', message: `missing required key "${key}" (${why})` });
  };
  const notAllowed = (p: PropertyKey[], why: string) =>
    issues.push({ path: p, at: 'key', message: `not allowed here: ${why}; remove it` });

  if (ctx.expectedName !== undefined && typeof data.name === 'string' && data.name !== ctx.expectedName) {
    issues.push({
      path: ['name'],
      at: 'value',
      message: `expected "${ctx.expectedName}" (a board in boards/ is named after its file), found "${data.name}"`,
    });
  }

  const ssh = data.ssh;
  const serial = data.serial;
  if (data.emulated !== undefined) {
    if (data.kernel_tree !== undefined) notAllowed(['kernel_tree'], 'an emulated board gets its kernel tree built by the harness from emulated.kernel');
    if (data.lock !== undefined) notAllowed(['lock'], 'each emulated board run is its own QEMU instance and takes no lock');
    if (data.power !== undefined) notAllowed(['power'], 'the harness powers an emulated board by restarting QEMU');
    if (isObj(ssh)) {
      for (const [key, why] of Object.entries(RUNTIME_SSH_KEYS)) {
        if (ssh[key] !== undefined) notAllowed(['ssh', key], `set at run time for an emulated board (${why})`);
      }
    }
    for (const key of ['device', 'network']) {
      if (isObj(serial) && serial[key] !== undefined) notAllowed(['serial', key], 'the harness connects the emulated console itself');
    }
    const emu = data.emulated;
    if (isObj(emu)) {
      const fragment = valueAt2(emu, 'kernel', 'fragment');
      if (Array.isArray(fragment)) fragment.forEach((f, i) => checkFile(issues, ['emulated', 'kernel', 'fragment', i], f, ctx.dir));
      else checkFile(issues, ['emulated', 'kernel', 'fragment'], fragment, ctx.dir);
      const patches = valueAt2(emu, 'kernel', 'patches');
      if (Array.isArray(patches)) patches.forEach((f, i) => checkFile(issues, ['emulated', 'kernel', 'patches', i], f, ctx.dir));
      checkFile(issues, ['emulated', 'rootfs', 'init'], valueAt2(emu, 'rootfs', 'init'), ctx.dir);
      checkFile(issues, ['emulated', 'rootfs', 'inittab'], valueAt2(emu, 'rootfs', 'inittab'), ctx.dir);
      const wrappers = valueAt2(emu, 'rootfs', 'wrappers');
      if (isObj(wrappers)) for (const [name, file] of Object.entries(wrappers)) checkFile(issues, ['emulated', 'rootfs', 'wrappers', name], file, ctx.dir);
      const omit = valueAt2(emu, 'rootfs', 'omit_applets');
      const packages = valueAt2(emu, 'rootfs', 'packages');
      if (Array.isArray(omit) && omit.length > 0 && Array.isArray(packages)) {
        const i = packages.indexOf('busybox-static');
        // Its shell runs every applet it has whatever PATH holds: a removed link changes nothing.
        if (i >= 0) issues.push({ path: ['emulated', 'rootfs', 'packages', i], at: 'value', message: 'expected busybox, not busybox-static, with omit_applets: busybox-static runs its applets without their links' });
      }
    }
  } else {
    if (data.kernel_tree === undefined) missing(['kernel_tree'], 'a real board needs the path of its prepared kernel build tree');
    // Found now, not after the board was locked and booted.
    else if (ctx.hostPaths !== false) checkDirectory(issues, ['kernel_tree'], data.kernel_tree, ctx.dir, "the board's prepared kernel build tree");
    if (ssh === undefined && serial === undefined) {
      issues.push({
        path: [],
        at: 'value',
        message: 'expected at least one of "ssh" or "serial": a real board needs a way to be reached',
      });
    }
    if (isObj(ssh)) {
      for (const key of ['host', 'user', 'key_file', 'host_key']) {
        if (ssh[key] === undefined) missing(['ssh', key], sshWhy(key));
      }
    }
    if (isObj(serial) && serial.device === undefined && serial.network === undefined) {
      missing(['serial', 'device'], 'the TTY of the serial console, such as /dev/ttyUSB0, or serial.network: {host, port} for a console shared over TCP (ser2net)');
    }
    if (isObj(serial) && serial.device !== undefined && serial.network !== undefined) {
      notAllowed(['serial', 'network'], 'a console is either a local device or a network port, not both');
    }
    const dt = data.default_transport;
    if ((dt === 'ssh' && ssh === undefined) || (dt === 'serial' && serial === undefined)) {
      issues.push({ path: ['default_transport'], at: 'value', message: `expected a transport this board has, found "${dt}" but no "${dt}" section` });
    }
  }
  if (isObj(data.power) && Object.keys(data.power).length === 0) {
    issues.push({ path: ['power'], at: 'value', message: 'expected at least one of on, off, cycle, found an empty mapping' });
  }
  return issues;
}

function sshWhy(key: string): string {
  switch (key) {
    case 'host':
      return "a real board's SSH address";
    case 'user':
      return 'the user to log in as';
    case 'key_file':
      return 'the private key used to log in';
    default:
      return 'the pinned host key fingerprint, SHA256:... as printed by `ssh-keygen -lf`';
  }
}

function valueAt2(obj: Obj, a: string, b: string): unknown {
  const inner = obj[a];
  return isObj(inner) ? inner[b] : undefined;
}

function checkFile(issues: RawIssue[], p: PropertyKey[], value: unknown, dir: string): void {
  if (typeof value !== 'string' || value.trim() === '') return;
  const resolved = resolveConfigPath(value, dir);
  if (!fs.statSync(resolved, { throwIfNoEntry: false })?.isFile()) {
    issues.push({ path: p, at: 'value', message: `expected an existing file, found none at ${shownPath(resolved)}` });
  }
}

/** Adds an issue unless `value` names an existing directory (`what` says which). */
function checkDirectory(issues: RawIssue[], p: PropertyKey[], value: unknown, dir: string, what: string): void {
  if (typeof value !== 'string' || value.trim() === '') return;
  const resolved = resolveConfigPath(value, dir);
  const st = fs.statSync(resolved, { throwIfNoEntry: false });
  if (st?.isDirectory()) return;
  const found = st ? `a ${st.isFile() ? 'file' : 'non-directory'} at` : 'none at';
  issues.push({ path: p, at: 'value', message: `expected an existing directory (${what}), found ${found} ${shownPath(resolved)}` });
}

/** A path as messages show it: relative below the working directory, else absolute. */
function shownPath(resolved: string): string {
  const shown = path.relative(process.cwd(), resolved);
  return shown.startsWith('..') || shown === '' ? resolved : shown;
}
