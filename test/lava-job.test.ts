// src/lava/job.ts, stage-script.ts, artifacts.ts: the LAVA job lava-job
// writes is valid by LAVA's own schema (Debian's lava-common, strict as the
// server validates a submission), and a broken one is refused by it; the
// stage script reports exactly the suites' checks; the ramdisk is one archive.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { buildCpio } from '../src/emulated/cpio.ts';
import { lavaRamdisk, withoutTrailer } from '../src/lava/artifacts.ts';
import { lavaJob, lavaJobYaml, type LavaJobOptions } from '../src/lava/job.ts';
import { LAVA_BOARD_DIR, scriptCheckIds, stageScript } from '../src/lava/stage-script.ts';
import { SUITES_DIR } from '../src/stages/runner.ts';
import type { StageSuite } from '../src/stages/suite.ts';
import { requireOnHost } from './helpers/require-host.ts';

// Debian's Python (the lava-common package), not whatever python3 comes first in PATH.
const PYTHON = '/usr/bin/python3';
const VALIDATE = [
  'import sys, yaml',
  'from lava_common.schemas import validate',
  'try:',
  '    validate(yaml.safe_load(sys.stdin.read()), strict=sys.argv[1] == "strict")',
  'except Exception as e:',
  '    print("INVALID: %s: %s" % (type(e).__name__, e)); sys.exit(1)',
  'print("VALID")',
].join('\n');

function lavaCommonAvailable(): boolean {
  // spawns: python3
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import lava_common.schemas'], { encoding: 'utf8' }).status === 0;
}

/** LAVA's validation of a job definition (the server's strict mode, or the lenient one). */
function validate(yaml: string, mode: 'strict' | 'lenient' = 'strict'): { ok: boolean; said: string } {
  // spawns: python3
  const r = spawnSync(PYTHON, ['-c', VALIDATE, mode], { input: yaml, encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, said: `${r.stdout}${r.stderr}`.trim() };
}

const EMULATED: LavaJobOptions = {
  board: 'qemu-imx25',
  target: { kind: 'qemu', machine: 'imx25-pdk', memoryMiB: 128, append: 'console=ttymxc0,115200 panic=1' },
  images: { kernel: 'file:///srv/vnet/zImage', dtb: 'file:///srv/vnet/board.dtb', ramdisk: 'file:///srv/vnet/ramdisk.cpio.gz' },
  stages: [1, 2, 3, 4],
  driverRevision: 'abc123',
};

describe('lava-job: the LAVA job definition', () => {
  it('validates against LAVA\'s own schema (lava_common.schemas, strict), for the emulated board and a lab board', function () {
    this.timeout(60_000);
    requireOnHost(this, lavaCommonAvailable(), `${PYTHON} with lava_common (Debian package lava-common)`);
    const emulated = validate(lavaJobYaml(EMULATED));
    expect(emulated.said).to.equal('VALID');
    const lab = validate(lavaJobYaml({ ...EMULATED, board: 'imx257', target: { kind: 'u-boot', deviceType: 'imx25-pdk' }, stages: [3] }));
    expect(lab.said).to.equal('VALID');
  });

  it('is refused by the same validation when broken (a context variable LAVA does not know, a deploy without kernel, an extra key)', function () {
    this.timeout(60_000);
    requireOnHost(this, lavaCommonAvailable(), `${PYTHON} with lava_common (Debian package lava-common)`);
    const job = lavaJob(EMULATED);
    const badContext = { ...job, context: { ...(job.context as object), netdev: 'tap' } };
    const bad1 = validate(stringify(badContext));
    expect(bad1.ok).to.equal(false);
    expect(bad1.said).to.match(/INVALID.*netdev/);
    const actions = job.actions as Record<string, Record<string, unknown>>[];
    const { kernel: _k, ...deployWithoutKernel } = actions[0]?.deploy ?? {};
    const bad2 = validate(stringify({ ...job, actions: [{ deploy: deployWithoutKernel }, ...actions.slice(1)] }));
    expect(bad2.ok).to.equal(false);
    expect(bad2.said).to.match(/INVALID.*kernel/);
    // strict: a key the schema does not have is an error (the server's mode), not ignored
    const bad3 = validate(stringify({ ...job, actions: [actions[0], { boot: { ...actions[1]?.boot, retries: 3 } }, actions[2]] }));
    expect(bad3.ok).to.equal(false);
    expect(bad3.said).to.match(/INVALID.*retries/);
  });

  it('keeps QEMU\'s network isolated (user,restrict=on) and runs one inline test definition per stage', () => {
    const job = lavaJob(EMULATED);
    expect(job.device_type).to.equal('qemu');
    expect(job.context).to.deep.include({ arch: 'arm', machine: 'imx25-pdk', cpu: 'arm926', netdevice: 'user,restrict=on' });
    const test = (job.actions as Record<string, { definitions?: { name: string; from: string; repository: { run: { steps: string[] } } }[] }>[])[2]?.test;
    expect(test?.definitions?.map((d) => [d.name, d.from, d.repository.run.steps])).to.deep.equal(
      [1, 2, 3, 4].map((s) => [`vnet-stage${s}`, 'inline', [`sh ${LAVA_BOARD_DIR}/vnet-stage.sh ${s}`]]),
    );
  });
});

describe('lava-job --for lava-run: the job for Debian\'s dispatcher on this host', () => {
  const local = lavaJob({ ...EMULATED, variant: 'lava-run' });
  const deployOf = (job: Record<string, unknown>) => (job.actions as Record<string, Record<string, Record<string, unknown>>>[])[0]?.deploy ?? {};

  it('differs from the lab job only by image_arg on the three images (what LAVA\'s qemu boot puts on QEMU\'s command line) and its name', () => {
    const lab = lavaJob(EMULATED);
    expect(deployOf(local).kernel).to.deep.equal({ ...deployOf(lab).kernel, image_arg: '-kernel {kernel}' });
    expect(deployOf(local).dtb).to.deep.equal({ ...deployOf(lab).dtb, image_arg: '-dtb {dtb}' });
    expect(deployOf(local).ramdisk).to.deep.equal({ ...deployOf(lab).ramdisk, image_arg: '-initrd {ramdisk}' });
    for (const k of ['kernel', 'dtb', 'ramdisk']) expect(deployOf(lab)[k]).to.not.have.property('image_arg');
    const strip = (job: Record<string, unknown>) => ({ ...job, job_name: '', actions: (job.actions as object[]).slice(1) });
    expect(strip(local)).to.deep.equal(strip(lab));
    expect(String(local.job_name)).to.match(/\(lava-run\)$/);
    // the i.MX25's own NIC on a restricted user network, over qemu.jinja2's virtio/unrestricted defaults
    expect(local.context).to.deep.include({ model: 'model=imx.fec', netdevice: 'user,restrict=on', cpu: 'arm926' });
  });

  it('is for the emulated board only', () => {
    expect(() => lavaJob({ ...EMULATED, target: { kind: 'u-boot', deviceType: 'imx25-pdk' }, variant: 'lava-run' })).to.throw(/emulated board/);
  });

  it('is refused by the server\'s strict schema for image_arg alone, and accepted by the lenient one (the lab job is what a lab gets)', function () {
    this.timeout(60_000);
    requireOnHost(this, lavaCommonAvailable(), `${PYTHON} with lava_common (Debian package lava-common)`);
    const strict = validate(lavaJobYaml({ ...EMULATED, variant: 'lava-run' }));
    expect(strict.ok).to.equal(false);
    expect(strict.said).to.match(/INVALID.*image_arg/);
    // without image_arg it is the lab job, valid: image_arg is the only difference the schema sees
    const actions = local.actions as Record<string, Record<string, Record<string, unknown>>>[];
    const noArg = Object.fromEntries(Object.entries(deployOf(local)).map(([k, v]) => [k, typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter(([key]) => key !== 'image_arg')) : v]));
    expect(validate(stringify({ ...local, actions: [{ deploy: noArg }, ...actions.slice(1)] })).said).to.equal('VALID');
    expect(validate(lavaJobYaml({ ...EMULATED, variant: 'lava-run' }), 'lenient').said).to.equal('VALID');
  });
});

describe('lava-job: the board-side stage script', () => {
  it('reports exactly the checks of suites/stageN.ts, with the same ids', async () => {
    for (const stage of [1, 2, 3, 4]) {
      const suite = ((await import(pathToFileURL(join(SUITES_DIR, `stage${stage}.ts`)).href)) as { default: StageSuite }).default;
      expect(scriptCheckIds(stage), `stage ${stage}`).to.deep.equal(suite.checks.map((c) => c.id));
    }
    const script = stageScript();
    for (const stage of [1, 2, 3, 4]) for (const id of scriptCheckIds(stage)) expect(script, id).to.match(new RegExp(`tc ${id} |"${id} |ALL="[^"]*\\b${id}\\b`));
  });

  it('is valid POSIX shell (sh -n)', () => {
    const r = spawnSync('dash', ['-n'], { input: stageScript(), encoding: 'utf8' });
    expect(r.stderr).to.equal('');
    expect(r.status).to.equal(0);
  });
});

describe('lava-job: the ramdisk', () => {
  it('adds the modules, the probe and the script to the base initramfs as ONE cpio archive (LAVA unpacks it with cpio to add its overlay)', () => {
    const base = gzipSync(buildCpio([{ type: 'dir', path: 'bin' }, { type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 }]));
    const ramdisk = gunzipSync(lavaRamdisk(base, new Map([[1, Buffer.from('ko1')], [4, Buffer.from('ko4')]]), Buffer.from('probe')));
    const text = ramdisk.toString('latin1');
    expect(text.split('TRAILER!!!').length - 1).to.equal(1);
    for (const name of ['init', 'usr/lib/vnet-harness/virt_net1.ko', 'usr/lib/vnet-harness/virt_net4.ko', 'usr/lib/vnet-harness/vnet_probe', 'usr/lib/vnet-harness/vnet-stage.sh']) expect(text).to.include(`${name}\0`);
    expect(() => withoutTrailer(Buffer.from('not a cpio'))).to.throw(/no TRAILER/);
  });
});
