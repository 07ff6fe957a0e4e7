// The one-command sysfs reading: the command runs for real under busybox ash
// (and dash/bash when present) on the host's interfaces, and its output parses.
import { expect } from 'chai';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { InterfaceReading } from '../src/results/model.ts';
import { ParseError } from '../src/parsers/parse-error.ts';
import { parseSysfsReading, statisticsDelta, sysfsReadCommand } from '../src/parsers/sysfs.ts';
import { requireOnHost } from './helpers/require-host.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/parsers/sysfs/${name}`, import.meta.url), 'utf8');
const AT = '2025-01-01T00:00:00.000Z';

/** An interface of this host whose carrier file cannot be read (it is down), if any. */
function downInterface(): string | undefined {
  for (const name of readdirSync('/sys/class/net')) {
    try {
      readFileSync(`/sys/class/net/${name}/carrier`, 'utf8');
    } catch {
      if (/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) return name;
    }
  }
  return undefined;
}

/** Runs a script under a shell given as argv (`busybox ash`, `dash`, `bash --posix`). */
function underShell(argv: string[], script: string): SpawnSyncReturns<string> {
  // spawns: busybox dash bash
  return spawnSync(argv[0] as string, [...argv.slice(1), '-c', script], { encoding: 'utf8' });
}

function hasShell(argv: string[]): boolean {
  // spawns: busybox dash bash
  return spawnSync(argv[0] as string, [...argv.slice(1), '-c', 'true']).status === 0;
}

describe('parsers/sysfs', () => {
  it('parses a reading of lo', () => {
    const r = parseSysfsReading(fixture('host-lo.txt'), AT);
    if (!r.present) throw new Error('lo reported missing');
    expect(r.iface).to.equal('lo');
    expect(r.reading).to.deep.include({ at: AT, address: '00:00:00:00:00:00', flags: 0x9, mtu: 65536, type: 772, operstate: 'unknown' });
    expect(r.reading.flagNames).to.deep.equal(['UP', 'LOOPBACK']);
    expect(r.reading.statistics).to.include({ rx_packets: 159153, tx_packets: 159153, rx_bytes: 6534043717, tx_dropped: 0 });
    expect(Object.keys(r.reading.statistics)).to.have.length(24);
    expect(r.raw).to.include({ carrier: '1', ifindex: '1', tx_queue_len: '1000' });
    expect(r.unreadable).to.deep.equal([]);
  });

  it('lists files that exist but cannot be read (carrier of a down interface)', () => {
    const r = parseSysfsReading(fixture('host-ifb0.txt'), AT);
    if (!r.present) throw new Error('ifb0 reported missing');
    expect(r.unreadable).to.deep.equal(['carrier']);
    expect(r.reading).to.deep.include({ flags: 0x82, operstate: 'down', address: 'a2:f9:41:f6:2c:48' });
    expect(r.reading.flagNames).to.deep.equal(['BROADCAST', 'NOARP']);
  });

  it('reports a missing interface as not present', () => {
    expect(parseSysfsReading(fixture('host-missing-vnet0.txt'))).to.deep.equal({ iface: 'vnet0', present: false });
  });

  it('reads CRLF output and ignores shell noise before the header', () => {
    const text = `~ # some prompt echo\r\n${fixture('host-lo.txt').replace(/\n/g, '\r\n')}`;
    const r = parseSysfsReading(text, AT);
    expect(r.present && r.reading.mtu).to.equal(65536);
  });

  it('refuses truncated, foreign and malformed output with the line', () => {
    const lo = fixture('host-lo.txt');
    expect(() => parseSysfsReading(lo.replace('@end\n', ''))).to.throw(ParseError, /cut short/);
    expect(() => parseSysfsReading('sh: syntax error\n')).to.throw(ParseError, /no "@sysfs" or "@missing" header/);
    expect(() => parseSysfsReading(lo.replace('mtu=65536', 'mtu=lots'))).to.throw(ParseError, /line 4: "mtu=lots"/);
    // What the kernel prints for a device freed while still registered: kept as read, for the checks to judge.
    const freed = parseSysfsReading(lo.replace(/^address=.*$/m, 'address=(null)'));
    expect(freed.present && freed.reading.address).to.equal('(null)');
    expect(() => parseSysfsReading(lo.replace('flags=0x9', 'flags=9'))).to.throw(ParseError, /flags: expected a hex flag word/);
    expect(() => parseSysfsReading(lo.replace('mtu=65536', 'what is this'))).to.throw(ParseError, /file=value/);
    expect(() => parseSysfsReading(lo.replace('@sysfs 1', '@sysfs 2'))).to.throw(ParseError, /unknown header/);
  });

  it('computes counter deltas', () => {
    const before: InterfaceReading = { at: AT, statistics: { tx_packets: 0, tx_bytes: 0, rx_packets: 5 } };
    const after: InterfaceReading = { at: AT, statistics: { tx_packets: 3, tx_bytes: 294, rx_packets: 5, rx_dropped: 1 } };
    expect(statisticsDelta(before, after)).to.deep.equal({ tx_packets: 3, tx_bytes: 294, rx_packets: 0 });
  });

  it('refuses interface names a shell could misread', () => {
    expect(() => sysfsReadCommand('vnet0; reboot')).to.throw(RangeError, /not a valid interface name/);
    expect(() => sysfsReadCommand('')).to.throw(RangeError);
    expect(() => sysfsReadCommand('a'.repeat(16))).to.throw(RangeError);
  });

  for (const shell of [['busybox', 'ash'], ['dash'], ['bash', '--posix']]) {
    describe(`the command under ${shell.join(' ')}`, () => {
      before(function () {
        requireOnHost(this, hasShell(shell), `${shell[0]} (Debian ${shell[0]})`);
      });

      it('reads lo in one run, matching the kernel', () => {
        const out = underShell(shell, sysfsReadCommand('lo'));
        expect(out.status).to.equal(0);
        expect(out.stderr).to.equal('');
        const r = parseSysfsReading(out.stdout);
        if (!r.present) throw new Error('lo reported missing');
        expect(r.reading.mtu).to.equal(Number(readFileSync('/sys/class/net/lo/mtu', 'utf8')));
        expect(r.reading.flags).to.equal(Number.parseInt(readFileSync('/sys/class/net/lo/flags', 'utf8'), 16));
        expect(r.reading.statistics.rx_packets).to.be.a('number');
      });

      it('marks an unreadable file as such instead of repeating the previous value', function () {
        const down = downInterface();
        requireOnHost(this, down !== undefined, 'a network interface without carrier (its carrier file unreadable)');
        const out = underShell(shell, sysfsReadCommand(down as string));
        const r = parseSysfsReading(out.stdout);
        if (!r.present) throw new Error(`${down} reported missing`);
        expect(r.unreadable).to.include('carrier');
        expect(r.raw).to.not.have.property('carrier');
      });

      it('reports a missing interface, leaving the shell running (no exit)', () => {
        const out = underShell(shell, `${sysfsReadCommand('vnet9')}; echo still-here`);
        expect(out.stdout).to.equal('@missing vnet9\n@end\nstill-here\n');
      });
    });
  }
});
