// LAVA's device-type templates (qemu.jinja2, base.jinja2, …), from which a
// LAVA server renders the device file its dispatcher gets. They ship only in
// Debian's lava-server package, which the harness never installs (a server,
// a database, a web stack): its .deb is downloaded with apt and unpacked into
// the cache once, by the setup (`doctor --install --tests`), for the version
// of the installed lava-dispatcher. Nothing here downloads at run time except
// fetchLavaTemplates, which only doctor calls.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrerequisiteError } from '../errors.ts';
import { cachedEntry, completedEntry, inputsKey } from '../util/cache.ts';

/** The Debian package whose dispatcher runs a job locally (lava-run), and the one shipping the templates. */
export const LAVA_DISPATCHER_PACKAGE = 'lava-dispatcher';
export const LAVA_SERVER_PACKAGE = 'lava-server';
/** Where lava-server keeps the device-type templates, inside its .deb. */
const TEMPLATES_IN_DEB = join('usr', 'share', 'lava-server', 'device-types');
/** The setup command that installs the dispatcher and fetches the templates. */
export const LAVA_SETUP_COMMAND = 'npx vnet-harness doctor --install --tests';

const ENTRY = 'lava-server-templates';

/** The installed version of a Debian package, or undefined. */
async function installed(pkg: string): Promise<string | undefined> {
  // spawns: dpkg-query
  const r = await execa('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg], { reject: false, timeout: 30_000 });
  const m = /^install ok installed (\S+)$/.exec(String(r.stdout ?? '').trim());
  return r.exitCode === 0 && m ? m[1] : undefined;
}

function entryKey(version: string): string {
  return inputsKey([`${ENTRY}-v1`, LAVA_SERVER_PACKAGE, version]);
}

/** The folder of device-type templates in the cache (for the installed lava-dispatcher's version), or why there is none. Never downloads. */
export async function lavaTemplatesDir(): Promise<{ dir: string; version: string } | { missing: string }> {
  const version = await installed(LAVA_DISPATCHER_PACKAGE);
  if (!version) return { missing: `${LAVA_DISPATCHER_PACKAGE} is not installed, so the ${LAVA_SERVER_PACKAGE} templates of its version are not fetched either` };
  const dir = completedEntry(ENTRY, entryKey(version));
  if (!dir || !existsSync(join(dir, 'device-types', 'qemu.jinja2'))) {
    return { missing: `${LAVA_SERVER_PACKAGE} ${version}'s device-type templates are not in the harness cache (its .deb is downloaded and unpacked there, never installed)` };
  }
  return { dir: join(dir, 'device-types'), version };
}

/** The templates' folder, or a PrerequisiteError naming the setup command. */
export async function requireLavaTemplates(): Promise<string> {
  const t = await lavaTemplatesDir();
  if ('missing' in t) throw new PrerequisiteError(`${t.missing}\n  fix: ${LAVA_SETUP_COMMAND}`);
  return t.dir;
}

/**
 * Downloads lava-server's .deb of the installed lava-dispatcher's version
 * (`apt-get download`), unpacks it in a temporary folder (`dpkg-deb -x`, no
 * maintainer script runs) and keeps only its device-type templates in the
 * cache. For doctor --install --tests.
 */
export async function fetchLavaTemplates(): Promise<{ dir: string; version: string }> {
  const version = await installed(LAVA_DISPATCHER_PACKAGE);
  if (!version) throw new PrerequisiteError(`${LAVA_DISPATCHER_PACKAGE} is not installed: install it first (${LAVA_SETUP_COMMAND})`);
  const entry = await cachedEntry(ENTRY, entryKey(version), async (dir) => {
    const work = await mkdtemp(join(tmpdir(), 'vnet-lava-server-'));
    try {
      // spawns: apt-get
      const dl = await execa('apt-get', ['download', `${LAVA_SERVER_PACKAGE}=${version}`], { cwd: work, reject: false, all: true, timeout: 600_000 });
      const deb = (await readdir(work)).find((f) => f.startsWith(`${LAVA_SERVER_PACKAGE}_`) && f.endsWith('.deb'));
      if (dl.exitCode !== 0 || !deb) throw new PrerequisiteError(`apt-get download ${LAVA_SERVER_PACKAGE}=${version} failed: ${String(dl.all ?? '').trim().split('\n').slice(-3).join(' / ')}`);
      // spawns: dpkg-deb
      const x = await execa('dpkg-deb', ['-x', join(work, deb), join(work, 'root')], { reject: false, all: true, timeout: 300_000 });
      if (x.exitCode !== 0) throw new PrerequisiteError(`dpkg-deb -x ${deb} failed: ${String(x.all ?? '').trim()}`);
      const from = join(work, 'root', TEMPLATES_IN_DEB);
      if (!existsSync(join(from, 'qemu.jinja2'))) throw new PrerequisiteError(`${deb} has no ${TEMPLATES_IN_DEB}/qemu.jinja2`);
      await cp(from, join(dir, 'device-types'), { recursive: true });
      return { package: LAVA_SERVER_PACKAGE, version, deb };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
  return { dir: join(entry.dir, 'device-types'), version };
}
