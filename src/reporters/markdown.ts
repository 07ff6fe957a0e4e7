// summary.md: what a CI job summary or a PR comment shows. Compact on
// purpose (about 12 lines for a passing run): the table, then only what went
// wrong. Board text is escaped: GitHub and GitLab render inline HTML.

import type { CheckResult, RunResults, StageVerdict } from '../results/model.ts';
import { buildWarnings, countChecks } from './summary.ts';
import { cleanText, formatDuration, formatValue, truncate } from './text.ts';

const ICON: Record<StageVerdict, string> = {
  pass: '✅',
  fail: '❌',
  crash: '💥',
  hang: '⏳',
  kasan: '🐞',
  kmemleak: '🐞',
  ubsan: '🐞',
  lockdep: '🐞',
  'atomic-sleep': '🐞',
  'build-error': '🔨',
  error: '⚠️',
};

const LIST_MAX = 12;
const VALUE_MAX = 160;

/** Escapes text for Markdown prose and table cells: one line, no markup, no HTML. */
export function mdText(text: string, max = 300): string {
  const flat = truncate(cleanText(text).replace(/\s+/g, ' ').trim(), max);
  return flat
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]{}()#+!|~])/g, '\\$1');
}

/** Wraps text in a code span whose fence is longer than any backtick run inside it. */
export function mdCode(text: string, max = VALUE_MAX): string {
  const flat = truncate(cleanText(text).replace(/\s+/g, ' ').trim(), max);
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat === '' ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

// A bounded list: a PR comment with 400 failed checks helps nobody.
function bounded(items: string[]): string[] {
  if (items.length <= LIST_MAX) return items;
  return [...items.slice(0, LIST_MAX), `- … and ${items.length - LIST_MAX} more (see report.html)`];
}

/** Renders summary.md. */
export function renderMarkdown(results: RunResults): string {
  const overall = results.verdict === 'pass' ? '✅ pass' : results.verdict === 'fail' ? '❌ fail' : '⚠️ error';
  const b = results.board;
  const d = results.driver;
  const boardFacts = [b.kernelRelease, b.machine, b.emulated ? 'emulated' : 'real board', b.transport].filter(Boolean).join(', ');
  const rev = d.gitRevision ? `${mdCode(d.gitRevision.slice(0, 12))}${d.gitDirty ? ' (dirty)' : ''}` : `tree ${mdCode(d.contentHash.slice(0, 12))}`;
  const lines = [
    `## vnet-harness ${overall} — run ${mdText(results.runId)}`,
    '',
    `Board ${mdCode(b.name)} (${mdText(boardFacts)}) · driver ${rev} · ${formatDuration(results.durationMs)} · harness ${mdText(results.harnessVersion)}`,
    '',
    ...(results.incomplete
      ? [`**INCOMPLETE**: stopped by ${mdText(results.incomplete.signal)} after ${formatDuration(results.incomplete.afterMs)}; what follows is what was gathered until then.`, '']
      : []),
    ...(results.warnings ?? []).flatMap((w) => [`⚠️ ${mdText(w, 400)}`, '']),
    ...(b.userland && b.userland.fallbacks.length > 0 ? [`Userland fallbacks (missing: ${mdText(b.userland.missing.join(', '), 200)}): ${mdText(b.userland.fallbacks.join('; '), 600)}`, ''] : []),
    '| Stage | Verdict | Checks passed | Failed | Duration |',
    '|---|---|---|---|---|',
  ];
  for (const s of results.stages) {
    const c = countChecks(s.checks);
    const bad = c.failed + c.errored;
    const verdict = `${ICON[s.verdict] ?? ''} ${mdText(s.verdict)}${s.reason && s.verdict !== 'pass' ? ` — ${mdText(s.reason, 80)}` : ''}`;
    lines.push(`| ${s.stage} · ${mdText(s.title, 60)} | ${verdict} | ${c.passed}/${c.total} | ${bad} | ${formatDuration(s.durationMs)} |`);
  }

  const failed = results.stages.flatMap((s) =>
    s.checks
      .filter((c) => c.verdict === 'fail' || c.verdict === 'error')
      .map((c) => `- **stage ${s.stage} · ${mdText(c.id)}** ${mdText(c.title, 80)}${c.verdict === 'error' ? ' (error)' : ''} — ${failureMd(c)}`),
  );
  if (failed.length > 0) lines.push('', '### Failed checks', '', ...bounded(failed));

  const events = results.stages.flatMap((s) =>
    s.kernelEvents.map((e) => `- **stage ${s.stage} · ${mdText(e.class)}**${e.fatal ? ' (fatal)' : ''} ${mdCode(e.firstLine, 200)}`),
  );
  if (events.length > 0) lines.push('', '### Kernel events', '', ...bounded(events));

  const warnings = results.stages.flatMap((s) =>
    buildWarnings(s).map((w) => `- stage ${s.stage}: ${mdCode(`${w.file}:${w.line}:${w.column}: ${w.message}`, 200)}${w.option ? ` ${mdText(w.option)}` : ''}`),
  );
  const buildErrors = results.stages
    .filter((s) => s.build && !s.build.ok)
    .flatMap((s) =>
      (s.build?.diagnostics ?? [])
        .filter((x) => x.severity === 'error')
        .map((x) => `- stage ${s.stage}: ${mdCode(`${x.file}:${x.line}:${x.column}: ${x.message}`, 200)}`),
    );
  if (buildErrors.length > 0) lines.push('', '### Build errors', '', ...bounded(buildErrors));
  if (warnings.length > 0) lines.push('', '### Build warnings', '', ...bounded(warnings));

  if (results.errors.length > 0) {
    lines.push('', '### Infrastructure errors', '', ...bounded(results.errors.map((e) => `- ${mdText(e, 400)}`)));
  }
  const files = ['report.html', 'junit.xml', 'results.json', 'console.log'].map((f) => `[${f}](${f})`);
  lines.push('', `<sub>Details: ${files.join(' · ')}</sub>`, '');
  return lines.join('\n');
}

// A failed check as every report words it ("<statement>: expected X, got Y",
// see checkFailureText), with the values in code spans.
function failureMd(c: CheckResult): string {
  const hasValues = c.verdict === 'fail' && (c.expected !== undefined || c.actual !== undefined);
  const values = hasValues ? `expected ${mdCode(formatValue(c.expected))}, got ${mdCode(formatValue(c.actual))}` : '';
  const message = c.message ? mdText(c.message, 200) : '';
  return [message, values].filter((p) => p !== '').join(': ') || mdText(`${c.id} ${c.verdict}`);
}
