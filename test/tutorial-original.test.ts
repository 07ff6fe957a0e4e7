// examples/tutorial-original (issue 15, point 5): the tutorial's own four
// drivers build with the harness against the emulated board's kernel, as the
// modules the stage suites expect, each change from the tutorial marked as a
// 6.1 port and the defects kept; it stays outside the checkpatch gate. Also:
// the seeded patches meant for a KASAN/kmemleak board apply to the project's
// drivers and build without a warning.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'chai';
import { buildModules } from '../src/build/modules.ts';
import { MODULE_NAMES } from '../src/stages/plan.ts';
import { emulatedKernelTree } from './helpers/kernel.ts';

const ROOT = join(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/tutorial-original');
const DRIVERS = join(ROOT, 'kernel-modules/virt_net');
const BUGS = join(ROOT, 'test/fixtures/bugs');
const ARCH = process.env.VNET_ARCH ?? 'arm';
const CROSS = process.env.VNET_CROSS_COMPILE ?? 'arm-linux-gnueabi-';
const source = (stage: number): string => readFileSync(join(EXAMPLE, `virt_net${stage}.c`), 'utf8');

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `vnet-${tag}-`));
  temps.push(d);
  return d;
}

async function armBuild(sourceDir: string) {
  return buildModules({ board: 'qemu-imx25', kernelDir: await emulatedKernelTree(), arch: ARCH, crossCompile: CROSS, sourceDir, buildDir: tempDir('build') });
}

describe('examples/tutorial-original: the tutorial\'s drivers on 6.1 @board', function () {
  this.timeout(45 * 60_000);

  it('builds the four modules the suites expect; the only warnings are the tutorial\'s unused cnt in stage 4', async () => {
    const results = await armBuild(EXAMPLE);
    expect(results.map((r) => [r.stage, r.ok, r.module ? basename(r.module, '.ko') : undefined])).to.deep.equal(
      MODULE_NAMES.map((m, i) => [i + 1, true, m]),
    );
    const warnings = results.flatMap((r) => r.warnings.map((w) => `${basename(w.file ?? '')}:${w.line}: ${w.message}`));
    expect(warnings).to.have.length.above(0);
    for (const w of warnings) expect(w).to.match(/^virt_net4\.c:81: .*'cnt'/);
  });

  it('keeps the defects: NULL transmit hook, skbs never freed, skb->len after the free, every frame rewritten as ICMP', () => {
    expect(source(1)).to.match(/\.ndo_start_xmit\s*= NULL,/);
    for (const stage of [2, 3]) {
      const hook = /static int virt_net_send_packet[\s\S]*?\n}/.exec(source(stage))?.[0] ?? '';
      expect(hook, `stage ${stage}`).to.contain('return 0;');
      expect(hook, `stage ${stage} frees nothing`).to.not.match(/kfree_skb|consume_skb/);
    }
    expect(source(4)).to.match(/dev_kfree_skb \(skb\);[\s\S]*tx_bytes \+= skb->len;/);
    expect(source(4)).to.contain('type = skb->data + sizeof(struct ethhdr) + sizeof(struct iphdr);');
    expect(source(4)).to.contain('rx_skb->ip_summed = CHECKSUM_UNNECESSARY;');
  });

  it('marks every change from the tutorial as a 6.1 port: four kinds, nothing else', () => {
    const marks = [1, 2, 3, 4].flatMap((s) => [...source(s).matchAll(/\/\* 6\.1 port: ([^*]*)\*\//g)].map((m) => `${s}: ${m[1]!.split(/[:;(]/)[0]!.trim()}`));
    expect(marks).to.deep.equal([
      '1: <asm/system.h> removed', '1: alloc_netdev',
      '2: <asm/system.h> removed', '2: alloc_netdev',
      '3: <asm/system.h> removed', '3: alloc_netdev', '3: dev_addr is const since 5.17',
      '4: <asm/system.h> removed', '4: alloc_netdev', '4: dev_addr is const since 5.17',
      '4: NETIF_F_NO_CSUM removed in 3.2',
    ]);
  });

  it('is outside the checkpatch gate (test/checkpatch.test.ts scans kernel-modules/ only)', () => {
    const gate = readFileSync(join(ROOT, 'test/checkpatch.test.ts'), 'utf8');
    expect(gate).to.not.contain('examples');
    expect(gate).to.match(/const DRIVERS = join\(ROOT, 'kernel-modules\/virt_net'\)/);
  });
});

describe('seeded patches for a KASAN/kmemleak board apply and build without a warning @board', function () {
  this.timeout(45 * 60_000);
  for (const [patch, stage] of [['stage3-leak-skb.patch', 3], ['stage4-uaf-skb-len.patch', 4], ['stage4-oob-short-frame.patch', 4]] as const) {
    it(`${patch} (stage ${stage})`, async () => {
      const dir = tempDir('bug');
      cpSync(DRIVERS, dir, { recursive: true });
      execFileSync('patch', ['-p1', '--quiet', '-d', dir, '-i', join(BUGS, patch)]);
      const results = await armBuild(dir);
      const r = results.find((x) => x.stage === stage);
      expect(r?.ok, r?.log).to.equal(true);
      expect(results.flatMap((x) => x.warnings.map((w) => w.message))).to.deep.equal([]);
      expect(readdirSync(BUGS)).to.include(patch);
    });
  }
});
