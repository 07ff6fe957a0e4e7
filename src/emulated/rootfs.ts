// The emulated board's initramfs, made from Debian armel packages:
// busybox-static for the userland, dropbear (+ its libraries) for SSH.
// The base archive is cached, keyed by the packages' exact versions and
// checksums, the init script and inittab; a per-run archive with the run's
// authorized key is appended at boot (the kernel unpacks concatenated cpios).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, readlink, rm, lstat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { HarnessError, PrerequisiteError } from '../errors.ts';
import { cachedEntry, inputsKey } from '../util/cache.ts';
import { recalled } from './apt-state.ts';
import { buildCpio, type CpioEntry } from './cpio.ts';

export interface RootfsSpec {
  /** Debian architecture of the guest, e.g. "armel". */
  arch: string;
  packages: readonly string[];
  initScript: string;
  inittab: string;
  /** Busybox applets left out: /etc/vnet-harness/userland.sh (sourced by the init) removes their links. */
  omitApplets?: readonly string[];
  /** Applet name → script text replacing its link (installed by the same userland.sh). */
  wrappers?: Readonly<Record<string, string>>;
}

/**
 * The script that makes the userland minimal, run by the init after
 * `busybox --install -s`: each omitted applet's links go, each wrapper
 * replaces its applet's links. Undefined when there is nothing to do.
 */
export function userlandScript(spec: Pick<RootfsSpec, 'omitApplets' | 'wrappers'>): string | undefined {
  const omit = spec.omitApplets ?? [];
  const wrapped = Object.keys(spec.wrappers ?? {}).sort();
  if (omit.length === 0 && wrapped.length === 0) return undefined;
  const dirs = '/bin /sbin /usr/bin /usr/sbin';
  return [
    '# Made by vnet-harness from the board file (emulated.rootfs.omit_applets, wrappers): a minimal BSP userland.',
    ...(omit.length > 0 ? [`for a in ${omit.join(' ')}; do for d in ${dirs}; do rm -f "$d/$a"; done; done`] : []),
    ...wrapped.map((w) => `for d in ${dirs}; do if [ -L "$d/${w}" ]; then rm -f "$d/${w}"; cp /etc/vnet-harness/wrappers/${w} "$d/${w}"; chmod 755 "$d/${w}"; fi; done`),
    '',
  ].join('\n');
}

export interface RootfsMeta {
  /** Versions of the packages the archive was made from. */
  packages: Record<string, string>;
  /** OpenSSH-style fingerprint of the board's ed25519 host key. */
  hostKeyFingerprint: string;
  /** The host key's public line ("ssh-ed25519 AAAA..."). */
  hostKeyPublic: string;
}

export interface Rootfs {
  initrd: string;
  meta: RootfsMeta;
  built: boolean;
}

/** Files of the packages that go into the image: the rest (docs, gconv, locales) is left out. */
const KEEP = [/^bin\/busybox$/, /^usr\/sbin\/dropbear$/, /^lib\/ld-linux[^/]*$/, /^(usr\/)?lib\/[^/]+-linux-gnueabi\/[^/]+\.so[.0-9]*$/];

/** Asks apt (one call, no download; remembered while apt's lists and configuration stay the same) for the exact version and checksum of each package, for the cache key. */
async function packageIdentities(spec: RootfsSpec): Promise<Record<string, string>> {
  const names = spec.packages.map((p) => `${p}:${spec.arch}`);
  return recalled(['apt-cache show --no-all-versions', ...names], () => askApt(spec, names));
}

async function askApt(spec: RootfsSpec, names: readonly string[]): Promise<Record<string, string>> {
  const result = await execa('apt-cache', ['show', '--no-all-versions', ...names], { reject: false, timeout: 60_000 });
  const ids: Record<string, string> = {};
  for (const record of result.stdout.split(/\n\n+/)) {
    const pkg = /^Package: (.+)$/m.exec(record)?.[1];
    const version = /^Version: (.+)$/m.exec(record)?.[1];
    if (pkg && version && spec.packages.includes(pkg)) ids[pkg] = `${version} ${/^SHA256: (.+)$/m.exec(record)?.[1] ?? ''}`.trim();
  }
  const missing = spec.packages.filter((p) => ids[p] === undefined);
  if (missing.length > 0) {
    throw new PrerequisiteError(
      `apt does not know ${missing.map((p) => `${p}:${spec.arch}`).join(', ')} (is the ${spec.arch} architecture added and the package list updated?)\n` +
        `  fix: dpkg --add-architecture ${spec.arch} && apt-get update   (or: npx vnet-harness doctor --install)`,
    );
  }
  return ids;
}

/** Lists every path under dir, depth first, parents before children. */
async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    out.push(relative(base, full));
    if (entry.isDirectory()) out.push(...(await walk(full, base)));
  }
  return out;
}

/** Makes the board's ed25519 host key in dropbear's format, with the host's dropbearkey. */
async function makeHostKey(dir: string): Promise<{ key: Buffer; publicLine: string; fingerprint: string }> {
  const keyPath = join(dir, 'dropbear_ed25519_host_key');
  await execa('dropbearkey', ['-t', 'ed25519', '-f', keyPath], { timeout: 30_000 }).catch((error: unknown) => {
    throw new PrerequisiteError(`dropbearkey failed (host package dropbear-bin): ${String(error)}`);
  });
  const pub = await execa('dropbearkey', ['-y', '-f', keyPath], { timeout: 30_000 });
  const publicLine = pub.stdout.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (publicLine === undefined) throw new HarnessError(`dropbearkey -y printed no public key:\n${pub.stdout}`);
  const blob = Buffer.from(publicLine.split(' ')[1] ?? '', 'base64');
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  const key = await readFile(keyPath);
  await rm(keyPath);
  return { key, publicLine: publicLine.split(' ').slice(0, 2).join(' '), fingerprint };
}

/** Builds the base initramfs (gzip cpio) into dir; returns its metadata. */
async function buildBase(spec: RootfsSpec, ids: Record<string, string>, dir: string, log: (l: string) => void): Promise<RootfsMeta> {
  const work = await mkdtemp(join(tmpdir(), 'vnet-rootfs-'));
  try {
    log(`rootfs: fetching ${spec.packages.length} ${spec.arch} packages with apt-get download`);
    const debs = join(work, 'debs');
    const tree = join(work, 'tree');
    await execa('mkdir', ['-p', debs, tree]);
    await execa('apt-get', ['download', ...spec.packages.map((p) => `${p}:${spec.arch}`)], {
      cwd: debs,
      timeout: 300_000,
    });
    for (const deb of await readdir(debs)) {
      await execa('dpkg-deb', ['-x', join(debs, deb), tree], { timeout: 120_000 });
    }
    const entries: CpioEntry[] = [];
    const dirs = new Set<string>();
    const addDir = (path: string): void => {
      const parts = path.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) {
          dirs.add(d);
          entries.push({ type: 'dir', path: d });
        }
      }
    };
    for (const path of await walk(tree)) {
      if (!KEEP.some((re) => re.test(path))) continue;
      const full = join(tree, path);
      const st = await lstat(full);
      const parent = path.split('/').slice(0, -1).join('/');
      if (parent) addDir(parent);
      if (st.isSymbolicLink()) entries.push({ type: 'symlink', path, target: await readlink(full) });
      else if (st.isFile()) entries.push({ type: 'file', path, data: await readFile(full), mode: st.mode & 0o777 });
    }
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc/dropbear', 'etc/vnet-harness', 'sbin', 'usr/bin']) addDir(d);
    const hostKey = await makeHostKey(work);
    entries.push(
      { type: 'file', path: 'init', data: Buffer.from(spec.initScript), mode: 0o755 },
      { type: 'file', path: 'etc/inittab', data: Buffer.from(spec.inittab) },
      { type: 'file', path: 'etc/passwd', data: Buffer.from('root::0:0:root:/root:/bin/sh\n') },
      { type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\n') },
      { type: 'file', path: 'etc/shells', data: Buffer.from('/bin/sh\n') },
      { type: 'file', path: 'etc/dropbear/dropbear_ed25519_host_key', data: hostKey.key, mode: 0o600 },
    );
    const userland = userlandScript(spec);
    if (userland !== undefined) {
      addDir('etc/vnet-harness/wrappers');
      entries.push({ type: 'file', path: 'etc/vnet-harness/userland.sh', data: Buffer.from(userland), mode: 0o755 });
      for (const [name, text] of Object.entries(spec.wrappers ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
        entries.push({ type: 'file', path: `etc/vnet-harness/wrappers/${name}`, data: Buffer.from(text), mode: 0o755 });
      }
    }
    const initrd = gzipSync(buildCpio(entries), { level: 6 });
    // 0600: the archive holds the board's private host key.
    await writeFile(join(dir, 'initrd.cpio.gz'), initrd, { mode: 0o600 });
    log(`rootfs: ${entries.length} entries, ${(initrd.length / 1024).toFixed(0)} KiB compressed`);
    return { packages: ids, hostKeyFingerprint: hostKey.fingerprint, hostKeyPublic: hostKey.publicLine };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Returns the cached base initramfs for this spec, building it when its inputs changed. */
export async function ensureRootfs(spec: RootfsSpec, log: (line: string) => void): Promise<Rootfs> {
  const ids = await packageIdentities(spec);
  const key = inputsKey([
    'rootfs-v1',
    spec.arch,
    ...Object.entries(ids).map(([k, v]) => `${k}=${v}`),
    spec.initScript,
    spec.inittab,
    // Absent for a full userland, so the normal board's key (and cache) stays what it was.
    ...(userlandScript(spec) === undefined ? [] : [userlandScript(spec) ?? '', ...Object.entries(spec.wrappers ?? {}).sort(([a], [b]) => a.localeCompare(b)).flat()]),
  ]);
  const entry = await cachedEntry<RootfsMeta>('rootfs', key, (dir) => buildBase(spec, ids, dir, log));
  if (!entry.built) log(`rootfs: cached (${entry.dir})`);
  return { initrd: join(entry.dir, 'initrd.cpio.gz'), meta: entry.meta, built: entry.built };
}

/** The per-run archive appended to the base: the run's authorized key. */
export function perRunArchive(authorizedKeys: string): Buffer {
  return buildCpio([
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'etc/vnet-harness' },
    { type: 'file', path: 'etc/vnet-harness/authorized_keys', data: Buffer.from(authorizedKeys), mode: 0o600 },
  ]);
}
