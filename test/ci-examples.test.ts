// The nightly CI recipes in ci-examples/ parse as YAML, have what the issue
// asks of them (reports kept, JUnit to the test view, summary.md to the job
// summary, the night compared with the last good run of the run history kept
// on the runner (compare --against last-good, no copy of its own),
// infrastructure errors apart from driver failures, a regressed night bisected
// from the driver revision the history recorded for the last good run, with
// its result kept), and every vnet-harness command and option they call
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
const text = (name: string): string => readFileSync(join(REPO, 'ci-examples', name), 'utf8');
const PERSISTENT_REPORTS = '--reports-dir "$NIGHTLY_DIR/reports"';

/**
 * What is wrong with how a recipe uses the run history: every suite run,
 * last-good and compare must use the reports folder on the runner's disk; the
 * night is compared with --against last-good; no last-good copy of its own.
 */
function historyProblems(recipe: string): string[] {
  const problems: string[] = [];
  const calls = harnessCalls(recipe);
  for (const call of calls.filter((c) => ['test', 'compare', 'last-good'].includes(c.command))) {
    if (!call.text.includes(PERSISTENT_REPORTS)) problems.push(`\`${call.text}\`: not the reports folder on the runner's disk`);
  }
  for (const call of calls.filter((c) => c.command === 'compare')) {
    if (!/--against last-good\b/.test(call.text)) problems.push(`\`${call.text}\`: not against the last good run of the history`);
  }
  if (!calls.some((c) => c.command === 'compare')) problems.push('no compare');
  if (/last-good(\.new)?\/|last-good"|driver-revision|cp -rL reports\/latest/.test(recipe)) problems.push('a last-good copy of its own');
  return problems;
}

describe('ci-examples: the nightly recipes', () => {
  it('GitHub Actions: a self-hosted board runner, reports kept, JUnit and summary published, infrastructure apart from the driver', () => {
    const wf = read('github-nightly.yml') as { on: Record<string, unknown>; jobs: Record<string, { 'runs-on': string[]; steps: Array<Record<string, unknown>> }> };
    expect(wf.on).to.have.property('schedule');
    const job = Object.values(wf.jobs)[0]!;
    expect(job['runs-on']).to.include('self-hosted');
    const runs = job.steps.map((s) => String(s.run ?? ''));
    const uses = job.steps.map((s) => String(s.uses ?? ''));
    expect(runs.some((r) => r.includes(`npm test -- --board imx257 --transport ssh ${PERSISTENT_REPORTS}`))).to.equal(true);
    expect(runs.some((r) => r.includes(`npx vnet-harness compare --against last-good "$RUN" ${PERSISTENT_REPORTS}`))).to.equal(true);
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

  it('GitHub Actions: a night that regressed against the last good night is bisected from its recorded revision, the result kept', () => {
    const wf = read('github-nightly.yml') as { jobs: Record<string, { steps: Array<Record<string, unknown>> }> };
    const steps = Object.values(wf.jobs)[0]!.steps;
    const index = (pred: (s: Record<string, unknown>) => boolean) => steps.findIndex(pred);
    // The whole history is fetched: a shallow clone has no commits to bisect.
    const checkout = steps.find((s) => String(s.uses ?? '').startsWith('actions/checkout'));
    expect(checkout?.with).to.deep.include({ 'fetch-depth': 0 });
    // No step keeps a last good night of its own: the history on the runner's disk has it.
    expect(steps.some((s) => String(s.name).startsWith('remember a good night'))).to.equal(false);
    // Only a regression against the last good night (compare's exit 1) is bisected, from the revision the history recorded for it to this one.
    const bisect = steps.find((s) => /vnet-harness bisect/.test(String(s.run ?? '')));
    expect(bisect?.if).to.equal("always() && steps.compare.outputs.code == '1'");
    expect(String(bisect?.run)).to.include(`good=$(npx vnet-harness last-good "$RUN" --field revision ${PERSISTENT_REPORTS})`);
    expect(String(bisect?.run)).to.match(/npx vnet-harness bisect --board imx257 --transport ssh --good "\$good" --bad HEAD --out reports\/bisect\n/);
    expect(index((s) => s === bisect)).to.be.greaterThan(index((s) => s.id === 'compare'));
    // Its result: in the job summary and an artifact of its own.
    const summary = steps.find((s) => String(s.name) === 'job summary');
    expect(String(summary?.run)).to.include('reports/bisect/bisect.md').and.to.include('"$GITHUB_STEP_SUMMARY"');
    const kept = steps.find((s) => String(s.uses ?? '').startsWith('actions/upload-artifact') && String((s.with as Record<string, string>).path).includes('bisect'));
    const paths = String((kept?.with as Record<string, string>).path).trim().split('\n');
    expect(paths).to.include.members(['reports/bisect/bisect.md', 'reports/bisect/bisect.json', 'reports/bisect/bisect.html']);
  });

  it('GitLab CI: a tagged runner, reports kept, JUnit in the test view, exit 2 allowed to fail', () => {
    const ci = read('gitlab-ci.yml') as Record<string, Record<string, unknown>>;
    const job = ci['nightly-imx257']!;
    expect(job.tags).to.deep.equal(['imx257']);
    expect(job.allow_failure).to.deep.equal({ exit_codes: [2] });
    expect(job.artifacts).to.deep.include({ when: 'always', paths: ['reports/'], reports: { junit: 'reports/*/junit.xml' } });
    const script = (job.script as string[]).join('\n');
    expect(script).to.include(`npm test -- --board imx257 --transport ssh ${PERSISTENT_REPORTS}; suites=$?`);
    expect(script).to.include(`npx vnet-harness compare --against last-good "$run" ${PERSISTENT_REPORTS}`);
    expect(script).to.match(/exit 2; fi/).and.to.match(/exit 1; fi/);
  });

  it('GitLab CI: a night that regressed against the last good night is bisected from its recorded revision, the result kept', () => {
    const ci = read('gitlab-ci.yml') as Record<string, Record<string, unknown>>;
    const job = ci['nightly-imx257']!;
    expect(job.variables).to.deep.include({ GIT_DEPTH: '0' });
    const script = job.script as string[];
    expect(script.some((l) => l.includes('last-good.new'))).to.equal(false);
    const bisectAt = script.findIndex((l) => l.includes('vnet-harness bisect'));
    const compareAt = script.findIndex((l) => l.includes('vnet-harness compare'));
    expect(bisectAt).to.be.greaterThan(compareAt);
    const bisect = script[bisectAt]!;
    expect(bisect).to.match(/^if \[ "\$compared" = 1 \]; then/);
    expect(bisect).to.include(`good=$(npx vnet-harness last-good "$run" --field revision ${PERSISTENT_REPORTS})`);
    expect(bisect).to.include('npx vnet-harness bisect --board imx257 --transport ssh --good "$good" --bad HEAD --out reports/bisect;');
    expect(bisect).to.include('cat reports/bisect/bisect.md');
    // reports/bisect/ lies in the artifacts' reports/.
    expect((job.artifacts as { paths: string[] }).paths).to.deep.equal(['reports/']);
  });

  it('every vnet-harness command and option the recipes call exists in the CLI', () => {
    const texts = [readFileSync(join(REPO, 'ci-examples', 'github-nightly.yml'), 'utf8'), readFileSync(join(REPO, 'ci-examples', 'gitlab-ci.yml'), 'utf8')];
    const calls = texts.flatMap(harnessCalls);
    expect(calls.map((c) => c.command).sort()).to.deep.equal(['bisect', 'bisect', 'compare', 'compare', 'doctor', 'doctor', 'last-good', 'last-good', 'last-good', 'last-good', 'test', 'test']);
    expect(calls.flatMap(callProblems)).to.deep.equal([]);
  });

  it('both recipes keep the reports folder, history included, on the runner\'s disk and compare with its last good run, with no copy of their own', () => {
    for (const name of ['github-nightly.yml', 'gitlab-ci.yml']) {
      expect(historyProblems(text(name)), name).to.deep.equal([]);
      // Each night's run, the history and its index are brought into the workspace for the artifacts.
      expect(text(name), name).to.include('cp -rL "$NIGHTLY_DIR/reports/$').and.to.include('for f in history.json index.html; do');
    }
  });

  it('the history check can fail: a compare of a copied last good night, a workspace reports folder', () => {
    const old = [
      'npm test -- --board imx257 --transport ssh',
      'npx vnet-harness compare "$NIGHTLY_DIR/last-good" reports/latest --format markdown',
      'cp -rL reports/latest "$NIGHTLY_DIR/last-good.new"',
    ].join('\n');
    expect(historyProblems(old)).to.deep.equal([
      '`npx vnet-harness compare "$NIGHTLY_DIR/last-good" reports/latest --format markdown`: not the reports folder on the runner\'s disk',
      "`npm test -- --board imx257 --transport ssh`: not the reports folder on the runner's disk",
      '`npx vnet-harness compare "$NIGHTLY_DIR/last-good" reports/latest --format markdown`: not against the last good run of the history',
      'a last-good copy of its own',
    ]);
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
