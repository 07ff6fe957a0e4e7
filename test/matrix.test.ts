// src/commands/matrix.ts without a board: which entries a matrix has, how
// they are scheduled (a board's entries in turn, real boards side by side,
// at most `jobs` emulated boards at once), its exit code, and the folder it
// writes from runs made of the results fixtures: one merged junit.xml that
// junitparser (a JUnit reader that is not the harness) reads with every case
// distinct and board and transport apart, summary.md and matrix.json.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { matrixEntries, matrixExitCode, runMatrix, scheduleMatrix, type MatrixEntry, type MatrixModel, type RunEntry } from '../src/commands/matrix.ts';
import type { BoardConfig } from '../src/config/board.ts';
import { writeReports } from '../src/reporters/index.ts';
import { parseResults } from '../src/reporters/load-results.ts';
import type { BoardTarget } from '../src/board/target.ts';
import type { RunResults, StageResult } from '../src/results/model.ts';
import { runSuites } from '../src/stages/runner.ts';
import { silentProgress } from '../src/util/progress.ts';
import { junitparserAvailable, readJunit } from './helpers/junitparser.ts';
import { passingObservations } from './helpers/observations.ts';
import { requireOnHost } from './helpers/require-host.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'reports');
const XSD = path.join(FIXTURES, 'junit-10.xsd');

async function fixture(name: string): Promise<RunResults> {
  const file = path.join(FIXTURES, `${name}.json`);
  return parseResults(await readFile(file, 'utf8'), file);
}

/** A board config with only what the matrix reads. */
function board(name: string, kind: 'emulated' | 'real', transports: ('ssh' | 'serial')[] = ['ssh', 'serial']): BoardConfig {
  return {
    name,
    kind,
    file: `/boards/${name}.yaml`,
    defaultTransport: transports[0],
    ...(kind === 'real' ? { ...(transports.includes('ssh') ? { ssh: {} } : {}), ...(transports.includes('serial') ? { serial: {} } : {}) } : {}),
  } as unknown as BoardConfig;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('board matrix (no board)', () => {
  it('every board over every transport given, each once; a transport a board lacks is bad input', () => {
    const boards: Record<string, BoardConfig> = { a: board('a', 'emulated'), lab: board('lab', 'real', ['ssh']) };
    const load = (b: string) => boards[b] as BoardConfig;
    expect(matrixEntries(['a', 'a'], ['ssh', 'serial'], load).map((e) => e.label)).to.deep.equal(['a/ssh', 'a/serial']);
    expect(matrixEntries(['a', 'lab'], undefined, load).map((e) => e.label)).to.deep.equal(['a/ssh', 'lab/ssh']);
    expect(() => matrixEntries(['a', 'lab'], ['ssh', 'serial'], load)).to.throw(/board lab .* has no serial section/);
  });

  it('schedules a board\'s entries in turn, real boards side by side, at most `jobs` emulated boards at once', async () => {
    const entries = matrixEntries(['e1', 'e2', 'r1', 'r2'], ['ssh', 'serial'], (b) => board(b, b.startsWith('e') ? 'emulated' : 'real'));
    const running = new Set<string>();
    const log: { label: string; concurrent: string[] }[] = [];
    const run = async (e: MatrixEntry) => {
      running.add(e.label);
      log.push({ label: e.label, concurrent: [...running].filter((l) => l !== e.label) });
      await sleep(30);
      running.delete(e.label);
      return e.label;
    };
    expect(await scheduleMatrix(entries, 1, run)).to.deep.equal(entries.map((e) => e.label));
    for (const { label, concurrent } of log) {
      const boardName = label.split('/')[0];
      // Never two entries of one board at once; with jobs 1, never two emulated boards at once.
      expect(concurrent.filter((l) => l.split('/')[0] === boardName), label).to.deep.equal([]);
      if (label.startsWith('e')) expect(concurrent.filter((l) => l.startsWith('e')), label).to.deep.equal([]);
    }
    // Real boards did run beside each other and beside an emulated one.
    expect(log.some((x) => x.label.startsWith('r1') && x.concurrent.some((l) => l.startsWith('r2')))).to.equal(true);
    expect(log.some((x) => x.concurrent.some((l) => l.startsWith('e')) && x.label.startsWith('r'))).to.equal(true);
    log.length = 0;
    await scheduleMatrix(entries.filter((e) => e.label.startsWith('e')), 2, run);
    expect(log.some((x) => x.concurrent.length > 0), 'jobs 2: two emulated boards at once').to.equal(true);
    // Once stopped, no further entry starts.
    let started = 0;
    const stoppedAfterOne = await scheduleMatrix(entries, 1, async (e) => (started++, e.label), () => started >= 1);
    expect(stoppedAfterOne.length).to.be.lessThan(entries.length);
  });

  it('exit code: 2 when any run had an infrastructure error, else 1 when any failed, else 0', () => {
    expect(matrixExitCode([0, 0])).to.equal(0);
    expect(matrixExitCode([0, 1])).to.equal(1);
    expect(matrixExitCode([1, 2, 0])).to.equal(2);
  });

  it('two runs\' stage suites side by side in one process (--jobs 2) keep their results apart', async () => {
    // The suites of a run are registered on a mocha instance of its own; two at once must not mix.
    const buildOf = (stage: number) => ({ stage, ok: true, module: `/tmp/virt_net${stage}.ko`, warnings: [], diagnostics: [], compiled: false, durationMs: 1, log: '' });
    const suites = (wrongMac: boolean, delayMs: number) =>
      runSuites({
        stages: [2, 3],
        reporter: 'dot',
        context: {
          board: { name: wrongMac ? 'b' : 'a', config: { kmemleakMinAge: 5 } } as unknown as BoardTarget,
          builds: new Map([2, 3].map((s) => [s, buildOf(s)])),
          stageTimeoutMs: 10_000,
          log: () => {},
          exercise: async (_board, plan) => {
            await sleep(delayMs);
            const obs = passingObservations(plan.stage);
            const loaded = obs.loaded;
            if (wrongMac && plan.stage === 3 && loaded?.present) loaded.reading.address = '08:89:89:89:89:12';
            return obs;
          },
        },
      });
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let a: StageResult[];
    let b: StageResult[];
    try {
      [a, b] = await Promise.all([suites(false, 40), suites(true, 15)]);
    } finally {
      process.stdout.write = write;
    }
    expect(a.map((s) => `${s.stage}:${s.verdict}`)).to.deep.equal(['2:pass', '3:pass']);
    expect(b.map((s) => `${s.stage}:${s.verdict}`)).to.deep.equal(['2:pass', '3:fail']);
    expect(b[1]!.checks.filter((c) => c.verdict === 'fail').map((c) => c.id)).to.deep.equal(['mac-address']);
  });

  describe('the matrix folder', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(path.join(tmpdir(), 'vnet-matrix-'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    /** A runEntry that "runs" a fixture per label and writes its reports as run does. */
    function fakeRuns(byLabel: Record<string, RunResults | Error>): RunEntry {
      return async (e, o) => {
        const r = byLabel[e.label];
        if (r instanceof Error) throw r;
        const results = structuredClone(r) as RunResults;
        results.board.name = e.config.name;
        results.board.transport = e.transport;
        const outDir = o.outDir ?? path.join(root, results.runId);
        await writeReports(results, { outDir, consoleTranscript: '' });
        return { results, outDir, exitCode: results.verdict === 'pass' ? 0 : results.verdict === 'fail' ? 1 : 2 };
      };
    }

    it('one merged junit.xml that junitparser reads with every case distinct, boards and transports apart; exit 1', async function () {
      requireOnHost(this, await junitparserAvailable(), 'python3-junitparser (Debian\'s /usr/bin/python3 with junitparser)');
      const pass = await fixture('pass-run');
      const bug = { ...(await fixture('bug-run')), runId: '20251125-083015-ffff' };
      const entries = matrixEntries(['qemu-imx25'], ['ssh', 'serial'], (b) => board(b, 'emulated'));
      const lines: string[] = [];
      const done = await runMatrix({ entries, jobs: 1, reportsRoot: root, progress: silentProgress(), runEntry: fakeRuns({ 'qemu-imx25/ssh': pass, 'qemu-imx25/serial': bug }), stdout: (t) => void lines.push(t) });
      expect(done.exitCode).to.equal(1);
      expect(path.dirname(done.dir)).to.equal(root);
      expect(path.basename(done.dir)).to.match(/^matrix-\d{8}-\d{6}-[0-9a-f]{4}$/);

      const junit = path.join(done.dir, 'junit.xml');
      const xsd = await execa('xmllint', ['--noout', '--schema', XSD, junit], { reject: false });
      expect(xsd.exitCode, xsd.stderr).to.equal(0);
      const cases = await readJunit(junit);
      const checks = (r: RunResults) => r.stages.reduce((n, s) => n + s.checks.length + (s.build ? 1 : 0), 0);
      expect(cases.length).to.be.at.least(checks(pass) + checks(bug));
      const keys = cases.map((c) => `${c.classname}\u0000${c.name}`);
      expect(new Set(keys).size, 'every (classname, name) once').to.equal(keys.length);
      const suites = [...new Set(cases.map((c) => c.suite))];
      expect(suites).to.include.members(['qemu-imx25/ssh: stage 3', 'qemu-imx25/serial: stage 3']);
      for (const c of cases) {
        const [label] = c.suite.split(':');
        const transport = label!.split('/')[1];
        expect(c.classname, c.suite).to.contain(`.${transport}.`);
      }
      // The seeded bug's failures are on serial only (where its run was), as failures.
      const macCases = cases.filter((c) => c.name.startsWith('mac-address'));
      expect(macCases.map((c) => `${c.suite}: ${c.results.join(',') || 'pass'}`)).to.deep.equal(['qemu-imx25/ssh: stage 3: pass', 'qemu-imx25/serial: stage 3: Failure']);

      const model = JSON.parse(await readFile(path.join(done.dir, 'matrix.json'), 'utf8')) as MatrixModel;
      expect(model.entries.map((e) => `${e.board}/${e.transport}:${e.verdict}:${e.exitCode}`)).to.deep.equal(['qemu-imx25/ssh:pass:0', 'qemu-imx25/serial:fail:1']);
      expect(model.entries[1]?.dir).to.equal(`../${bug.runId}`);
      const summary = await readFile(path.join(done.dir, 'summary.md'), 'utf8');
      expect(summary).to.contain('board matrix ❌ fail').and.contain('stage 3 mac-address').and.contain(`](../${bug.runId}/summary.md)`);
      expect(lines.join('')).to.match(/qemu-imx25\/serial\s+FAIL/);
    });

    it('the distinctness check can fail: two runs\' own junit.xml files pasted together repeat their cases', async function () {
      requireOnHost(this, await junitparserAvailable(), 'python3-junitparser (Debian\'s /usr/bin/python3 with junitparser)');
      const pass = await fixture('pass-run');
      const { renderJunit } = await import('../src/reporters/junit.ts');
      const body = (xml: string) => xml.split('\n').filter((l) => !l.startsWith('<?xml') && !/^<\/?testsuites/.test(l)).join('\n');
      const pasted = path.join(root, 'pasted.xml');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(pasted, `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${body(renderJunit(pass))}\n${body(renderJunit({ ...pass, runId: 'other' }))}\n</testsuites>\n`);
      const keys = (await readJunit(pasted)).map((c) => `${c.classname}\u0000${c.name}`);
      expect(new Set(keys).size).to.be.lessThan(keys.length);
    });

    it('an entry that could not run is an errored case of its own, and the matrix exits 2', async function () {
      requireOnHost(this, await junitparserAvailable(), 'python3-junitparser (Debian\'s /usr/bin/python3 with junitparser)');
      const pass = await fixture('pass-run');
      const entries = matrixEntries(['qemu-imx25', 'other'], ['ssh'], (b) => board(b, 'emulated'));
      const out = path.join(root, 'm');
      const done = await runMatrix({
        entries,
        jobs: 1,
        reportsRoot: root,
        out,
        progress: silentProgress(),
        runEntry: fakeRuns({ 'qemu-imx25/ssh': pass, 'other/ssh': new Error('no kernel for board other') }),
        stdout: () => undefined,
      });
      expect(done.exitCode).to.equal(2);
      expect(done.dir).to.equal(out);
      const cases = await readJunit(path.join(out, 'junit.xml'));
      expect(cases.filter((c) => c.suite === 'other/ssh: run').map((c) => c.results)).to.deep.equal([['Error']]);
      // With --out, each run's folder is inside the matrix folder.
      const model = JSON.parse(await readFile(path.join(out, 'matrix.json'), 'utf8')) as MatrixModel;
      expect(model.entries.map((e) => e.dir ?? e.errors[0])).to.deep.equal(['qemu-imx25-ssh', 'no kernel for board other']);
      expect(model.verdict).to.equal('error');
    });
  });
});
