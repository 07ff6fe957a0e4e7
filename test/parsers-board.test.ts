// The parsers on output captured verbatim from the emulated board (busybox
// 1.35 armel, Linux 6.1.192-vnet) while the project's drivers were loaded:
// see test/fixtures/parsers/board/README.md for the command behind each file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { dmesgDelta, parseDmesg, sendPacketCounts } from '../src/parsers/dmesg.ts';
import { decodeFlags } from '../src/parsers/netflags.ts';
import { allAnswered, parsePing } from '../src/parsers/ping.ts';
import { parseProbeOutput } from '../src/parsers/probe.ts';
import { parseSysfsReading } from '../src/parsers/sysfs.ts';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, 'fixtures', 'parsers', 'board', name), 'utf8');

describe('parsers on real board output (qemu-imx25)', () => {
  it('busybox ping of the local address: 3/3 answered, with rtt summary', () => {
    const p = parsePing(fixture('ping-local-3.3.3.3.txt'));
    expect(p.flavor).to.equal('busybox');
    expect(p.stats).to.include({ target: '3.3.3.3', transmitted: 3, received: 3, lossPercent: 0 });
    expect(p.replies.map((r) => r.seq)).to.deep.equal([0, 1, 2]);
    expect(p.stats?.rttAvgMs).to.be.a('number');
    expect(allAnswered(p)).to.equal(true);
  });

  it('busybox ping of 3.3.3.4 at stage 2: no reply, 100 % loss, no rtt line', () => {
    const p = parsePing(fixture('ping-remote-noreply.txt'));
    expect(p.stats).to.include({ transmitted: 1, received: 0, lossPercent: 100 });
    expect(p.stats?.rttAvgMs).to.equal(undefined);
    expect(p.replies).to.have.length(0);
  });

  it('busybox ping of 3.3.3.4 at stage 4: answered 3/3 through the emulated wire', () => {
    const p = parsePing(fixture('ping-remote-stage4.txt'));
    expect(p.stats).to.include({ target: '3.3.3.4', transmitted: 3, received: 3, lossPercent: 0 });
    expect(p.replies.every((r) => r.from === '3.3.3.4' && r.bytes === 64)).to.equal(true);
  });

  it('the probe at stage 4: 5 valid replies, every check ok', () => {
    const r = parseProbeOutput(fixture('probe-stage4.txt'));
    expect(r.summary).to.include({ sent: 5, received: 5, valid: 5, bad: 0, timeouts: 0 });
    expect(r.replies.map((x) => [x.seq, x.valid, x.icmpChecksumOk, x.ipChecksumOk, x.payloadOk])).to.deep.equal(
      [1, 2, 3, 4, 5].map((s) => [s, true, true, true, true]),
    );
    expect(r.rttsMs).to.have.length(5);
  });

  it('sysfs reading of vnet0 at stage 4: MAC, NOARP flags, counters', () => {
    const s = parseSysfsReading(fixture('sysfs-vnet0-stage4.txt'));
    if (!s.present) throw new Error('vnet0 missing in the capture');
    expect(s.reading.address).to.equal('08:89:89:89:89:11');
    expect(s.reading.flags).to.equal(0x1083);
    expect(decodeFlags(s.reading.flags ?? 0)).to.deep.equal(['UP', 'BROADCAST', 'NOARP', 'MULTICAST']);
    expect(s.reading.mtu).to.equal(1500);
    expect(s.reading.type).to.equal(1);
    // 3 pings + 5 probe requests, each answered.
    expect(s.reading.statistics).to.include({ tx_packets: 8, rx_packets: 8 });
  });

  it('sysfs reading when vnet0 does not exist', () => {
    expect(parseSysfsReading(fixture('sysfs-missing-vnet0.txt'))).to.deep.equal({ iface: 'vnet0', present: false });
  });

  it('dmesg with timestamps: the stage 2 cnt lines count from 1', () => {
    const lines = parseDmesg(fixture('dmesg-stage2.txt'));
    expect(lines.every((l) => l.timeMs !== undefined)).to.equal(true);
    const counts = sendPacketCounts(lines);
    expect(counts.length).to.be.greaterThan(0);
    expect(counts).to.deep.equal(counts.map((_, i) => i + 1));
  });

  it('dmesg -r (level prefixes) parses with levels, and a delta against itself is empty', () => {
    const text = fixture('dmesg-raw-stage4.txt');
    const lines = parseDmesg(text);
    expect(lines.length).to.be.greaterThan(0);
    expect(lines.every((l) => l.level !== undefined)).to.equal(true);
    expect(dmesgDelta(text, text).lines).to.have.length(0);
  });
});
