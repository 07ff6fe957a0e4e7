// lava-job on the emulated board, without a LAVA server: the images the job
// deploys, booted under QEMU as the job's qemu context asks (imx25-pdk, user
// network restricted), logged in on the console as LAVA's auto_login does,
// each stage's test definition step run with lava-test-case replaced by a
// line printer. The project's drivers pass every check; a seeded bug fails
// the check the harness fails for it and no other; the printed cases,
// written as LAVA's yaml export, import as a run with those verdicts.
import { expect } from 'chai';
import { execa } from 'execa';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { main } from '../src/cli.ts';
import { RTT_CASE_PREFIX, scriptCheckIds } from '../src/lava/stage-script.ts';
import { DEFAULT_MODULES_DIR, PROJECT_ROOT } from '../src/paths.ts';
import { loadResults } from '../src/reporters/load-results.ts';
import { runStagesUnderQemu, type ConsoleCase } from './helpers/lava-qemu.ts';

const APPEND = 'console=ttymxc0,115200 panic=1 rng_core.default_quality=1024';

async function quiet<T>(body: () => Promise<T>): Promise<T> {
  const w = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await body();
  } finally {
    process.stdout.write = w;
  }
}

/** Writes the job and its images for a driver tree; returns the job's text. */
async function exportJob(dir: string, modules: string, stages: string): Promise<string> {
  const code = await quiet(() => main(['node', 'vnet-harness', 'lava-job', '--modules', modules, '--stages', stages, '--out', join(dir, 'job.yaml')]));
  expect(code).to.equal(0);
  return readFile(join(dir, 'job.yaml'), 'utf8');
}

const verdicts = (cases: ConsoleCase[], stage: number) => Object.fromEntries(cases.filter((c) => c.suite.endsWith(`vnet-stage${stage}`) && !c.name.startsWith(RTT_CASE_PREFIX)).map((c) => [c.name, c.result]));

describe('lava-job on the emulated board: the job\'s images and stage script, run as LAVA would @board', function () {
  this.timeout(900_000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'vnet-lava-board-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('the project\'s drivers pass every check of the four stages; the cases import as a passing run', async () => {
    const job = parse(await exportJob(join(dir, 'good'), DEFAULT_MODULES_DIR, '1,2,3,4')) as { context: { extra_options: string[] } };
    expect(job.context.extra_options).to.include(JSON.stringify(APPEND));
    const started = Date.now();
    const { cases, transcript } = await runStagesUnderQemu(join(dir, 'good', 'vnet-lava-images'), [1, 2, 3, 4], APPEND);
    const seconds = (Date.now() - started) / 1000;
    for (const stage of [1, 2, 3, 4]) {
      expect(verdicts(cases, stage), `stage ${stage}\n${transcript.slice(-2000)}`).to.deep.equal(Object.fromEntries(scriptCheckIds(stage).map((id) => [id, 'pass'])));
    }
    const rtts = cases.filter((c) => c.name.startsWith(RTT_CASE_PREFIX));
    expect(rtts).to.have.length(20);
    expect(rtts.every((c) => c.unit === 'ms' && Number(c.measurement) > 0)).to.equal(true);
    await writeFile(join(dir, 'good.yaml'), stringify(cases.map((c) => ({ ...c, measurement: c.measurement ?? null }))));
    const code = await quiet(() => main(['node', 'vnet-harness', 'lava-results', join(dir, 'good.yaml'), '--out', join(dir, 'good-run')]));
    expect(code).to.equal(0);
    const results = await loadResults(join(dir, 'good-run', 'results.json'));
    expect(results.stages.map((s) => s.verdict)).to.deep.equal(['pass', 'pass', 'pass', 'pass']);
    expect(results.stages[3]?.rttsMs).to.have.length(20);
    process.stderr.write(`      (boot, login and the four stages under QEMU: ${seconds.toFixed(1)} s)\n`);
  });

  it('a seeded wrong MAC (stage3-wrong-mac.patch) fails mac-address and nothing else; imported, exit 1', async () => {
    const tree = join(dir, 'tree');
    await cp(DEFAULT_MODULES_DIR, tree, { recursive: true });
    // spawns: patch
    await execa('patch', ['-p1', '-s', '-i', join(PROJECT_ROOT, 'test', 'fixtures', 'bugs', 'stage3-wrong-mac.patch')], { cwd: tree });
    await exportJob(join(dir, 'bad'), tree, '3');
    const { cases, transcript } = await runStagesUnderQemu(join(dir, 'bad', 'vnet-lava-images'), [3], APPEND);
    expect(verdicts(cases, 3), transcript.slice(-2000)).to.deep.equal(Object.fromEntries(scriptCheckIds(3).map((id) => [id, id === 'mac-address' ? 'fail' : 'pass'])));
    await writeFile(join(dir, 'bad.yaml'), stringify(cases.map((c) => ({ ...c, measurement: c.measurement ?? null }))));
    const code = await quiet(() => main(['node', 'vnet-harness', 'lava-results', join(dir, 'bad.yaml'), '--modules', tree, '--out', join(dir, 'bad-run')]));
    expect(code).to.equal(1);
    const results = await loadResults(join(dir, 'bad-run', 'results.json'));
    expect(results.stages.map((s) => [s.stage, s.verdict, s.checks.filter((c) => c.verdict !== 'pass').map((c) => c.id)])).to.deep.equal([[3, 'fail', ['mac-address']]]);
  });
});
