// A board without a board, for unit tests of the strategy and the stage
// steps: a scripted shell (each part of a compound command answered by a
// function), a power switch that records what it was asked, a console that is
// a stream the test writes to. Assembled with the real BoardStrategy and
// BoardTarget, so what is tested is the code a run uses.
import { PassThrough } from 'node:stream';
import { ConsoleLog, type ConsoleDriver } from '../../src/board/console-log.ts';
import type { PowerDriver } from '../../src/board/power.ts';
import type { ShellDriver } from '../../src/board/shell.ts';
import { BoardStrategy } from '../../src/board/strategy.ts';
import { BoardTarget } from '../../src/board/target.ts';
import type { BoardConfig } from '../../src/config/board.ts';
import { BoardError } from '../../src/errors.ts';
import { SerialConsole } from '../../src/transport/console.ts';
import type { BoardTransport, CommandResult, RunOptions } from '../../src/transport/types.ts';
import { SPLIT } from '../../src/stages/sections.ts';

/** What the fake shell answers to one part of a command: output and exit status, or a failure of the board. */
export type PartAnswer = { stdout?: string; status?: number } | { fail: BoardError };

/** Answers one part (one shell command line between split markers); `boot` is the power-on it runs in (1, 2, …). */
export type ShellScript = (part: string, boot: number) => PartAnswer;

const PART_END = `\necho "${SPLIT} $?"`;

/** A transport that answers from a script, part by part, as a board's shell would print them. */
export class FakeTransport implements BoardTransport {
  readonly kind = 'ssh';
  closed = false;

  constructor(
    private readonly script: ShellScript,
    private readonly boot: number,
    private readonly record: FakeRecord,
  ) {}

  async run(command: string, options?: RunOptions): Promise<CommandResult> {
    this.record.commands.push(command);
    if (options?.timeoutMs !== undefined) this.record.timeouts.push(options.timeoutMs);
    if (this.closed) throw new BoardError('board-lost', 'fake', 'connection closed', command);
    // A compound command (sections.ts) is parts each followed by its status marker.
    const parts = command.endsWith(`"${SPLIT} $?"`) ? command.slice(0, -PART_END.length).split(`${PART_END}\n`) : [command];
    let stdout = '';
    let last = 0;
    for (const part of parts) {
      const answer = this.script(part, this.boot);
      if ('fail' in answer) throw answer.fail;
      stdout += answer.stdout ?? '';
      last = answer.status ?? 0;
      if (parts.length > 1) stdout += `${SPLIT} ${last}\n`;
    }
    return { command, stdout, stderr: '', exitCode: last, durationMs: 3 };
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    this.record.uploads.push(`${localPath} -> ${remotePath}`);
  }

  async readFile(): Promise<string> {
    return '';
  }

  async close(): Promise<void> {
    this.closed = true;
    this.record.events.push('shell closed');
  }
}

/** Everything the fake board was asked, in order. */
export interface FakeRecord {
  /** Power and shell events: 'on(first)', 'on', 'cut', 'cycle', 'release', 'connect', 'shell closed'. */
  events: string[];
  commands: string[];
  timeouts: number[];
  uploads: string[];
}

/** A power switch that records what it is asked; each power-on attaches a fresh console. */
export class FakePower implements PowerDriver {
  readonly method = 'power-cycle';
  /** The console stream of the current boot: what the test writes there, the board "printed". */
  stream = new PassThrough();
  boots = 0;
  cycleFails: BoardError | undefined;
  alive = true;

  constructor(
    private readonly record: FakeRecord,
    private readonly log: ConsoleLog,
  ) {}

  /** False for a board whose console is a line of its own (a TTY, a ser2net port), opened by its ConsoleDriver. */
  attachesConsole = true;

  async on(first: boolean): Promise<void> {
    this.boots++;
    this.record.events.push(first ? 'on(first)' : 'on');
    if (this.attachesConsole) {
      this.stream = new PassThrough();
      this.log.attach(SerialConsole.fromStream(this.stream, 'fake'));
    }
    this.alive = true;
    this.outsideKill = undefined;
  }

  cut(): void {
    this.record.events.push('cut');
    this.alive = false;
  }

  async cycle(): Promise<void> {
    this.record.events.push('cycle');
    if (this.cycleFails) throw this.cycleFails;
  }

  async release(): Promise<void> {
    this.record.events.push('release');
  }

  machinePid(): number | undefined {
    return 1000 + this.boots;
  }

  running(): boolean | undefined {
    return this.alive;
  }

  /** What the test says killed the machine from outside (`QEMU (pid 1001) was killed by SIGKILL …`), until the next power-on. */
  outsideKill: string | undefined;

  killedFromOutside(): string | undefined {
    return this.outsideKill;
  }
}

/** A fake board: a real BoardTarget and BoardStrategy over fake drivers. */
export interface FakeBoard {
  board: BoardTarget;
  power: FakePower;
  record: FakeRecord;
  /** The transport of the current boot. */
  transport(): FakeTransport | undefined;
}

const CONFIG = {
  kind: 'real',
  name: 'fake',
  file: '/boards/fake.yaml',
  dir: '/boards',
  arch: 'arm',
  crossCompile: 'arm-linux-gnueabi-',
  kernelTree: '/kernel',
  defaultTransport: 'ssh',
  timeouts: { command: 30, boot: 120, stage: 180 },
} as unknown as BoardConfig;

/** A console line of the board's own (a TTY, a ser2net port): each open is recorded, the previous one must be closed. */
export class FakeConsoleLine implements ConsoleDriver {
  stream = new PassThrough();
  private console: SerialConsole | undefined;

  constructor(
    private readonly record: FakeRecord,
    private readonly log: ConsoleLog,
  ) {}

  async openForBoot(): Promise<void> {
    // Like ser2net's raw port: one client at a time.
    if (this.console && !this.console.isClosed) throw new BoardError('board-lost', 'fake', 'console port busy: the previous client is still connected');
    this.record.events.push('console open');
    this.stream = new PassThrough();
    this.console = this.log.attach(SerialConsole.fromStream(this.stream, 'fake'));
  }
}

/** Assembles a fake board and brings it to a shell, as openBoard() does a real one; `ownConsole`: its console is a line of its own. */
export async function fakeBoard(script: ShellScript, options: { ownConsole?: boolean } = {}): Promise<FakeBoard & { line?: FakeConsoleLine }> {
  const record: FakeRecord = { events: [], commands: [], timeouts: [], uploads: [] };
  const log = new ConsoleLog('fake');
  const power = new FakePower(record, log);
  const line = options.ownConsole ? new FakeConsoleLine(record, log) : undefined;
  if (line) power.attachesConsole = false;
  let current: FakeTransport | undefined;
  const shell: ShellDriver = {
    kind: 'ssh',
    async connect() {
      record.events.push('connect');
      current = new FakeTransport(script, power.boots, record);
      return current;
    },
  };
  const strategy = new BoardStrategy('fake', { power, shell, log, ...(line ? { console: line } : {}) }, 1000);
  await strategy.ensureShell();
  const board = new BoardTarget(CONFIG, 'ssh', { kernelTree: '/kernel' }, power, log, strategy, []);
  return { board, power, record, transport: () => current, ...(line ? { line } : {}) };
}
