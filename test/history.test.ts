// reports/history.json and the History of reports/index.html, from the
// results fixtures: runs appended one after another, each compared by
// src/compare/ with the run before it on the same board and transport; the
// regression between two consecutive runs is marked in both; the last good
// run is what `compare --against last-good` takes; a corrupt history is an
// error that leaves the file as it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { compareCommand } from '../src/compare/command.ts';
import { compareRuns } from '../src/compare/compare.ts';
import { appendToHistory, historyPath } from '../src/history/record.ts';
import { writeReports, writeRunIndex } from '../src/reporters/index.ts';
import { loadHistory, parseHistory } from '../src/reporters/load-history.ts';
import { parseResults } from '../src/reporters/load-results.ts';
import { HISTORY_SCHEMA, lastGood } from '../src/results/history.ts';
import type { RunResults } from '../src/results/model.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'reports');

async function fixture(name: string): Promise<RunResults> {
  const file = path.join(FIXTURES, `${name}.json`);
  return parseResults(await readFile(file, 'utf8'), file);
}

/** A copy of a fixture run with another id and start time (and transport). */
function rerun(r: RunResults, runId: string, startedAt: string, transport: 'ssh' | 'serial' = r.board.transport): RunResults {
  const copy = structuredClone(r);
  copy.runId = runId;
  copy.startedAt = startedAt;
  copy.board.transport = transport;
  return copy;
}

/** Writes a run's reports into root/<id> as `run` does, then appends it to the history. */
async function record(root: string, r: RunResults) {
  const dir = path.join(root, r.runId);
  await writeReports(r, { outDir: dir, consoleTranscript: '', reportsRoot: root });
  const entry = await appendToHistory(root, r, dir);
  await writeRunIndex(root);
  return entry;
}

describe('history: reports/history.json and the index over time', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'vnet-history-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('appends each run with stage verdicts, key counters and RTT spread, and marks the regression between consecutive runs of a board', async () => {
    const pass = await fixture('pass-run');
    const bug = await fixture('bug-run');
    const good1 = rerun(pass, '20251125-070000-0001', '2025-11-25T07:00:00.000Z');
    const good2 = rerun(pass, '20251125-080102-a1b2', '2025-11-25T08:01:02.000Z');
    const serial = rerun(pass, '20251125-081000-5e71', '2025-11-25T08:10:00.000Z', 'serial');

    const e1 = await record(root, good1);
    const e2 = await record(root, good2);
    const eSerial = await record(root, serial);
    const e3 = await record(root, bug);

    expect(e1.previous).to.equal(undefined);
    expect(e2.previous).to.deep.include({ runId: good1.runId, regression: false, reasons: [] });
    // Another transport is another series: its first run is compared with nothing.
    expect(eSerial.previous).to.equal(undefined);
    // The bug run is compared with the ssh run right before it, and by compare's own judgement.
    const expected = compareRuns(good2, bug);
    expect(expected.regression).to.equal(true);
    expect(e3.previous).to.deep.equal({ runId: good2.runId, regression: true, reasons: expected.reasons, reported: expected.reported });

    const text = await readFile(historyPath(root), 'utf8');
    const history = parseHistory(text, 'history.json');
    expect(history.schema).to.equal(HISTORY_SCHEMA);
    expect(history.runs.map((e) => e.runId)).to.deep.equal([good1.runId, good2.runId, serial.runId, bug.runId]);
    expect(history.runs.map((e) => e.dir)).to.deep.equal([good1.runId, good2.runId, serial.runId, bug.runId]);
    const last = history.runs[3]!;
    expect(last.stages.map((s) => `${s.stage}:${s.verdict}`)).to.deep.equal(['1:crash', '2:pass', '3:fail', '4:pass']);
    const stage4 = last.stages.find((s) => s.stage === 4)!;
    const lastReading = bug.stages.find((s) => s.stage === 4)!.readings.at(-1)!;
    expect(stage4.counters.tx_packets).to.equal(lastReading.statistics.tx_packets);
    expect(stage4.countersAt).to.equal(lastReading.at);
    // Median and quartiles of the echoes after the warm-up one.
    const rtts = bug.stages.find((s) => s.stage === 4)!.rttsMs.slice(1).sort((a, b) => a - b);
    expect(stage4.rtt?.n).to.equal(rtts.length);
    expect(stage4.rtt?.minMs).to.equal(rtts[0]);
    expect(stage4.rtt!.q1Ms).to.be.at.most(stage4.rtt!.medianMs);
    expect(stage4.rtt!.q3Ms).to.be.at.least(stage4.rtt!.medianMs);
    expect(lastGood(history, 'qemu-imx25/ssh')?.runId).to.equal(good2.runId);

    const index = await readFile(path.join(root, 'index.html'), 'utf8');
    const rows = [...index.matchAll(/<tr class="([^"]*)" data-run="([^"]+)"|<tr data-run="([^"]+)"/g)].map((m) => ({ cls: m[1] ?? '', run: m[2] ?? m[3] }));
    expect(rows.find((r) => r.run === bug.runId)?.cls).to.equal('regression bad');
    expect(rows.find((r) => r.run === good2.runId)?.cls).to.equal('');
    const bugRow = index.slice(index.indexOf(`data-run="${bug.runId}"`));
    expect(bugRow.slice(0, bugRow.indexOf('</tr>'))).to.contain('REGRESSION').and.contain(`vs ${good2.runId}`).and.contain('mac-address');
    expect(index).to.contain('last good: 20251125-080102-a1b2');
    expect(index).to.match(/<table class="history" data-series="qemu-imx25\/serial">/);
  });

  it('compare --against last-good takes the last good run of the board before the run compared', async () => {
    const pass = await fixture('pass-run');
    const bug = await fixture('bug-run');
    const good = rerun(pass, '20251125-080102-a1b2', '2025-11-25T08:01:02.000Z');
    await record(root, good);
    await record(root, bug);
    const bug2 = rerun(bug, '20251125-090000-b0b0', '2025-11-25T09:00:00.000Z');
    await record(root, bug2);
    const err: string[] = [];
    const out: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), reportsRoot: root };
    // latest is bug2: the last good run before it is `good`, not the failing bug run between them.
    expect(await compareCommand({ against: 'last-good', format: 'json', ...io })).to.equal(1);
    expect(err.join('')).to.contain(`against the last good run of qemu-imx25/ssh: ${path.join(root, good.runId, 'results.json')}`);
    const written = JSON.parse(await readFile(path.join(root, `compare-${good.runId}-vs-${bug2.runId}.json`), 'utf8')) as { a: { runId: string }; regression: boolean };
    expect(written.a.runId).to.equal(good.runId);
    // --against previous: the run right before it (the same bug: no regression).
    expect(await compareCommand({ a: bug2.runId, against: 'previous', ...io })).to.equal(0);
    // Nothing good before the first run: exit 2, saying so.
    err.length = 0;
    expect(await compareCommand({ a: good.runId, against: 'last-good', ...io })).to.equal(2);
    expect(err.join('')).to.contain(`no good run of qemu-imx25/ssh before ${good.runId}`);
    // Two runs and --against: a usage mistake, not a guess.
    expect(await compareCommand({ a: good.runId, b: bug.runId, against: 'last-good', ...io })).to.equal(2);
  });

  it('a corrupt history.json is a clear error and is left byte for byte as it was; the index says so', async () => {
    const pass = await fixture('pass-run');
    await record(root, pass);
    const file = historyPath(root);
    const broken = (await readFile(file, 'utf8')).slice(0, 120);
    await writeFile(file, broken);
    const bug = await fixture('bug-run');
    await writeReports(bug, { outDir: path.join(root, bug.runId), consoleTranscript: '', reportsRoot: root });
    let message = '';
    try {
      await appendToHistory(root, bug, path.join(root, bug.runId));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: not valid JSON`));
    expect(message).to.contain(`run ${bug.runId} was not added to the history`).and.contain('left as it is');
    expect(await readFile(file, 'utf8')).to.equal(broken);
    const index = await readFile(path.join(root, 'index.html'), 'utf8');
    expect(index).to.contain('history.json cannot be read:');
    // Another schema version is refused too, naming it.
    await writeFile(file, JSON.stringify({ schema: HISTORY_SCHEMA + 1, runs: [] }));
    let newer = '';
    await loadHistory(file).catch((e: Error) => (newer = e.message));
    expect(newer).to.contain(`history schema ${HISTORY_SCHEMA + 1}; this harness reads schema ${HISTORY_SCHEMA} (written by a newer harness`);
  });

  it('two runs appending at the same moment both land (lock, atomic rename)', async () => {
    const pass = await fixture('pass-run');
    const runs = Array.from({ length: 6 }, (_, i) => rerun(pass, `20251125-10000${i}-000${i}`, `2025-11-25T10:00:0${i}.000Z`));
    for (const r of runs) await writeReports(r, { outDir: path.join(root, r.runId), consoleTranscript: '' });
    await Promise.all(runs.map((r) => appendToHistory(root, r, path.join(root, r.runId))));
    const history = await loadHistory(historyPath(root));
    expect(history.runs.map((e) => e.runId).sort()).to.deep.equal(runs.map((r) => r.runId).sort());
    // Every run after the first was compared with one before it.
    expect(history.runs.filter((e) => e.previous === undefined)).to.have.length(1);
  });
});
