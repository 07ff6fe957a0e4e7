// dmesg lines in every form a board prints, snapshot deltas (with and without
// timestamps, across ring-buffer wrap and reboots), and the stage 2 cnt lines.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dmesgDelta, parseDmesg, parseDmesgLine, sendPacketCounts } from '../src/parsers/dmesg.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/parsers/kernel/${name}`, import.meta.url), 'utf8');

/** n lines "[   t.000000] msg i" with one line per ms from `from`. */
function timed(from: number, n: number, msg = 'line'): string[] {
  return Array.from({ length: n }, (_, i) => `[${((from + i) / 1000).toFixed(6).padStart(12)}] ${msg} ${from + i}`);
}

describe('parsers/dmesg', () => {
  describe('lines', () => {
    it('reads plain timestamped lines', () => {
      expect(parseDmesgLine('[    1.234567] virt_net_send_packet cnt = 1')).to.deep.equal({
        timeMs: 1234.567,
        text: 'virt_net_send_packet cnt = 1',
        raw: '[    1.234567] virt_net_send_packet cnt = 1',
      });
      expect(parseDmesgLine('[12345.000001] x').timeMs).to.equal(12345000.001);
    });

    it('reads lines without timestamps (no CONFIG_PRINTK_TIME) untouched', () => {
      expect(parseDmesgLine('virt_net_send_packet cnt = 1')).to.deep.equal({ text: 'virt_net_send_packet cnt = 1', raw: 'virt_net_send_packet cnt = 1' });
      // An ARM backtrace entry is not a timestamp.
      expect(parseDmesgLine('[<c04a7f40>] (dev_hard_start_xmit) from [<c04e8388>]').text).to.equal('[<c04a7f40>] (dev_hard_start_xmit) from [<c04e8388>]');
      expect(parseDmesgLine(' dev_hard_start_xmit from sch_direct_xmit+0xb0/0x2a8').text).to.equal(' dev_hard_start_xmit from sch_direct_xmit+0xb0/0x2a8');
    });

    it('reads dmesg -r level prefixes, with and without timestamps', () => {
      expect(parseDmesgLine('<6>[    1.500000] vnet0: up')).to.deep.include({ level: 6, timeMs: 1500, text: 'vnet0: up' });
      expect(parseDmesgLine('<4>WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x4')).to.deep.include({ level: 4, text: 'WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x4' });
      expect(parseDmesgLine('<14>[    2.000000] init: hi')).to.deep.include({ level: 6, facility: 1 });
    });

    it('reads /dev/kmsg records and keeps their dictionary lines', () => {
      const lines = parseDmesg('6,339,5140900,-;virt_net_send_packet cnt = 2\n SUBSYSTEM=net\n DEVICE=n3\n4,340,5141000,c;next\n');
      expect(lines).to.have.length(2);
      expect(lines[0]).to.deep.include({ level: 6, facility: 0, seq: 339, timeMs: 5140.9, text: 'virt_net_send_packet cnt = 2', dict: ['SUBSYSTEM=net', 'DEVICE=n3'] });
      expect(lines[1]).to.deep.include({ level: 4, seq: 340, text: 'next' });
    });

    it('reads dmesg -x and caller-id prefixes', () => {
      expect(parseDmesgLine('kern  :warn  : [   18.020917] WARNING: CPU: 0')).to.deep.include({ facility: 0, level: 4, timeMs: 18020.917, text: 'WARNING: CPU: 0' });
      expect(parseDmesgLine('[    3.000000][    T1] Run /init as init process')).to.deep.include({ timeMs: 3000, text: 'Run /init as init process' });
    });

    it('drops blank lines and CRs, keeps the rest in order', () => {
      const lines = parseDmesg(fixture('arm-null-xmit-oops-panic.console.txt'));
      expect(lines[0]?.text).to.equal('~ # insmod /tmp/vnet/virt_net1.ko');
      expect(lines.every((l) => !l.raw.includes('\r'))).to.equal(true);
      expect(lines.at(-1)?.text).to.equal('Kernel panic - not syncing: Fatal exception in interrupt');
    });
  });

  describe('cnt lines', () => {
    it('extracts N from each "virt_net_send_packet cnt = N" in order', () => {
      expect(sendPacketCounts(fixture('stage2-send-packet.dmesg.txt'))).to.deep.equal([1, 2, 3]);
      expect(sendPacketCounts(fixture('arm-warn-then-normal.dmesg.txt'))).to.deep.equal([1, 2]);
    });

    it('does not take the tutorial stage 2 spelling unless asked to', () => {
      const text = '[ 1.000000] vir_net_send_packet cnt = 1\n[ 1.100000] virt_net_send_packet cnt = 2\n';
      expect(sendPacketCounts(text)).to.deep.equal([2]);
      expect(sendPacketCounts(text, /\bvirt?_net_send_packet cnt = (\d+)/g)).to.deep.equal([1, 2]);
    });
  });

  describe('delta by timestamp', () => {
    it('returns only what came after the first snapshot', () => {
      const before = timed(1000, 5).join('\n');
      const after = [...timed(1000, 5), ...timed(2000, 3, 'new')].join('\n');
      const d = dmesgDelta(before, after);
      expect(d.method).to.equal('timestamp');
      expect(d.lines.map((l) => l.text)).to.deep.equal(['new 2000', 'new 2001', 'new 2002']);
      expect(d).to.include({ dropped: 0, gap: false, restarted: false });
    });

    it('handles lines sharing the last timestamp (multi-line records)', () => {
      const before = '[    5.000000] a\n[    5.000000] b';
      const after = '[    5.000000] a\n[    5.000000] b\n[    5.000000] c\n[    5.100000] d';
      expect(dmesgDelta(before, after).lines.map((l) => l.text)).to.deep.equal(['c', 'd']);
    });

    it('survives a ring buffer that wrapped (old lines gone)', () => {
      const before = timed(1000, 10).join('\n');
      const after = [...timed(1006, 4), ...timed(1010, 2, 'new')].join('\n');
      const d = dmesgDelta(before, after);
      expect(d.lines.map((l) => l.text)).to.deep.equal(['new 1010', 'new 1011']);
      expect(d).to.include({ dropped: 6, gap: false });
    });

    it('flags a gap when the wrap took everything the first snapshot had', () => {
      const d = dmesgDelta(timed(1000, 3).join('\n'), timed(5000, 2, 'new').join('\n'));
      expect(d.lines).to.have.length(2);
      expect(d).to.include({ gap: true, restarted: false, dropped: 3 });
    });

    it('flags a reboot when timestamps start over', () => {
      const d = dmesgDelta(timed(90000, 3).join('\n'), timed(0, 4, 'boot').join('\n'));
      expect(d.lines.map((l) => l.text)).to.deep.equal(['boot 0', 'boot 1', 'boot 2', 'boot 3']);
      expect(d).to.include({ restarted: true, gap: true });
    });
  });

  describe('delta by overlap (no timestamps)', () => {
    const old = ['vnet0: a', 'vnet0: b', 'virt_net_send_packet cnt = 1', 'vnet0: c'];

    it('returns what follows the first snapshot', () => {
      const d = dmesgDelta(old.join('\n'), [...old, 'virt_net_send_packet cnt = 2', 'virt_net_send_packet cnt = 3'].join('\n'));
      expect(d.method).to.equal('overlap');
      expect(sendPacketCounts(d.lines)).to.deep.equal([2, 3]);
      expect(d).to.include({ dropped: 0, gap: false });
    });

    it('finds the overlap after a wrap, even with the first line cut mid-record', () => {
      const after = ['net_send_packet cnt = 1', 'vnet0: c', 'x', 'y'];
      const d = dmesgDelta(old.join('\n'), after.join('\n'));
      expect(d.lines.map((l) => l.text)).to.deep.equal(['x', 'y']);
      expect(d.dropped).to.equal(2);
    });

    it('prefers the largest overlap when lines repeat', () => {
      const before = ['A', 'B', 'A', 'B'];
      const d = dmesgDelta(before.join('\n'), [...before, 'A', 'B'].join('\n'));
      expect(d.lines.map((l) => l.text)).to.deep.equal(['A', 'B']);
    });

    it('returns everything, flagged as a gap, when nothing overlaps', () => {
      const d = dmesgDelta(old.join('\n'), 'p\nq');
      expect(d.lines.map((l) => l.text)).to.deep.equal(['p', 'q']);
      expect(d.gap).to.equal(true);
    });

    it('falls back to overlap when only some lines have timestamps', () => {
      const before = '[    1.000000] a\nno stamp';
      const d = dmesgDelta(before, `${before}\n[    2.000000] b`);
      expect(d.method).to.equal('overlap');
      expect(d.lines.map((l) => l.text)).to.deep.equal(['b']);
    });

    it('handles empty snapshots', () => {
      expect(dmesgDelta('', 'a\nb').lines).to.have.length(2);
      expect(dmesgDelta('a', '').lines).to.have.length(0);
    });
  });
});
