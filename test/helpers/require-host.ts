// What a test needs from the host and cannot make itself (a tool, a package,
// root, a namespace). Outside CI a missing need skips the test, saying what is
// missing; under CI=true it fails the test instead: a CI run never passes by
// skipping, and `doctor --install --tests` is what should have installed it.
import type { Context } from 'mocha';

/** True when running under CI (the CI variable set to anything but "" or "false"). */
export function underCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false';
}

/** Skips the test (outside CI) or fails it (under CI) when `available` is false, naming what is missing. */
export function requireOnHost(ctx: Context, available: boolean, what: string): void {
  if (available) return;
  const message = `missing on this host: ${what} (npx vnet-harness doctor --install --tests installs the harness's test needs)`;
  if (underCi()) throw new Error(message);
  if (ctx.test) ctx.test.title += ` (skipped: ${message})`;
  ctx.skip();
}
