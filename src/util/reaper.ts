// Every child process the harness starts that must not outlive it (QEMU)
// is registered here and killed by pid when the harness exits for any
// reason: normal end, uncaught error, SIGINT, SIGTERM, SIGHUP. Children are
// also started under `setpriv --pdeathsig KILL` so that even a SIGKILL of the
// harness takes them down.
import { signalNumber } from './signals.ts';
const children = new Map<number, string>();
let installed = false;

/** Kills every registered child, synchronously (usable from 'exit'). */
export function reapAll(): void {
  for (const [pid] of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

/**
 * Makes SIGINT, SIGTERM and SIGHUP end the harness through process.exit, so
 * every 'exit' hook (the reaper's, a worktree's cleanup) runs. Idempotent.
 */
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', reapAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      reapAll();
      // Re-raise the conventional exit status of a signal death.
      process.exit(128 + (signalNumber(signal) ?? 0));
    });
  }
}

/** Registers a child pid to be killed when the harness exits. */
export function registerChild(pid: number, what: string): void {
  installExitHandlers();
  children.set(pid, what);
}

/** Forgets a child that has exited or was stopped on purpose. */
export function unregisterChild(pid: number): void {
  children.delete(pid);
}

/** The argv prefix that makes a child die with the harness, even on SIGKILL. */
export const PDEATHSIG_PREFIX = ['setpriv', '--pdeathsig', 'KILL', '--'] as const;
