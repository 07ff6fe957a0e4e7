// Getting from "a console of unknown state" to "a shell that runs what we send":
// wake the line, answer login:/Password: when asked, and otherwise prove a shell
// is there with a probe whose answer the echoed probe line cannot fake.

import { BoardError } from '../errors.ts';
import type { SerialConsole } from './console.ts';
import { findTolerant, printfSplit, randomToken } from './markers.ts';
import { ConsoleReader, ExpectClosed, ExpectTimeout } from './serial-expect.ts';

export interface SerialLoginOptions {
  /** Login name, sent when the board asks `login:`. */
  user: string;
  /** Password (read by the caller from the env var the board YAML names); sent at `Password:`. */
  password?: string;
  /** Time to reach a shell, all prompts and retries included. */
  timeoutMs: number;
  /** Quiet time after which a question is answered or a shell probed (default 500 ms). */
  idleMs?: number;
}

type Seen = 'shell' | 'login' | 'password' | 'incorrect';
type Sent = 'wake' | 'probe' | 'user' | 'password' | 'empty';

/** A login or password question found in console text. */
export interface LoginQuestion {
  question: 'login' | 'password';
  /** Where the question starts and ends in the text. */
  start: number;
  end: number;
}

/**
 * The board's latest question in a window of text: whichever of `login:` and
 * `Password:` came last (a motd's "Last login:" is no question). Kernel lines
 * may follow a prompt, so "last" means last asked, not last printed.
 */
function lastQuestionAt(text: string, from = 0): LoginQuestion | undefined {
  const lower = text.toLowerCase();
  let last: LoginQuestion | undefined;
  for (const [word, question] of [['login:', 'login'], ['password:', 'password']] as const) {
    for (let m = findTolerant(lower, word, from); m; m = findTolerant(lower, word, m.start + 1)) {
      if (/last\s*$/.test(lower.slice(Math.max(0, m.start - 6), m.start))) continue;
      if (!last || m.start > last.start) last = { question, start: m.start, end: m.end };
    }
  }
  return last;
}

function lastQuestion(text: string): 'login' | 'password' | undefined {
  return lastQuestionAt(text)?.question;
}

// A timestamped kernel line (printk time on, as on the emulated board).
const KERNEL_LINE = /^\[\s*\d+\.\d+\]/;
// A question is looked for only this close to the end: what may follow it is
// a few kernel lines, bounded like any interruption (TOLERANCE in markers.ts).
const QUESTION_WINDOW = 8192;

/**
 * The login or password question the text ends with, if nothing but blanks
 * and kernel lines follows it: what a console shows when getty (or login)
 * is what reads it, not a shell.
 */
export function questionAtEnd(text: string, from = 0): LoginQuestion | undefined {
  const found = lastQuestionAt(text, Math.max(from, text.length - QUESTION_WINDOW));
  if (!found) return undefined;
  const after = text.slice(found.end).split('\n');
  return after.every((line) => {
    const l = line.trim();
    return l === '' || KERNEL_LINE.test(l);
  })
    ? found
    : undefined;
}

/** Brings the console to a shell prompt; resolves once a shell answered a probe. */
export async function loginOnConsole(console: SerialConsole, board: string, options: SerialLoginOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const idleMs = options.idleMs ?? 500;
  const probeToken = randomToken();
  const probeMarker = `VNP:${probeToken}:`;
  const probeLine = `${printfSplit('VNP:', `${probeToken}:`)}\n`;
  const startMark = console.mark();
  let from = console.mark();
  // An object, not a let: TypeScript would narrow a let to its first value across awaits.
  const state: { lastSent: Sent } = { lastSent: 'wake' };
  let userSent = 0;
  let probes = 0;

  const send = async (data: string, what: Sent): Promise<void> => {
    from = console.mark();
    state.lastSent = what;
    await console.write(data);
  };
  // Only a shell's answer and a refusal are acted on at once; questions are
  // answered when the line is quiet, so a prompt printed twice (once at boot,
  // once for our wake-up CR) gets one answer, not two.
  const decisive = (text: string): Seen | undefined => {
    if (findTolerant(text, probeMarker) !== undefined) return 'shell';
    if (findTolerant(text.toLowerCase(), 'login incorrect') !== undefined) return 'incorrect';
    return undefined;
  };
  const fail = (kind: 'auth-failed' | 'command-timeout' | 'board-lost', detail: string, cause?: unknown): BoardError =>
    new BoardError(kind, board, detail, 'login', console.tail(), { cause });

  try {
    // A CR wakes getty and makes a shell print its prompt again.
    await send('\r', 'wake');
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ExpectTimeout('login deadline');
      const reader = new ConsoleReader(console, from);
      // Quiet for idleMs, or (a chatty console is never quiet) at most 4 × idleMs.
      const settle = Math.min(remaining, idleMs * 4);
      let seen: Seen | undefined;
      try {
        seen = await reader.wait(decisive, settle, idleMs);
      } catch (error) {
        if (!(error instanceof ExpectTimeout) || settle >= remaining) throw error;
      }
      if (seen === 'shell') return;
      if (seen === undefined) seen = lastQuestion(reader.text);
      if (seen === 'login') {
        if (++userSent > 3) throw fail('auth-failed', `the login prompt came back ${userSent - 1} times after sending user "${options.user}"`);
        await send(`${options.user}\n`, 'user');
      } else if (seen === 'password') {
        if (state.lastSent !== 'user') {
          // Something else (a probe, a wake-up) was taken as a user name: give an
          // empty password to get back to login:.
          await send('\n', 'empty');
        } else if (options.password === undefined) {
          throw fail('auth-failed', `the board asks for a password for "${options.user}" but none is configured (set the password environment variable named in the board file)`);
        } else {
          await send(`${options.password}\n`, 'password');
        }
      } else if (seen === 'incorrect') {
        if (state.lastSent === 'password') throw fail('auth-failed', `login as "${options.user}" was refused (Login incorrect)`);
        // Not our attempt (a probe taken as a user name): look past it, keep what follows.
        const lower = new ConsoleReader(console, from).text.toLowerCase();
        from += findTolerant(lower, 'login incorrect')?.end ?? lower.length;
      } else {
        // Quiet and unrecognised: ask a shell to prove itself. Every other probe
        // starts with Ctrl-C, which drops a half-typed line or a stuck program.
        probes++;
        await send(probes % 2 === 0 ? `\x03${probeLine}` : probeLine, 'probe');
      }
    }
  } catch (error) {
    if (error instanceof BoardError) throw error;
    if (error instanceof ExpectClosed) throw fail('board-lost', `console closed during login: ${error.info.reason}`, error);
    if (error instanceof ExpectTimeout) {
      const silent = console.mark() === startMark;
      throw silent
        ? fail('board-lost', `the console stayed silent for ${options.timeoutMs} ms (nothing received after waking it)`)
        : fail('command-timeout', `no shell within ${options.timeoutMs} ms (${probes} probe(s) sent, ${userSent} login attempt(s))`);
    }
    throw error;
  }
}
