// Typed errors of the harness. The CLI handles them once, at its top, and maps
// them to exit codes: 1 means the driver under test failed a check, 2 means the
// harness could not do its job (board unreachable, tool missing, bad input).

/** Exit codes of every `vnet-harness` command. */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  infrastructure: 2,
} as const;

/** An error caused by the setup, not by the driver under test (exit code 2). */
export class HarnessError extends Error {
  override name = 'HarnessError';
  readonly exitCode: number = ExitCode.infrastructure;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A board description that does not validate; `issues` carry file:line:col each. */
export class ConfigError extends HarnessError {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(issues.length > 0 ? `${message}\n  ${issues.join('\n  ')}` : message);
  }
}

/** A host tool or package the chosen board needs is missing. */
export class PrerequisiteError extends HarnessError {
  override name = 'PrerequisiteError';
}

/** The kinds of transport failure a caller may want to tell apart. */
export type BoardErrorKind =
  | 'connection-refused'
  | 'auth-failed'
  | 'host-key-mismatch'
  | 'command-timeout'
  | 'board-lost'
  | 'boot-failed'
  | 'upload-failed'
  | 'locked'
  | 'protocol';

/**
 * A failure talking to a board. The message always names the board, the
 * command (when there was one) and the last console lines.
 */
export class BoardError extends HarnessError {
  override name = 'BoardError';
  constructor(
    readonly kind: BoardErrorKind,
    readonly board: string,
    detail: string,
    readonly command?: string,
    readonly consoleTail: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(BoardError.format(kind, board, detail, command, consoleTail), options);
  }

  /** Builds the one message format all board errors share. */
  static format(
    kind: BoardErrorKind,
    board: string,
    detail: string,
    command: string | undefined,
    consoleTail: readonly string[],
  ): string {
    const head = `board ${board}: ${kind}: ${detail}`;
    const cmd = command === undefined ? '' : `\n  command: ${shorten(command)}`;
    const tail =
      consoleTail.length === 0
        ? '\n  console: (no console output captured)'
        : `\n  last console lines:\n${consoleTail.map((l) => `    | ${l}`).join('\n')}`;
    return head + cmd + tail;
  }
}

/** A command as quoted in messages: long scripts are cut, saying how much was left out. */
function shorten(command: string, max = 400): string {
  return command.length <= max ? command : `${command.slice(0, max)}… (${command.length - max} more characters)`;
}

/** Maps anything thrown to the exit code the CLI returns. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof HarnessError) return error.exitCode;
  return ExitCode.infrastructure;
}
