// The stage's named steps (src/stages/steps.ts, sections.ts, exercise.ts,
// kernel-watch.ts) on a fake board (test/helpers/fake-board.ts): what each
// step records under which name, one board command per step, a dirty board
// cleaned by the strategy, faults classified as crash, hang or error, no
// recovery when the run was interrupted, kernel reports older than the stage
// ignored, the probe uploaded only when the board's copy's sha256 differs.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { BoardError } from '../src/errors.ts';
import { classifyKernelText } from '../src/parsers/kernel-events.ts';
import { KernelWatch } from '../src/stages/kernel-watch.ts';
import { exerciseStage, faultClass, mergeEvents } from '../src/stages/exercise.ts';
import { BOARD_PROBE, boardModulePath, stagePlan } from '../src/stages/plan.ts';
import { MISSING, sections, SPLIT } from '../src/stages/sections.ts';
import type { CommandResult } from '../src/transport/types.ts';
import { fakeBoard, type PartAnswer } from './helpers/fake-board.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'parsers', 'board');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const PRESENT = fixture('sysfs-vnet0-stage4.txt');
const ABSENT = fixture('sysfs-missing-vnet0.txt');

/** A board that behaves: a clean reset, vnet0 there from insmod to rmmod, the kernel log growing by what the stage prints. */
interface Behaviour {
  /** Exit status of the reset (per boot; default 0 = clean). */
  reset?: (boot: number) => number;
  insmod?: number;
  /** What `[ -x probe ] && sha256sum probe` prints on this board (default: no probe there, exit 1). */
  probeSum?: PartAnswer;
  /** A kernel with kmemleak: the jiffies at the stage's start and what the list shows after the scans, or each time it is read (the last one from then on); default: no kmemleak. */
  kmemleak?: { jiffies: number; list: string | string[] };
  /** Answer of a part, before the defaults (return undefined to take the default). */
  override?: (part: string, boot: number) => PartAnswer | undefined;
}

function shell(b: Behaviour = {}) {
  let loaded = false;
  let lists = 0;
  let dmesg = '[    1.000000] Booting Linux\n';
  return (part: string, boot: number): PartAnswer => {
    const o = b.override?.(part, boot);
    if (o) return o;
    if (part.startsWith('( for m in')) {
      const status = b.reset?.(boot) ?? 0;
      return status === 0 ? { status: 0 } : { stdout: 'rmmod: can\'t unload module \'virt_net2\': Resource temporarily unavailable\n', status: 1 };
    }
    if (part === 'cut -d" " -f1 /proc/uptime') return { stdout: '10.00\n' };
    if (part === 'dmesg') return { stdout: dmesg };
    if (part === `[ -x ${BOARD_PROBE} ] && sha256sum ${BOARD_PROBE}`) return b.probeSum ?? { status: 1 };
    if (part === 'true') return { status: 0 };
    if (part.startsWith('[ -e /sys/kernel/debug/kmemleak ]')) return { stdout: b.kmemleak ? `${b.kmemleak.jiffies}\nkmemleak\n` : 'none\n' };
    if (part.startsWith('grep "^virt_net')) return loaded ? { stdout: `${/virt_net\d/.exec(part)![0]} 16384 0 - Live 0xbf000000\n` } : { status: 1 };
    if (part === 'echo scan > /sys/kernel/debug/kmemleak') return { status: b.kmemleak ? 0 : 1 };
    if (part === 'cat /sys/kernel/debug/kmemleak') {
      const list = b.kmemleak?.list ?? '';
      return { stdout: typeof list === 'string' ? list : (list[Math.min(lists++, list.length - 1)] ?? '') };
    }
    if (part.startsWith('[ $reset -eq 0 ] && insmod')) {
      loaded = (b.insmod ?? 0) === 0;
      if (loaded) dmesg += '[   10.500000] virt_net: registered vnet0\n';
      return { status: b.insmod ?? 0 };
    }
    if (part.startsWith('d=/sys/class/net/vnet0')) return { stdout: loaded ? PRESENT : ABSENT };
    if (part.startsWith('ifconfig')) return { status: 0 };
    if (part.startsWith('ping -c 3 -i 0.2 -W 1 3.3.3.3')) return { stdout: fixture('ping-local-3.3.3.3.txt') };
    if (part.startsWith('ping -c 1 3.3.3.4 & p=$!; ( sleep 0.5; kill -INT $p )') || part.startsWith('w=; for a in 3.3.3.5 3.3.3.6 3.3.3.7 3.3.3.8; do ping -c 1 $a')) {
      dmesg += '[   11.000000] virt_net_send_packet cnt = 1\n';
      return { stdout: fixture('ping-remote-noreply.txt'), status: 1 };
    }
    if (part.startsWith('ping -c 3 -i 0.2 -W 2 3.3.3.4')) return { stdout: fixture('ping-remote-stage4.txt') };
    if (part.startsWith('ip neigh flush')) return { status: 0 };
    if (part.startsWith(`${BOARD_PROBE} -F `)) return { stdout: fixture('probe-frames-stage4.txt') };
    if (part.startsWith(BOARD_PROBE)) return { stdout: fixture('probe-stage4.txt') };
    if (part.startsWith('rmmod virt_net')) {
      loaded = false;
      return { status: 0 };
    }
    if (part.startsWith('chmod')) return { status: 0 };
    throw new Error(`the fake board does not know the command part: ${part}`);
  };
}

/** The built files a stage uploads (their size sets the upload timeout). */
const WORK = mkdtempSync(join(tmpdir(), 'vnet-stage-steps-'));
for (const f of ['virt_net1.ko', 'virt_net2.ko', 'virt_net3.ko', 'virt_net4.ko', 'vnet_probe']) writeFileSync(join(WORK, f), f);
/** The sha256 of the fake probe, as sha256sum prints it on the board. */
const PROBE_SHA256 = createHash('sha256').update('vnet_probe').digest('hex');
after(() => rmSync(WORK, { recursive: true, force: true }));

const INPUTS = { modulePath: `${WORK}/virt_net2.ko` };

describe('stage steps: named observations, one board command per step (fake board)', () => {
  it('a clean stage: every observation under its name, the five steps timed, one board command each', async () => {
    const { board, record } = await fakeBoard(shell());
    const lines: string[] = [];
    const obs = await exerciseStage(board, stagePlan(2), { ...INPUTS, log: (l) => lines.push(l) }, 60_000);
    expect(obs.fault).to.equal(undefined);
    expect(obs.recovered).to.equal(undefined);
    expect(obs.reset?.exitCode).to.equal(0);
    expect(obs.insmod).to.include({ command: `insmod ${boardModulePath(2)}`, exitCode: 0 });
    expect(obs.loaded?.present).to.equal(true);
    expect(obs.ifconfig).to.include({ command: 'ifconfig vnet0 3.3.3.3', exitCode: 0 });
    expect(obs.localPing?.parsed.stats).to.include({ transmitted: 3, received: 3 });
    expect(obs.localPing?.before.present).to.equal(true);
    expect(obs.remotePing?.parsed.stats).to.include({ transmitted: 1, received: 0 });
    expect(obs.remotePing?.command.exitCode).to.equal(1);
    expect(obs.remoteDmesg).to.deep.equal(['virt_net_send_packet cnt = 1']);
    expect(obs.probe, 'stage 2 has no probe').to.equal(undefined);
    expect(obs.rmmod).to.include({ command: 'rmmod virt_net2', exitCode: 0 });
    expect(obs.unloaded).to.deep.equal(MISSING);
    expect(obs.dmesg).to.deep.equal(['[   10.500000] virt_net: registered vnet0', '[   11.000000] virt_net_send_packet cnt = 1']);
    expect(obs.kernelEvents).to.deep.equal([]);
    expect(obs.steps.map((s) => s.name)).to.deep.equal(['upload', 'insmod', 'ping-local', 'ping-remote', 'rmmod']);
    // One round trip per board step: insmod, ping-local, ping-remote, rmmod.
    expect(record.commands).to.have.length(4);
    expect(record.commands.join('\n'), 'no kmemleak: ping 3.3.3.4 alone').to.not.include('3.3.3.5');
    expect(record.uploads).to.deep.equal([`${WORK}/virt_net2.ko -> ${boardModulePath(2)}`]);
    expect(lines.filter((l) => /^stage 2: \S+ \d+ ms$/.test(l))).to.have.length(5);
  });

  it('a kernel with kmemleak: after rmmod two scans and the list, once the last frame is old enough; the stage\'s own leak, still listed by one more scan, is a kmemleak event, the rest only counted', async () => {
    const list = readFileSync(join(import.meta.dirname, 'fixtures', 'parsers', 'kernel', 'kmemleak-stage3-leak-skb.txt'), 'utf8');
    const { board, record } = await fakeBoard(shell({ kmemleak: { jiffies: 4294939240, list } }));
    const started = Date.now();
    const obs = await exerciseStage(board, stagePlan(2), { ...INPUTS, kmemleakMinAgeMs: 400 }, 60_000);
    expect(obs.fault).to.equal(undefined);
    expect(obs.steps.map((s) => s.name)).to.deep.equal(['upload', 'insmod', 'ping-local', 'ping-remote', 'rmmod', 'kmemleak', 'kmemleak-confirm']);
    // The first scan ends the rmmod command, the second (with the list) comes after the minimum age and its margin; the stage's suspects send one more.
    expect(record.commands.at(-3)).to.match(/^rmmod virt_net2\n[^]*\ndmesg\n[^]*\necho scan > \/sys\/kernel\/debug\/kmemleak\n/);
    expect(record.commands.at(-3)).to.not.include('cat /sys/kernel/debug/kmemleak');
    for (const at of [-2, -1]) expect(record.commands.at(at)).to.match(/^echo scan > \/sys\/kernel\/debug\/kmemleak\necho "\S+ \$\?"\ncat \/sys\/kernel\/debug\/kmemleak\n/);
    // ping 3.3.3.4 goes with four more unanswered pings (one ARP request each: more frames a leaking driver leaks), ended with it.
    const remote = record.commands.find((c) => c.includes('ping -c 1 3.3.3.4'))!;
    expect(remote).to.include('w=; for a in 3.3.3.5 3.3.3.6 3.3.3.7 3.3.3.8; do ping -c 1 $a >/dev/null 2>&1 & w="$w $!"; done; ping -c 1 3.3.3.4 & p=$!;');
    expect(remote).to.include('s=$?; kill $w 2>/dev/null; wait; (exit $s)');
    expect(obs.remotePing?.parsed.stats, 'the part is still ping 3.3.3.4\'s').to.include({ transmitted: 1, received: 0 });
    expect(Date.now() - started).to.be.at.least(400);
    expect(obs.leaks?.unattributed).to.equal(5);
    expect(obs.kernelEvents.map((e) => [e.class, e.fatal])).to.deep.equal([['kmemleak', false]]);
    expect(obs.kernelEvents[0]!.firstLine).to.equal(
      'unreferenced object 0xc399cc00 (size 176), comm "ping": an skb of the stage\'s traffic (__alloc_skb by ping, pid 131) that nothing references after rmmod',
    );
    expect(obs.kernelEvents[0]!.text).to.include('arp_create+0x18c/0x858');
  });

  it('a kernel with kmemleak: suspects of the stage that one more scan no longer lists (objects already freed) are kept as transient, not counted against it', async () => {
    const list = readFileSync(join(import.meta.dirname, 'fixtures', 'parsers', 'kernel', 'kmemleak-stage3-leak-skb.txt'), 'utf8');
    const { board, record } = await fakeBoard(shell({ kmemleak: { jiffies: 4294939240, list: [list, ''] } }));
    const started = Date.now();
    const obs = await exerciseStage(board, stagePlan(2), { ...INPUTS, kmemleakMinAgeMs: 0 }, 60_000);
    expect(obs.fault).to.equal(undefined);
    expect(obs.steps.map((s) => s.name)).to.deep.equal(['upload', 'insmod', 'ping-local', 'ping-remote', 'rmmod', 'kmemleak', 'kmemleak-confirm']);
    expect(Date.now() - started, 'the confirming scan comes a second later').to.be.at.least(1000);
    expect(record.commands.filter((c) => c.includes('cat /sys/kernel/debug/kmemleak'))).to.have.length(2);
    expect(obs.kernelEvents).to.deep.equal([]);
    expect(obs.leaks?.transient).to.have.length(1);
    expect(obs.leaks?.transient?.[0]).to.match(/^unreferenced object 0xc399cc00 \(size 176\):/);
    expect(obs.leaks?.unattributed).to.equal(5);
  });

  it('a kernel with kmemleak and a stage without suspects: no confirming scan', async () => {
    const { board, record } = await fakeBoard(shell({ kmemleak: { jiffies: 4294939240, list: '' } }));
    const obs = await exerciseStage(board, stagePlan(2), { ...INPUTS, kmemleakMinAgeMs: 0 }, 60_000);
    expect(obs.steps.map((s) => s.name)).to.deep.equal(['upload', 'insmod', 'ping-local', 'ping-remote', 'rmmod', 'kmemleak']);
    expect(record.commands.filter((c) => c.includes('cat /sys/kernel/debug/kmemleak'))).to.have.length(1);
    expect(obs.leaks).to.deep.equal({ events: [], unattributed: 0, others: [] });
  });

  it('a kernel whose kmemleak fails to scan (it turned itself off): an error of the board, not a leak', async () => {
    const { board } = await fakeBoard(
      shell({ kmemleak: { jiffies: 1, list: '' }, override: (part) => (part === 'echo scan > /sys/kernel/debug/kmemleak' ? { stdout: 'sh: write error: Operation not permitted\n', status: 1 } : undefined) }),
    );
    const obs = await exerciseStage(board, stagePlan(2), { ...INPUTS, kmemleakMinAgeMs: 0 }, 60_000);
    expect(obs.fault?.class).to.equal('error');
    expect(obs.fault?.step).to.equal('kmemleak scan');
    expect(obs.fault?.message).to.match(/^kmemleak scan failed \(exit 1\)/);
  });

  it('stage 4 on a board that already has this probe: its sha256 is read inside the insmod command, nothing more goes up, and the exchange is recorded with readings around it', async () => {
    const { board, record } = await fakeBoard(shell({ probeSum: { stdout: `${PROBE_SHA256}  ${BOARD_PROBE}\n` } }));
    const obs = await exerciseStage(board, stagePlan(4), { modulePath: `${WORK}/virt_net4.ko`, probePath: `${WORK}/vnet_probe` }, 60_000);
    expect(obs.fault).to.equal(undefined);
    expect(record.uploads).to.deep.equal([`${WORK}/virt_net4.ko -> ${boardModulePath(4)}`]);
    expect(obs.probe?.command.command).to.equal(`${BOARD_PROBE} -c 20 -i 25 -t 1000 3.3.3.4`);
    expect(obs.probe?.parsed.replies.length).to.be.greaterThan(0);
    expect(obs.probe?.before.present && obs.probe.after.present).to.equal(true);
    // The probe again through a packet socket on vnet0: the frames the peer must not answer, echo requests with IP options.
    expect(obs.frames?.command.command).to.equal(`${BOARD_PROBE} -F vnet0 -c 2 -i 25 -t 1000 -l 200 3.3.3.4`);
    expect(obs.frames?.parsed.frames.map((f) => f.kind)).to.deep.equal(['arp', 'ipv6', 'udp', 'short', 'truncated', 'fragment']);
    expect(obs.frames?.parsed.header?.iface).to.equal('vnet0');
    expect(obs.frames?.before.present && obs.frames.after.present).to.equal(true);
    expect(record.commands.find((c) => c.includes(' -F vnet0 '))).to.match(/^ip neigh flush dev vnet0 /);
    expect(obs.steps.map((s) => s.name)).to.deep.equal(['upload', 'insmod', 'ping-local', 'ping-remote', 'probe', 'frames', 'rmmod']);
    // One round trip per board step: the checksum added none.
    expect(record.commands).to.have.length(6);
  });

  const uploaded: [what: string, probeSum: PartAnswer][] = [
    ['no probe yet', { status: 1 }],
    ['another build of the probe', { stdout: `${'0'.repeat(64)}  ${BOARD_PROBE}\n` }],
    ['no sha256sum', { stdout: 'sh: sha256sum: not found\n', status: 127 }],
  ];
  for (const [what, probeSum] of uploaded) {
    it(`a board with ${what} gets the probe as it is (not gzipped), in an upload step of its own, made executable`, async () => {
      const { board, record } = await fakeBoard(shell({ probeSum }));
      const obs = await exerciseStage(board, stagePlan(4), { modulePath: `${WORK}/virt_net4.ko`, probePath: `${WORK}/vnet_probe` }, 60_000);
      expect(obs.fault).to.equal(undefined);
      expect(record.uploads).to.deep.equal([`${WORK}/virt_net4.ko -> ${boardModulePath(4)}`, `${WORK}/vnet_probe -> ${BOARD_PROBE}`]);
      expect(record.commands).to.include(`chmod 755 ${BOARD_PROBE}`);
      expect(obs.steps.map((s) => s.name)).to.deep.equal(['upload', 'insmod', 'upload', 'ping-local', 'ping-remote', 'probe', 'frames', 'rmmod']);
    });
  }

  it('a board left dirty by an earlier stage is power-cycled by the strategy once, then the stage runs', async () => {
    const { board, record } = await fakeBoard(shell({ reset: (boot) => (boot === 1 ? 1 : 0) }));
    const lines: string[] = [];
    const obs = await exerciseStage(board, stagePlan(2), { ...INPUTS, log: (l) => lines.push(l) }, 60_000);
    expect(obs.fault).to.equal(undefined);
    expect(obs.recovered).to.equal(true);
    expect(obs.reset?.exitCode).to.equal(0);
    expect(record.events.filter((e) => e === 'cycle')).to.have.length(1);
    expect(board.strategy.recoveries[0]?.reason).to.match(/^stage 2: board not in a known state: rmmod: can't unload module 'virt_net2'/);
    expect(lines).to.include("stage 2: board not in a known state (rmmod: can't unload module 'virt_net2': Resource temporarily unavailable): power-cycling");
    // The upload and the insmod command ran on both boots.
    expect(obs.steps.map((s) => s.name)).to.deep.equal(['upload', 'insmod', 'upload', 'insmod', 'ping-local', 'ping-remote', 'rmmod']);
  });

  it('a board still dirty after the power cycle: an error during reset, no insmod, the kernel log delta still read', async () => {
    const { board, record } = await fakeBoard(shell({ reset: () => 1 }));
    const obs = await exerciseStage(board, stagePlan(1), { modulePath: `${WORK}/virt_net1.ko` }, 60_000);
    expect(obs.fault?.class).to.equal('error');
    expect(obs.fault?.step).to.equal('reset');
    expect(obs.fault?.message).to.match(/^board not in a known state: rmmod: can't unload/);
    expect(obs.insmod).to.equal(undefined);
    expect(record.commands.at(-1)).to.equal('dmesg');
  });

  it('insmod that fails ends the stage before ifconfig; the kernel log delta is read by one more command', async () => {
    const { board, record } = await fakeBoard(shell({ insmod: 1 }));
    const obs = await exerciseStage(board, stagePlan(3), { modulePath: `${WORK}/virt_net3.ko` }, 60_000);
    expect(obs.fault).to.equal(undefined);
    expect(obs.insmod?.exitCode).to.equal(1);
    expect(obs.loaded?.present).to.equal(false);
    expect(obs.ifconfig).to.equal(undefined);
    expect(record.commands).to.have.length(2);
    expect(record.commands[1]).to.equal('dmesg');
  });

  it('a command timeout during ping 3.3.3.4 is a hang: a hang event, the strategy recovers the board', async () => {
    const timeout = new BoardError('command-timeout', 'fake', 'no answer for 30 s', 'ping');
    const { board, record } = await fakeBoard(shell({ override: (part) => (part.startsWith('ping -c 1') ? { fail: timeout } : undefined) }));
    const obs = await exerciseStage(board, stagePlan(1), { modulePath: `${WORK}/virt_net1.ko` }, 60_000);
    expect(obs.fault).to.deep.equal({ class: 'hang', step: 'ping 3.3.3.4', message: 'board fake: command-timeout: no answer for 30 s' });
    expect(obs.kernelEvents.map((e) => e.firstLine)).to.deep.equal(['board stopped answering during ping 3.3.3.4']);
    expect(obs.recovered).to.equal(true);
    expect(board.strategy.recoveries[0]?.reason).to.equal('hang during stage 1 (ping 3.3.3.4)');
    expect(record.events.slice(-4)).to.deep.equal(['shell closed', 'cycle', 'on', 'connect']);
  });

  it('a machine killed from outside during a step (no kernel report) is an error naming the kill, not a crash; the board is recovered', async function () {
    this.timeout(10_000);
    let fake: Awaited<ReturnType<typeof fakeBoard>> | undefined;
    const lost = new BoardError('board-lost', 'fake', 'connection lost', 'ping');
    const killed = 'QEMU (pid 1001) was killed by SIGKILL from outside the harness';
    const { board, record } = (fake = await fakeBoard(
      shell({
        override: (part, boot) => {
          if (boot !== 1 || !part.startsWith('ping -c 1')) return undefined;
          fake!.power.alive = false;
          fake!.power.outsideKill = killed;
          return { fail: lost };
        },
      }),
    ));
    const obs = await exerciseStage(board, stagePlan(2), INPUTS, 60_000);
    expect(obs.fault).to.deep.equal({ class: 'error', step: 'ping 3.3.3.4', message: `${killed}, not the driver's doing (board fake: board-lost: connection lost)` });
    expect(obs.kernelEvents, 'no made-up hang event').to.deep.equal([]);
    expect(obs.recovered).to.equal(true);
    expect(board.strategy.recoveries[0]?.reason).to.equal('error during stage 2 (ping 3.3.3.4)');
    expect(record.events.slice(-4)).to.deep.equal(['shell closed', 'cycle', 'on', 'connect']);
  });

  it('a connection closed while the machine runs (its sshd killed) is a hang, and the board is recovered', async function () {
    this.timeout(10_000);
    const closed = new BoardError('board-lost', 'fake', 'connection closed', 'ping');
    const { board, record } = await fakeBoard(shell({ override: (part, boot) => (boot === 1 && part.startsWith('ping -c 1') ? { fail: closed } : undefined) }));
    const obs = await exerciseStage(board, stagePlan(2), INPUTS, 60_000);
    expect(obs.fault).to.deep.equal({ class: 'hang', step: 'ping 3.3.3.4', message: 'board fake: board-lost: connection closed' });
    expect(obs.recovered).to.equal(true);
    expect(record.events.slice(-4)).to.deep.equal(['shell closed', 'cycle', 'on', 'connect']);
  });

  it('a fatal kernel report on the console during a step is a crash, with the report', async function () {
    this.timeout(10_000);
    let fake: Awaited<ReturnType<typeof fakeBoard>> | undefined;
    const lost = new BoardError('board-lost', 'fake', 'connection lost', 'ping');
    const { board, power, record } = (fake = await fakeBoard(
      shell({
        override: (part) => {
          if (!part.startsWith('ping -c 1')) return undefined;
          fake?.power.stream.write('[   11.200000] Unable to handle kernel NULL pointer dereference at virtual address 00000000\n[   11.200100] Internal error: Oops: 5 [#1] ARM\n[   11.200200] PC is at virt_net_send_packet+0x10/0x40\n[   11.300000] Kernel panic - not syncing: Fatal exception in interrupt\n');
          return { fail: lost };
        },
      }),
    ));
    const obs = await exerciseStage(board, stagePlan(2), INPUTS, 60_000);
    expect(obs.fault?.class).to.equal('crash');
    expect(obs.fault?.step).to.equal('ping 3.3.3.4');
    expect(obs.kernelEvents.some((e) => e.fatal)).to.equal(true);
    expect(obs.recovered).to.equal(true);
    void power;
    expect(record.events).to.include('cycle');
  });

  it('a fatal report cuts the power of the machine that printed it 1.5 s later, unless it was rebooted meanwhile', async function () {
    this.timeout(10_000);
    const panic = '[   11.300000] Kernel panic - not syncing: Fatal exception in interrupt\n';
    const { board, power, record } = await fakeBoard(shell());
    const watch = new KernelWatch(board);
    power.stream.write(panic);
    await new Promise((r) => setTimeout(r, 1_700));
    expect(record.events.filter((e) => e === 'cut')).to.have.length(1);
    watch.pause();
    const other = await fakeBoard(shell());
    const watched = new KernelWatch(other.board);
    other.power.stream.write(panic);
    await other.board.strategy.recover('rebooted before the timer');
    await new Promise((r) => setTimeout(r, 1_700));
    expect(other.record.events.filter((e) => e === 'cut'), 'only the cut of the recovery').to.have.length(1);
    watched.pause();
  });

  it('an interrupted run: the stage ends as an error naming the signal, and the board is not recovered', async () => {
    const abort = new AbortController();
    const lost = new BoardError('board-lost', 'fake', 'connection closed by the harness', 'ping');
    const { board, record } = await fakeBoard(
      shell({
        override: (part) => {
          if (!part.startsWith('ping -c 1')) return undefined;
          abort.abort('SIGINT');
          return { fail: lost };
        },
      }),
    );
    const obs = await exerciseStage(board, stagePlan(1), { modulePath: `${WORK}/virt_net1.ko`, abort: abort.signal }, 60_000);
    expect(obs.fault).to.deep.equal({ class: 'error', step: 'ping 3.3.3.4', message: 'interrupted by SIGINT' });
    expect(obs.recovered).to.equal(undefined);
    expect(record.events).to.not.include('cycle');
  });

  it('kernel reports printed before the stage started (older than its uptime) are ignored; those during it are kept', async () => {
    let fake: Awaited<ReturnType<typeof fakeBoard>> | undefined;
    const warning = (t: string) => `[   ${t}] WARNING: CPU: 0 PID: 1 at net/core/dev.c:1 x\n[   ${t}] ---[ end trace 0000000000000000 ]---\n`;
    fake = await fakeBoard(
      shell({
        override: (part) => {
          if (part.startsWith('ping -c 3')) fake?.power.stream.write(warning('10.800000'));
          return undefined;
        },
      }),
    );
    fake.power.stream.write(warning('5.000000'));
    await new Promise((r) => setImmediate(r));
    const obs = await exerciseStage(fake.board, stagePlan(1), { modulePath: `${WORK}/virt_net1.ko` }, 60_000);
    expect(obs.kernelEvents.map((e) => e.firstLine)).to.deep.equal(['WARNING: CPU: 0 PID: 1 at net/core/dev.c:1 x']);
  });
});

describe('sections: one board command of named parts', () => {
  const answer = (stdout: string, exitCode: number | null = 0) => async (command: string): Promise<CommandResult> => ({ command, stdout, stderr: 'warn\n', exitCode, durationMs: 7 });

  it('joins the parts in order, each followed by its status marker, and splits the output by name', async () => {
    let sent = '';
    const s = await sections(
      async (c) => {
        sent = c;
        return answer(`one\n${SPLIT} 0\n${SPLIT} 3\nthree\r\n${SPLIT} 0\r\n`)(c);
      },
      { first: 'echo one', second: 'exit 3', third: 'echo three' },
    );
    expect(sent).to.equal(`echo one\necho "${SPLIT} $?"\nexit 3\necho "${SPLIT} $?"\necho three\necho "${SPLIT} $?"`);
    expect(s.output('first')).to.equal('one\n');
    expect(s.output('second')).to.equal('');
    expect(s.part('second')).to.deep.equal({ command: 'exit 3', stdout: '', stderr: '', exitCode: 3, durationMs: 7 });
    expect(s.part('first').stderr, 'stderr goes to the first part').to.equal('warn\n');
    expect(s.output('third')).to.equal('three\r\n');
  });

  it('parts the command never reached have no output, and take the whole command\'s exit status', async () => {
    const s = await sections(answer(`one\n${SPLIT} 0\npartial`, null), { first: 'echo one', second: 'sleep 9', third: 'true' });
    expect(s.output('second')).to.equal(undefined);
    expect(s.part('second').exitCode).to.equal(null);
    expect(s.reading('third')).to.equal(undefined);
  });

  it('a ping with readings that are missing: the readings are MISSING, never undefined', async () => {
    const s = await sections(answer(`${fixture('ping-local-3.3.3.3.txt')}${SPLIT} 0\n`), { ping: 'ping', before: 'read', after: 'read' });
    const p = s.ping('ping', 'before', 'after');
    expect(p.parsed.stats).to.include({ transmitted: 3, received: 3 });
    expect(p.before).to.deep.equal(MISSING);
    expect(p.after).to.deep.equal(MISSING);
  });
});

describe('mergeEvents and faultClass', () => {
  it('mergeEvents keeps the console\'s events and adds those only the kernel log had (same class and first line, timestamps aside, are one event)', () => {
    const console = classifyKernelText('[   10.1] WARNING: CPU: 0 PID: 1 at a.c:1 f\n[   10.2] ---[ end trace 0 ]---');
    const dmesg = classifyKernelText('[   10.100000] WARNING: CPU: 0 PID: 1 at a.c:1 f\n[   10.2] ---[ end trace 0 ]---\n[   12.0] BUG: scheduling while atomic: ping/1/0x00000002');
    const merged = mergeEvents(console, dmesg);
    expect(merged.map((e) => e.class)).to.deep.equal(['warning', 'atomic-sleep']);
    expect(merged[0]).to.equal(console[0]);
  });

  it('faultClass: a fatal report is a crash; a timeout a hang; a lost board a crash when its machine is gone, an error when something outside killed it, a hang otherwise or when unknown', () => {
    const power = (running: boolean | undefined, outside?: string) => ({ power: { machinePid: () => 1, cut: () => {}, running: () => running, killedFromOutside: () => outside } });
    const lost = new BoardError('board-lost', 'b', 'gone');
    const fatal = classifyKernelText('[    1.0] Kernel panic - not syncing: x');
    expect(faultClass(power(true), lost, fatal)).to.equal('crash');
    expect(faultClass(power(true), new BoardError('command-timeout', 'b', 't'), [])).to.equal('hang');
    expect(faultClass(power(false), lost, [])).to.equal('crash');
    expect(faultClass(power(true), lost, [])).to.equal('hang');
    expect(faultClass(power(undefined), lost, [])).to.equal('hang');
    expect(faultClass(power(true), new BoardError('upload-failed', 'b', 'u'), [])).to.equal('error');
    const killed = 'QEMU (pid 1) was killed by SIGKILL from outside the harness';
    expect(faultClass(power(false, killed), lost, [])).to.equal('error');
    expect(faultClass(power(false, killed), lost, fatal), 'a kernel report before the kill still names a crash').to.equal('crash');
  });
});
