// Tests of the stage suites as mocha runs them (src/stages/suite.ts and
// runner.ts), on observations made without a board: the stage verdict and
// reason, and what the terminal shows for a failed check.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoardTarget } from '../src/board/target.ts';
import { classifyKernelText } from '../src/parsers/kernel-events.ts';
import type { BuildResult, CheckResult, KernelEvent, StageResult } from '../src/results/model.ts';
import type { StageObservations } from '../src/stages/exercise.ts';
import { runSuites } from '../src/stages/runner.ts';
import { stageVerdict } from '../src/stages/suite.ts';
import { MISSING, passingObservations, reading } from './helpers/observations.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'reports');

const build = (stage: number): BuildResult => ({
  stage,
  ok: true,
  module: `/tmp/virt_net${stage}.ko`,
  warnings: [],
  diagnostics: [],
  compiled: false,
  durationMs: 1,
  log: '',
});

/** Runs the real suites of `stages` on made-up observations; returns the results and what mocha printed. */
async function runOn(observations: Record<number, StageObservations>): Promise<{ stages: StageResult[]; terminal: string }> {
  const stages = Object.keys(observations).map(Number);
  const printed: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const results = await runSuites({
      stages,
      reporter: 'spec',
      context: {
        board: { name: 'fake', config: { kmemleakMinAge: 5 } } as unknown as BoardTarget,
        builds: new Map(stages.map((s) => [s, build(s)])),
        stageTimeoutMs: 10_000,
        log: () => {},
        exercise: async (_board, plan) => observations[plan.stage] as StageObservations,
      },
    });
    return { stages: results, terminal: printed.join('') };
  } finally {
    process.stdout.write = write;
  }
}

describe('stage suites: verdicts and reasons', function () {
  this.timeout(30_000);

  it('a failed check: stage fail, the reason says what was expected and seen, the terminal shows the same line and no diff or stack', async () => {
    const obs = passingObservations(3);
    const loaded = reading(3);
    if (loaded.present) loaded.reading.address = '08:89:89:89:89:12';
    obs.loaded = loaded;
    const { stages, terminal } = await runOn({ 3: obs });
    const s = stages[0]!;
    expect(s.verdict).to.equal('fail');
    expect(s.reason).to.equal('mac-address: MAC set by the driver: expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
    expect(terminal).to.contain('MAC set by the driver: expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
    expect(terminal).to.not.contain('to deeply equal');
    expect(terminal).to.not.match(/\+ expected|- actual/);
    expect(terminal).to.not.match(/^\s+at .*(src|suites|node_modules)\//m);
  });

  it('vnet0 gone in the middle of a stage is a driver failure (fail), not an infrastructure error', async () => {
    const obs = passingObservations(4);
    obs.remotePing = { ...obs.remotePing!, after: MISSING };
    obs.probe = { ...obs.probe!, before: MISSING, after: MISSING };
    const { stages } = await runOn({ 4: obs });
    const s = stages[0]!;
    expect(s.verdict).to.equal('fail');
    expect(s.checks.filter((c) => c.verdict === 'error')).to.deep.equal([]);
    expect(s.checks.filter((c) => c.verdict === 'fail').map((c) => c.id)).to.include.members(['wire-counters', 'probe-counters']);
  });

  it('a crash: the reason leads with the kernel\'s own first line and where the PC was, then the step', async () => {
    const consoleText = await readFile(path.join(FIXTURES, 'bug-run.console.txt'), 'utf8');
    const oops = consoleText.split('\n').filter((l) => /^\[\s+19\./.test(l)).join('\n');
    const obs = passingObservations(1);
    delete obs.remotePing;
    delete obs.remoteDmesg;
    delete obs.rmmod;
    delete obs.unloaded;
    obs.kernelEvents = classifyKernelText(oops);
    expect(obs.kernelEvents.map((e) => e.class)).to.deep.equal(['oops', 'panic']);
    obs.fault = { class: 'crash', step: 'ping 3.3.3.4', message: 'board-lost: the connection to the board was lost' };
    obs.recovered = true;
    const { stages } = await runOn({ 1: obs });
    const s = stages[0]!;
    expect(s.verdict).to.equal('crash');
    expect(s.reason).to.match(/^Unable to handle kernel NULL pointer dereference at virtual address 00000000/);
    expect(s.reason).to.contain('PC is at 0x0');
    expect(s.reason).to.contain('crash during ping 3.3.3.4');
    expect(s.reason).to.not.contain('board-lost');
  });

  it('a hang with no kernel report keeps the board\'s own message', async () => {
    const obs = passingObservations(2);
    delete obs.remotePing;
    obs.kernelEvents = [{ class: 'hang', firstLine: 'board stopped answering during ping 3.3.3.4', text: 'x', fatal: true }];
    obs.fault = { class: 'hang', step: 'ping 3.3.3.4', message: 'command-timeout: no answer for 30 s' };
    const { stages } = await runOn({ 2: obs });
    expect(stages[0]!.verdict).to.equal('hang');
    expect(stages[0]!.reason).to.equal('hang during ping 3.3.3.4: command-timeout: no answer for 30 s');
  });
});

describe('stageVerdict: a stage\'s verdict from its build, fault and checks', () => {
  const checkOf = (verdict: CheckResult['verdict']): CheckResult => ({ id: `c-${verdict}`, title: verdict, verdict });
  const fault = (c: 'crash' | 'hang' | 'error') => ({ class: c, step: 'rmmod', message: 'x' });

  it('a module that did not build is a build-error, whatever else happened', () => {
    expect(stageVerdict(false, fault('crash'), 'harness broke', [checkOf('fail')])).to.equal('build-error');
  });

  it('a harness error comes before a fault, a fault before the checks', () => {
    expect(stageVerdict(true, fault('crash'), 'harness broke', [])).to.equal('error');
    expect(stageVerdict(true, fault('crash'), undefined, [checkOf('fail')])).to.equal('crash');
    expect(stageVerdict(true, fault('hang'), undefined, [checkOf('pass')])).to.equal('hang');
    expect(stageVerdict(true, fault('error'), undefined, [checkOf('pass')])).to.equal('error');
  });

  it('checks: a failed one fails the stage (before an errored one), skipped ones alone pass', () => {
    expect(stageVerdict(true, undefined, undefined, [checkOf('error'), checkOf('fail')])).to.equal('fail');
    expect(stageVerdict(true, undefined, undefined, [checkOf('pass'), checkOf('error')])).to.equal('error');
    expect(stageVerdict(true, undefined, undefined, [checkOf('pass'), checkOf('skipped')])).to.equal('pass');
  });

  it('a sanitizer report gives its class (the first one), after a fault and before the checks', () => {
    const event = (cls: KernelEvent['class']): KernelEvent => ({ class: cls, firstLine: cls, text: cls, fatal: false });
    const failed = [checkOf('fail')];
    expect(stageVerdict(true, undefined, undefined, failed, [event('warning'), event('kasan'), event('kmemleak')])).to.equal('kasan');
    expect(stageVerdict(true, undefined, undefined, failed, [event('kmemleak')])).to.equal('kmemleak');
    expect(stageVerdict(true, undefined, undefined, failed, [event('lockdep')])).to.equal('lockdep');
    expect(stageVerdict(true, undefined, undefined, failed, [event('atomic-sleep')])).to.equal('atomic-sleep');
    expect(stageVerdict(true, undefined, undefined, failed, [event('ubsan')])).to.equal('ubsan');
    expect(stageVerdict(true, undefined, undefined, failed, [event('warning')]), 'a WARNING is no sanitizer').to.equal('fail');
    expect(stageVerdict(true, fault('crash'), undefined, failed, [event('kasan')])).to.equal('crash');
    expect(stageVerdict(true, fault('error'), undefined, failed, [event('kasan')])).to.equal('error');
  });
});
