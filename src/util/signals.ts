// Linux signal numbers (the boards are Linux; ARM numbers them as x86 does),
// for exit statuses of the form 128+N.
const LINUX_SIGNALS: Readonly<Record<number, string>> = {
  1: 'HUP', 2: 'INT', 3: 'QUIT', 4: 'ILL', 5: 'TRAP', 6: 'ABRT', 7: 'BUS', 8: 'FPE',
  9: 'KILL', 10: 'USR1', 11: 'SEGV', 12: 'USR2', 13: 'PIPE', 14: 'ALRM', 15: 'TERM',
  16: 'STKFLT', 17: 'CHLD', 18: 'CONT', 19: 'STOP', 20: 'TSTP', 21: 'TTIN', 22: 'TTOU',
  23: 'URG', 24: 'XCPU', 25: 'XFSZ', 26: 'VTALRM', 27: 'PROF', 28: 'WINCH', 29: 'IO',
  30: 'PWR', 31: 'SYS',
};

/** The name of signal N without "SIG" ("KILL" for 9), or undefined for an unknown number. */
export function signalName(n: number): string | undefined {
  return LINUX_SIGNALS[n];
}

/** The number of a signal named with or without "SIG", or undefined when unknown. */
export function signalNumber(name: string): number | undefined {
  const bare = name.replace(/^SIG/, '');
  const found = Object.entries(LINUX_SIGNALS).find(([, n]) => n === bare);
  return found ? Number(found[0]) : undefined;
}
