// The debug board's leak list (/sys/kernel/debug/kmemleak) and which of its
// reports a stage caused (src/parsers/kmemleak.ts), on a list captured from
// the board after stage 3 with a seeded skb leak: one report is the
// stage's (the ARP request skb that ping sent through vnet0 and the driver
// never freed); the module loader's areas and the shell's dentries are not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { attributeLeaks, jiffiesAtOrAfter, moduleRange, parseKmemleak, stageLeakCause, type KmemleakObject } from '../src/parsers/kmemleak.ts';

const LIST = readFileSync(join(import.meta.dirname, 'fixtures', 'parsers', 'kernel', 'kmemleak-stage3-leak-skb.txt'), 'utf8');
/** jiffies when that stage began (its insmod allocated at 4294939246). */
const STAGE_START = 4294939240;
const SCOPE = { modules: ['virt_net3'], comms: ['ping', 'vnet_probe'], startJiffies: STAGE_START };

describe('parsers/kmemleak: the leak list and what a stage caused', () => {
  it('reads every report with its address, size, task, jiffies and backtrace', () => {
    const objects = parseKmemleak(LIST);
    expect(objects.map((o) => [o.address, o.size, o.comm, o.pid, o.jiffies])).to.deep.equal([
      ['0xc399cc00', 176, 'ping', 131, 4294939477],
      ['0xc2c38a40', 32, 'insmod', 124, 4294939246],
      ['0xc2c38680', 32, 'insmod', 124, 4294939246],
      ['0xc2fe7600', 32, 'insmod', 124, 4294939246],
      ['0xc1931980', 136, 'sh', 114, 4294939249],
      ['0xc192edc0', 352, 'sh', 114, 4294939249],
    ]);
    expect(objects[0]!.backtrace.slice(0, 3)).to.deep.equal(['__alloc_skb+0x1cc/0x29c', 'arp_create+0x18c/0x858', 'arp_send_dst+0x60/0x214']);
    expect(objects[0]!.text.split('\n')[0]).to.equal('unreferenced object 0xc399cc00 (size 176):');
    expect(objects.every((o) => o.text.includes('backtrace:'))).to.equal(true);
  });

  it('attributes the skb ping sent through the driver to the stage, and nothing else of the list', () => {
    const { stage, other } = attributeLeaks(parseKmemleak(LIST), SCOPE);
    expect(stage.map((o) => [o.address, o.cause])).to.deep.equal([
      ['0xc399cc00', "an skb of the stage's traffic (__alloc_skb by ping, pid 131) that nothing references after rmmod"],
    ]);
    expect(other.map((o) => o.comm)).to.deep.equal(['insmod', 'insmod', 'insmod', 'sh', 'sh']);
  });

  it('an object from before the stage is not its own, across the wrap of 32-bit jiffies', () => {
    const [skb] = parseKmemleak(LIST) as [KmemleakObject];
    expect(stageLeakCause(skb, { ...SCOPE, startJiffies: skb.jiffies + 1 })).to.equal(undefined);
    expect(stageLeakCause(skb, { ...SCOPE, startJiffies: skb.jiffies })).to.not.equal(undefined);
    expect(jiffiesAtOrAfter(5, 0xffff_fff0), 'just after the wrap').to.equal(true);
    expect(jiffiesAtOrAfter(0xffff_fff0, 5)).to.equal(false);
  });

  it('an skb of neither the stage\'s commands nor its ARP/ICMP path (the SSH session\'s) is not the stage\'s', () => {
    const [skb] = parseKmemleak(LIST) as [KmemleakObject];
    const ssh: KmemleakObject = { ...skb, comm: 'dropbear', backtrace: ['__alloc_skb+0x1cc/0x29c', 'tcp_stream_alloc_skb+0x1c/0x1b0', 'tcp_sendmsg_locked+0x2080/0x27f8'] };
    expect(stageLeakCause(ssh, SCOPE)).to.equal(undefined);
    const timer: KmemleakObject = { ...skb, comm: 'softirq', pid: 0 };
    expect(stageLeakCause(timer, SCOPE), 'the neighbour timer retransmitting ARP for 3.3.3.4').to.match(/^an skb of the stage's traffic \(__alloc_skb in arp_create\)/);
  });

  it('the module\'s own allocations: by name while loaded, by address once unloaded', () => {
    const [skb] = parseKmemleak(LIST) as [KmemleakObject];
    const named: KmemleakObject = { ...skb, comm: 'insmod', backtrace: ['kmalloc_trace+0x24/0x40', 'virt_net_init+0x30/0x100 [virt_net3]', 'do_one_initcall+0x50/0x2a0'] };
    expect(stageLeakCause(named, SCOPE)).to.equal('allocated by module virt_net3 (in its allocation backtrace)');
    const range = moduleRange('virt_net3 16384 0 - Live 0xbf000000');
    expect(range).to.deep.equal({ base: 0xbf000000, size: 16384 });
    const bare: KmemleakObject = { ...named, backtrace: ['kmalloc_trace+0x24/0x40', '0xbf000078', 'do_one_initcall+0x50/0x2a0'] };
    expect(stageLeakCause(bare, { ...SCOPE, moduleRanges: [range!] })).to.equal("allocated by the stage's module (unloaded; 0xbf000078 in its allocation backtrace)");
    expect(stageLeakCause(bare, { ...SCOPE, moduleRanges: [{ base: 0xbf100000, size: 16384 }] }), 'another module\'s address').to.equal(undefined);
    expect(moduleRange('virt_net3 16384 0 - Live 0x00000000'), 'kptr_restrict hides it').to.equal(undefined);
    // Captured on the board: unregister_netdev's netlink notice, allocated under the module's exit function but not by it.
    const notice: KmemleakObject = {
      ...named,
      comm: 'rmmod',
      backtrace: ['__alloc_skb+0x1cc/0x29c', 'rtmsg_ifa+0xe0/0x1c4', '__inet_del_ifa+0x530/0xca0', 'inetdev_event+0x538/0x12d8', 'raw_notifier_call_chain+0x9c/0x120', 'unregister_netdevice_many_notify+0xd2c/0x1bf4', 'unregister_netdevice_queue+0x278/0x32c', 'unregister_netdev+0x18/0x20', '0xbf000078', 'sys_delete_module+0x320/0x544'],
    };
    expect(stageLeakCause(notice, { ...SCOPE, moduleRanges: [range!] })).to.equal(undefined);
  });
});
