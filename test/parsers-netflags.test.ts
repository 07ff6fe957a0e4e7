// IFF_* flag decoding, checked against the kernel's own header.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { IFF, decodeFlags, encodeFlags, formatFlags, hasFlag, parseFlagWord } from '../src/parsers/netflags.ts';
import { ParseError } from '../src/parsers/parse-error.ts';
import { requireOnHost } from './helpers/require-host.ts';

/** The uapi header: the host's linux-libc-dev copy, or the unpacked kernel source. */
const HEADERS = ['/usr/include/linux/if.h'];

describe('parsers/netflags', () => {
  it('decodes the stage 4 word 0x1083 (measured on the emulated board)', () => {
    expect(decodeFlags(0x1083)).to.deep.equal(['UP', 'BROADCAST', 'NOARP', 'MULTICAST']);
    expect(formatFlags(0x1083)).to.equal('0x1083 <UP|BROADCAST|NOARP|MULTICAST>');
    expect(hasFlag(0x1083, 'NOARP')).to.equal(true);
    expect(hasFlag(0x1003, 'NOARP')).to.equal(false);
  });

  it('decodes the host loopback and a down interface', () => {
    expect(decodeFlags(0x9)).to.deep.equal(['UP', 'LOOPBACK']);
    expect(decodeFlags(0x82)).to.deep.equal(['BROADCAST', 'NOARP']);
    expect(decodeFlags(0)).to.deep.equal([]);
  });

  it('shows unknown bits as hex instead of dropping them', () => {
    expect(decodeFlags(0x80001)).to.deep.equal(['UP', '0x80000']);
    expect(decodeFlags(0x80000000)).to.deep.equal(['0x80000000']);
  });

  it('round-trips every name through encodeFlags', () => {
    for (const [name, bit] of Object.entries(IFF)) {
      expect(decodeFlags(bit)).to.deep.equal([name]);
      expect(encodeFlags([name])).to.equal(bit);
      expect(encodeFlags([`IFF_${name}`])).to.equal(bit);
    }
    expect(encodeFlags(['UP', 'BROADCAST', 'NOARP', 'MULTICAST'])).to.equal(0x1083);
    expect(() => encodeFlags(['UP', 'FAST'])).to.throw(RangeError, /unknown interface flag "FAST"/);
  });

  it('parses the sysfs text and refuses anything else', () => {
    expect(parseFlagWord('0x1083\n')).to.equal(0x1083);
    expect(() => parseFlagWord('4227')).to.throw(ParseError, /hex flag word/);
    expect(() => decodeFlags(-1)).to.throw(RangeError);
    expect(() => decodeFlags(2 ** 32)).to.throw(RangeError);
  });

  it('matches include/uapi/linux/if.h bit for bit', function () {
    const header = HEADERS.find((h) => existsSync(h));
    requireOnHost(this, header !== undefined, '/usr/include/linux/if.h (Debian linux-libc-dev)');
    const text = readFileSync(header as string, 'utf8');
    const fromHeader: Record<string, number> = {};
    for (const m of text.matchAll(/^\s*IFF_(\w+)\s*=\s*1\s*<<\s*(\d+),/gm)) fromHeader[m[1] as string] = 2 ** Number(m[2]);
    expect(Object.keys(fromHeader)).to.have.length(19);
    expect(fromHeader).to.deep.equal({ ...IFF });
  });
});
