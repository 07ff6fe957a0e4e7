// Exit status as a shell reports it in `$?`. A shell has no way to say "killed
// by a signal" other than 128+N, so `exit 137` and a SIGKILL look the same from
// the console: we read 128+N (for a known signal N) as the signal, as SSH
// would have reported it. A command that really exits with 129..159 on purpose
// is reported as signalled; that is the price of a serial console.

// Linux signal numbers (the board is Linux; ARM uses the same numbering as x86).
const LINUX_SIGNALS: Readonly<Record<number, string>> = {
  1: 'HUP', 2: 'INT', 3: 'QUIT', 4: 'ILL', 5: 'TRAP', 6: 'ABRT', 7: 'BUS', 8: 'FPE',
  9: 'KILL', 10: 'USR1', 11: 'SEGV', 12: 'USR2', 13: 'PIPE', 14: 'ALRM', 15: 'TERM',
  16: 'STKFLT', 17: 'CHLD', 18: 'CONT', 19: 'STOP', 20: 'TSTP', 21: 'TTIN', 22: 'TTOU',
  23: 'URG', 24: 'XCPU', 25: 'XFSZ', 26: 'VTALRM', 27: 'PROF', 28: 'WINCH', 29: 'IO',
  30: 'PWR', 31: 'SYS',
};

/** How a command ended, as CommandResult carries it. */
export interface ShellExit {
  exitCode: number | null;
  signal?: string;
}

/** Maps a shell's `$?` to an exit code, or to a signal name for 128+N. */
export function exitFromShellStatus(status: number): ShellExit {
  const name = status > 128 ? LINUX_SIGNALS[status - 128] : undefined;
  if (name !== undefined) return { exitCode: null, signal: name };
  return { exitCode: status };
}
