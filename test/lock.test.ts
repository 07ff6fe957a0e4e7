// Board locks: two runs never hold one board; a stale lock is taken over,
// by exactly one of several takers. "Runs" are real child processes here.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { acquireLock, isStale, lockBoard, readLock } from '../src/board/lock.ts';
import type { LockInfo } from '../src/board/lock.ts';
import { loadBoard } from '../src/config/board.ts';
import { BoardError } from '../src/errors.ts';

const repo = path.resolve(import.meta.dirname, '..');
const lockModule = pathToFileURL(path.join(repo, 'src/board/lock.ts')).href;

// A harness run reduced to its lock: prints JSON events; holds the lock until
// told "release" on stdin ("exit" leaves without releasing; with "gate" it
// waits for "go" first so several start racing at the same moment).
const LOCKER = `
import { createInterface } from 'node:readline';
import { acquireLock } from ${JSON.stringify(lockModule)};
const [dir, name, wait, mode] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (o) => process.stdout.write(JSON.stringify({ pid: process.pid, t: Date.now(), ...o }) + '\\n');
say({ event: 'ready' });
if (mode === 'gate') await lines.next();
try {
  // Everyone reads the stale lock before anyone takes it over: the race is certain, not lucky.
  const beforeTakeover = () => new Promise((r) => setTimeout(r, 150));
  const lock = await acquireLock(name, { dir, wait: Number(wait), pollMs: 50, command: 'locker ' + mode, beforeTakeover });
  say({ event: 'acquired' });
  const line = (await lines.next()).value;
  if (line === 'exit') process.exit(0);
  const t = Date.now();
  await lock.release();
  say({ event: 'released', t });
} catch (e) {
  say({ event: 'failed', kind: e.kind, message: e.message });
}
process.exit(0);
`;

interface Event {
  pid: number;
  t: number;
  event: 'ready' | 'acquired' | 'released' | 'failed';
  kind?: string;
  message?: string;
}

/** One locker child and its event stream. */
class Locker {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly events: Event[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(script: string, dir: string, name: string, wait: number, mode = 'hold') {
    // spawns: node
    this.child = spawn(process.execPath, ['--import', 'tsx', script, dir, name, String(wait), mode], { cwd: repo });
    createInterface({ input: this.child.stdout }).on('line', (l) => {
      this.events.push(JSON.parse(l) as Event);
      for (const w of this.waiters.splice(0)) w();
    });
    let stderr = '';
    this.child.stderr.on('data', (d) => (stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        if (code !== 0 && signal === null) process.stderr.write(`locker exited ${code}: ${stderr}\n`);
        resolve(code);
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }

  /** Waits for the first event of one of the kinds given. */
  async next(...kinds: Event['event'][]): Promise<Event> {
    for (;;) {
      const found = this.events.find((e) => kinds.includes(e.event));
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`locker ${this.child.pid} exited without ${kinds.join('/')}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }
}

/** Pid of a process that has just exited. */
async function deadPid(): Promise<number> {
  // spawns: node
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

function staleInfo(pid: number): LockInfo {
  return { pid, host: os.hostname(), started: '2020-01-01T00:00:00.000Z', command: 'crashed run', nonce: 'dead' };
}

describe('board lock', function () {
  this.timeout(60_000);
  let dir: string;
  let script: string;
  const started: Locker[] = [];
  const locker = (name: string, wait: number, mode = 'hold') => {
    const l = new Locker(script, dir, name, wait, mode);
    started.push(l);
    return l;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-lock-'));
    script = path.join(dir, 'locker.mts');
    fs.writeFileSync(script, LOCKER);
  });
  afterEach(async () => {
    // End only the children this test started, by pid.
    for (const l of started.splice(0)) if (l.child.exitCode === null) l.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('in one process: a second locker fails naming the holder; after release it gets the lock', async () => {
    const first = await acquireLock('board-a', { dir, command: 'first run' });
    let caught: unknown;
    try {
      await acquireLock('board-a', { dir });
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(BoardError);
    const err = caught as BoardError;
    expect(err.kind).to.equal('locked');
    expect(err.message).to.contain(
      `board board-a: locked: in use by pid ${process.pid} on host ${os.hostname()} since ${first.info.started} (first run); lock file ${path.join(dir, 'board-a.lock')}`,
    );
    await first.release();
    await first.release(); // twice is harmless
    expect(fs.existsSync(path.join(dir, 'board-a.lock'))).to.equal(false);
    const second = await acquireLock('board-a', { dir });
    expect(readLock('board-a', dir)?.nonce).to.equal(second.info.nonce);
    await second.release();
  });

  it('a run waiting for a held lock says who holds it, and keeps saying it while it waits', async () => {
    const first = await acquireLock('board-w', { dir, command: 'nightly run' });
    const calls: Array<{ pid: number; command: string; waitedMs: number; remainingMs: number }> = [];
    const started = Date.now();
    setTimeout(() => void first.release(), 1_300);
    const second = await acquireLock('board-w', {
      dir,
      wait: 10,
      pollMs: 20,
      remindMs: 400,
      onWait: (holder, waitedMs, remainingMs) => calls.push({ pid: holder.pid, command: holder.command, waitedMs, remainingMs }),
    });
    const waited = Date.now() - started;
    await second.release();
    expect(waited).to.be.within(1_250, 5_000);
    // Told at once, then about every 400 ms: 1.3 s of waiting gives 4 lines (0, ~0.4, ~0.8, ~1.2 s).
    expect(calls.length).to.be.within(3, 5);
    expect(calls[0]!.waitedMs).to.be.below(100);
    expect(calls.every((c) => c.pid === process.pid && c.command === 'nightly run')).to.equal(true);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i]!.waitedMs - calls[i - 1]!.waitedMs).to.be.within(380, 700);
      expect(calls[i]!.remainingMs).to.be.below(calls[i - 1]!.remainingMs);
    }
  });

  it('two runs: the second fails at once naming the first; with wait it gets the lock after release', async () => {
    const a = locker('imx', 0);
    const held = await a.next('acquired', 'failed');
    expect(held.event).to.equal('acquired');

    const b = locker('imx', 0);
    const refused = await b.next('acquired', 'failed');
    expect(refused.event).to.equal('failed');
    expect(refused.kind).to.equal('locked');
    expect(refused.message).to.contain(`in use by pid ${a.child.pid} on host ${os.hostname()}`);
    expect(refused.message).to.contain('(locker hold)');

    const c = locker('imx', 20);
    await c.next('ready');
    await new Promise((r) => setTimeout(r, 500));
    a.send('release');
    const released = await a.next('released');
    const got = await c.next('acquired', 'failed');
    expect(got.event).to.equal('acquired');
    expect(got.t).to.be.at.least(released.t);
    expect(readLock('imx', dir)?.pid).to.equal(c.child.pid);
    c.send('release');
    await c.exited;
  });

  it('a run that exits without releasing leaves no lock behind', async () => {
    const a = locker('imx', 0);
    await a.next('acquired');
    a.send('exit');
    expect(await a.exited).to.equal(0);
    expect(fs.existsSync(path.join(dir, 'imx.lock'))).to.equal(false);
  });

  it('a lock of a killed run (SIGKILL, no cleanup) is taken over', async () => {
    const a = locker('imx', 0);
    await a.next('acquired');
    a.child.kill('SIGKILL');
    await a.exited;
    expect(readLock('imx', dir)?.pid).to.equal(a.child.pid);
    const lock = await acquireLock('imx', { dir });
    expect(readLock('imx', dir)?.pid).to.equal(process.pid);
    await lock.release();
  });

  it('a stale lock from a dead pid is taken over; one from another host is not', async () => {
    const pid = await deadPid();
    fs.writeFileSync(path.join(dir, 'b.lock'), JSON.stringify(staleInfo(pid)));
    expect(isStale(staleInfo(pid))).to.equal(true);
    const lock = await acquireLock('b', { dir });
    expect(readLock('b', dir)).to.deep.equal(lock.info);
    await lock.release();

    fs.writeFileSync(path.join(dir, 'c.lock'), JSON.stringify({ ...staleInfo(pid), host: 'other-lab-host' }));
    let caught: unknown;
    try {
      await acquireLock('c', { dir });
    } catch (e) {
      caught = e;
    }
    expect((caught as Error).message).to.contain(`in use by pid ${pid} on host other-lab-host since 2020-01-01T00:00:00.000Z (crashed run)`);
  });

  it('a reused pid is not mistaken for the holder (process start time differs)', () => {
    expect(isStale({ ...staleInfo(process.pid), procStart: '1' })).to.equal(true);
    expect(isStale({ ...staleInfo(process.pid) })).to.equal(false);
  });

  it('a lock file that is not a harness lock is reported, not removed', async () => {
    fs.writeFileSync(path.join(dir, 'd.lock'), 'garbage');
    let caught: unknown;
    try {
      await acquireLock('d', { dir });
    } catch (e) {
      caught = e;
    }
    expect((caught as Error).message).to.contain(`lock file ${path.join(dir, 'd.lock')} exists but is not a harness lock ("garbage")`);
    expect(fs.readFileSync(path.join(dir, 'd.lock'), 'utf8')).to.equal('garbage');
  });

  it('racing takeovers in one process: exactly one of 20 wins', async () => {
    for (let round = 0; round < 5; round++) {
      fs.writeFileSync(path.join(dir, 'e.lock'), JSON.stringify(staleInfo(await deadPid())));
      const beforeTakeover = () => new Promise<void>((r) => setTimeout(r, Math.random() * 20));
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => acquireLock('e', { dir, beforeTakeover })));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won, `round ${round}`).to.have.length(1);
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value;
      expect(readLock('e', dir)?.nonce).to.equal(winner.info.nonce);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as BoardError).kind).to.equal('locked');
      }
      await winner.release();
    }
    expect(fs.readdirSync(dir).filter((f) => f.includes('.claim-') || f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('racing takeovers across processes: exactly one of 6 runs wins, the others name it', async () => {
    fs.writeFileSync(path.join(dir, 'f.lock'), JSON.stringify(staleInfo(await deadPid())));
    const runs = Array.from({ length: 6 }, () => locker('f', 0, 'gate'));
    await Promise.all(runs.map((r) => r.next('ready')));
    for (const r of runs) r.send('go');
    const outcomes = await Promise.all(runs.map((r) => r.next('acquired', 'failed')));
    const winners = outcomes.filter((o) => o.event === 'acquired');
    expect(winners).to.have.length(1);
    const winner = winners[0]!;
    expect(readLock('f', dir)?.pid).to.equal(winner.pid);
    for (const o of outcomes.filter((x) => x.event === 'failed')) {
      expect(o.kind).to.equal('locked');
      expect(o.message).to.contain(`in use by pid ${winner.pid} on host ${os.hostname()}`);
    }
    // The others exited after failing: writing to their stdin would race their exit (EPIPE).
    runs.find((r) => r.child.pid === winner.pid)?.send('release');
    await Promise.all(runs.map((r) => r.exited));
  });

  it('lockBoard: a real board uses its lock.wait; an emulated board takes no lock', async () => {
    const boardsDir = path.join(repo, 'boards');
    expect(await lockBoard(loadBoard('qemu-imx25', { boardsDir }), { dir })).to.equal(null);
    // imx257's kernel tree exists only in the lab, and validation requires it: a copy names one that exists.
    const file = path.join(dir, 'imx257.yaml');
    fs.writeFileSync(file, fs.readFileSync(path.join(boardsDir, 'imx257.yaml'), 'utf8').replace(/^kernel_tree: .*$/m, `kernel_tree: ${dir}`));
    const lock = await lockBoard(loadBoard(file, { boardsDir }), { dir });
    expect(lock?.path).to.equal(path.join(dir, 'imx257.lock'));
    await lock?.release();
  });
});
