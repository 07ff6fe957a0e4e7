// Kernel fault classification: whole texts and a console stream split anywhere.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { KernelEventWatcher, classifyKernelText, type KernelEventStart } from '../src/parsers/kernel-events.ts';
import type { KernelEvent } from '../src/results/model.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/parsers/kernel/${name}`, import.meta.url), 'utf8');
const summary = (events: KernelEvent[]): string[] => events.map((e) => `${e.class}${e.fatal ? '!' : ''}: ${e.firstLine}`);
const lines = (e: KernelEvent | undefined): string[] => (e?.text ?? '').split('\n');

/** A small deterministic PRNG, so a failing split can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Feeds `text` in random pieces (1..maxPiece chars) and flushes. */
function streamed(text: string, seed: number, maxPiece: number, options = {}): KernelEvent[] {
  const w = new KernelEventWatcher(options);
  const rand = rng(seed);
  const out: KernelEvent[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(rand() * maxPiece);
    out.push(...w.feed(text.slice(i, i + n), i));
    i += n;
  }
  out.push(...w.flush());
  expect(w.events()).to.deep.equal(out);
  return out;
}

describe('parsers/kernel-events', () => {
  describe('ARM 6.1 (the emulated board)', () => {
    it('turns the stage 1 NULL ndo_start_xmit oops + panic into two fatal events', () => {
      const events = classifyKernelText(fixture('arm-null-xmit-oops-panic.console.txt'));
      expect(summary(events)).to.deep.equal([
        'oops!: Unable to handle kernel NULL pointer dereference at virtual address 00000000',
        'panic!: Kernel panic - not syncing: Fatal exception in interrupt',
      ]);
      const oops = lines(events[0]);
      expect(oops[0]).to.equal('8<--- cut here ---');
      expect(oops).to.include('Internal error: Oops: 80000005 [#1] PREEMPT ARM');
      expect(oops).to.include(' dev_hard_start_xmit from sch_direct_xmit+0xb0/0x2a8');
      expect(oops.at(-1)).to.equal('---[ end trace 0000000000000000 ]---');
      expect(oops.some((l) => l.includes('~ #') || l.includes('PING'))).to.equal(false);
      expect(events[1]?.text).to.equal('Kernel panic - not syncing: Fatal exception in interrupt');
    });

    it('classifies the real capture from the emulated board (stage 1, NULL ndo_start_xmit) the same way', () => {
      const text = fixture('board-qemu-imx25-null-xmit.console.txt');
      const events = classifyKernelText(text);
      expect(summary(events)).to.deep.equal([
        'oops!: Unable to handle kernel NULL pointer dereference at virtual address 00000000',
        'panic!: Kernel panic - not syncing: Fatal exception in interrupt',
      ]);
      const oops = lines(events[0]);
      expect(oops[0]).to.match(/8<--- cut here ---$/);
      expect(oops.some((l) => l.includes('Internal error: Oops: 80000005 [#1] PREEMPT ARM'))).to.equal(true);
      expect(oops.some((l) => l.includes('Modules linked in: virt_net1(O)'))).to.equal(true);
      expect(oops.some((l) => l.includes('login:') || l.includes('crng init'))).to.equal(false);
      for (const [seed, max] of [[1, 1], [9, 64]] as const) {
        expect(summary(streamed(text, seed, max)), `seed ${seed}`).to.deep.equal(summary(events));
      }
    });

    it('gives the same events whatever way the console splits the stream', () => {
      const text = fixture('arm-null-xmit-oops-panic.console.txt');
      const whole = classifyKernelText(text).map(({ class: c, firstLine, text: t, fatal }) => ({ c, firstLine, t, fatal }));
      for (const [seed, max] of [[1, 1], [2, 3], [3, 17], [4, 200], [5, 4096]] as const) {
        const got = streamed(text, seed, max).map(({ class: c, firstLine, text: t, fatal }) => ({ c, firstLine, t, fatal }));
        expect(got, `seed ${seed}, pieces up to ${max}`).to.deep.equal(whole);
      }
    });

    it('tells as soon as a report starts, and emits the oops when the panic line shows it fatal', () => {
      const starts: KernelEventStart[] = [];
      const emitted: KernelEvent[] = [];
      const w = new KernelEventWatcher({ onStart: (s) => starts.push(s), onEvent: (e) => emitted.push(e) });
      const text = fixture('arm-null-xmit-oops-panic.console.txt');
      const endOfTrace = text.indexOf('---[ end trace');
      w.feed(text.slice(0, text.indexOf('Internal error')), 100);
      expect(starts).to.deep.equal([{ class: 'oops', line: '8<--- cut here ---', fatal: false, atMs: 100 }]);
      expect(w.inReport).to.equal(true);
      w.feed(text.slice(text.indexOf('Internal error'), endOfTrace + 40), 200);
      expect(emitted, 'held until the next line says whether it was fatal').to.have.length(0);
      w.feed(text.slice(endOfTrace + 40), 300);
      expect(summary(emitted)).to.deep.equal(['oops!: Unable to handle kernel NULL pointer dereference at virtual address 00000000']);
      expect(starts.map((s) => s.class)).to.deep.equal(['oops', 'panic']);
      expect(starts[1]?.fatal).to.equal(true);
      expect(w.flush().map((e) => e.class)).to.deep.equal(['panic']);
      expect(emitted[0]?.atMs).to.equal(100);
    });

    it('classifies BUG_ON (kernel BUG at) as one bug event, not fatal without a panic', () => {
      const events = classifyKernelText(fixture('arm-bug-free-netdev.dmesg.txt'));
      expect(summary(events)).to.deep.equal(['bug: kernel BUG at net/core/dev.c:10753!']);
      expect(lines(events[0])).to.have.length(34);
    });

    it('makes a WARNING inside a cut-here block one warning, up to its end marker', () => {
      const events = classifyKernelText(fixture('arm-warn-then-normal.dmesg.txt'));
      expect(summary(events)).to.deep.equal(['warning: WARNING: CPU: 0 PID: 0 at net/sched/sch_generic.c:525 dev_watchdog+0x2d8/0x2e0']);
      expect(lines(events[0])[0]).to.equal('[   18.020310] ------------[ cut here ]------------');
      expect(lines(events[0]).at(-1)).to.equal('[   18.036108] ---[ end trace 0000000000000000 ]---');
      expect(events[0]?.text).to.not.contain('cnt = 2');
    });

    it('ignores a user-space fault report (CONFIG_DEBUG_USER) under "8<--- cut here"', () => {
      const text = ['8<--- cut here ---', 'ping: unhandled page fault (11) at 0x00000000, code 0x017', 'pgd = c1d68000', '[00000000] *pgd=00000000', 'CPU: 0 PID: 1 Comm: ping'].join('\n');
      expect(classifyKernelText(text)).to.deep.equal([]);
    });

    it('finds a panic printed after a shell prompt on the same line', () => {
      const events = classifyKernelText('~ # [   33.100000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n');
      expect(summary(events)).to.deep.equal(['panic!: Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b']);
      expect(classifyKernelText('~ # Kernel panic - not syncing: VFS: Unable to mount root fs')[0]?.firstLine).to.equal('Kernel panic - not syncing: VFS: Unable to mount root fs');
    });

    it('reads dmesg -r (level-prefixed) reports', () => {
      const raw = fixture('arm-warn-then-normal.dmesg.txt').replace(/^\[/gm, '<4>[');
      expect(summary(classifyKernelText(raw))).to.deep.equal(['warning: WARNING: CPU: 0 PID: 0 at net/sched/sch_generic.c:525 dev_watchdog+0x2d8/0x2e0']);
    });
  });

  describe('other architectures', () => {
    it('x86: BUG: NULL dereference + Oops, register summary, then the panic', () => {
      const events = classifyKernelText(fixture('x86-null-deref-panic.dmesg.txt'));
      expect(summary(events)).to.deep.equal([
        'oops!: BUG: kernel NULL pointer dereference, address: 0000000000000000',
        'panic!: Kernel panic - not syncing: Fatal exception in interrupt',
      ]);
      expect(lines(events[1]).at(-1)).to.match(/---\[ end Kernel panic - not syncing: Fatal exception in interrupt \]---$/);
    });

    it('arm64: "Oops: Fatal exception in interrupt" panics make the oops fatal too', () => {
      const events = classifyKernelText(fixture('arm64-oops.console.txt'));
      expect(summary(events)).to.deep.equal([
        'oops!: Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
        'panic!: Kernel panic - not syncing: Oops: Fatal exception in interrupt',
      ]);
      expect(lines(events[1])).to.have.length(6);
    });
  });

  describe('reports without an end marker and the other detectors', () => {
    it('classifies each report of a mixed dmesg once, with the right extent', () => {
      const events = classifyKernelText(fixture('mixed-reports.dmesg.txt'));
      expect(summary(events)).to.deep.equal([
        'soft-lockup: watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [insmod:141]',
        'hung-task: INFO: task rmmod:156 blocked for more than 120 seconds.',
        'rcu-stall: rcu: INFO: rcu_preempt self-detected stall on CPU',
        'kasan: BUG: KASAN: slab-use-after-free in virt_net_send_packet+0x1b4/0x1d4 [virt_net4]',
        'ubsan: UBSAN: shift-out-of-bounds in drivers/net/virt_net4.c:71:19',
        // "kmemleak: 3 new suspected memory leaks" is not one: it counts the whole kernel's suspects.
        'lockdep: WARNING: possible circular locking dependency detected',
      ]);
      const [lockup, hung, rcu, kasan, ubsan, lockdep] = events;
      // No end marker: each ends where the timestamps pause.
      expect(lines(lockup)).to.have.length(12);
      expect(hung?.text).to.not.contain('crng');
      expect(lines(rcu)).to.have.length(6);
      // KASAN and UBSAN: from the opening '=====' line to the closing one, blank lines kept.
      expect(lines(kasan)[0]).to.match(/\] =+$/);
      expect(lines(kasan).at(-1)).to.match(/\] =+$/);
      expect(lines(kasan)).to.have.length(22);
      expect(kasan?.text).to.not.contain('Disabling lock debugging');
      expect(lines(ubsan)).to.have.length(9);
      expect(lines(lockdep)[0]).to.match(/\] =+$/);
      expect(lockdep?.text).to.not.contain('after the lockdep report');
    });

    it('reads kmemleak objects (debugfs) one event per object', () => {
      const events = classifyKernelText(fixture('kmemleak-objects.txt'));
      expect(summary(events)).to.deep.equal([
        'kmemleak: unreferenced object 0xc4e1b180 (size 168):',
        'kmemleak: unreferenced object 0xc4e1b240 (size 168):',
      ]);
      expect(lines(events[0])).to.have.length(10);
    });

    it('gives nothing for a clean log', () => {
      expect(classifyKernelText(fixture('stage2-send-packet.dmesg.txt'))).to.deep.equal([]);
      expect(classifyKernelText('')).to.deep.equal([]);
    });

    it('ends an open report at a line without timestamp after timestamped ones (user output)', () => {
      const text = '[   10.000000] INFO: task sh:1 blocked for more than 120 seconds.\n[   10.000100]  schedule from x\n~ # echo hi\nhi\n';
      expect(lines(classifyKernelText(text)[0])).to.have.length(2);
    });

    it('ends an open report when the board reboots', () => {
      const text = '[   50.000000] Kernel panic - not syncing: Fatal exception\n[   50.000100] Rebooting in 1 seconds..\n[    0.000000] Booting Linux on physical CPU 0x0\n';
      const events = classifyKernelText(text);
      expect(summary(events)).to.deep.equal(['panic!: Kernel panic - not syncing: Fatal exception']);
      expect(lines(events[0])).to.have.length(2);
      const noStamp = classifyKernelText('Kernel panic - not syncing: Fatal exception\nCPU: 0 PID: 1\nBooting Linux on physical CPU 0x0\nLinux version 6.1.0');
      expect(lines(noStamp[0])).to.deep.equal(['Kernel panic - not syncing: Fatal exception', 'CPU: 0 PID: 1']);
    });

    it('bounds a report whose end marker never comes', () => {
      const text = ['------------[ cut here ]------------', 'WARNING: CPU: 0 PID: 1 at a.c:1 f+0x0/0x4', ...Array.from({ length: 100 }, (_, i) => `junk ${i}`)].join('\n');
      const events = classifyKernelText(text, { maxLines: 20 });
      expect(events).to.have.length(1);
      expect(lines(events[0])).to.have.length(20);
      expect(events[0]?.class).to.equal('warning');
    });
  });

  describe('one report, one event', () => {
    it('takes the WARNING line as first line even after a custom message (x86 WARN())', () => {
      const text = ['------------[ cut here ]------------', 'vnet0: queue stopped twice', 'WARNING: CPU: 1 PID: 7 at drivers/net/virt_net4.c:90 virt_net_send_packet+0x1/0x2 [virt_net4]', 'Call Trace:', '---[ end trace 0000000000000000 ]---'].join('\n');
      expect(summary(classifyKernelText(text))).to.deep.equal(['warning: WARNING: CPU: 1 PID: 7 at drivers/net/virt_net4.c:90 virt_net_send_packet+0x1/0x2 [virt_net4]']);
    });

    it('splits a panic_on_warn panic from its warning', () => {
      const text = ['------------[ cut here ]------------', 'WARNING: CPU: 0 PID: 1 at a.c:1 f+0x0/0x4', 'Modules linked in:', 'Kernel panic - not syncing: kernel: panic_on_warn set ...', 'CPU: 0 PID: 1 Comm: sh'].join('\n');
      expect(summary(classifyKernelText(text))).to.deep.equal(['warning: WARNING: CPU: 0 PID: 1 at a.c:1 f+0x0/0x4', 'panic!: Kernel panic - not syncing: kernel: panic_on_warn set ...']);
    });

    it('starts over at a second cut-here when the first had nothing in it', () => {
      const text = ['------------[ cut here ]------------', '------------[ cut here ]------------', 'kernel BUG at x.c:5!', '---[ end trace 0000000000000000 ]---'].join('\n');
      const events = classifyKernelText(text);
      expect(summary(events)).to.deep.equal(['bug: kernel BUG at x.c:5!']);
      expect(lines(events[0])).to.have.length(3);
    });

    it('keeps two consecutive warnings apart', () => {
      const one = ['------------[ cut here ]------------', 'WARNING: CPU: 0 PID: 1 at a.c:1 f+0x0/0x4', '---[ end trace 0000000000000000 ]---'];
      expect(classifyKernelText([...one, ...one])).to.have.length(2);
    });

    it('leaves a non-fatal oops non-fatal when something else follows it', () => {
      const text = fixture('arm-null-xmit-oops-panic.console.txt').replace('Kernel panic - not syncing: Fatal exception in interrupt', 'Segmentation fault');
      expect(summary(classifyKernelText(text))).to.deep.equal(['oops: Unable to handle kernel NULL pointer dereference at virtual address 00000000']);
    });

    it('drops reports older than ignoreBeforeMs (a dmesg echoed on the watched console)', () => {
      const text = fixture('mixed-reports.dmesg.txt');
      const events = classifyKernelText(text, { ignoreBeforeMs: 550_000 });
      expect(events.map((e) => e.class)).to.deep.equal(['ubsan', 'lockdep']);
      // Lines of a dropped report do not leak into the next one.
      expect(events[0]?.text).to.not.contain('KASAN');
    });

    it('decodes UTF-8 split across byte chunks', () => {
      const w = new KernelEventWatcher();
      const bytes = Buffer.from('[    1.000000] BUG: scheduling while atomic: ✓\n[    9.000000] ok\n', 'utf8');
      const cut = bytes.indexOf(0xe2) + 1;
      w.feed(bytes.subarray(0, cut));
      w.feed(bytes.subarray(cut));
      w.flush();
      expect(w.events().map((e) => e.firstLine)).to.deep.equal(['BUG: scheduling while atomic: ✓']);
    });
  });
});
