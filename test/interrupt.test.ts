// Nothing is lost when a run is interrupted or cannot start (issue "trusted
// verdicts", point 7), on the real emulated board through the CLI as a user
// runs it: SIGINT/SIGTERM in the middle of a stage write what was gathered,
// marked incomplete, and exit 130/143 leaving no temporary directory and no
// QEMU; a SIGKILLed run's directories are swept by the next; a boot that
// fails still leaves its console in console.log.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { TEMP_PREFIXES } from '../src/emulated/machine.ts';
import { loadResults } from '../src/reporters/load-results.ts';
import type { RunResults } from '../src/results/model.ts';
import { sweepStaleTempDirs } from '../src/util/tempdirs.ts';
import { qemusOf, startCli } from './helpers/harness-process.ts';
import { emulatedKernelTree } from './helpers/kernel.ts';

const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'bin', 'vnet-harness.js');
const FILES = ['results.json', 'junit.xml', 'report.html', 'summary.md', 'console.log'];

/** Temporary directories of the given harness pid still in the temp folder. */
function tempDirsOf(pid: number): string[] {
  return readdirSync(tmpdir()).filter((n) => TEMP_PREFIXES.some((p) => n.startsWith(`${p}-${pid}-`)));
}

describe('an interrupted run keeps what it gathered @board', function () {
  this.timeout(45 * 60_000);
  let tmp = '';

  before(async function () {
    // A cold cache builds the kernel first; the interrupts below want a board that boots in seconds.
    this.timeout(45 * 60_000);
    await emulatedKernelTree();
    tmp = await mkdtemp(join(tmpdir(), 'vnet-interrupt-'));
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  for (const [signal, exitCode] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} in the middle of stage 2: what was gathered is written, marked incomplete, exit ${exitCode}, nothing left behind`, async () => {
      const out = join(tmp, `run-${signal}`);
      const run = startCli(['run', '--out', out]);
      await run.when(/stage 2: exercising/);
      const sent = Date.now();
      process.kill(run.pid, signal);
      const end = await run.exited;
      expect(end.code, run.output()).to.equal(exitCode);
      expect(end.at - sent, 'stopped within 30 s of the signal').to.be.below(30_000);
      for (const f of FILES) expect(existsSync(join(out, f)), f).to.equal(true);
      const results: RunResults = await loadResults(join(out, 'results.json'));
      expect(results.incomplete?.signal).to.equal(signal);
      expect(results.verdict).to.equal('error');
      const stages = results.stages.map((s) => [s.stage, s.verdict]);
      expect(stages).to.deep.equal([
        [1, 'pass'],
        [2, 'error'],
        [3, 'error'],
        [4, 'error'],
      ]);
      expect(results.stages[1]!.reason).to.contain(`interrupted by ${signal}`);
      for (const s of results.stages.slice(2)) expect(s.reason).to.equal(`not run: interrupted by ${signal}`);
      expect(results.errors).to.deep.equal([]);
      expect(await readFile(join(out, 'console.log'), 'utf8')).to.contain('Linux version');
      expect(run.output()).to.contain(`(INCOMPLETE: ${signal})`);
      expect(tempDirsOf(run.pid), 'temporary directories left').to.deep.equal([]);
      expect(qemusOf(run.pid), 'QEMU left running').to.deep.equal([]);
    });
  }

  it('SIGKILL cannot be caught: its temporary directories stay, QEMU dies with it, and the next run sweeps them', async () => {
    const run = startCli(['run', '--stages', '1', '--out', join(tmp, 'run-kill')]);
    await run.when(/stage 1: exercising/);
    process.kill(run.pid, 'SIGKILL');
    await run.exited;
    const left = tempDirsOf(run.pid);
    expect(left.length, 'the killed run left its directories').to.be.greaterThan(0);
    // setpriv --pdeathsig KILL: QEMU follows its parent.
    for (let i = 0; i < 50 && qemusOf(run.pid).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(qemusOf(run.pid)).to.deep.equal([]);
    const swept = sweepStaleTempDirs(TEMP_PREFIXES);
    expect(swept.map((d) => d.slice(tmpdir().length + 1)).sort()).to.include.members(left.sort());
    expect(tempDirsOf(run.pid)).to.deep.equal([]);
  });

  it('a boot that fails still writes its console to console.log (the reason is there, not only in a 20-line tail)', async () => {
    // The emulated board with an init that does not exist: the kernel panics at boot.
    const yaml = readFileSync(join(REPO, 'boards', 'qemu-imx25.yaml'), 'utf8')
      .replaceAll('qemu-imx25/', `${join(REPO, 'boards', 'qemu-imx25')}/`)
      .replace('panic=1 ', 'panic=1 rdinit=/vnet-no-such-init root=/dev/vnet-none ');
    expect(yaml).to.contain('rdinit=/vnet-no-such-init');
    const file = join(tmp, 'qemu-imx25-no-init.yaml');
    await writeFile(file, yaml.replace(/^name: qemu-imx25$/m, 'name: qemu-imx25-no-init'));
    const out = join(tmp, 'run-boot-fails');
    const r = await new Promise<{ code: number | null; output: string }>((resolveRun) => {
      // spawns: node
      const child = spawn(process.execPath, [CLI, 'run', '--board', file, '--stages', '1', '--out', out], { cwd: REPO });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('exit', (code) => resolveRun({ code, output }));
    });
    expect(r.code, r.output).to.equal(2);
    const consoleLog = await readFile(join(out, 'console.log'), 'utf8');
    expect(consoleLog).to.contain('Linux version');
    expect(consoleLog).to.match(/Kernel panic - not syncing/);
    const results: RunResults = await loadResults(join(out, 'results.json'));
    expect(results.stages.map((s) => s.verdict)).to.deep.equal(['error']);
  });
});
