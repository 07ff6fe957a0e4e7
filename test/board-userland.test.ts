// src/board/userland.ts and src/transport/checksum.ts: what a board's
// userland offers, learned with one command per boot, the command variants
// picked from it (an old BSP's busybox: no ip, base64, sha256sum, timeout; a
// ping without -i and -W), and what the harness cannot do without, listed
// once. The uploads without base64 and sha256sum run through a real busybox
// ash on the host whose PATH lacks those applets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import {
  FULL_USERLAND,
  parseUserlandProbe,
  pingCommand,
  unansweredPingCommand,
  PROBED_COMMANDS,
  requireUsable,
  userlandFrom,
  userlandProbeCommand,
} from '../src/board/userland.ts';
import { HarnessError } from '../src/errors.ts';
import { digestOf, parseDigest, posixCksum, printfEscape } from '../src/transport/checksum.ts';
import { uploadOverShell, type ShellRunner } from '../src/transport/serial-files.ts';
import type { CommandResult } from '../src/transport/types.ts';
import { fakeBoard } from './helpers/fake-board.ts';

/** What the probe prints on a board that has `commands` and whose ping takes `options`. */
const probeOutput = (commands: readonly string[], options: readonly string[]): string => [...commands.map((c) => `have ${c}`), ...options.map((o) => `opt ${o}`)].join('\n') + '\n';

const ALL_OPTIONS = ['ping -W', 'ping -i', 'ping -w', 'sleep 0.01'];
/** The minimal board: no ip (nor its ipneigh), base64, sha256sum, timeout; ping refuses -i and -W. */
const MINIMAL = PROBED_COMMANDS.filter((c) => !['ip', 'base64', 'sha256sum', 'timeout'].includes(c));

describe('board userland: probe and fallbacks', () => {
  it('a full userland: nothing missing, no fallback, the commands the stages always used', () => {
    const u = userlandFrom(parseUserlandProbe(probeOutput(PROBED_COMMANDS, ALL_OPTIONS)), 'serial');
    expect([u.missing, u.fallbacks, u.unusable]).to.deep.equal([[], [], []]);
    expect(u.files).to.deep.equal({ checksum: 'sha256', encoding: 'base64' });
    expect(u.neighFlush).to.equal('ip');
    expect(pingCommand(u, 3, 1, '3.3.3.3', true)).to.equal('ping -c 3 -i 0.2 -W 1 3.3.3.3');
    expect(pingCommand(u, 1, 1, '3.3.3.4', false)).to.equal('ping -c 1 -W 1 3.3.3.4');
    // The ping that must go unanswered is ended after half a second, not waited a whole one.
    expect(unansweredPingCommand(u, '3.3.3.4')).to.equal('ping -c 1 3.3.3.4 & p=$!; ( sleep 0.5; kill -INT $p ) >/dev/null 2>&1 & k=$!; wait $p; s=$?; kill $k 2>/dev/null; (exit $s)');
  });

  it('the minimal board: each missing tool named, each stand-in said, the variants picked', () => {
    const u = userlandFrom(parseUserlandProbe(probeOutput(MINIMAL, ['ping -w'])), 'serial');
    expect(u.missing).to.deep.equal(['sha256sum', 'base64', 'ping -W', 'ping -i', 'sleep 0.01', 'ip', 'timeout']);
    expect(u.fallbacks).to.deep.equal([
      'no sha256sum: uploads and the probe on the board checked with md5sum',
      'no base64: serial uploads as printf octal escapes',
      'ping without -W: bounded by a background kill -INT (count × interval + the reply wait)',
      'ping without -i: one echo request a second (the local ping takes 3 s, not 0.6)',
      'sleep without fractions: a ping that must go unanswered waits 1 s for its reply, not 0.5',
      'no ip: arp -d instead of ip neigh flush (the peer 3.3.3.4 is the only neighbour of vnet0)',
    ]);
    expect(u.unusable).to.deep.equal([]);
    expect(u.files).to.deep.equal({ checksum: 'md5', encoding: 'printf' });
    expect(u.neighFlush).to.equal('arp');
    const killer = (seconds: number) => `& p=$!; ( sleep ${seconds}; kill -INT $p ) >/dev/null 2>&1 & k=$!; wait $p; s=$?; kill $k 2>/dev/null; (exit $s)`;
    expect(pingCommand(u, 3, 1, '3.3.3.3', true)).to.equal(`ping -c 3 3.3.3.3 ${killer(3)}`);
    expect(pingCommand(u, 3, 2, '3.3.3.4', true)).to.equal(`ping -c 3 3.3.3.4 ${killer(4)}`);
    expect(pingCommand(u, 1, 1, '3.3.3.4', false)).to.equal(`ping -c 1 3.3.3.4 ${killer(1)}`);
    expect(unansweredPingCommand(u, '3.3.3.4'), 'sleep without fractions: the whole second').to.equal(`ping -c 1 3.3.3.4 ${killer(1)}`);
    const fast = userlandFrom(parseUserlandProbe(probeOutput(MINIMAL, ['ping -i'])), 'ssh');
    expect(pingCommand(fast, 20, 1, '3.3.3.3', true), 'with -i, the bound shrinks with it').to.equal(`ping -c 20 -i 0.2 3.3.3.3 ${killer(5)}`);
    // Over SSH, base64 is not needed (SFTP or cat): missing, but no stand-in.
    expect(userlandFrom(parseUserlandProbe(probeOutput(MINIMAL, ['ping -w'])), 'ssh').fallbacks).to.not.include('no base64: serial uploads as printf octal escapes');
  });

  it('the background kill bounds a ping no reply answers (busybox checks -w only on a reply), keeping ping\'s exit status', async function () {
    this.timeout(30_000);
    // A stand-in ping that is never answered: it would wait 60 s; SIGINT makes it print and exit 1, as busybox ping does.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-ping-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'ping'),
        `#!${process.execPath}\nprocess.on('SIGINT', () => { console.log('3 packets transmitted, 0 packets received, 100% packet loss'); process.exit(1); });\nsetTimeout(() => {}, 60000);\n`,
        { mode: 0o755 },
      );
      const u = userlandFrom(parseUserlandProbe(probeOutput(MINIMAL, [])), 'ssh');
      const busybox = (await execa('sh', ['-c', 'command -v busybox'])).stdout.trim();
      const started = Date.now();
      // spawns: busybox
      const r = await execa(busybox, ['sh', '-c', pingCommand(u, 3, 1, '3.3.3.4', false)], { reject: false, env: { PATH: `${dir}:${process.env.PATH ?? ''}` } });
      expect(Date.now() - started, 'ended by the kill after 3 s, not after 60').to.be.within(2900, 10_000);
      expect(r.exitCode).to.equal(1);
      expect(r.stdout).to.contain('0 packets received');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('what the harness cannot do without is listed all at once: a HarnessError (verdict error, exit 2), never a driver failure', () => {
    const u = userlandFrom(parseUserlandProbe(probeOutput(['ping', 'dmesg', 'rmmod', 'grep', 'cut', 'cat', 'chmod', 'printf', 'mkdir', 'mv'], ['ping -W', 'ping -i'])), 'serial');
    expect(u.unusable).to.deep.equal([
      'insmod: not found (needed to load the driver)',
      'rm: not found (needed to upload over the serial console)',
      'sha256sum, md5sum, cksum: none found (needed to check an upload)',
      'ifconfig, ip: neither found (needed to give vnet0 its address)',
    ]);
    expect(() => requireUsable('old-board', u))
      .to.throw(HarnessError)
      .with.property(
        'message',
        'board old-board: its userland lacks what the harness cannot do without (4):\n' +
          '  - insmod: not found (needed to load the driver)\n' +
          '  - rm: not found (needed to upload over the serial console)\n' +
          '  - sha256sum, md5sum, cksum: none found (needed to check an upload)\n' +
          '  - ifconfig, ip: neither found (needed to give vnet0 its address)',
      );
    expect(() => requireUsable('full', FULL_USERLAND)).to.not.throw();
  });

  it('the board target probes with ONE command per boot and reuses it; a new boot is probed again', async () => {
    let probes = 0;
    const { board, record } = await fakeBoard((part) => {
      if (part === userlandProbeCommand()) {
        probes++;
        return { stdout: probeOutput(MINIMAL, ['ping -w']) };
      }
      return {};
    });
    try {
      expect(board.userland, 'nothing before the probe').to.equal(undefined);
      const first = await board.probeUserland();
      expect(await board.probeUserland()).to.equal(first);
      expect(probes).to.equal(1);
      expect(record.commands.filter((c) => c === userlandProbeCommand())).to.have.length(1);
      expect(board.userland?.files, 'md5sum for checks; printf text were it a serial line').to.deep.equal({ checksum: 'md5', encoding: 'printf' });
      await board.strategy.recover('test: a new boot');
      await board.probeUserland();
      expect(probes).to.equal(2);
    } finally {
      await board.close();
    }
  });

  it('the probing command asks only the loopback for ping options (nothing leaves the guest)', () => {
    const command = userlandProbeCommand();
    const pings = command.match(/ping -c[^;&|]*/g) ?? [];
    expect(pings).to.have.length(3);
    expect(pings.every((p) => p.trim().endsWith('127.0.0.1 >/dev/null 2>'))).to.equal(true);
    expect(command).to.not.match(/3\.3\.3\./);
  });
});

describe('board userland: checksums and shell-text uploads', () => {
  let tmp: string;
  let bin: string;
  let busybox: string;
  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-userland-'));
    // A PATH of busybox applets without base64 or sha256sum (the host's busybox looks commands up in PATH).
    bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    busybox = (await execa('sh', ['-c', 'command -v busybox'])).stdout.trim();
    for (const applet of ['cat', 'mkdir', 'mv', 'rm', 'md5sum']) fs.symlinkSync(busybox, path.join(bin, applet));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A shell runner: each command through busybox ash with only `bin` on its PATH. */
  const ash = (commands: string[]): ShellRunner => ({
    board: 'host-ash',
    consoleTail: () => [],
    async run(command): Promise<CommandResult> {
      commands.push(command);
      // spawns: busybox
      const r = await execa(busybox, ['sh', '-c', command], { env: { PATH: bin }, extendEnv: false, reject: false, cwd: tmp });
      return { command, stdout: `${r.stdout}\n`, stderr: r.stderr, exitCode: r.exitCode ?? null, durationMs: 1 };
    },
  });

  it('cksum as POSIX prints it; md5 and sha256 as hex; each parsed back from the tool\'s line', () => {
    // Printed by GNU cksum for these bytes.
    expect(posixCksum(Buffer.from('hello world\n'))).to.equal(3733384285);
    expect(digestOf('cksum', '')).to.equal('4294967295 0');
    expect(parseDigest('cksum', '3733384285 12 /tmp/a\n')).to.equal('3733384285 12');
    expect(parseDigest('md5', 'd41d8cd98f00b204e9800998ecf8427e  /x\n')).to.equal(digestOf('md5', ''));
    expect(parseDigest('sha256', 'sh: sha256sum: not found\n')).to.equal(undefined);
    expect(printfEscape(Buffer.from("-a'b\\c%d\n\0z"))).to.equal('\\055a\\047b\\134c\\045d\\012\\000z');
  });

  it('an upload without base64 or sha256sum: printf escapes, md5sum per batch and at the end, every byte value arrives', async function () {
    this.timeout(60_000);
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from("%s%%\\0'\"-n\n"), fs.readFileSync(process.execPath).subarray(0, 20_000)]);
    const local = path.join(tmp, 'module.ko');
    fs.writeFileSync(local, data);
    const commands: string[] = [];
    const remote = path.join(tmp, 'board', 'virt_net4.ko');
    fs.mkdirSync(path.dirname(remote));
    const report = await uploadOverShell(ash(commands), local, remote, { tools: { checksum: 'md5', encoding: 'printf' } });
    expect(fs.readFileSync(remote).equals(data)).to.equal(true);
    expect(report.batches).to.be.greaterThan(1);
    expect(commands.some((c) => /base64|sha256sum/.test(c)), 'neither base64 nor sha256sum is run').to.equal(false);
    expect(commands.at(-1)).to.match(/^md5sum /);
    // The same upload with the default tools fails on this shell, naming what is missing.
    const error = await uploadOverShell(ash([]), local, remote).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).to.match(/base64 -d failed on the board/);
  });
});
