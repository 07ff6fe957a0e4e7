// ping parser on real busybox 1.35 and iputils output captured on loopback
// (test/fixtures/parsers/ping/README.md says how each file was made).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ParseError } from '../src/parsers/parse-error.ts';
import { allAnswered, parsePing } from '../src/parsers/ping.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/parsers/ping/${name}`, import.meta.url), 'utf8');

describe('parsers/ping', () => {
  describe('busybox', () => {
    it('reads replies and the summary of a clean run', () => {
      const p = parsePing(fixture('busybox-ok.txt'));
      expect(p.flavor).to.equal('busybox');
      expect(p).to.include({ target: '127.0.0.1', address: '127.0.0.1', dataBytes: 56, duplicates: 0, errors: 0 });
      expect(p.stats).to.deep.equal({
        target: '127.0.0.1',
        transmitted: 3,
        received: 3,
        lossPercent: 0,
        rttMinMs: 0.053,
        rttAvgMs: 0.147,
        rttMaxMs: 0.332,
      });
      expect(p.replies.map((r) => [r.seq, r.bytes, r.from, r.ttl, r.timeMs, r.dup])).to.deep.equal([
        [0, 64, '127.0.0.1', 64, 0.332, false],
        [1, 64, '127.0.0.1', 64, 0.053, false],
        [2, 64, '127.0.0.1', 64, 0.058, false],
      ]);
      expect(p.replies[0]?.line).to.equal(2);
      expect(p.problems).to.deep.equal([]);
      expect(p.unrecognized).to.deep.equal([]);
      expect(p.failure).to.equal(undefined);
      expect(allAnswered(p)).to.equal(true);
    });

    it('reads quiet output (summary only) and other payload sizes', () => {
      const q = parsePing(fixture('busybox-quiet.txt'));
      expect(q.replies).to.have.length(0);
      expect(q.stats).to.include({ transmitted: 3, received: 3, rttMaxMs: 0.058 });
      const s = parsePing(fixture('busybox-size100.txt'));
      expect(s.dataBytes).to.equal(100);
      expect(s.replies.every((r) => r.bytes === 108)).to.equal(true);
    });

    it('marks (DUP!) replies and reads the duplicate count', () => {
      const p = parsePing(fixture('busybox-dup.txt'));
      expect(p.replies.map((r) => `${r.seq}${r.dup ? 'd' : ''}`)).to.deep.equal(['0', '0d', '1', '1d', '2']);
      expect(p.duplicates).to.equal(2);
      expect(p.stats).to.include({ transmitted: 3, received: 3, lossPercent: 0 });
      expect(allAnswered(p)).to.equal(false);
    });

    it('reads partial loss although busybox exits 0', () => {
      const p = parsePing(fixture('busybox-partial.txt'));
      expect(p.replies.map((r) => r.seq)).to.deep.equal([1, 3]);
      expect(p.stats).to.include({ transmitted: 4, received: 2, lossPercent: 50 });
      expect(allAnswered(p)).to.equal(false);
    });

    it('reads 100 % loss with no round-trip line', () => {
      for (const name of ['busybox-noreply.txt', 'busybox-deadline.txt']) {
        const p = parsePing(fixture(name));
        expect(p.stats?.received, name).to.equal(0);
        expect(p.stats?.lossPercent, name).to.equal(100);
        expect(p.stats?.rttAvgMs, name).to.equal(undefined);
        expect(p.failure, name).to.equal(undefined);
        expect(allAnswered(p), name).to.equal(false);
      }
      expect(parsePing(fixture('busybox-deadline.txt')).stats?.transmitted).to.equal(5);
    });

    it('reports "ping: sendto: ..." as the failure when no summary follows', () => {
      const u = parsePing(fixture('busybox-unreachable.txt'));
      expect(u.stats).to.equal(undefined);
      expect(u.failure).to.equal('sendto: Network is unreachable');
      expect(u.problems).to.deep.equal([{ kind: 'send-error', message: 'sendto: Network is unreachable', line: 2 }]);
      expect(parsePing(fixture('busybox-eperm.txt')).failure).to.equal('sendto: Operation not permitted');
    });

    it('finds an error glued to the PING header (unflushed stdout + stderr)', () => {
      const p = parsePing('PING 127.0.0.1 (127.0.0.1): 56 data bytesping: sendto: Operation not permitted\n');
      expect(p.target).to.equal('127.0.0.1');
      expect(p.failure).to.equal('sendto: Operation not permitted');
    });
  });

  describe('iputils', () => {
    it('reads replies, summary, elapsed time and mdev', () => {
      const p = parsePing(fixture('iputils-ok.txt'));
      expect(p.flavor).to.equal('iputils');
      expect(p.replies.map((r) => r.seq)).to.deep.equal([1, 2, 3]);
      expect(p.stats).to.deep.equal({
        target: '127.0.0.1',
        transmitted: 3,
        received: 3,
        lossPercent: 0,
        rttMinMs: 0.012,
        rttAvgMs: 0.029,
        rttMaxMs: 0.038,
      });
      expect(p.elapsedMs).to.equal(406);
      expect(p.rttMdevMs).to.equal(0.012);
      expect(allAnswered(p)).to.equal(true);
      expect(parsePing(fixture('iputils-quiet.txt')).stats).to.include({ received: 3, rttMaxMs: 0.038 });
    });

    it('reads +N duplicates', () => {
      const p = parsePing(fixture('iputils-dup.txt'));
      expect(p.duplicates).to.equal(2);
      expect(p.replies.filter((r) => r.dup).map((r) => r.seq)).to.deep.equal([1, 2]);
    });

    it('reads +N errors and the ICMP errors behind them', () => {
      const p = parsePing(fixture('iputils-errors.txt'));
      expect(p.errors).to.equal(3);
      expect(p.stats).to.include({ transmitted: 3, received: 0, lossPercent: 100 });
      expect(p.problems.filter((x) => x.kind === 'icmp-error').map((x) => x.seq)).to.deep.equal([1, 2, 3]);
      expect(p.problems.filter((x) => x.kind === 'send-error').map((x) => x.message)).to.deep.equal(
        Array(3).fill('sendmsg: Operation not permitted'),
      );
      expect(allAnswered(p)).to.equal(false);
    });

    it('reads "connect: Network is unreachable" with no header at all', () => {
      const p = parsePing(fixture('iputils-unreachable.txt'));
      expect(p.flavor).to.equal('iputils');
      expect(p.failure).to.equal('connect: Network is unreachable');
    });

    it('keeps warnings apart from errors', () => {
      const p = parsePing(fixture('iputils-timewarn.txt'));
      expect(p.problems.map((x) => x.kind)).to.deep.equal(['warning', 'warning', 'warning']);
      expect(allAnswered(p)).to.equal(true);
    });

    it('reads partial loss and 100 % loss', () => {
      expect(parsePing(fixture('iputils-partial.txt')).stats).to.include({ transmitted: 4, received: 2, lossPercent: 50 });
      expect(parsePing(fixture('iputils-noreply.txt')).stats).to.include({ transmitted: 1, received: 0, lossPercent: 100 });
    });
  });

  describe('other forms and bad input', () => {
    it('reads CRLF output from a serial console', () => {
      const p = parsePing(fixture('busybox-ok.txt').replace(/\n/g, '\r\n'));
      expect(p.stats).to.include({ transmitted: 3, received: 3 });
      expect(p.replies).to.have.length(3);
    });

    it('reads host names, iputils marks and replies without a time', () => {
      const p = parsePing(
        [
          'PING localhost (127.0.0.1) 56(84) bytes of data.',
          '64 bytes from localhost (127.0.0.1): icmp_seq=1 ttl=64 time=0.041 ms (BAD CHECKSUM!)',
          '16 bytes from 127.0.0.1: seq=0 ttl=64',
        ].join('\n'),
      );
      expect(p.replies[0]).to.include({ from: '127.0.0.1', seq: 1, timeMs: 0.041 });
      expect(p.replies[0]?.marks).to.deep.equal(['BAD CHECKSUM!']);
      expect(p.replies[1]).to.include({ bytes: 16, seq: 0 });
      expect(p.replies[1]?.timeMs).to.equal(undefined);
      expect(p.failure).to.match(/no summary/);
    });

    it('refuses output that is not ping output, naming it', () => {
      expect(() => parsePing('sh: ping: not found\n')).to.throw(ParseError, /ping parser: no PING header.*sh: ping: not found/);
      expect(() => parsePing('')).to.throw(ParseError, /input was empty/);
    });

    it('refuses a summary header without its count line, with the line number', () => {
      const text = 'PING 1.2.3.4 (1.2.3.4): 56 data bytes\n\n--- 1.2.3.4 ping statistics ---\ngarbage\n';
      try {
        parsePing(text);
        expect.fail('no error');
      } catch (e) {
        expect(e).to.be.instanceOf(ParseError);
        expect((e as ParseError).line).to.equal(4);
        expect((e as ParseError).input).to.equal(text);
        expect((e as Error).message).to.contain('line 4: "garbage"');
      }
    });
  });
});
