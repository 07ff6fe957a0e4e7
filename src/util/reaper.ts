// Every child process the harness starts that must not outlive it (QEMU)
// is registered here and killed by pid when the harness exits for any
// reason: normal end, uncaught error, SIGINT, SIGTERM, SIGHUP. Children are
// also started under `setpriv --pdeathsig KILL` so that even a SIGKILL of the
// harness takes them down.
import { signalNumber } from './signals.ts';
const children = new Map<number, string>();
let installed = false;
/** While set, the first SIGINT/SIGTERM/SIGHUP goes here instead of ending the process. */
let deferredTo: ((signal: NodeJS.Signals) => void) | null = null;

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
      if (deferredTo) {
        const handler = deferredTo;
        // One chance: a second signal ends the process at once.
        deferredTo = null;
        handler(signal);
        return;
      }
      reapAll();
      // Re-raise the conventional exit status of a signal death.
      process.exit(signalExitCode(signal));
    });
  }
}

/** The conventional exit status of a death by this signal (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (signalNumber(signal) ?? 0);
}

/**
 * Lets a run finish on its own terms: the first SIGINT/SIGTERM/SIGHUP calls
 * `handler` (which stops the run and writes what it gathered) instead of
 * ending the process; a second one ends it as usual. Returns the undo.
 */
export function deferSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  installExitHandlers();
  deferredTo = handler;
  return () => {
    if (deferredTo === handler) deferredTo = null;
  };
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
