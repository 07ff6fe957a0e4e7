// One lock per real board, so two harness runs never drive the same board.
// The lock is a file created atomically (hard link of a complete temp file),
// holding {pid, host, started, command}. A lock whose process is gone (same
// host) is stale and is taken over; the takeover is guarded by a claim file
// named after the stale lock's exact content, so of several takers only one
// may remove it, and never a lock that replaced it.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BoardConfig } from '../config/types.ts';
import { BoardError, HarnessError } from '../errors.ts';
import { pidAlive } from '../util/pid.ts';

/** What a lock file says about its holder. */
export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  command: string;
  /** Start time of the holder process (/proc/<pid>/stat field 22) so a reused pid is not taken for the holder. */
  procStart?: string;
  /** Makes every lock file's content unique (see takeOver). */
  nonce: string;
}

/** A held lock; release it when done (also released when the process exits). */
export interface BoardLock {
  readonly name: string;
  readonly path: string;
  readonly info: LockInfo;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Seconds to wait for a held lock; 0 fails at once naming the holder. */
  wait?: number;
  /** Directory of the lock files (default: defaultLockDir()). */
  dir?: string;
  /** What the holder is doing, shown to whoever finds the board locked. */
  command?: string;
  /** Milliseconds between polls while waiting (default 200). */
  pollMs?: number;
  /**
   * Called when the lock is held by another run and we start waiting, then
   * again every `remindMs` while we wait, so a long wait never looks like a hang.
   */
  onWait?: (holder: LockInfo, waitedMs: number, remainingMs: number) => void;
  /** Milliseconds between onWait reminders (default 15 000). */
  remindMs?: number;
  /** Test hook: awaited between reading a stale lock and taking it over, to widen the race window. */
  beforeTakeover?: () => Promise<void>;
}

/**
 * Where lock files live: $VNET_HARNESS_LOCK_DIR, else /tmp/vnet-harness-locks.
 * Not $XDG_RUNTIME_DIR: it is per user, and two users of one lab machine must
 * see each other's locks on the same physical board.
 */
export function defaultLockDir(): string {
  return process.env.VNET_HARNESS_LOCK_DIR ?? path.join(os.tmpdir(), 'vnet-harness-locks');
}

/** Locks a real board for this run, honouring its `lock.wait`; emulated boards take no lock (null). */
export async function lockBoard(board: BoardConfig, options: Omit<LockOptions, 'wait'> = {}): Promise<BoardLock | null> {
  if (board.kind === 'emulated') return null;
  return acquireLock(board.name, { ...options, wait: board.lock.wait });
}

/** Takes the lock `name`, waiting up to `wait` seconds; throws BoardError('locked') naming the holder. */
export async function acquireLock(name: string, options: LockOptions = {}): Promise<BoardLock> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new HarnessError(`invalid lock name "${name}"`);
  const dir = options.dir ?? defaultLockDir();
  ensureDir(dir);
  const lockPath = path.join(dir, `${name}.lock`);
  const wait = options.wait ?? 0;
  const started = Date.now();
  const deadline = started + wait * 1000;
  let nextReminder = started;
  for (;;) {
    const info = newInfo(options.command ?? defaultCommand());
    const result = await tryAcquire(lockPath, info, options.beforeTakeover);
    if (result.ok) return register(name, lockPath, info, result.text);
    const now = Date.now();
    const remaining = deadline - now;
    if (remaining <= 0) throw lockedError(name, lockPath, result.holder, result.text, wait);
    if (result.holder && now >= nextReminder) {
      options.onWait?.(result.holder, now - started, remaining);
      nextReminder = now + (options.remindMs ?? 15_000);
    }
    await sleep(Math.min(options.pollMs ?? 200, remaining));
  }
}

/** Reads the lock file of `name`; undefined when the board is not locked. */
export function readLock(name: string, dir = defaultLockDir()): LockInfo | undefined {
  const text = readText(path.join(dir, `${name}.lock`));
  return text === undefined ? undefined : parseInfo(text);
}

/** True when the lock's process is gone: same host, and no such pid (or the pid now belongs to a newer process). */
export function isStale(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return false; // another machine's process: we cannot tell
  if (!pidAlive(info.pid)) return true;
  if (info.procStart === undefined) return false;
  const now = processStart(info.pid);
  return now !== undefined && now !== info.procStart;
}

type Attempt = { ok: true; text: string } | { ok: false; holder?: LockInfo; text?: string };

// A takeover completes in milliseconds; retry that long before calling the lock held.
const MAX_SPINS = 100;

async function tryAcquire(lockPath: string, info: LockInfo, beforeTakeover?: () => Promise<void>): Promise<Attempt> {
  const text = JSON.stringify(info) + '\n';
  let last: Attempt = { ok: false };
  for (let spin = 0; spin < MAX_SPINS; spin++) {
    if (createExclusive(lockPath, text)) return { ok: true, text };
    const current = readText(lockPath);
    if (current === undefined) continue; // released just now
    const holder = parseInfo(current);
    last = { ok: false, text: current, ...(holder ? { holder } : {}) };
    if (!holder || !isStale(holder)) return last;
    await beforeTakeover?.();
    if (takeOver(lockPath, current, 0) === 'busy') await sleep(5 + Math.random() * 10);
  }
  return last;
}

/**
 * Removes `target` if its content is still exactly `staleText`. Only the
 * process that creates the claim file for that content may remove it; the
 * content is unique (nonce), so a lock that replaced it is never removed.
 */
function takeOver(target: string, staleText: string, depth: number): 'done' | 'busy' {
  const claim = `${target}.claim-${createHash('sha256').update(staleText).digest('hex').slice(0, 16)}`;
  const claimText = JSON.stringify(newInfo(`takeover of ${path.basename(target)}`)) + '\n';
  if (!createExclusive(claim, claimText)) {
    // Someone else is taking it over, or died doing so: then their claim is stale too.
    const other = readText(claim);
    const owner = other === undefined ? undefined : parseInfo(other);
    if (other !== undefined && owner && isStale(owner) && depth < 3) takeOver(claim, other, depth + 1);
    return 'busy';
  }
  try {
    if (readText(target) === staleText) unlinkQuiet(target);
  } finally {
    unlinkQuiet(claim);
  }
  return 'done';
}

/** Creates `file` with `text` atomically: link() of a complete temp file fails if `file` exists. */
function createExclusive(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new HarnessError(`cannot create lock file ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    unlinkQuiet(tmp);
  }
}

const held = new Map<string, { text: string }>();
let exitHookInstalled = false;

function register(name: string, lockPath: string, info: LockInfo, text: string): BoardLock {
  held.set(lockPath, { text });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers must be synchronous; a run killed by a signal leaves a stale lock, taken over later.
    process.on('exit', () => {
      for (const [p, h] of held) releaseSync(p, h.text);
    });
  }
  const release = async () => {
    if (!held.has(lockPath)) return;
    held.delete(lockPath);
    releaseSync(lockPath, text);
  };
  const lock: BoardLock = { name, path: lockPath, info, release };
  const asyncDispose = (Symbol as unknown as { asyncDispose?: symbol }).asyncDispose;
  if (asyncDispose) Object.defineProperty(lock, asyncDispose, { value: release });
  return lock;
}

function releaseSync(lockPath: string, text: string): void {
  // Only ever remove our own lock: after a takeover the file may be someone else's.
  if (readText(lockPath) === text) unlinkQuiet(lockPath);
}

function lockedError(name: string, lockPath: string, holder: LockInfo | undefined, text: string | undefined, wait: number): BoardError {
  const waited = wait > 0 ? `; waited ${wait} s` : '; set lock.wait in the board file to wait for it';
  const detail = holder
    ? `in use by pid ${holder.pid} on host ${holder.host} since ${holder.started} (${holder.command}); lock file ${lockPath}${waited}`
    : `lock file ${lockPath} exists but is not a harness lock (${JSON.stringify((text ?? '').slice(0, 80))}); ` +
      'delete it if no run is using the board';
  return new BoardError('locked', name, detail);
}

function newInfo(command: string): LockInfo {
  const procStart = processStart(process.pid);
  return {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command,
    ...(procStart !== undefined ? { procStart } : {}),
    nonce: randomBytes(8).toString('hex'),
  };
}

function defaultCommand(): string {
  const [, script, ...args] = process.argv;
  return [script ? path.basename(script) : 'node', ...args].join(' ');
}

function parseInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (Number.isInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string' && typeof v.started === 'string') {
      return { command: '', nonce: '', ...v } as LockInfo;
    }
  } catch {
    // not JSON: reported by the caller
  }
  return undefined;
}

/** Start time of a process in clock ticks since boot (Linux), or undefined elsewhere. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: fields after the last ')' start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ensureDir(dir: string): void {
  if (fs.existsSync(dir)) return;
  fs.mkdirSync(dir, { recursive: true });
  // Shared by all users of the machine, like /tmp itself.
  if (dir === path.join(os.tmpdir(), 'vnet-harness-locks')) fs.chmodSync(dir, 0o1777);
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HarnessError(`cannot read lock file ${file}: ${(e as Error).message}`, { cause: e });
  }
}

function unlinkQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
