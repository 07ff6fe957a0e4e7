// The reaper's signal handling: by default a signal ends the process with
// 128+n; while a run defers signals, the first one goes to the run (which
// writes what it gathered) and a second one ends the process at once.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { signalExitCode } from '../src/util/reaper.ts';

const REPO = resolve(import.meta.dirname, '..');
const MODULE = pathToFileURL(join(REPO, 'src/util/reaper.ts')).href;

/** A node process running `body` with the reaper imported; resolves once it printed "ready". */
function child(body: string): Promise<{ pid: number; output: () => string; exited: Promise<number | null> }> {
  const script = `const r = await import(${JSON.stringify(MODULE)}); ${body}; process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
  // spawns: node
  const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO });
  let out = '';
  const exited = new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
  return new Promise((resolveChild, reject) => {
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolveChild({ pid: c.pid!, output: () => out, exited });
    });
    setTimeout(() => reject(new Error(`child printed: ${out}`)), 20_000).unref();
  });
}

const waitFor = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('util/reaper signals', function () {
  this.timeout(30_000);

  it('gives the conventional exit codes', () => {
    expect(signalExitCode('SIGINT')).to.equal(130);
    expect(signalExitCode('SIGTERM')).to.equal(143);
    expect(signalExitCode('SIGHUP')).to.equal(129);
  });

  it('without a deferral, SIGTERM ends the process with 143', async () => {
    const c = await child('r.installExitHandlers()');
    process.kill(c.pid, 'SIGTERM');
    expect(await c.exited).to.equal(143);
  });

  it('a deferral takes the first signal (the process goes on), a second ends it at once', async () => {
    const c = await child(`r.deferSignals((s) => process.stdout.write('deferred ' + s + '\\n'))`);
    process.kill(c.pid, 'SIGINT');
    await waitFor(() => c.output().includes('deferred SIGINT\n'));
    let ended = false;
    void c.exited.then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(ended, 'still running after the first signal').to.equal(false);
    process.kill(c.pid, 'SIGINT');
    expect(await c.exited).to.equal(130);
  });

  it('an undone deferral no longer takes the signal', async () => {
    const c = await child(`const undo = r.deferSignals(() => process.stdout.write('deferred\\n')); undo()`);
    process.kill(c.pid, 'SIGTERM');
    expect(await c.exited).to.equal(143);
    expect(c.output()).to.not.include('deferred');
  });
});
