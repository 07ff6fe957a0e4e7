// The run history and the board matrix on the emulated board, as a nightly
// uses them, in a reports folder of its own: a clean run of stage 3, then a
// board matrix (qemu-imx25 over ssh and over serial) of a tree with a seeded
// bug (stage 3's wrong MAC). The history marks the regression between the
// two consecutive ssh runs (compare's verdict), the index shows it, compare
// --against last-good finds the clean run; the matrix writes a report set
// per board and transport and one merged junit.xml that junitparser reads
// with every case distinct, and exits 1. A corrupt history.json is an
// error that keeps it.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import type { MatrixModel } from '../src/commands/matrix.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../src/paths.ts';
import { loadHistory } from '../src/reporters/load-history.ts';
import { junitparserAvailable, readJunit } from './helpers/junitparser.ts';
import { requireOnHost } from './helpers/require-host.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'vnet-harness.js');
const BUG = join(PROJECT_ROOT, 'test', 'fixtures', 'bugs', 'stage3-wrong-mac.patch');

describe('run history and a board matrix on the emulated board @board', function () {
  this.timeout(20 * 60_000);
  let dir: string;
  let reports: string;
  let bugTree: string;
  let cleanRunId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vnet-matrix-board-'));
    reports = join(dir, 'reports');
    bugTree = join(dir, 'virt_net');
    cpSync(DEFAULT_MODULES_DIR, bugTree, { recursive: true });
    await execa('patch', ['-p1', '-s', '-i', BUG], { cwd: bugTree });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a clean run of stage 3 is the first run of qemu-imx25/ssh in history.json', async () => {
    const t = Date.now();
    const r = await execa('node', [BIN, 'run', '--stages', '3', '--transport', 'ssh', '--reports-dir', reports], { reject: false, all: true });
    console.log(`      (clean run: ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    expect(r.exitCode, r.all).to.equal(0);
    const history = await loadHistory(join(reports, 'history.json'));
    expect(history.runs.map((e) => `${e.board.name}/${e.board.transport}:${e.verdict}`)).to.deep.equal(['qemu-imx25/ssh:pass']);
    expect(history.runs[0]?.previous).to.equal(undefined);
    cleanRunId = history.runs[0]!.runId;
  });

  it('the seeded bug over ssh and serial: a report set each, one merged JUnit with every case distinct, the ssh regression marked, exit 1', async function () {
    requireOnHost(this, await junitparserAvailable(), 'python3-junitparser (Debian\'s /usr/bin/python3 with junitparser)');
    const t = Date.now();
    const r = await execa('node', [BIN, 'run', '--board', 'qemu-imx25', '--transport', 'ssh,serial', '--stages', '3', '--modules', bugTree, '--reports-dir', reports], {
      reject: false,
      all: true,
    });
    console.log(`      (matrix of 2: ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    expect(r.exitCode, r.all).to.equal(1);

    // One report set per board and transport, in the reports folder as any run.
    const matrixDir = readdirSync(reports).filter((f) => f.startsWith('matrix-'));
    expect(matrixDir).to.have.length(1);
    const folder = join(reports, matrixDir[0]!);
    const model = JSON.parse(await readFile(join(folder, 'matrix.json'), 'utf8')) as MatrixModel;
    expect(model.entries.map((e) => `${e.board}/${e.transport}:${e.verdict}:${e.exitCode}`)).to.deep.equal(['qemu-imx25/ssh:fail:1', 'qemu-imx25/serial:fail:1']);
    expect(model.exitCode).to.equal(1);
    for (const e of model.entries) {
      for (const f of ['results.json', 'junit.xml', 'report.html', 'summary.md', 'console.log']) expect(existsSync(join(folder, e.dir!, f)), `${e.transport}: ${f}`).to.equal(true);
      expect(e.failures.join('\n')).to.contain('stage 3 mac-address');
    }

    // The merged JUnit, as another JUnit reader sees it.
    const cases = await readJunit(join(folder, 'junit.xml'));
    const keys = cases.map((c) => `${c.classname}\u0000${c.name}`);
    expect(new Set(keys).size, 'every (classname, name) once').to.equal(keys.length);
    expect([...new Set(cases.map((c) => c.suite))].sort()).to.deep.equal(['qemu-imx25/serial: stage 3', 'qemu-imx25/ssh: stage 3']);
    const perSuite = (suite: string) => cases.filter((c) => c.suite === suite);
    expect(perSuite('qemu-imx25/ssh: stage 3').length).to.equal(perSuite('qemu-imx25/serial: stage 3').length);
    const failing = cases.filter((c) => c.results.length > 0).map((c) => `${c.suite} · ${c.classname} · ${c.name.split(':')[0]} · ${c.results.join(',')}`);
    expect(failing.sort()).to.deep.equal([
      'qemu-imx25/serial: stage 3 · vnet.qemu-imx25.serial.stage3 · mac-address · Failure',
      'qemu-imx25/ssh: stage 3 · vnet.qemu-imx25.ssh.stage3 · mac-address · Failure',
    ]);

    // History: the ssh run regressed against the clean run before it (compare's verdict); serial starts its own series.
    const history = await loadHistory(join(reports, 'history.json'));
    expect(history.runs.map((e) => `${e.board.name}/${e.board.transport}:${e.verdict}`)).to.deep.equal(['qemu-imx25/ssh:pass', 'qemu-imx25/ssh:fail', 'qemu-imx25/serial:fail']);
    const sshBug = history.runs[1]!;
    expect(sshBug.previous && 'regression' in sshBug.previous ? sshBug.previous.regression : undefined).to.equal(true);
    expect(sshBug.previous?.runId).to.equal(cleanRunId);
    expect(sshBug.previous && 'reasons' in sshBug.previous ? sshBug.previous.reasons.join('\n') : '').to.contain('stage 3 mac-address: new failure');
    expect(history.runs[2]?.previous).to.equal(undefined);
    const index = await readFile(join(reports, 'index.html'), 'utf8');
    expect(index).to.contain(`<tr class="regression bad" data-run="${sshBug.runId}">`);
    expect(index).to.contain(`last good: ${cleanRunId}`);
    expect(index).to.contain(matrixDir[0]!);

    // What the nightly does: compare the night with the last good run of its board.
    const c = await execa('node', [BIN, 'compare', '--against', 'last-good', '--reports-dir', reports, sshBug.runId], { reject: false, all: true });
    expect(c.exitCode, c.all).to.equal(1);
    expect(c.all).to.contain(`against the last good run of qemu-imx25/ssh: ${join(reports, cleanRunId, 'results.json')}`);
  });

  it('a corrupt history.json: the run writes its reports, says what is wrong, leaves the file as it was and exits 2', async () => {
    const file = join(reports, 'history.json');
    const broken = (await readFile(file, 'utf8')).slice(0, 200);
    await writeFile(file, broken);
    const r = await execa('node', [BIN, 'run', '--stages', '3', '--transport', 'ssh', '--reports-dir', reports], { reject: false, all: true });
    expect(r.exitCode, r.all).to.equal(2);
    expect(r.all).to.match(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: not valid JSON`));
    expect(r.all).to.contain('was not added to the history');
    expect(await readFile(file, 'utf8')).to.equal(broken);
    const runId = /run (\d{8}-\d{6}-[0-9a-f]{4}): PASS/.exec(r.all ?? '')?.[1];
    expect(runId, r.all).to.be.a('string');
    expect(existsSync(join(reports, runId!, 'results.json'))).to.equal(true);
    expect(await readFile(join(reports, 'index.html'), 'utf8')).to.contain('history.json cannot be read:');
  });
});
