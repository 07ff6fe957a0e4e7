// What a transport is: the interface the SSH and serial transports beside it
// implement (BoardTransport), what a command run through one returns, and the
// timestamped chunks a console delivers. The board (src/board/) uses these;
// nothing here knows of boards, stages or power.
import type { FileTools } from './checksum.ts';

/** Result of one command run on the board. */
export interface CommandResult {
  command: string;
  stdout: string;
  /** Empty on transports that merge stderr into stdout (serial). */
  stderr: string;
  /** Exit code, or null when the command was ended by a signal. */
  exitCode: number | null;
  /** Signal name (e.g. "KILL") when the command was ended by one. */
  signal?: string;
  durationMs: number;
}

export interface RunOptions {
  /** Milliseconds before the command is abandoned with a command-timeout error. */
  timeoutMs?: number;
  /** Throw a BoardError-free HarnessError when the exit code is not 0. */
  check?: boolean;
}

/** How the harness talks to a booted board: a shell that runs commands. */
export interface BoardTransport {
  readonly kind: 'ssh' | 'serial';
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  /** Copies a local file to the board and verifies its checksum there (sha256sum, or `tools.checksum`; `tools.encoding` where text carries it). */
  upload(localPath: string, remotePath: string, options?: { timeoutMs?: number; tools?: FileTools }): Promise<void>;
  readFile(remotePath: string, options?: { timeoutMs?: number }): Promise<string>;
  close(): Promise<void>;
}

/** One timestamped chunk of console output. */
export interface ConsoleChunk {
  /** Milliseconds since the console was opened. */
  atMs: number;
  data: Buffer;
}

/** A command's failure in the words of every transport: `command exited with 2: CMD` (or `was killed by SIGKILL`), then its output. */
export function commandFailure(result: Pick<CommandResult, 'command' | 'stdout' | 'stderr' | 'exitCode' | 'signal'>): string {
  const how = result.exitCode === null ? `was killed by SIG${result.signal ?? '?'}` : `exited with ${result.exitCode}`;
  const output = `${result.stdout}${result.stderr}`.trimEnd();
  return `command ${how}: ${result.command}${output ? `\n${output}` : ''}`;
}

/** The message of a checked command that failed: `board B: command exited with 2: CMD`, then its output. */
export function commandFailedMessage(board: string, result: Pick<CommandResult, 'command' | 'stdout' | 'stderr' | 'exitCode' | 'signal'>): string {
  return `board ${board}: ${commandFailure(result)}`;
}
