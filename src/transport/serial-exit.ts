// Exit status as a shell reports it in `$?`. A shell has no way to say "killed
// by a signal" other than 128+N, so `exit 137` and a SIGKILL look the same from
// the console: we read 128+N (for a known signal N) as the signal, as SSH
// would have reported it. A command that really exits with 129..159 on purpose
// is reported as signalled; that is the price of a serial console.
import { signalName } from '../util/signals.ts';

/** How a command ended, as CommandResult carries it. */
export interface ShellExit {
  exitCode: number | null;
  signal?: string;
}

/** Maps a shell's `$?` to an exit code, or to a signal name for 128+N. */
export function exitFromShellStatus(status: number): ShellExit {
  const name = status > 128 ? signalName(status - 128) : undefined;
  if (name !== undefined) return { exitCode: null, signal: name };
  return { exitCode: status };
}
