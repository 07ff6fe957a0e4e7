// Files over a shell on a serial console, without any network: upload as
// base64 text in bounded lines and batches, checked per batch and as a whole;
// download as base64 printed by the board, checked by its sha256. A board
// without base64 gets printf octal escapes, one without sha256sum is checked
// with md5sum or cksum (options.tools, from the board's probed userland).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { CommandResult, RunOptions } from './types.ts';
import { BoardError, HarnessError } from '../errors.ts';
import { describeGarbage, shellQuote } from './markers.ts';
import { checksumCommand, checksumName, digestOf, FULL_FILE_TOOLS, parseDigest, printfEscape, type ChecksumTool, type FileTools } from './checksum.ts';

/** What the file helpers need from a transport. */
export interface ShellRunner {
  readonly board: string;
  run(command: string, options?: RunOptions & { idempotent?: boolean }): Promise<CommandResult>;
  consoleTail(): string[];
}

export interface UploadOptions {
  /** Deadline for the whole upload (default: 10 min, enough for 1 MiB at 115200 baud). */
  timeoutMs?: number;
  /** Base64 characters per line (default 512): far below the tty's 4095-byte line limit. */
  lineChars?: number;
  /**
   * Base64 characters per round trip (default 3072). Kept under the tty's 4 KiB
   * input buffer so a board that reads slowly on a UART without flow control
   * never has to drop input.
   */
  batchChars?: number;
  /** The board's checksum and decoding tools (default: sha256sum and base64). */
  tools?: FileTools;
}

/** Numbers of one upload, for logs and benchmarks. */
export interface UploadReport {
  bytes: number;
  base64Chars: number;
  batches: number;
  /** Batches sent twice because their checksum on the board did not match. */
  resentBatches: number;
  durationMs: number;
  sha256: string;
}

const DEFAULTS = { timeoutMs: 600_000, lineChars: 512, batchChars: 3072, stepTimeoutMs: 30_000 } as const;

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const md5 = (data: string): string => createHash('md5').update(data).digest('hex');

/** Copies a local file to the board and verifies its checksum there (sha256, or the board's best). */
export async function uploadOverShell(
  shell: ShellRunner,
  localPath: string,
  remotePath: string,
  options: UploadOptions = {},
): Promise<UploadReport> {
  const t0 = performance.now();
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULTS.timeoutMs);
  const lineChars = options.lineChars ?? DEFAULTS.lineChars;
  const batchLines = Math.max(1, Math.floor((options.batchChars ?? DEFAULTS.batchChars) / lineChars));
  const data = await readFile(localPath).catch((error: NodeJS.ErrnoException) => {
    throw new HarnessError(`cannot upload ${localPath} to board ${shell.board}: ${error.message}`, { cause: error });
  });
  const tools = options.tools ?? FULL_FILE_TOOLS;
  const expected = sha256(data);
  // The per-batch check: md5sum where the board has it (cheap), else its best tool.
  const batchTool: ChecksumTool = tools.checksum === 'sha256' ? 'md5' : tools.checksum;
  const b64 = data.toString('base64');
  // base64: one line of text per line; printf: escaped byte runs whose text stays under the line length.
  const lines: string[] = [];
  const chunks: Buffer[] = [];
  if (tools.encoding === 'base64') {
    for (let i = 0; i < b64.length; i += lineChars) lines.push(b64.slice(i, i + lineChars));
  } else {
    let from = 0;
    let text = '';
    for (let i = 0; i < data.length; i++) {
      const one = printfEscape(data.subarray(i, i + 1));
      if (text.length + one.length > lineChars) {
        lines.push(text);
        chunks.push(data.subarray(from, i));
        from = i;
        text = '';
      }
      text += one;
    }
    if (from < data.length) {
      lines.push(text);
      chunks.push(data.subarray(from));
    }
  }

  const command = `upload ${localPath} -> ${remotePath}`;
  const failed = (detail: string): BoardError =>
    new BoardError('upload-failed', shell.board, detail, command, shell.consoleTail());
  const step = (): number => {
    const left = deadline - Date.now();
    if (left <= 0) throw failed(`the upload did not finish within ${options.timeoutMs ?? DEFAULTS.timeoutMs} ms`);
    return Math.min(left, DEFAULTS.stepTimeoutMs);
  };
  const remote = shellQuote(remotePath);
  // Parts go next to the target (same filesystem: the final mv is a rename).
  const dir = `${remotePath}.vnet-upload`;
  const qdir = shellQuote(dir);

  const prepared = await shell.run(`rm -rf ${qdir} && mkdir -p ${qdir}/p`, { timeoutMs: step(), idempotent: true });
  if (prepared.exitCode !== 0) throw failed(`cannot create ${dir} on the board: ${prepared.stdout.trim()}`);

  let resent = 0;
  let batches = 0;
  for (let first = 0; first < lines.length; first += batchLines) {
    const batch = lines.slice(first, first + batchLines);
    const part = shellQuote(`${dir}/p/${String(batches).padStart(6, '0')}`);
    // One physical line per base64 line, the redirection on a line of its own
    // (backslash-newline joins them for `sh -c`); `>` makes the batch idempotent,
    // so it can be sent again.
    // printf: one format word, its quoted runs joined by backslash-newline (outside the quotes).
    const cmd =
      tools.encoding === 'base64'
        ? `printf '%s\\n' \\\n${batch.join(' \\\n')} \\\n> ${part} && ${checksumCommand(batchTool, part)}`
        : `printf ${batch.map((l) => `'${l}'`).join('\\\n')} \\\n> ${part} && ${checksumCommand(batchTool, part)}`;
    const want =
      tools.encoding === 'base64'
        ? batchTool === 'md5'
          ? md5(`${batch.join('\n')}\n`)
          : digestOf(batchTool, `${batch.join('\n')}\n`)
        : digestOf(batchTool, Buffer.concat(chunks.slice(first, first + batchLines)));
    let got = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const result = await shell.run(cmd, { timeoutMs: step(), idempotent: true });
      got = parseDigest(batchTool, result.stdout) ?? `(no checksum in: ${result.stdout.trim().slice(0, 200)})`;
      if (result.exitCode === 0 && got === want) break;
      if (attempt === 2) {
        const offset = tools.encoding === 'base64' ? first * lineChars * 0.75 : chunks.slice(0, first).reduce((n, c) => n + c.length, 0);
        throw failed(`batch ${batches} (bytes ${offset}..) arrived damaged twice: ${batchTool} ${got} on the board, ${want} sent; ${describeGarbage(result.stdout)}`);
      }
      resent++;
    }
    batches++;
  }

  const decode =
    lines.length === 0
      ? `: > ${qdir}/out`
      : tools.encoding === 'base64'
        ? `cat ${qdir}/p/* | base64 -d > ${qdir}/out`
        : `cat ${qdir}/p/* > ${qdir}/out`;
  const decoded = await shell.run(decode, { timeoutMs: step(), idempotent: true });
  if (decoded.exitCode !== 0) throw failed(`${tools.encoding === 'base64' ? 'base64 -d' : 'joining the parts'} failed on the board: ${decoded.stdout.trim()}`);
  const moved = await shell.run(`mv -f ${qdir}/out ${remote} && rm -rf ${qdir}`, { timeoutMs: step() });
  if (moved.exitCode !== 0) throw failed(`cannot move the upload into place: ${moved.stdout.trim()}`);
  const summed = await shell.run(checksumCommand(tools.checksum, remote), { timeoutMs: step(), idempotent: true });
  const actual = parseDigest(tools.checksum, summed.stdout);
  const wanted = tools.checksum === 'sha256' ? expected : digestOf(tools.checksum, data);
  if (summed.exitCode !== 0 || actual !== wanted) {
    throw failed(`${checksumName(tools.checksum)} on the board is ${actual ?? `unreadable (${summed.stdout.trim()})`}, local file has ${wanted}`);
  }
  return {
    bytes: data.length,
    base64Chars: b64.length,
    batches,
    resentBatches: resent,
    durationMs: performance.now() - t0,
    sha256: expected,
  };
}

/** Reads a file from the board as bytes: base64 on the board, decoded and checked here. */
export async function readFileOverShell(
  shell: ShellRunner,
  remotePath: string,
  options: { timeoutMs?: number } = {},
): Promise<Buffer> {
  const remote = shellQuote(remotePath);
  const command = `sha256sum < ${remote} && base64 < ${remote}`;
  let problem = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    const result = await shell.run(command, { timeoutMs: options.timeoutMs ?? 60_000, idempotent: true });
    if (result.exitCode !== 0) {
      throw new HarnessError(`board ${shell.board}: cannot read ${remotePath}: ${result.stdout.trim() || `exit code ${result.exitCode}`}`);
    }
    // CR/LF and line wrapping are the console's business, not the file's.
    const [first = '', ...rest] = result.stdout.split('\n');
    const hash = /^([0-9a-f]{64})\b/.exec(first.trim())?.[1];
    const body = rest.join('').replace(/\s+/g, '');
    if (hash !== undefined && body.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      const data = Buffer.from(body, 'base64');
      if (sha256(data) === hash) return data;
      problem = `sha256 of the received data ${sha256(data)} differs from ${hash} on the board`;
    } else {
      problem = `the base64 text came back damaged; ${describeGarbage(result.stdout)}`;
    }
  }
  throw new BoardError('protocol', shell.board, `reading ${remotePath} failed twice: ${problem}`, command, shell.consoleTail());
}
