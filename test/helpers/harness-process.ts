// A `vnet-harness` run started as a user starts it (a child process of the
// CLI), its output timestamped, and the QEMU processes it started, found by
// the run's per-run initrd path (which names the harness's pid), so a test
// ends or inspects only what its own run started.
import { execFileSync, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'bin', 'vnet-harness.js');

export interface Run {
  pid: number;
  output: () => string;
  /** Resolves when the run's output first matches `pattern`, with the time it did. */
  when: (pattern: RegExp) => Promise<number>;
  /** When `pattern` was first seen, if it was. */
  seenAt: (pattern: RegExp) => number | undefined;
  exited: Promise<{ code: number | null; at: number }>;
}

/** Starts `vnet-harness ARGS`, timestamping each output chunk. */
export function startCli(args: string[]): Run {
  // spawns: node
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: { at: number; text: string }[] = [];
  const waiters: (() => void)[] = [];
  const output = (): string => chunks.map((c) => c.text).join('');
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.on('exit', (code) => r({ code, at: Date.now() })));
  const onData = (d: Buffer): void => {
    chunks.push({ at: Date.now(), text: d.toString() });
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const seenAt = (pattern: RegExp): number | undefined => {
    let text = '';
    for (const c of chunks) {
      text += c.text;
      if (pattern.test(text)) return c.at;
    }
    return undefined;
  };
  const when = (pattern: RegExp): Promise<number> =>
    new Promise((resolveWhen, reject) => {
      const check = (): void => {
        const at = seenAt(pattern);
        if (at === undefined) return;
        waiters.splice(waiters.indexOf(check), 1);
        resolveWhen(at);
      };
      waiters.push(check);
      check();
      void exited.then(({ code }) => reject(new Error(`vnet-harness ${args.join(' ')} exited (${code}) before ${pattern}:\n${output()}`)));
    });
  return { pid: child.pid!, output, when, seenAt, exited };
}

/** The QEMU processes of the given harness pid (its per-run initrd path names the pid): pid and command line. */
export function qemusOf(pid: number): { pid: number; args: string }[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((l) => l.includes('qemu-system-arm') && l.includes(`/tmp/vnet-run-${pid}-`))
    .map((l) => {
      const m = /^\s*(\d+)\s+(.*)$/.exec(l)!;
      return { pid: Number(m[1]), args: m[2]! };
    });
}
