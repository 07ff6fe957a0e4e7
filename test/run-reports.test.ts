// One real `vnet-harness run` of the project's drivers on the emulated board
// (stages 1 and 4) and the reports it writes, checked as their readers see
// them: JUnit against the Jenkins xUnit schema with xmllint, results.json
// through the harness's own reader, report.html in headless Chromium with the
// network watched, and `compare` of the run against itself.
import { expect } from 'chai';
import { CHROMIUM, chromiumArgs, pageRequests } from './helpers/chromium.ts';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadResults } from '../src/reporters/load-results.ts';
import { RESULTS_SCHEMA, type RunResults } from '../src/results/model.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'vnet-harness.js');
const XSD = path.join(ROOT, 'test', 'fixtures', 'reports', 'junit-10.xsd');
const FILES = ['results.json', 'junit.xml', 'report.html', 'summary.md', 'console.log'];

async function cli(...args: string[]) {
  const r = await execa('node', [CLI, ...args], { cwd: ROOT, reject: false, all: true, timeout: 40 * 60_000 });
  return { code: r.exitCode, stdout: r.stdout, all: r.all ?? '' };
}

describe('run: the five reports of a real run (emulated board, stages 1 and 4) @board', function () {
  // The first run may have to build the kernel when the cache is cold.
  this.timeout(45 * 60_000);
  let tmp: string;
  let out: string;
  let run: { code: number | undefined; stdout: string; all: string };
  let results: RunResults;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vnet-run-reports-'));
    out = path.join(tmp, 'run');
    run = await cli('run', '--stages', '1,4', '--out', out);
    if (existsSync(path.join(out, 'results.json'))) results = await loadResults(path.join(out, 'results.json'));
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('passes, and writes all five files into --out', async () => {
    expect(run.code, run.all).to.equal(0);
    for (const f of FILES) expect(existsSync(path.join(out, f)), f).to.equal(true);
    expect(run.stdout).to.contain(`reports in ${out}`);
  });

  it('results.json reads back with the harness reader: the current schema, the board kernel and machine, stages 1 and 4', async () => {
    expect(results, 'results.json was not written').to.not.equal(undefined);
    expect(results.schema).to.equal(RESULTS_SCHEMA);
    expect(results.board.name).to.equal('qemu-imx25');
    expect(results.board.kernelRelease).to.equal('6.1.192-vnet');
    expect(results.board.machine).to.equal('armv5tejl');
    expect(results.board.emulated).to.equal(true);
    expect(results.verdict).to.equal('pass');
    expect(results.stages.map((s) => [s.stage, s.verdict])).to.deep.equal([
      [1, 'pass'],
      [4, 'pass'],
    ]);
    expect(results.driver.path).to.equal(path.join(ROOT, 'kernel-modules', 'virt_net'));
    expect(results.driver.contentHash).to.match(/^[0-9a-f]{64}$/);
    expect(results.consoleLog).to.equal('console.log');
    // The console transcript is the board's: it holds the boot and the stages' kernel messages.
    const consoleLog = await readFile(path.join(out, 'console.log'), 'utf8');
    expect(consoleLog).to.contain('Linux version 6.1.192-vnet');
  });

  it('junit.xml is valid against the Jenkins xUnit JUnit schema, one testsuite per stage', async () => {
    const lint = await execa('xmllint', ['--noout', '--schema', XSD, path.join(out, 'junit.xml')], { reject: false });
    expect(lint.exitCode, lint.stderr).to.equal(0);
    expect(lint.stderr).to.contain('validates');
    const xml = await readFile(path.join(out, 'junit.xml'), 'utf8');
    expect(xml.match(/<testsuite\b[^>]*name="vnet\.qemu-imx25\.ssh\.stage\d"/g)).to.have.length(2);
    expect(xml).to.contain('name="vnet.qemu-imx25.ssh.stage1"').and.to.contain('name="vnet.qemu-imx25.ssh.stage4"');
    expect(xml).to.not.contain('<failure');
    // Every check case has the time of the board steps it judged, not 0.000.
    const times = [...xml.matchAll(/<testcase name="([^"]*: [^"]*)" classname="vnet\.qemu-imx25\.ssh\.stage\d" time="([\d.]+)"/g)];
    expect(times.length).to.be.greaterThan(20);
    for (const [, name, time] of times) expect(Number(time), name).to.be.greaterThan(0);
  });

  it('report.html references nothing on the network and opens in headless Chromium with no request, showing the summary', async () => {
    const file = path.join(out, 'report.html');
    const page = await readFile(file, 'utf8');
    expect(page.match(/https?:\/\/[^\s"'<>]*/g) ?? []).to.deep.equal([]);
    const profile = await mkdtemp(path.join(tmp, 'chromium-'));
    const netlog = path.join(profile, 'netlog.json');
    // spawns: chromium
    const r = await execa(CHROMIUM, chromiumArgs(profile, [`--log-net-log=${netlog}`, '--dump-dom', `file://${file}`]), {
      reject: false,
      timeout: 60_000,
    });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('id="summary-table"');
    expect(r.stdout).to.contain(`<title>vnet-harness ${results.runId}: pass</title>`);
    expect(await pageRequests(netlog)).to.deep.equal([]);
  });

  it('compare of the run against itself: no regression, exit 0', async () => {
    const report = path.join(tmp, 'self-compare.md');
    const r = await cli('compare', out, out, '--out', report);
    expect(r.code, r.all).to.equal(0);
    expect(r.stdout).to.match(/^vnet-harness compare: no regression\n/);
    expect(await readFile(report, 'utf8')).to.contain('## vnet-harness compare: ✅ no regression');
  });
});
