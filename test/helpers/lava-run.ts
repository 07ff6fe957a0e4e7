// Runs the script lava-job --for lava-run writes (vnet-lava-run.sh: Debian's
// lava-run in private mount and PID namespaces) as its own process group, its
// stderr (the job's log) kept in a file. On a timeout the whole group is
// ended by its id (SIGTERM, lava-run's cancel, then SIGKILL); QEMU, which the
// dispatcher starts in a session of its own, lives in the script's PID
// namespace and ends with it. setpriv --pdeathsig: the script dies with the test.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

export interface LavaRunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  log: string;
  stdout: string;
  seconds: number;
  timedOut: boolean;
}

export async function runLavaRunScript(script: string, logFile: string, timeoutMs = 300_000): Promise<LavaRunOutcome> {
  const started = Date.now();
  const log = createWriteStream(logFile);
  // spawns: setpriv
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'sh', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.pipe(log);
  const pgid = child.pid;
  let timedOut = false;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (pgid) process.kill(-pgid, signal);
    } catch {
      // the group is gone already
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), 10_000).unref();
  }, timeoutMs);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve([c, s]));
    });
    await new Promise<void>((resolve) => log.end(() => resolve()));
    return { code, signal, log: await readFile(logFile, 'utf8'), stdout, seconds: (Date.now() - started) / 1000, timedOut };
  } finally {
    clearTimeout(timer);
    // Whatever happened, nothing of the group outlives the call.
    killGroup('SIGKILL');
  }
}

/** One record of a LAVA job log line. */
export interface LogRecord {
  dt: string;
  lvl: string;
  msg: unknown;
}

/** The records of a lava-run log: every line lava-run writes is a YAML flow mapping with double-quoted strings (not JSON: `\e` escapes). */
export function logRecords(log: string): LogRecord[] {
  return log
    .split('\n')
    .filter((l) => l.startsWith('{"dt"'))
    .map((l) => parse(l) as LogRecord);
}

/** Seconds between two records: the first whose msg starts with `from`, the first after it whose msg starts with `to`. */
export function secondsBetween(records: readonly LogRecord[], from: string, to: string): number | undefined {
  const a = records.findIndex((r) => typeof r.msg === 'string' && r.msg.startsWith(from));
  if (a < 0) return undefined;
  const b = records.findIndex((r, i) => i > a && typeof r.msg === 'string' && r.msg.startsWith(to));
  if (b < 0) return undefined;
  return (Date.parse(`${records[b]!.dt}Z`) - Date.parse(`${records[a]!.dt}Z`)) / 1000;
}
