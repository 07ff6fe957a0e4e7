// The nightly CI recipes in ci-examples/ parse as YAML, have what the issue
// asks of them (reports kept, JUnit to the test view, summary.md to the job
// summary, the last good night compared, infrastructure errors apart from
// driver failures), and every vnet-harness command and option they call
// exists in the CLI's option table (src/cli-options.ts).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { COMMANDS, optionsOf, type CommandName } from '../src/cli-options.ts';

const REPO = resolve(import.meta.dirname, '..');
const GLOBAL_FLAGS = new Set(['--debug', '--version', '--help', '-h']);

interface Call {
  command: string;
  flags: string[];
  text: string;
}

/** The vnet-harness calls in shell text: `npx vnet-harness CMD …` and `npm test -- …` (which is `vnet-harness test …`). */
function harnessCalls(shell: string): Call[] {
  const calls: Call[] = [];
  for (const m of shell.matchAll(/npx vnet-harness\s+([\w-]+)([^;&|\n]*)/g)) {
    calls.push({ command: m[1]!, flags: flagsOf(m[2]!), text: m[0] });
  }
  for (const m of shell.matchAll(/npm test(?:\s+--\s+([^;&|\n]*))?/g)) calls.push({ command: 'test', flags: flagsOf(m[1] ?? ''), text: m[0] });
  return calls;
}

function flagsOf(args: string): string[] {
  return args
    .split(/\s+/)
    .filter((w) => /^--?[a-z]/.test(w))
    .map((w) => w.replace(/=.*$/, ''));
}

/** What is wrong with a call: an unknown command or an option the command does not take. */
function callProblems(call: Call): string[] {
  if (!(COMMANDS as readonly string[]).includes(call.command)) return [`\`${call.text}\`: no command "${call.command}"`];
  const known = new Set(optionsOf(call.command as CommandName).flatMap((o) => o.flags.split(/[ ,]+/).filter((f) => f.startsWith('-'))));
  return call.flags.filter((f) => !known.has(f) && !GLOBAL_FLAGS.has(f)).map((f) => `\`${call.text}\`: ${call.command} has no option ${f}`);
}

const read = (name: string): unknown => parse(readFileSync(join(REPO, 'ci-examples', name), 'utf8'));

describe('ci-examples: the nightly recipes', () => {
  it('GitHub Actions: a self-hosted board runner, reports kept, JUnit and summary published, infrastructure apart from the driver', () => {
    const wf = read('github-nightly.yml') as { on: Record<string, unknown>; jobs: Record<string, { 'runs-on': string[]; steps: Array<Record<string, unknown>> }> };
    expect(wf.on).to.have.property('schedule');
    const job = Object.values(wf.jobs)[0]!;
    expect(job['runs-on']).to.include('self-hosted');
    const runs = job.steps.map((s) => String(s.run ?? ''));
    const uses = job.steps.map((s) => String(s.uses ?? ''));
    expect(runs.some((r) => r.includes('npm test -- --board imx257'))).to.equal(true);
    expect(runs.some((r) => /npx vnet-harness compare "\$NIGHTLY_DIR\/last-good" reports\/latest/.test(r))).to.equal(true);
    expect(runs.some((r) => r.includes('reports/latest/summary.md >> "$GITHUB_STEP_SUMMARY"'))).to.equal(true);
    expect(uses.some((u) => u.startsWith('actions/upload-artifact'))).to.equal(true);
    const junit = job.steps.find((s) => String(s.uses ?? '').startsWith('mikepenz/action-junit-report'));
    expect((junit?.with as Record<string, string>).report_paths).to.equal('reports/*/junit.xml');
    // Exit 2 and exit 1 end in two different steps.
    const infra = job.steps.find((s) => String(s.name).startsWith('infrastructure'));
    const driver = job.steps.find((s) => String(s.name).startsWith('driver verdict'));
    expect(String(infra?.run)).to.match(/= 2 \]/).and.to.match(/exit 2/);
    expect(String(driver?.run)).to.match(/= 1 \]/).and.to.match(/exit 1/);
  });

  it('GitLab CI: a tagged runner, reports kept, JUnit in the test view, exit 2 allowed to fail', () => {
    const ci = read('gitlab-ci.yml') as Record<string, Record<string, unknown>>;
    const job = ci['nightly-imx257']!;
    expect(job.tags).to.deep.equal(['imx257']);
    expect(job.allow_failure).to.deep.equal({ exit_codes: [2] });
    expect(job.artifacts).to.deep.include({ when: 'always', paths: ['reports/'], reports: { junit: 'reports/*/junit.xml' } });
    const script = (job.script as string[]).join('\n');
    expect(script).to.include('npm test -- --board imx257');
    expect(script).to.match(/npx vnet-harness compare "\$NIGHTLY_DIR\/last-good" reports\/latest/);
    expect(script).to.match(/exit 2; fi/).and.to.match(/exit 1; fi/);
  });

  it('every vnet-harness command and option the recipes call exists in the CLI', () => {
    const texts = [readFileSync(join(REPO, 'ci-examples', 'github-nightly.yml'), 'utf8'), readFileSync(join(REPO, 'ci-examples', 'gitlab-ci.yml'), 'utf8')];
    const calls = texts.flatMap(harnessCalls);
    expect(calls.map((c) => c.command).sort()).to.deep.equal(['compare', 'compare', 'doctor', 'doctor', 'test', 'test']);
    expect(calls.flatMap(callProblems)).to.deep.equal([]);
  });

  it('the check can fail: an unknown command or option is named', () => {
    const problems = harnessCalls('npx vnet-harness run --board imx257 --against last-good\nnpm test -- --boards imx257\nnpx vnet-harness nightly --board x').flatMap(callProblems);
    expect(problems).to.deep.equal([
      '`npx vnet-harness run --board imx257 --against last-good`: run has no option --against',
      '`npx vnet-harness nightly --board x`: no command "nightly"',
      '`npm test -- --boards imx257`: test has no option --boards',
    ]);
  });
});
