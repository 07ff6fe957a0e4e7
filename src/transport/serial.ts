// BoardTransport over a shell on the serial console, labgrid ShellDriver style:
// after login the shell gets a unique prompt, no echo and a quiet kernel log;
// every command is wrapped in random start/end markers so its output and exit
// code come back exactly, one command at a time. If the shell itself dies (a
// command kills it, getty takes the console back), the command fails at once
// and the next one logs in again.

import { performance } from 'node:perf_hooks';
import { commandFailedMessage, type BoardTransport, type CommandResult, type RunOptions } from './types.ts';
import { BoardError, HarnessError } from '../errors.ts';
import type { SerialConsole } from './console.ts';
import { countOccurrences, describeGarbage, findTolerant, printfSplit, randomToken, resumeFrom, shellQuote, type TolerantMatch } from './markers.ts';
import { ConsoleReader, ExpectClosed, ExpectTimeout } from './serial-expect.ts';
import { exitFromShellStatus } from './serial-exit.ts';
import { readFileOverShell, uploadOverShell, type UploadOptions, type UploadReport } from './serial-files.ts';
import { loginOnConsole, questionAtEnd, type LoginQuestion, type SerialLoginOptions } from './serial-login.ts';

export type { SerialLoginOptions } from './serial-login.ts';
export type { UploadOptions, UploadReport } from './serial-files.ts';

export interface SerialTransportOptions {
  /** Board name for every message. */
  board: string;
  /** Timeout of a command that gives none (default 60 000 ms). */
  defaultTimeoutMs?: number;
  /** Time the shell gets to come back after Ctrl-C (default 5000 ms per attempt). */
  recoveryTimeoutMs?: number;
  /**
   * Quiet time after which a prompt that came back without the end marker counts
   * as a mangled marker rather than a command still running (default 1500 ms).
   */
  garbleGraceMs?: number;
  /**
   * Quiet time after which a console that ends in a login prompt counts as the
   * shell having exited (default 500 ms; it is then confirmed with a CR).
   */
  loginGraceMs?: number;
  /** Time to log in again after the shell exited (default 30 000 ms). */
  reloginTimeoutMs?: number;
}

/** RunOptions plus what only a serial console needs to know. */
export interface SerialRunOptions extends RunOptions {
  /** Safe to run twice: a command whose markers came back mangled is run once more. */
  idempotent?: boolean;
}

// A serial line discipline holds at most 4095 bytes per canonical line.
const MAX_PHYSICAL_LINE = 4000;
// Bytes the tty would act on (Ctrl-C, Ctrl-D, Ctrl-Z, …) or a line editor would
// (TAB completes); a command must not carry them.
const FORBIDDEN_IN_COMMAND = /[\x00-\x09\x0b-\x1f\x7f]/;

/** The shell's output did not have the expected shape: lost or damaged bytes. */
class Garbled extends Error {
  constructor(
    detail: string,
    readonly raw: string,
  ) {
    super(detail);
  }
}

/**
 * The shell under us is gone: getty or login reads the console now.
 * `commandRan` is false when the command line never reached a shell.
 */
class ShellGone extends Error {
  constructor(
    readonly question: LoginQuestion,
    readonly commandRan: boolean,
  ) {
    super(`the shell on the console exited (${question.question === 'login' ? 'login' : "login's Password:"} prompt seen)`);
  }
}

/** A board driven through its serial console. */
export class SerialTransport implements BoardTransport {
  readonly kind = 'serial' as const;
  readonly board: string;
  /** The unique prompt set after login. */
  readonly prompt: string;
  private readonly continuationPrompt: string;
  private readonly defaultTimeoutMs: number;
  private readonly recoveryTimeoutMs: number;
  private readonly garbleGraceMs: number;
  private readonly loginGraceMs: number;
  private readonly reloginTimeoutMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private recovering: Promise<void> | undefined;
  private loggedIn = false;
  private brokenReason: string | undefined;
  /** Set when the shell exited under us: the next command logs in again first. */
  private shellGoneReason: string | undefined;
  private lastLogin: SerialLoginOptions | undefined;
  private closedByCaller = false;

  constructor(
    readonly console: SerialConsole,
    options: SerialTransportOptions,
  ) {
    this.board = options.board;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.recoveryTimeoutMs = options.recoveryTimeoutMs ?? 5_000;
    this.garbleGraceMs = options.garbleGraceMs ?? 1_500;
    this.loginGraceMs = options.loginGraceMs ?? 500;
    this.reloginTimeoutMs = options.reloginTimeoutMs ?? 30_000;
    const token = randomToken();
    this.prompt = `vnet-${token}# `;
    this.continuationPrompt = `vnet-${token}> `;
  }

  /** Why the transport gave up on the board, or undefined while it is usable. */
  get broken(): string | undefined {
    return this.brokenReason;
  }

  /** Why the next command will log in again first (the shell exited), or undefined. */
  get needsRelogin(): string | undefined {
    return this.shellGoneReason;
  }

  /** Last console lines, for error messages (also handed to the file helpers). */
  consoleTail(): string[] {
    return this.console.tail();
  }

  /** Logs in (or finds a shell) and sets the shell up for marker-wrapped commands. */
  login(options: SerialLoginOptions): Promise<void> {
    return this.enqueue(async () => {
      await this.loginNow(options);
      this.lastLogin = options;
    });
  }

  private async loginNow(options: SerialLoginOptions): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    await loginOnConsole(this.console, this.board, options);
    await this.setUpShell(Math.max(1_000, deadline - Date.now()));
    this.loggedIn = true;
    this.brokenReason = undefined;
    this.shellGoneReason = undefined;
  }

  /**
   * Logs in again with the last login's user and password after the shell
   * exited; a failure here leaves the transport broken (fails fast from then on).
   */
  private async relogin(command: string): Promise<void> {
    const reason = this.shellGoneReason ?? 'the shell exited';
    try {
      await this.loginNow({ ...this.lastLogin!, timeoutMs: this.reloginTimeoutMs });
    } catch (error) {
      // The login error's own "board B: kind:" head is said once, by the new error.
      const detail = ((error as Error).message.split('\n')[0] ?? '').replace(/^board .*?: [a-z-]+: /, '');
      this.brokenReason = `logging in again after ${reason} failed: ${detail}`;
      const kind = error instanceof BoardError ? error.kind : 'board-lost';
      throw new BoardError(kind, this.board, this.brokenReason, command, this.console.tail(), { cause: error });
    }
  }

  /** Runs one command; resolves with its exact output (stderr merged) and exit status. */
  run(command: string, options: SerialRunOptions = {}): Promise<CommandResult> {
    return this.enqueue(() => this.runNow(command, options));
  }

  /** Copies a local file to the board as base64 and checks its sha256 there. */
  async upload(localPath: string, remotePath: string, options: UploadOptions = {}): Promise<void> {
    await this.uploadWithReport(localPath, remotePath, options);
  }

  /** upload() that also returns its numbers (bytes, batches, resends, duration). */
  uploadWithReport(localPath: string, remotePath: string, options: UploadOptions = {}): Promise<UploadReport> {
    return uploadOverShell(this, localPath, remotePath, options);
  }

  /** Reads a board file as UTF-8 text. */
  async readFile(remotePath: string, options: { timeoutMs?: number } = {}): Promise<string> {
    return (await readFileOverShell(this, remotePath, options)).toString('utf8');
  }

  /** Reads a board file as bytes. */
  readFileBuffer(remotePath: string, options: { timeoutMs?: number } = {}): Promise<Buffer> {
    return readFileOverShell(this, remotePath, options);
  }

  /**
   * Stops using the console for commands. The console itself stays open: it
   * belongs to the session, which keeps capturing until the board is off.
   */
  async close(): Promise<void> {
    this.closedByCaller = true;
    await this.queue.catch(() => undefined);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      // A timed-out command's recovery finishes before the next command starts.
      if (this.recovering) await this.recovering;
      return job();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private lostError(command: string | undefined): BoardError {
    return new BoardError('board-lost', this.board, this.brokenReason ?? 'the console is closed', command, this.console.tail());
  }

  private async setUpShell(timeoutMs: number): Promise<void> {
    const token = randomToken();
    const tokenPrompt = this.prompt.slice('vnet-'.length);
    const tokenContinuation = this.continuationPrompt.slice('vnet-'.length);
    // Prompts are set from two quoted halves so the echoed line never shows them whole.
    // `stty -echo` keeps our commands from coming back (busybox ash then also
    // leaves line editing off). `dmesg -n 1` stops kernel messages from cutting
    // through prompts and output; only KERN_EMERG still reaches the console, and
    // oopses and panics still do: the kernel raises the console level itself
    // (console_verbose()) when it dies. WARNINGs and KASAN reports then appear
    // only in dmesg, so whoever looks for them must read dmesg, not the console.
    const line =
      `stty -echo 2>/dev/null; PS1='vnet-'${shellQuote(tokenPrompt)}; PS2='vnet-'${shellQuote(tokenContinuation)}; ` +
      `unset PROMPT_COMMAND 2>/dev/null; dmesg -n 1 2>/dev/null; ${printfSplit('VNC:', `${token}:`)}\n`;
    const reader = new ConsoleReader(this.console, this.console.mark());
    const marker = `VNC:${token}:`;
    try {
      await this.console.write(line);
      await reader.wait((text) => {
        const m = findTolerant(text, marker);
        return m && findTolerant(text, this.prompt, m.end) ? true : undefined;
      }, timeoutMs);
    } catch (error) {
      if (error instanceof ExpectClosed) {
        this.brokenReason = `console closed: ${error.info.reason}`;
        throw this.lostError('shell setup');
      }
      if (error instanceof ExpectTimeout) {
        throw new BoardError('command-timeout', this.board, `the shell did not take the new prompt within ${timeoutMs} ms; ${describeGarbage(reader.text)}`, 'shell setup', this.console.tail());
      }
      throw error;
    }
  }

  private async runNow(command: string, options: SerialRunOptions): Promise<CommandResult> {
    if (this.closedByCaller) throw new HarnessError(`board ${this.board}: the serial transport is closed (command: ${command})`);
    if (this.brokenReason !== undefined || this.console.isClosed) {
      this.brokenReason ??= `console closed: ${this.console.closeInfo?.reason}`;
      throw this.lostError(command);
    }
    if (!this.loggedIn) throw new HarnessError(`board ${this.board}: login() must succeed before commands run on the serial console (command: ${command})`);
    const bad = FORBIDDEN_IN_COMMAND.exec(command);
    if (bad) {
      throw new HarnessError(`board ${this.board}: command contains control character 0x${bad[0].charCodeAt(0).toString(16).padStart(2, '0')} at index ${bad.index}, which a serial console would act on: ${JSON.stringify(command)}`);
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const attempts = options.idempotent ? 2 : 1;
    let result: CommandResult | undefined;
    for (let attempt = 1; result === undefined; attempt++) {
      try {
        if (this.shellGoneReason !== undefined) await this.relogin(command);
        result = await this.execOnce(command, timeoutMs);
      } catch (error) {
        if (error instanceof ShellGone) {
          this.shellGoneReason = error.message;
          // A command line that never reached a shell is safe to send again.
          if (!error.commandRan && attempt < attempts) continue;
          throw this.shellGoneError(error, command);
        }
        if (error instanceof Garbled) {
          const detail = `${error.message}; ${describeGarbage(error.raw)}`;
          // Whatever the shell is doing now, get back to a known prompt first.
          const synced = await this.resync();
          if (synced instanceof ShellGone) {
            this.shellGoneReason = synced.message;
            throw this.shellGoneError(synced, command, error.message);
          }
          if (attempt < attempts && synced) continue;
          if (!synced) this.brokenReason = `the shell did not answer after a garbled exchange (${error.message})`;
          throw new BoardError('protocol', this.board, `${detail}${attempts > 1 ? ' (also after one retry)' : ''}`, command, this.console.tail());
        }
        if (error instanceof ExpectTimeout) {
          // Reject now; the next queued command waits for this recovery.
          this.recovering = this.recover(command)
            .catch((failure: unknown) => {
              this.brokenReason ??= `recovery after the timeout failed: ${(failure as Error).message}`;
            })
            .finally(() => (this.recovering = undefined));
          throw new BoardError('command-timeout', this.board, `no end marker within ${timeoutMs} ms; sent Ctrl-C to get the shell back`, command, this.console.tail());
        }
        if (error instanceof ExpectClosed) {
          this.brokenReason = `console closed: ${error.info.reason}`;
          throw this.lostError(command);
        }
        throw error;
      }
    }
    if (options.check && result.exitCode !== 0) {
      throw new HarnessError(commandFailedMessage(this.board, result));
    }
    return result;
  }

  /**
   * The error for a command whose shell exited. Kind 'protocol', not
   * 'board-lost': the kernel and getty are alive (they just printed a prompt),
   * and the stage suites read 'board-lost' as a crash. The exit status cannot
   * be known (no end marker), so there is no CommandResult to give.
   */
  private shellGoneError(gone: ShellGone, command: string, before?: string): BoardError {
    const what = gone.commandRan
      ? 'before its end marker came, so its exit status is unknown'
      : 'before the command line reached it: the command did not run';
    const after = before === undefined ? '' : ` (found after: ${before})`;
    const next = `the next command logs in again as "${this.lastLogin?.user ?? '?'}"`;
    return new BoardError('protocol', this.board, `${gone.message} ${what}${after}; ${next}`, command, this.console.tail());
  }

  /** One wrapped exchange: send, then read start marker, output, end marker, status, prompt. */
  private async execOnce(command: string, timeoutMs: number): Promise<CommandResult> {
    const token = randomToken();
    const start = `VNS:${token}:`;
    const end = `VNE:${token}:`;
    // The command runs in its own `sh -c`, as SSH's exec runs it: `exit`, `cd`
    // and `set -e` do not touch the console's shell, and `$$` is the command's
    // own shell, so `kill -9 $$` ends the command (status 137 → KILL), not the
    // login shell (a subshell would share the login shell's `$$`). `sh` is the
    // board's (busybox on the i.MX25), found on its PATH. Stdin from /dev/null
    // keeps a command from eating the next command's text.
    const wrapped =
      `${printfSplit('VNS:', `${token}:`)}; sh -c ${shellQuote(command)} </dev/null; ` +
      `${printfSplit('VNE:', `${token}:`, ' %d')} "$?"`;
    for (const physical of wrapped.split('\n')) {
      if (physical.length > MAX_PHYSICAL_LINE) {
        throw new HarnessError(`board ${this.board}: a command line of ${physical.length} bytes exceeds the serial console's ${MAX_PHYSICAL_LINE}-byte line limit; split it or upload a script: ${command.slice(0, 200)}`);
      }
    }
    const expectedContinuations = countOccurrences(wrapped, '\n');
    const reader = new ConsoleReader(this.console, this.console.mark());
    const t0 = performance.now();

    let startMatch: TolerantMatch | undefined;
    let endMatch: TolerantMatch | undefined;
    let status: { value: number; lineEnd: number } | undefined;
    let promptAfterStart: TolerantMatch | undefined;
    let searched = 0;
    const test = (text: string, previous: number): CommandResult | undefined => {
      if (!startMatch) {
        startMatch = findTolerant(text, start, resumeFrom(previous, start));
        if (!startMatch) return undefined;
        searched = startMatch.end;
      }
      if (!endMatch) {
        endMatch = findTolerant(text, end, resumeFrom(previous, end, searched));
        if (!endMatch) {
          promptAfterStart ??= findTolerant(text, this.prompt, resumeFrom(previous, this.prompt, startMatch.end));
          return undefined;
        }
      }
      if (!status) {
        const rest = text.slice(endMatch.end, endMatch.end + 24);
        const m = /^ (\d{1,3})\r*\n/.exec(rest);
        if (!m) {
          if (rest.includes('\n') || rest.length >= 16) throw new Garbled('the exit status after the end marker is damaged', text);
          return undefined;
        }
        status = { value: Number(m[1]), lineEnd: endMatch.end + m[0].length };
      }
      if (!findTolerant(text, this.prompt, status.lineEnd)) return undefined;
      const body = text.slice(startMatch.end, endMatch.start).replace(/^\r*\n/, '');
      const stdout = Buffer.from(body, 'latin1').toString('utf8').replace(/\r\n/g, '\n');
      return { command, stdout, stderr: '', ...exitFromShellStatus(status.value), durationMs: performance.now() - t0 };
    };

    await this.console.write(`${wrapped}\n`).catch((error: unknown) => {
      throw this.console.isClosed ? new ExpectClosed(this.console.closeInfo!) : error;
    });
    const deadline = Date.now() + timeoutMs;
    // Quiet periods are measured in steps of the shorter grace time.
    const step = Math.min(this.garbleGraceMs, this.loginGraceMs);
    let quietLength = -1;
    let quietSince = Date.now();
    // Text length when a CR went out to ask a login prompt to show itself again.
    let nudgedAt: number | undefined;
    for (;;) {
      // getty answers a CR at once, so its answer needs only a short quiet time.
      const idle = nudgedAt === undefined ? step : Math.min(step, 100);
      const result = await reader.wait(test, deadline - Date.now(), idle);
      if (result !== undefined) return result;
      const text = reader.text;
      if (text.length !== quietLength) {
        quietLength = text.length;
        quietSince = Date.now() - idle;
      }
      const quietMs = Date.now() - quietSince;
      // A login prompt as the console's last word: the shell under us exited
      // and getty took the console back. Before the start marker that can only
      // be getty or login (our line never ran); after it, the command itself may
      // have printed "login:", so a CR must bring a fresh prompt first: getty
      // answers an empty line at once, a shell keeps it for later (harmless).
      const question = quietMs >= idle ? questionAtEnd(text, startMatch?.end ?? 0) : undefined;
      if (question?.question === 'login' && nudgedAt !== undefined && question.start >= nudgedAt) throw new ShellGone(question, true);
      if (question && quietMs >= this.loginGraceMs) {
        if (!startMatch) throw new ShellGone(question, false);
        if (question.question === 'login' && nudgedAt === undefined) {
          nudgedAt = text.length;
          await this.console.write('\r').catch((error: unknown) => {
            throw this.console.isClosed ? new ExpectClosed(this.console.closeInfo!) : error;
          });
          continue;
        }
      }
      if (quietMs < this.garbleGraceMs) {
        if (Date.now() >= deadline) throw new ExpectTimeout(`no end marker within ${timeoutMs} ms`);
        continue;
      }
      // Quiet for a while. If the shell's last word is a prompt, the marker we
      // wait for is not coming: judged only when quiet, so a late stray prompt
      // or a command printing $PS1 is not mistaken for damage.
      const endsWith = (literal: string, from: number): boolean => {
        let found: TolerantMatch | undefined;
        for (let m = findTolerant(text, literal, from); m; m = findTolerant(text, literal, m.start + 1)) found = m;
        return found !== undefined && text.slice(found.end).trim() === '';
      };
      if (!startMatch) {
        if (endsWith(this.prompt, 0)) {
          throw new Garbled('the shell came back without running the command (start marker missing: the command line was damaged on the way in)', text);
        }
        if (countOccurrences(text, this.continuationPrompt) > expectedContinuations && endsWith(this.continuationPrompt, 0)) {
          throw new Garbled('the shell waits for more input (the command line was damaged on the way in)', text);
        }
      } else if (!endMatch && endsWith(this.prompt, promptAfterStart?.start ?? startMatch.end)) {
        throw new Garbled('the shell came back but the end marker is missing or damaged (output bytes were lost)', text.slice(startMatch.end));
      }
      if (Date.now() >= deadline) throw new ExpectTimeout(`no end marker within ${timeoutMs} ms`);
    }
  }

  /**
   * After a timeout: Ctrl-C, then prove the shell is back; if getty has the
   * console, log in again before the next command; else mark the transport broken.
   */
  private async recover(command: string): Promise<void> {
    const synced = await this.resync();
    if (synced instanceof ShellGone) {
      this.shellGoneReason = synced.message;
      return;
    }
    if (synced) return;
    this.brokenReason ??= `the shell did not come back after Ctrl-C following the timeout of: ${command}`;
  }

  /**
   * Gets back to a known prompt: Ctrl-C (drops a running command or a damaged
   * half-line that a probe could otherwise complete), then a probe; two tries;
   * false if the shell does not answer, ShellGone if getty or login does.
   */
  private async resync(): Promise<boolean | ShellGone> {
    // If the console already ends in a login prompt, a Ctrl-C and a probe would
    // only reach getty (the probe as a user name); a CR asks it to show itself.
    const recent = this.console.rawSince(Math.max(0, this.console.mark() - 8192)).toString('latin1');
    if (questionAtEnd(recent)?.question === 'login') {
      const gone = await this.confirmLoginPrompt();
      if (gone) return gone;
    }
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (this.console.isClosed) {
        this.brokenReason ??= `console closed: ${this.console.closeInfo?.reason}`;
        return false;
      }
      const token = randomToken();
      const marker = `VNY:${token}:`;
      const reader = new ConsoleReader(this.console, this.console.mark());
      try {
        await this.console.write('\x03');
        // Let the shell handle SIGINT before the probe line arrives.
        await new Promise((resolve) => setTimeout(resolve, 50));
        await this.console.write(`${printfSplit('VNY:', `${token}:`)}\n`);
        const until = Date.now() + this.recoveryTimeoutMs;
        for (;;) {
          const answered = await reader.wait((text) => {
            const m = findTolerant(text, marker);
            return m && findTolerant(text, this.prompt, m.end) ? true : undefined;
          }, until - Date.now(), this.loginGraceMs);
          if (answered) return true;
          // Quiet, no answer, and a login question last: getty or login read our probe.
          const question = questionAtEnd(reader.text);
          if (question) return new ShellGone(question, true);
        }
      } catch (error) {
        if (error instanceof ExpectClosed || this.console.isClosed) {
          this.brokenReason ??= `console closed: ${this.console.closeInfo?.reason}`;
          return false;
        }
        if (!(error instanceof ExpectTimeout)) throw error;
      }
    }
    return false;
  }

  /** Sends a CR; ShellGone if a fresh login prompt answers it within the recovery time. */
  private async confirmLoginPrompt(): Promise<ShellGone | undefined> {
    const reader = new ConsoleReader(this.console, this.console.mark());
    try {
      await this.console.write('\r');
      const question = await reader.wait((text) => {
        const found = questionAtEnd(text);
        return found?.question === 'login' ? found : undefined;
      }, Math.min(this.recoveryTimeoutMs, 2_000));
      return question && new ShellGone(question, true);
    } catch (error) {
      if (error instanceof ExpectTimeout || error instanceof ExpectClosed) return undefined;
      throw error;
    }
  }
}
