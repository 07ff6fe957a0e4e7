// SerialConsole: every byte kept with its time, readable views (tail,
// transcript, since), listeners, and the close reason — on serialport's mock
// binding and on a real pty pair from socat (what QEMU's -chardev pty gives).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { MockBinding, type MockPortBinding } from './fixtures/serial/mock-binding.ts';
import { expect } from 'chai';
import { HarnessError } from '../src/errors.ts';
import { SerialConsole } from '../src/transport/console.ts';
import { cleanConsoleText } from '../src/transport/console-text.ts';
import { haveRealShellTools } from './fixtures/serial/board-bin.ts';
import { requireOnHost } from './helpers/require-host.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('SerialConsole on the mock binding', () => {
  let console: SerialConsole;
  let binding: MockPortBinding;

  beforeEach(async () => {
    MockBinding.reset();
    MockBinding.createPort('/dev/ROBOT', { echo: false, record: true });
    console = await SerialConsole.open({ path: '/dev/ROBOT', binding: MockBinding, name: 'robot' });
    binding = console.port!.port as unknown as MockPortBinding;
  });
  afterEach(async () => {
    await console.close();
  });

  it('keeps every byte, in order, with non-decreasing timestamps', async () => {
    const sent = [Buffer.from('U-Boot 2009.08\r\n'), Buffer.from([0x00, 0xff, 0x1b]), Buffer.from('login: ')];
    for (const part of sent) {
      binding.emitData(part);
      await sleep(10);
    }
    await until(() => console.size === 26, 'all bytes');
    const chunks = console.chunks();
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(Buffer.concat(sent))).to.equal(true);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.atMs).to.be.at.least(chunks[i - 1]!.atMs);
    expect(chunks[chunks.length - 1]!.atMs - chunks[0]!.atMs).to.be.at.least(15);
  });

  it('tells listeners about each chunk until they unsubscribe', async () => {
    const seen: string[] = [];
    const off = console.onData((chunk) => seen.push(chunk.data.toString()));
    binding.emitData('one');
    await until(() => seen.length === 1, 'first chunk');
    off();
    binding.emitData('two');
    await until(() => console.size === 6, 'second chunk');
    expect(seen).to.deep.equal(['one']);
  });

  it('writes to the port', async () => {
    await console.write('root\n');
    await console.write(Buffer.from([0x03]));
    expect(binding.recording.toString('latin1')).to.equal('root\n\x03');
  });

  it('gives the last lines cleaned of escapes and control characters', async () => {
    binding.emitData('a\r\nb\r\n\x1b[1;31mred\x1b[0m\x07\r\nd\x00e\r\n\r\n');
    await until(() => console.size > 0, 'data');
    await sleep(10);
    expect(console.tail(3)).to.deep.equal(['b', 'red', 'de']);
    expect(console.tail()).to.deep.equal(['a', 'b', 'red', 'de']);
  });

  it('returns the text after a mark', async () => {
    binding.emitData('before\r\n');
    await until(() => console.size === 8, 'before');
    const mark = console.mark();
    binding.emitData('after\r\n');
    await until(() => console.size === 15, 'after');
    expect(console.since(mark)).to.equal('after\n');
    expect(console.rawSince(mark).toString()).to.equal('after\r\n');
  });

  it('renders a transcript with the arrival time of each line', async () => {
    binding.emitData('Linux version 6.1');
    await sleep(60);
    binding.emitData('\r\nsecond\r\nthird');
    await until(() => console.size === 32, 'all');
    const lines = console.transcript().trimEnd().split('\n');
    expect(lines).to.have.length(3);
    const times = lines.map((l) => Number(/^\[\+(\d+\.\d{3})s\] /.exec(l)![1]));
    expect(lines.map((l) => l.replace(/^\[\+\d+\.\d{3}s\] /, ''))).to.deep.equal(['Linux version 6.1', 'second', 'third']);
    // The first line began in the first chunk; the others ≥ 50 ms later.
    expect(times[1]! - times[0]!).to.be.at.least(0.05);
    expect(times[2]).to.equal(times[1]);
  });

  it('keeps a UTF-8 character cut across chunks whole in the transcript', async () => {
    const text = Buffer.from('temp: 42 °C\n');
    const cut = text.indexOf(0xb0); // second byte of the degree sign
    binding.emitData(text.subarray(0, cut));
    await sleep(10);
    binding.emitData(text.subarray(cut));
    await until(() => console.size === text.length, 'all');
    expect(console.chunks().length).to.be.at.least(2);
    expect(console.transcript()).to.match(/^\[\+\d+\.\d{3}s\] temp: 42 °C\n$/);
  });

  it('resolves closed with the reason when the harness closes it', async () => {
    await console.close();
    const info = await console.closed;
    expect(info.byHarness).to.equal(true);
    expect(info.reason).to.equal('closed by the harness');
    expect(console.isClosed).to.equal(true);
    let error: unknown;
    await console.write('x').catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(HarnessError);
    expect((error as Error).message).to.contain('console robot is closed');
  });
});

describe('SerialConsole basics', () => {
  it('reports a device that cannot be opened, naming it', async () => {
    let error: unknown;
    await SerialConsole.open({ path: '/dev/does-not-exist-vnet', name: 'imx257' }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(HarnessError);
    expect((error as Error).message).to.match(/cannot open console imx257 \(\/dev\/does-not-exist-vnet\): /);
  });

  it('wraps a stream and reports its end as the board going away', async () => {
    const stream = new PassThrough();
    const console = SerialConsole.fromStream(stream, 'socket');
    stream.write('hello\n');
    stream.end();
    const info = await console.closed;
    expect(info.byHarness).to.equal(false);
    expect(console.since(0)).to.equal('hello\n');
  });

  it('cleans text as the tail and transcript show it', () => {
    expect(cleanConsoleText('\x1b]0;title\x07a\x1b[?2004hb\r\n\x1bMc\x7f')).to.equal('ab\nc');
  });
});

describe('SerialConsole on a real pty pair (socat)', function () {
  this.timeout(10_000);
  let socat: ChildProcess | undefined;
  let dir: string;

  before(function () {
    requireOnHost(this, haveRealShellTools(), 'busybox and socat (Debian busybox, socat)');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vnet-console-'));
    socat = spawn('socat', [`pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`], { stdio: 'ignore' });
    await until(() => existsSync(`${dir}/a`) && existsSync(`${dir}/b`), 'socat ptys');
  });
  afterEach(() => {
    if (socat && socat.exitCode === null) socat.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a /dev/pts/N slave, reads and writes both ways', async () => {
    const slave = realpathSync(`${dir}/a`);
    expect(slave).to.match(/^\/dev\/pts\/\d+$/);
    const console = await SerialConsole.open({ path: slave, baudRate: 115200 });
    const peer = openSync(`${dir}/b`, 'r+');
    try {
      writeSync(peer, 'Booting Linux on physical CPU 0x0\n');
      await until(() => console.size === 34, 'boot line');
      await console.write('uname -m\n');
      const buf = Buffer.alloc(64);
      await sleep(50);
      const n = readSync(peer, buf);
      expect(buf.subarray(0, n).toString()).to.equal('uname -m\n');
      expect(console.since(0)).to.equal('Booting Linux on physical CPU 0x0\n');
    } finally {
      closeSync(peer);
      await console.close();
    }
  });

  it('reports the other end going away (QEMU killed) as not closed by the harness', async () => {
    const console = await SerialConsole.open({ path: `${dir}/a` });
    socat!.kill('SIGKILL');
    const info = await Promise.race([console.closed, sleep(3000).then(() => undefined)]);
    expect(info, 'closed within 3 s').to.not.equal(undefined);
    expect(info!.byHarness).to.equal(false);
    expect(info!.reason).to.match(/^disconnected: /);
  });
});
