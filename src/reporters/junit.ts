// junit.xml for CI systems (Jenkins, GitLab): one <testsuite> per stage, one
// <testcase> per check, plus a `build` case when the stage was built. Kernel
// faults are a result of their own (as LAVA does), counted once: the stage's
// `no-kernel-fault` check carries them, or a `kernel-events` case when the
// stage has no such check. A failing case carries its own <system-out> (the
// stage's kernel lines) and an [[ATTACHMENT|…]] line naming console.log,
// which Jenkins and GitLab show as a link.
// Follows the de-facto Jenkins xUnit junit-10.xsd; see
// test/fixtures/reports/junit-10.xsd, which the tests validate against.

import { checkFailureText } from '../results/check-text.ts';
import type { CheckResult, KernelEvent, RunResults, StageResult } from '../results/model.ts';
import { buildWarnings, runClassName, stageClassName } from './summary.ts';
import { formatValue, seconds, truncate, xmlAttr, xmlText } from './text.ts';

export interface JunitOptions {
  /**
   * console.log as CI should open it: relative to the directory the CI job runs
   * in (GitLab resolves attachments against the project directory, Jenkins
   * against the workspace) or absolute. Default: the results' `consoleLog`.
   */
  consoleLogPath?: string;
}

/** The id of the check that carries a stage's kernel faults in JUnit. */
const FAULT_CHECK = 'no-kernel-fault';

type Outcome =
  | { kind: 'pass' }
  | { kind: 'failure' | 'error'; type: string; message: string; body: string }
  | { kind: 'skipped'; message: string };

interface Case {
  name: string;
  classname: string;
  timeMs?: number;
  outcome: Outcome;
  out?: string;
}

const MESSAGE_MAX = 1000;

// One-line text for a failure's message attribute; the body keeps the whole story.
function oneLine(text: string): string {
  return truncate(text.replace(/\s*\n\s*/g, ' | ').trim(), MESSAGE_MAX);
}

function checkBody(check: CheckResult): string {
  const lines = [`check:    ${check.title} (${check.id})`, `verdict:  ${check.verdict}`];
  if ('expected' in check) lines.push(`expected: ${formatValue(check.expected)}`);
  if ('actual' in check) lines.push(`actual:   ${formatValue(check.actual)}`);
  if (check.message) lines.push(`message:  ${check.message}`);
  return lines.join('\n');
}

function eventsBody(events: readonly KernelEvent[]): string {
  return events.map((e) => `[${e.class}${e.fatal ? ', fatal' : ''}] ${e.firstLine}\n${e.text}`).join('\n\n');
}

function eventsMessage(events: readonly KernelEvent[]): string {
  return `${events.length} kernel event${events.length === 1 ? '' : 's'}: ${events.map((e) => `${e.class}: ${e.firstLine}`).join('; ')}`;
}

// What a failing case shows beside its failure: the stage's kernel reports and
// kernel log, and the console transcript as an attachment.
function failureOut(stage: StageResult, attachment: string | undefined): string {
  const lines = [`stage ${stage.stage} ${stage.verdict}${stage.reason ? `: ${stage.reason}` : ''}`];
  if (stage.kernelEvents.length > 0) lines.push('', 'kernel reports on the console:', eventsBody(stage.kernelEvents));
  lines.push('', stage.dmesg.length === 0 ? 'kernel log during the stage: empty' : `kernel log during the stage (${stage.dmesg.length} line${stage.dmesg.length === 1 ? '' : 's'}):`, ...stage.dmesg);
  if (attachment) lines.push('', `[[ATTACHMENT|${attachment}]]`);
  return lines.join('\n');
}

function checkCase(results: RunResults, stage: StageResult, check: CheckResult, attachment: string | undefined): Case {
  const base = {
    name: check.title && check.title !== check.id ? `${check.id}: ${check.title}` : check.id,
    classname: stageClassName(results.board, stage.stage),
    timeMs: check.durationMs,
  };
  const events = stage.kernelEvents;
  const carriesEvents = check.id === FAULT_CHECK && events.length > 0;
  switch (check.verdict) {
    case 'pass':
      return { ...base, outcome: { kind: 'pass' } };
    case 'skipped':
      return { ...base, outcome: { kind: 'skipped', message: oneLine(check.message ?? 'skipped') } };
    case 'fail':
    case 'error':
      return {
        ...base,
        outcome: {
          kind: check.verdict === 'fail' ? 'failure' : 'error',
          type: carriesEvents ? (events[0] as KernelEvent).class : check.verdict === 'fail' ? 'assertion' : 'error',
          message: oneLine(checkFailureText(check)),
          body: carriesEvents ? `${checkBody(check)}\n\n${eventsBody(events)}` : checkBody(check),
        },
        out: failureOut(stage, attachment),
      };
  }
}

function buildCase(results: RunResults, stage: StageResult): Case | undefined {
  const build = stage.build;
  if (!build) return undefined;
  const warnings = buildWarnings(stage);
  const out = [
    `module:   ${build.module ?? '—'}`,
    `vermagic: ${build.vermagic ?? '—'}`,
    `sha256:   ${build.sha256 ?? '—'}`,
    `compiled: ${build.compiled}`,
    ...warnings.map((w) => `warning: ${w.file}:${w.line}:${w.column}: ${w.message}${w.option ? ` [${w.option}]` : ''}`),
  ].join('\n');
  const base = { name: 'build', classname: stageClassName(results.board, stage.stage), timeMs: build.durationMs, out };
  if (build.ok) return { ...base, outcome: { kind: 'pass' } };
  const errors = build.diagnostics.filter((d) => d.severity === 'error');
  const first = errors[0];
  return {
    ...base,
    outcome: {
      kind: 'failure',
      type: 'build-error',
      message: oneLine(first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : 'build failed'),
      body: [
        ...build.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`),
        '',
        build.log,
      ].join('\n'),
    },
  };
}

// Only for a stage without a no-kernel-fault check (results of older suites):
// otherwise that check carries the events and a fault is counted once.
function eventsCase(results: RunResults, stage: StageResult, attachment: string | undefined): Case | undefined {
  if (stage.checks.some((c) => c.id === FAULT_CHECK)) return undefined;
  const base = { name: 'kernel-events', classname: stageClassName(results.board, stage.stage) };
  const events = stage.kernelEvents;
  if (events.length === 0) return { ...base, outcome: { kind: 'pass' } };
  const first = events[0] as KernelEvent;
  return {
    ...base,
    outcome: { kind: 'failure', type: first.class, message: oneLine(eventsMessage(events)), body: eventsBody(events) },
    out: failureOut(stage, attachment),
  };
}

// A stage can end badly with nothing else to show for it (a hang, an
// infrastructure error before any check ran): CI must still see it fail.
function verdictCase(results: RunResults, stage: StageResult, cases: readonly Case[], attachment: string | undefined): Case | undefined {
  const base = { name: 'stage', classname: stageClassName(results.board, stage.stage), timeMs: stage.durationMs };
  if (stage.verdict === 'pass') return undefined;
  if (cases.some((c) => c.outcome.kind === 'failure' || c.outcome.kind === 'error')) return undefined;
  const message = oneLine(`stage ${stage.stage} ${stage.verdict}${stage.reason ? `: ${stage.reason}` : ''}`);
  return {
    ...base,
    outcome: {
      kind: stage.verdict === 'error' ? 'error' : 'failure',
      type: stage.verdict,
      message,
      body: message,
    },
    out: failureOut(stage, attachment),
  };
}

function stageOut(stage: StageResult): string {
  const lines = [`stage ${stage.stage}: ${stage.title}`, `verdict: ${stage.verdict}${stage.reason ? ` (${stage.reason})` : ''}`];
  if (stage.recovered) lines.push('board power-cycled during this stage (found dirty before its steps, or after a fault)');
  if (stage.steps.length > 0) lines.push(`steps: ${stage.steps.map((s) => `${s.name} ${s.durationMs} ms`).join(', ')}`);
  for (const p of stage.pings) {
    const rtt = p.rttAvgMs === undefined ? '' : `, rtt min/avg/max ${p.rttMinMs ?? '?'}/${p.rttAvgMs}/${p.rttMaxMs ?? '?'} ms`;
    lines.push(`ping ${p.target}: ${p.received}/${p.transmitted} received, ${p.lossPercent}% loss${rtt}`);
  }
  for (const r of stage.readings) {
    const stats = Object.entries(r.statistics ?? {})
      .filter(([, v]) => v !== 0)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`reading ${r.at}: address=${r.address ?? '?'} flags=${r.flags === undefined ? '?' : `0x${r.flags.toString(16)}`} ${stats}`.trimEnd());
  }
  lines.push('', `dmesg delta (${stage.dmesg.length} lines):`, ...stage.dmesg);
  return lines.join('\n');
}

function renderCase(c: Case): string {
  const attrs = `name="${xmlAttr(c.name)}" classname="${xmlAttr(c.classname)}" time="${seconds(c.timeMs)}"`;
  const inner: string[] = [];
  const o = c.outcome;
  if (o.kind === 'failure' || o.kind === 'error') {
    inner.push(`      <${o.kind} message="${xmlAttr(o.message)}" type="${xmlAttr(o.type)}">${xmlText(o.body)}</${o.kind}>`);
  } else if (o.kind === 'skipped') {
    inner.push(`      <skipped message="${xmlAttr(o.message)}"/>`);
  }
  if (c.out) inner.push(`      <system-out>${xmlText(c.out)}</system-out>`);
  return inner.length === 0 ? `    <testcase ${attrs}/>` : `    <testcase ${attrs}>\n${inner.join('\n')}\n    </testcase>`;
}

interface Suite {
  attrs: Record<string, string>;
  properties: [string, string][];
  cases: Case[];
  out?: string;
  err?: string;
}

function tally(cases: readonly Case[]) {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.outcome.kind === 'failure').length,
    errors: cases.filter((c) => c.outcome.kind === 'error').length,
    skipped: cases.filter((c) => c.outcome.kind === 'skipped').length,
  };
}

function stageSuite(results: RunResults, stage: StageResult, index: number, attachment: string | undefined, name = stageClassName(results.board, stage.stage)): Suite {
  const cases: Case[] = [];
  const build = buildCase(results, stage);
  if (build) cases.push(build);
  cases.push(...stage.checks.map((c) => checkCase(results, stage, c, attachment)));
  const events = eventsCase(results, stage, attachment);
  if (events) cases.push(events);
  const fallback = verdictCase(results, stage, cases, attachment);
  if (fallback) cases.push(fallback);
  const properties: [string, string][] = [
    ['title', stage.title],
    ['verdict', stage.verdict],
  ];
  if (stage.reason) properties.push(['reason', stage.reason]);
  if (stage.build?.vermagic) properties.push(['vermagic', stage.build.vermagic]);
  properties.push(...runProperties(results));
  const err = stage.kernelEvents.map((e) => `[${e.class}] ${e.text}`).join('\n\n');
  return {
    attrs: {
      name,
      id: String(index),
      package: 'vnet',
      hostname: results.board.name,
      timestamp: timestamp(stage.startedAt),
      time: seconds(stage.durationMs),
    },
    properties,
    cases,
    out: stageOut(stage),
    ...(err ? { err } : {}),
  };
}

function runProperties(results: RunResults): [string, string][] {
  const props: [string, string][] = [
    ['run', results.runId],
    ['board', results.board.name],
    ['transport', results.board.transport],
  ];
  if (results.board.kernelRelease) props.push(['kernel', results.board.kernelRelease]);
  if (results.driver.gitRevision) {
    props.push(['driver.revision', `${results.driver.gitRevision}${results.driver.gitDirty ? ' (dirty)' : ''}`]);
  }
  props.push(['driver.contentHash', results.driver.contentHash], ['harness', results.harnessVersion]);
  return props;
}

// Infrastructure errors that ended the run are shown as errored cases, so a
// CI summary reads "error" rather than a quiet green with fewer tests.
function runSuite(results: RunResults, index: number, name = runClassName(results.board)): Suite | undefined {
  if (results.errors.length === 0) return undefined;
  return {
    attrs: {
      name,
      id: String(index),
      package: 'vnet',
      hostname: results.board.name,
      timestamp: timestamp(results.startedAt),
      time: '0.000',
    },
    properties: runProperties(results),
    cases: results.errors.map((e, i) => ({
      name: `infrastructure-${i + 1}`,
      classname: runClassName(results.board),
      outcome: { kind: 'error', type: 'infrastructure', message: oneLine(e), body: e },
    })),
  };
}

// ISO 8601 as the model has it; an unparsable value is passed through cleaned.
function timestamp(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function renderSuite(s: Suite): string {
  const t = tally(s.cases);
  const attrs = { name: s.attrs.name ?? '', tests: String(t.tests), failures: String(t.failures), errors: String(t.errors), skipped: String(t.skipped), ...s.attrs };
  const head = `  <testsuite ${Object.entries(attrs).map(([k, v]) => `${k}="${xmlAttr(v)}"`).join(' ')}>`;
  const props = s.properties.map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`);
  return [
    head,
    '    <properties>',
    ...props,
    '    </properties>',
    ...s.cases.map(renderCase),
    ...(s.out ? [`    <system-out>${xmlText(s.out)}</system-out>`] : []),
    ...(s.err ? [`    <system-err>${xmlText(s.err)}</system-err>`] : []),
    '  </testsuite>',
  ].join('\n');
}

/** Renders junit.xml: valid XML 1.0 whatever the board printed. */
export function renderJunit(results: RunResults, options: JunitOptions = {}): string {
  const attachment = options.consoleLogPath ?? results.consoleLog;
  const suites = results.stages.map((s, i) => stageSuite(results, s, i, attachment));
  const run = runSuite(results, suites.length);
  if (run) suites.push(run);
  const all = suites.flatMap((s) => s.cases);
  const t = tally(all);
  const head = `<testsuites name="${xmlAttr(`vnet-harness ${results.runId}`)}" tests="${t.tests}" failures="${t.failures}" errors="${t.errors}" time="${seconds(results.durationMs)}">`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', head, ...suites.map(renderSuite), '</testsuites>', ''].join('\n');
}

/** One entry of a board matrix: its run, with where CI finds its console.log, or why it left no results. */
export type MatrixJunitRun =
  | { results: RunResults; consoleLogPath?: string }
  | { board: Pick<RunResults['board'], 'name' | 'transport'>; error: string };

/** A run's label in a matrix: board and transport, `qemu-imx25/ssh`. */
export function matrixLabel(board: Pick<RunResults['board'], 'name' | 'transport'>): string {
  return `${board.name}/${board.transport}`;
}

/**
 * One junit.xml for a board matrix: every run's suites, named
 * `<board>/<transport>: stage N` (and `…: run` for infrastructure errors), so
 * a CI view keeps boards and transports apart; cases keep their class names
 * (`vnet.<board>.<transport>.stageN`), distinct per board and transport.
 */
export function renderJunitMatrix(runs: readonly MatrixJunitRun[], name: string, durationMs: number): string {
  const suites: Suite[] = [];
  for (const entry of runs) {
    if ('error' in entry) {
      const classname = runClassName(entry.board);
      suites.push({
        attrs: { name: `${matrixLabel(entry.board)}: run`, id: String(suites.length), package: 'vnet', hostname: entry.board.name, time: '0.000' },
        properties: [['board', entry.board.name], ['transport', entry.board.transport]],
        cases: [{ name: 'infrastructure-1', classname, outcome: { kind: 'error', type: 'infrastructure', message: oneLine(entry.error), body: entry.error } }],
      });
      continue;
    }
    const { results, consoleLogPath } = entry;
    const attachment = consoleLogPath ?? results.consoleLog;
    const label = matrixLabel(results.board);
    for (const s of results.stages) suites.push(stageSuite(results, s, suites.length, attachment, `${label}: stage ${s.stage}`));
    const run = runSuite(results, suites.length, `${label}: run`);
    if (run) suites.push(run);
  }
  const t = tally(suites.flatMap((s) => s.cases));
  const head = `<testsuites name="${xmlAttr(name)}" tests="${t.tests}" failures="${t.failures}" errors="${t.errors}" time="${seconds(durationMs)}">`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', head, ...suites.map(renderSuite), '</testsuites>', ''].join('\n');
}
