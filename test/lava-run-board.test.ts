// The exported job really runs (issue #12, point 6): lava-job --for lava-run
// writes the job, the device file (rendered from lava-server's qemu.jinja2)
// and vnet-lava-run.sh; Debian's own LAVA dispatcher (lava-run, lava-dispatcher
// 2023.01, no server) runs it on the emulated board; its log's results are
// imported with lava-results and compared, check by check, with the harness's
// own run of the same drivers. lava-run and the templates are installed by
// the setup (doctor --install --tests): a host without them FAILS this test,
// naming that command; nothing is skipped.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { localRunFiles } from '../src/commands/lava.ts';
import { DISPATCHER_DIR } from '../src/lava/local-run.ts';
import { parseLavaLog } from '../src/lava/results.ts';
import { RTT_CASE_PREFIX, scriptCheckIds } from '../src/lava/stage-script.ts';
import { LAVA_SETUP_COMMAND, lavaTemplatesDir } from '../src/lava/templates.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../src/paths.ts';
import { loadResults } from '../src/reporters/load-results.ts';
import type { RunResults } from '../src/results/model.ts';
import { logRecords, runLavaRunScript, secondsBetween } from './helpers/lava-run.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'vnet-harness.js');
const BUG = join(PROJECT_ROOT, 'test', 'fixtures', 'bugs', 'stage3-wrong-mac.patch');

/** The harness as a user runs it. */
async function cli(args: string[]) {
  // spawns: node
  return execa('node', [BIN, ...args], { reject: false, all: true, cwd: PROJECT_ROOT });
}

/** Every check's verdict, per stage: `3:mac-address` → `fail`. */
function verdicts(r: RunResults): Record<string, string> {
  return Object.fromEntries(r.stages.flatMap((s) => s.checks.map((c) => [`${s.stage}:${c.id}`, c.verdict])));
}

/** What the host keeps of the dispatcher's folders and /etc/default (nothing of a run may be left there). */
function hostState(): string {
  const list = (d: string) => (existsSync(d) ? readdirSync(d).sort().join(',') : '(none)');
  return JSON.stringify({ tmp: list(join(DISPATCHER_DIR, 'tmp')), dispatcher: list(DISPATCHER_DIR), tftpdHpa: existsSync('/etc/default/tftpd-hpa'), srvTftp: list('/srv/tftp') });
}

interface LavaRunResult {
  log: string;
  seconds: number;
  bootSeconds: number;
  imported: RunResults;
}

/** lava-job --for lava-run, then its vnet-lava-run.sh, then lava-results on the log; asserts the job completed on an isolated QEMU. */
async function exportAndRun(dir: string, modules: string, stages: string): Promise<LavaRunResult> {
  const job = join(dir, 'job.yaml');
  const exported = await cli(['lava-job', '--for', 'lava-run', '--modules', modules, '--stages', stages, '--out', job]);
  expect(exported.exitCode, exported.all).to.equal(0);
  const files = localRunFiles(job);

  // The device file: lava-server's qemu template with the job's context over its defaults, tftp among the deploy methods.
  const device = parse(await readFile(files.device, 'utf8')) as { actions: { deploy: { methods: Record<string, unknown> }; boot: { methods: { qemu: { parameters: { command: string; options: string[] } } } } } };
  expect(Object.keys(device.actions.deploy.methods)).to.include('tftp');
  const qemu = device.actions.boot.methods.qemu.parameters;
  expect(qemu.command).to.equal('qemu-system-arm');
  expect(qemu.options).to.include.members(['-cpu arm926', '-machine imx25-pdk', '-m 128']);
  expect(qemu.options.join(' ')).to.not.match(/cortex-a57|virtio|machine virt/);

  const before = hostState();
  const run = await runLavaRunScript(files.script, join(dir, 'lava.log'));
  expect(run.timedOut, 'lava-run did not finish in time').to.equal(false);
  const records = logRecords(run.log);
  const tail = run.log.split('\n').slice(-30).join('\n');
  expect(run.code, `lava-run's exit code; its log ends:\n${tail}`).to.equal(0);
  // The job completed: LAVA's own lava/job case (what a server turns into health Complete).
  const lavaCases = parseLavaLog(run.log, 'lava.log').filter((c) => c.suite === 'lava');
  expect(lavaCases.find((c) => c.name === 'job')?.result, tail).to.equal('pass');
  expect(run.log).to.contain('Job finished correctly');

  // The QEMU lava-run really started: one NIC (the FEC), on a restricted user network, nothing else.
  const boot = records.map((r) => r.msg).find((m): m is string => typeof m === 'string' && m.startsWith('Boot command: '));
  expect(boot, 'the log names the QEMU command line').to.be.a('string');
  const line = boot ?? '';
  expect(line).to.match(/^Boot command: \S*qemu-system-arm /);
  expect(line).to.contain(' -machine imx25-pdk ').and.contain(' -cpu arm926 ');
  const nics = [...line.matchAll(/(?:^|\s)(-net nic\S*|-nic \S+|-device \S*(?:nic|virtio-net|e1000|rtl8139)\S*)/g)].map((m) => m[1]);
  expect(nics, line).to.deep.equal(['-net nic,model=imx.fec,macaddr=52:54:00:12:34:58']);
  const backends = [...line.matchAll(/(?:^|\s)(?:-net|-netdev) (?!nic)(\S+)/g)].map((m) => m[1]);
  expect(backends, line).to.deep.equal(['user,restrict=on']);
  expect(line).to.not.match(/\b(tap|bridge|socket|vde|hostfwd|guestfwd)\b/);
  expect(line).to.match(/ -kernel \S+\/zImage /).and.match(/ -initrd \S+\/ramdisk\.cpio\.gz /).and.match(/ -dtb \S+\/board\.dtb/);
  // Nothing of the run is left on the host: the namespaces took their mounts with them.
  expect(hostState()).to.equal(before);

  const importedDir = join(dir, 'imported');
  const imported = await cli(['lava-results', join(dir, 'lava.log'), '--modules', modules, '--stages', stages, '--out', importedDir]);
  expect(imported.exitCode, imported.all).to.be.oneOf([0, 1]);
  const bootSeconds = secondsBetween(records, 'start: 2.1.1 execute-qemu', 'end: 2.2 auto-login-action') ?? NaN;
  return { log: run.log, seconds: run.seconds, bootSeconds, imported: await loadResults(join(importedDir, 'results.json')) };
}

describe('lava-job --for lava-run: the exported job run by Debian\'s LAVA dispatcher, its results equal to the harness\'s own run @board', function () {
  this.timeout(20 * 60_000);
  let dir: string;

  before(async function () {
    const missing: string[] = [];
    if (!existsSync('/usr/bin/lava-run')) missing.push('/usr/bin/lava-run (Debian package lava-dispatcher)');
    const templates = await lavaTemplatesDir();
    if ('missing' in templates) missing.push(templates.missing);
    if (process.getuid?.() !== 0) missing.push('root (vnet-lava-run.sh makes private mount and PID namespaces)');
    if (missing.length > 0) throw new Error(`the lava-run test cannot run: ${missing.join('; ')}\n  set up with: ${LAVA_SETUP_COMMAND}`);
    dir = await mkdtemp(join(tmpdir(), 'vnet-lava-run-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the project\'s drivers: lava-run completes the job, every check of the four stages passes, and each check\'s verdict equals the local run\'s', async () => {
    const lava = await exportAndRun(join(dir, 'good'), DEFAULT_MODULES_DIR, '1,2,3,4');
    const cases = parseLavaLog(lava.log, 'lava.log');
    for (const stage of [1, 2, 3, 4]) {
      const mine = cases.filter((c) => c.suite.endsWith(`_vnet-stage${stage}`) && !c.name.startsWith(RTT_CASE_PREFIX));
      expect(Object.fromEntries(mine.map((c) => [c.name, c.result])), `stage ${stage}`).to.deep.equal(Object.fromEntries(scriptCheckIds(stage).map((id) => [id, 'pass'])));
    }
    expect(cases.filter((c) => c.name.startsWith(RTT_CASE_PREFIX) && c.unit === 'ms' && (c.measurement ?? 0) > 0)).to.have.length(20);
    expect(lava.imported.verdict).to.equal('pass');
    expect(lava.imported.stages.map((s) => s.checks.length)).to.deep.equal([1, 2, 3, 4].map((s) => scriptCheckIds(s).length));

    const local = await cli(['run', '--board', 'qemu-imx25', '--modules', DEFAULT_MODULES_DIR, '--out', join(dir, 'good', 'local')]);
    expect(local.exitCode, local.all).to.equal(0);
    const localRun = await loadResults(join(dir, 'good', 'local', 'results.json'));
    expect(verdicts(lava.imported)).to.deep.equal(verdicts(localRun));
    expect(Object.values(verdicts(localRun)).every((v) => v === 'pass')).to.equal(true);
    // compare, as a nightly would: the LAVA run against the local one, no regression
    const compared = await cli(['compare', join(dir, 'good', 'local'), join(dir, 'good', 'imported'), '--out', join(dir, 'good', 'compare.md')]);
    expect(compared.exitCode, compared.all).to.equal(0);
    process.stderr.write(`      (lava-run: ${lava.seconds.toFixed(1)} s, boot to login ${lava.bootSeconds.toFixed(1)} s)\n`);
  });

  it('a seeded wrong MAC (stage3-wrong-mac.patch): through lava-run, mac-address fails and nothing else, as in the local run', async () => {
    const tree = join(dir, 'tree');
    await cp(DEFAULT_MODULES_DIR, tree, { recursive: true });
    // spawns: patch
    await execa('patch', ['-p1', '-s', '-i', BUG], { cwd: tree });
    const lava = await exportAndRun(join(dir, 'bad'), tree, '3');
    expect(lava.imported.verdict).to.equal('fail');
    expect(Object.entries(verdicts(lava.imported)).filter(([, v]) => v !== 'pass')).to.deep.equal([['3:mac-address', 'fail']]);
    const local = await cli(['run', '--board', 'qemu-imx25', '--modules', tree, '--stages', '3', '--out', join(dir, 'bad', 'local')]);
    expect(local.exitCode, local.all).to.equal(1);
    const localRun = await loadResults(join(dir, 'bad', 'local', 'results.json'));
    expect(verdicts(lava.imported)).to.deep.equal(verdicts(localRun));
    process.stderr.write(`      (lava-run: ${lava.seconds.toFixed(1)} s, boot to login ${lava.bootSeconds.toFixed(1)} s)\n`);
  });
});
