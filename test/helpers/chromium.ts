// Headless Chromium for report tests, kept off the network: the binary itself
// (Debian's /usr/bin/chromium wrapper exports Google API keys and loads
// extensions), every host name unresolvable and any connection sent to a
// closed loopback port, so no packet leaves the host.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export const CHROMIUM = existsSync('/usr/lib/chromium/chromium') ? '/usr/lib/chromium/chromium' : 'chromium';

/** Chromium's arguments for a headless, offline run with its own profile. */
export function chromiumArgs(profile: string, extra: string[]): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-extensions',
    '--disable-default-apps',
    '--no-pings',
    '--host-resolver-rules=MAP * ~NOTFOUND',
    '--proxy-server=http://127.0.0.1:9',
    `--user-data-dir=${profile}`,
    ...extra,
  ];
}

/**
 * URLs the page itself asked for, from a net log (the browser's own
 * background requests carry the initiator "not an origin" and are not the page's doing).
 */
export async function pageRequests(netlog: string): Promise<string[]> {
  const log = JSON.parse(await readFile(netlog, 'utf8')) as {
    constants: { logEventTypes: Record<string, number> };
    events: { type: number; params?: { url?: string; initiator?: string } }[];
  };
  const start = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  return log.events
    .filter((e) => e.type === start && e.params?.url && !e.params.url.startsWith('file:') && e.params.initiator !== 'not an origin')
    .map((e) => e.params?.url as string);
}

/** Loads a local HTML file; returns the DOM after load, the page's own requests and chromium's exit. */
export async function loadInChromium(file: string, tmp: string): Promise<{ dom: string; requests: string[]; exitCode: number | undefined; stderr: string }> {
  const profile = await mkdtemp(join(tmp, 'chromium-'));
  const netlog = join(profile, 'netlog.json');
  // spawns: chromium
  const r = await execa(CHROMIUM, chromiumArgs(profile, [`--log-net-log=${netlog}`, '--dump-dom', `file://${file}`]), {
    reject: false,
    timeout: 60_000,
  });
  return { dom: r.stdout, requests: r.exitCode === 0 ? await pageRequests(netlog) : [], exitCode: r.exitCode, stderr: r.stderr };
}
