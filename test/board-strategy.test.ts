// The board's strategy (src/board/strategy.ts) and power drivers
// (src/board/power.ts) without a board: the order in which a fake board's
// drivers are asked to power on, cut, cycle and connect; a dirty board cleaned
// by one power cycle; a failed cycle leaving no shell; the external power
// commands run for real with sh in a temporary directory.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { POWER_CYCLE_LINE } from '../src/board/console-log.ts';
import { ExternalPowerDriver, ManualPowerDriver } from '../src/board/power.ts';
import { BoardError } from '../src/errors.ts';
import { fakeBoard } from './helpers/fake-board.ts';

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const echo = (part: string) => ({ stdout: `${part}\n` });

describe('board strategy: off → shell, recover, ensureClean (fake drivers)', () => {
  it('ensureShell powers on once (the first power-on), connects, and later calls reuse the shell', async () => {
    const { board, record } = await fakeBoard(echo);
    expect(record.events).to.deep.equal(['on(first)', 'connect']);
    expect(board.strategy.boots).to.equal(1);
    const shell = await board.strategy.ensureShell();
    expect(shell).to.equal(board.strategy.shell());
    expect(record.events).to.deep.equal(['on(first)', 'connect']);
    expect((await board.run('uname -m')).stdout).to.equal('uname -m\n');
  });

  it('recover: power cut first, then the shell closed, the power cycled, the board powered on (not as a first power-on) and reconnected', async () => {
    const { board, record, power } = await fakeBoard(echo);
    power.stream.write('first boot\n');
    const report = await board.strategy.recover('test: hung');
    expect(record.events).to.deep.equal(['on(first)', 'connect', 'cut', 'shell closed', 'cycle', 'on', 'connect']);
    expect(report.reason).to.equal('test: hung');
    expect(report.method).to.equal('power-cycle');
    expect(report.durationMs).to.be.at.least(report.bootMs);
    expect(board.strategy.recoveries).to.deep.equal([report]);
    expect(board.strategy.boots).to.equal(2);
    power.stream.write('second boot\n');
    await new Promise((r) => setImmediate(r));
    const transcript = board.console.transcript();
    expect(transcript.indexOf('first boot')).to.be.below(transcript.indexOf(POWER_CYCLE_LINE));
    expect(transcript.indexOf(POWER_CYCLE_LINE)).to.be.below(transcript.indexOf('second boot'));
  });

  it('recover on a board with a console line of its own (TTY, ser2net): the old line is closed and the new one opened before the cycle, so the boot is captured', async () => {
    const { board, record, line } = await fakeBoard(echo, { ownConsole: true });
    expect(record.events).to.deep.equal(['console open', 'on(first)', 'connect']);
    line!.stream.write('first boot\n');
    const cycled = board.strategy.recover('test: hung');
    await cycled;
    expect(record.events).to.deep.equal(['console open', 'on(first)', 'connect', 'cut', 'shell closed', 'console open', 'cycle', 'on', 'connect']);
    line!.stream.write('second boot\n');
    await new Promise((r) => setImmediate(r));
    const transcript = board.console.transcript();
    expect(transcript.indexOf('first boot')).to.be.below(transcript.indexOf(POWER_CYCLE_LINE));
    expect(transcript.indexOf(POWER_CYCLE_LINE)).to.be.below(transcript.indexOf('second boot'));
  });

  it('a power cycle that fails leaves no shell behind: the next command is board-lost', async () => {
    const { board, power } = await fakeBoard(echo);
    power.cycleFails = new BoardError('board-lost', 'fake', 'power cycle command `false` exited with 1', 'false');
    const error = await rejection(board.strategy.recover('test'));
    expect(error).to.equal(power.cycleFails);
    const lost = await rejection(board.run('true'));
    expect(lost).to.be.instanceOf(BoardError);
    expect((lost as BoardError).kind).to.equal('board-lost');
    expect(board.strategy.recoveries).to.deep.equal([]);
  });

  it('ensureClean on a clean board runs the step once and recovers nothing', async () => {
    const { board, record } = await fakeBoard(echo);
    let runs = 0;
    const outcome = await board.strategy.ensureClean(
      async () => ++runs,
      () => undefined,
      { recovering: () => expect.fail('no recovery expected') },
    );
    expect(outcome).to.deep.equal({ result: 1 });
    expect(record.events).to.not.include('cycle');
  });

  it('ensureClean on a dirty board: says why, power-cycles once, runs the step again and returns its second result whatever it says', async () => {
    const { board, record } = await fakeBoard(echo);
    const seen: string[] = [];
    let runs = 0;
    const outcome = await board.strategy.ensureClean(
      async () => ++runs,
      (n) => `dirty after run ${n}`,
      {
        recovering: (why) => {
          seen.push(`recovering: ${why}`);
          return `custom reason (${why})`;
        },
        recovered: (report) => seen.push(`recovered: ${report.reason}`),
      },
    );
    expect(seen).to.deep.equal(['recovering: dirty after run 1', 'recovered: custom reason (dirty after run 1)']);
    expect(outcome.result).to.equal(2);
    expect(outcome.recovery?.reason).to.equal('custom reason (dirty after run 1)');
    expect(record.events.filter((e) => e === 'cycle')).to.have.length(1);
  });

  it('abort cuts the power and closes the shell at once; close releases the machine and the consoles', async () => {
    const { board, record } = await fakeBoard(echo);
    board.abort();
    await new Promise((r) => setImmediate(r));
    expect(record.events.slice(-2)).to.deep.equal(['cut', 'shell closed']);
    await board.close();
    expect(record.events.at(-1)).to.equal('release');
    expect(board.console.current()?.isClosed).to.equal(true);
  });

  it('every command goes to the listeners of onCommand, with its duration, until they unsubscribe', async () => {
    const { board } = await fakeBoard(echo);
    const seen: string[] = [];
    const off = board.onCommand(({ command, durationMs }) => seen.push(`${command} ${durationMs}`));
    await board.run('one');
    await board.check('two');
    off();
    await board.run('three');
    expect(seen).to.deep.equal(['one 3', 'two 3']);
  });
});

describe('power drivers', () => {
  let dir = '';
  const file = (): string => join(dir, 'board.yaml');
  const log = (): Promise<string> => readFile(join(dir, 'power.log'), 'utf8');
  const tail = (): string[] => ['last console line'];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vnet-power-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('external commands: `on` at the first power-on only, `cycle` as given, in the board file\'s directory', async () => {
    const power = new ExternalPowerDriver('lab', { commands: { on: 'echo on >> power.log', cycle: 'echo cycle >> power.log' }, dir, file: file() }, tail);
    await power.on(true);
    await power.on(false);
    await power.cycle();
    expect(await log()).to.equal('on\ncycle\n');
    expect(power.machinePid()).to.equal(undefined);
    expect(power.running()).to.equal(undefined);
  });

  it('external commands: without `cycle`, a cycle is `off`, two seconds, `on`', async function () {
    this.timeout(10_000);
    const power = new ExternalPowerDriver('lab', { commands: { on: 'echo on $(date +%s) >> power.log', off: 'echo off $(date +%s) >> power.log' }, dir, file: file() }, tail);
    await power.cycle();
    const [off, on] = (await log()).trim().split('\n');
    expect(off).to.match(/^off \d+$/);
    expect(on).to.match(/^on \d+$/);
    expect(Number(on?.split(' ')[1]) - Number(off?.split(' ')[1])).to.be.within(1, 3);
  });

  it('external commands: a failing one is a board-lost error naming the command, its key, the file, the exit and its output', async () => {
    const power = new ExternalPowerDriver('lab', { commands: { on: 'true', off: 'echo relay stuck >&2; exit 3' }, dir, file: file() }, tail);
    const error = (await rejection(power.cycle())) as BoardError;
    expect(error).to.be.instanceOf(BoardError);
    expect(error.kind).to.equal('board-lost');
    expect(error.command).to.equal('echo relay stuck >&2; exit 3 && sleep 2 && true');
    expect(error.message).to.contain(`(power.off and power.on in ${file()}) exited with 3: relay stuck`);
    expect(error.consoleTail).to.deep.equal(['last console line']);
  });

  it('external commands: a cycle with neither `cycle` nor `off` and `on` cannot recover the board', async () => {
    const power = new ExternalPowerDriver('lab', { commands: { on: 'true' }, dir, file: file() }, tail);
    const error = (await rejection(power.cycle())) as BoardError;
    expect(error.kind).to.equal('board-lost');
    expect(error.message).to.contain(`board lab: board-lost: no power cycle command in ${file()}: cannot recover the board`);
  });

  it('manual power: on is nothing (the board is on), a cycle cannot be done', async () => {
    const power = new ManualPowerDriver('lab', file(), tail);
    await power.on(true);
    const error = (await rejection(power.cycle())) as BoardError;
    expect(error.kind).to.equal('board-lost');
    expect(error.message).to.contain(`no power cycle command in ${file()}: cannot recover the board`);
  });
});
