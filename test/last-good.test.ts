// `vnet-harness last-good [run]`: the last good run before a run, of its board
// and transport, from history.json — the run `compare --against last-good`
// compares with — as one field for a nightly's shell (run id, driver revision
// for bisect --good, folder); nothing on a first night; exit 2 on an
// unreadable history or an unknown run.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { main, type CommandActions } from '../src/cli.ts';
import { COMMANDS } from '../src/cli-options.ts';
import { appendToHistory } from '../src/history/record.ts';
import { lastGoodCommand, type LastGoodField } from '../src/history/last-good.ts';
import { writeReports } from '../src/reporters/index.ts';
import { parseResults } from '../src/reporters/load-results.ts';
import type { RunResults } from '../src/results/model.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'reports');

async function fixture(name: string): Promise<RunResults> {
  const file = path.join(FIXTURES, `${name}.json`);
  return parseResults(await readFile(file, 'utf8'), file);
}

function rerun(r: RunResults, runId: string, revision: string | undefined, transport: 'ssh' | 'serial' = r.board.transport): RunResults {
  const copy = structuredClone(r);
  copy.runId = runId;
  copy.board.transport = transport;
  if (revision === undefined) delete copy.driver.gitRevision;
  else copy.driver.gitRevision = revision;
  return copy;
}

async function record(root: string, r: RunResults): Promise<void> {
  const dir = path.join(root, r.runId);
  await writeReports(r, { outDir: dir, consoleTranscript: '', reportsRoot: root });
  await appendToHistory(root, r, dir);
}

describe('last-good: the last good run of a board from history.json', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'vnet-last-good-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  async function lastGood(run?: string, field?: LastGoodField): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await lastGoodCommand({ ...(run ? { run } : {}), ...(field ? { field } : {}), reportsRoot: root, stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
    return { code, out, err };
  }

  it('prints the run id, driver revision or folder of the last good run before the run (default latest) of its board and transport', async () => {
    const pass = await fixture('pass-run');
    const bug = await fixture('bug-run');
    await record(root, rerun(pass, '20251125-070000-0001', 'aaaa000000000000000000000000000000000001'));
    await record(root, rerun(pass, '20251125-075000-5e71', 'cccc000000000000000000000000000000000003', 'serial'));
    await record(root, rerun(bug, '20251125-080000-b0b0', 'bbbb000000000000000000000000000000000002'));
    await record(root, rerun(bug, '20251125-090000-b0b1', 'bbbb000000000000000000000000000000000004'));
    // latest is the second bug run: the good run before it on ssh, not the serial one after it nor the failing one between.
    expect(await lastGood()).to.deep.equal({ code: 0, out: '20251125-070000-0001\n', err: '' });
    expect((await lastGood(undefined, 'revision')).out).to.equal('aaaa000000000000000000000000000000000001\n');
    expect((await lastGood(undefined, 'dir')).out).to.equal(`${path.join(root, '20251125-070000-0001')}\n`);
    // The serial run is its own series; the night itself, when good, is not its own last good run.
    const serial = await lastGood('20251125-075000-5e71');
    expect(serial.code).to.equal(0);
    expect(serial.out).to.equal('');
    expect(serial.err).to.contain('no good run of qemu-imx25/serial before 20251125-075000-5e71');
    await record(root, rerun(pass, '20251125-100000-0002', 'dddd000000000000000000000000000000000005'));
    expect((await lastGood(undefined, 'revision')).out).to.equal('aaaa000000000000000000000000000000000001\n');
  });

  it('a first night prints nothing and exits 0; a good run without a git revision prints nothing for revision, saying why', async () => {
    const pass = await fixture('pass-run');
    await record(root, rerun(pass, '20251125-070000-0001', undefined));
    const first = await lastGood();
    expect([first.code, first.out]).to.deep.equal([0, '']);
    expect(first.err).to.contain('no good run of qemu-imx25/ssh before 20251125-070000-0001');
    await record(root, rerun(pass, '20251125-080000-0002', 'aaaa000000000000000000000000000000000001'));
    expect((await lastGood()).out).to.equal('20251125-070000-0001\n');
    const revision = await lastGood(undefined, 'revision');
    expect([revision.code, revision.out]).to.deep.equal([0, '']);
    expect(revision.err).to.contain('20251125-070000-0001 (the last good run of qemu-imx25/ssh) recorded no driver revision');
  });

  it('an unreadable history.json or an unknown run is exit 2', async () => {
    expect((await lastGood()).code).to.equal(2);
    const pass = await fixture('pass-run');
    await record(root, rerun(pass, '20251125-070000-0001', 'aaaa000000000000000000000000000000000001'));
    expect((await lastGood('no-such-run')).code).to.equal(2);
    await writeFile(path.join(root, 'history.json'), '{ "schema": 1, "runs": [');
    const corrupt = await lastGood();
    expect(corrupt.code).to.equal(2);
    expect(corrupt.err).to.contain('history.json');
  });

  it('the command line: [run], --field and --reports-dir reach the command; a field outside the choices is a usage error', async () => {
    const seen: unknown[] = [];
    const actions = Object.fromEntries(COMMANDS.map((c) => [c, async (...args: unknown[]) => (seen.push([c, ...args]), 0)])) as unknown as CommandActions;
    expect(await main(['node', 'vnet-harness', 'last-good', '--field', 'revision', '--reports-dir', root, 'r1'], actions)).to.equal(0);
    expect(seen).to.deep.equal([['last-good', { field: 'revision', reportsDir: root }, 'r1']]);
    const write = process.stderr.write;
    process.stderr.write = () => true;
    try {
      expect(await main(['node', 'vnet-harness', 'last-good', '--field', 'hash'], actions)).to.equal(2);
    } finally {
      process.stderr.write = write;
    }
  });
});
