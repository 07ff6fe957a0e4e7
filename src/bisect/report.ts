// A bisection's result as data (bisect.json) and its two views for people:
// bisect.md (a PR comment, a CI summary) and bisect.html (in the style of
// report.html). The comparison of the last good run with the first bad one
// is the compare room's own view, embedded.
import type { Comparison } from '../compare/compare.ts';
import { renderComparisonBody } from '../compare/render-html.ts';
import { renderComparisonMarkdown } from '../compare/render-markdown.ts';
import { badge, page } from '../reporters/html.ts';
import { mdCode, mdText } from '../reporters/markdown.ts';
import { formatDuration, html } from '../reporters/text.ts';
import type { StageVerdict } from '../results/model.ts';
import type { CommitInfo } from './git.ts';
import type { Outcome, StepRole } from './search.ts';
import { checkKey, type CheckState, type WatchedCheck } from './signal.ts';

/** The version of bisect.json's shape. */
export const BISECT_JSON_VERSION = 1;

/**
 * How the bisection ended: `found` one first bad commit, `range` several that
 * untestable commits leave undecided (exit 0 both); `not-reproduced` the ends
 * are not good and bad (exit 1); `error` the harness could not tell (exit 2);
 * `interrupted` by a signal.
 */
export type BisectStatus = 'found' | 'range' | 'not-reproduced' | 'error' | 'interrupted';

/** One run of the bisection (a retry is a step of its own). */
export interface BisectStep {
  /** 1, 2, … in the order they ran. */
  n: number;
  commit: string;
  subject: string;
  role: StepRole;
  attempt: number;
  outcome: Outcome;
  /** The watched checks as this run saw them (empty while they are not known yet: the good end). */
  watched: { stage: number; id: string; state: CheckState }[];
  stages: { stage: number; verdict: StageVerdict }[];
  durationMs: number;
  runId?: string;
  /** The run's folder, relative to the bisection's. */
  runDir?: string;
  /** Why the run could not be made (the harness's error), when it could not. */
  error?: string;
}

export interface BisectReport {
  kind: 'vnet-harness-bisect';
  version: typeof BISECT_JSON_VERSION;
  status: BisectStatus;
  /** What happened, in one or two sentences. */
  message: string;
  startedAt: string;
  durationMs: number;
  board: string;
  driver: { repo: string; relPath: string; dir: string };
  good: CommitInfo;
  bad: CommitInfo;
  /** Commits between the ends that touch the driver tree (the search space). */
  commits: number;
  /** The runs a search without untestable commits needs at most: 2 + ⌈log2(commits)⌉. */
  maxRuns: number;
  /** Runs made (retries included). */
  runs: number;
  /** Power-ons of the board during the bisection, recoveries included: 1 when one boot served every run. */
  boardBoots?: number;
  stages: { ends: number[]; steps: number[] };
  watched: WatchedCheck[];
  /** Where the watched checks came from: `--check`, or the two ends' runs. */
  watchedFrom: 'check-option' | 'ends';
  firstBad?: CommitInfo & { diffStat: string };
  lastGood?: CommitInfo;
  /** With status range: the commits that may be the first bad one, oldest first. */
  range?: CommitInfo[];
  /** Commits left untested (build error of a watched stage, or two infrastructure errors). */
  skipped: string[];
  steps: BisectStep[];
  /** The last good run against the first bad one (the compare room's model). */
  comparison?: Comparison;
}

const short = (commit: string) => commit.slice(0, 12);

/** bisect.json: the report as it is. */
export function renderBisectJson(r: BisectReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** The result in one line for a terminal or a heading. */
export function bisectHeadline(r: BisectReport): string {
  if (r.status === 'found' && r.firstBad) return `first bad commit: ${short(r.firstBad.commit)} ${r.firstBad.subject}`;
  if (r.status === 'range' && r.range) return `first bad commit: one of ${r.range.length} (${r.range.map((c) => short(c.commit)).join(', ')}): untestable commits leave it open`;
  if (r.status === 'not-reproduced') return 'the regression does not reproduce';
  if (r.status === 'interrupted') return 'interrupted';
  return 'the harness could not finish the bisection';
}

const OUTCOME_ICON: Record<Outcome, string> = { good: '✅ good', bad: '❌ bad', skip: '⏭️ skip', error: '⚠️ error' };
const ROLE: Record<StepRole, string> = { 'good-end': '--good', 'bad-end': '--bad', step: 'step' };

function watchedText(s: BisectStep): string {
  return s.watched.length === 0 ? (s.error ?? '—') : s.watched.map((w) => `${w.stage}:${w.id} ${w.state}`).join(', ');
}

// ` on 1 board boot`: how many power-ons the runs took, when known.
function bootsText(r: BisectReport, lead: string): string {
  return r.boardBoots === undefined ? '' : `${lead}${r.boardBoots} board boot${r.boardBoots === 1 ? '' : 's'}`;
}

/** bisect.md. */
export function renderBisectMarkdown(r: BisectReport): string {
  const icon = r.status === 'found' || r.status === 'range' ? '🎯' : r.status === 'not-reproduced' ? '➖' : '⚠️';
  const lines = [`# vnet-harness bisect: ${icon} ${mdText(bisectHeadline(r))}`, '', mdText(r.message, 1000), ''];
  lines.push(
    `Board ${mdCode(r.board)} · driver ${mdCode(r.driver.relPath || '.')} of ${mdCode(r.driver.repo)} · good ${mdCode(short(r.good.commit))} → bad ${mdCode(short(r.bad.commit))}` +
      ` · ${r.commits} driver commit${r.commits === 1 ? '' : 's'} · ${r.runs} run${r.runs === 1 ? '' : 's'} (at most ${r.maxRuns} without untestable commits)${bootsText(r, ' on ')} · ${formatDuration(r.durationMs)}`,
    '',
    `Watched (${r.watchedFrom === 'check-option' ? '--check' : 'failing at --bad, passing at --good'}): ${r.watched.length === 0 ? '—' : r.watched.map((w) => mdCode(checkKey(w))).join(', ')}` +
      ` · stages at the ends ${r.stages.ends.join(',')}, at each step ${r.stages.steps.join(',') || '—'}`,
  );
  const commitRows = (cs: CommitInfo[]) => ['| Commit | Subject | Author | Date |', '|---|---|---|---|', ...cs.map((c) => `| ${mdCode(c.commit)} | ${mdText(c.subject, 120)} | ${mdText(c.author, 80)} | ${mdText(c.date)} |`)];
  if (r.firstBad && r.status === 'found') {
    lines.push('', '## First bad commit', '', ...commitRows([r.firstBad]), '', `Last good: ${mdCode(short(r.lastGood?.commit ?? ''))} ${mdText(r.lastGood?.subject ?? '', 120)}`);
  }
  if (r.range && r.status === 'range') {
    lines.push('', '## First bad commit: one of these', '', ...commitRows(r.range), '', `Untestable: ${r.skipped.map((c) => mdCode(short(c))).join(', ')}. Last good: ${mdCode(short(r.lastGood?.commit ?? ''))}.`);
  }
  if (r.firstBad) lines.push('', `### Driver diff stat of ${mdCode(short(r.firstBad.commit))}`, '', '```', r.firstBad.diffStat.replace(/`{3,}/g, '``') || '(no change in the driver tree)', '```');
  lines.push('', '## Steps', '', '| # | Role | Commit | Subject | Verdict | Watched checks | Stages | Duration |', '|---|---|---|---|---|---|---|---|');
  for (const s of r.steps) {
    const stages = s.stages.map((x) => `${x.stage} ${x.verdict}`).join(', ');
    lines.push(
      `| ${s.n} | ${ROLE[s.role]}${s.attempt > 1 ? ' (retry)' : ''} | ${mdCode(short(s.commit))} | ${mdText(s.subject, 80)} | ${OUTCOME_ICON[s.outcome]} | ${mdText(watchedText(s), 300)} | ${mdText(stages || '—')} | ${formatDuration(s.durationMs)} |`,
    );
  }
  if (r.comparison) lines.push('', renderComparisonMarkdown(r.comparison).trimEnd());
  lines.push('');
  return lines.join('\n');
}

// A badge for a step's outcome, in the report's verdict colours.
function outcomeBadge(outcome: Outcome, big = false): string {
  const as: Record<Outcome, string> = { good: 'pass', bad: 'fail', skip: 'skipped', error: 'error' };
  return badge(as[outcome], big).replace(`>${as[outcome]}<`, `>${outcome}<`);
}

function statusBadge(r: BisectReport): string {
  const label = r.status === 'found' ? 'found' : r.status === 'range' ? 'range' : r.status === 'not-reproduced' ? 'not reproduced' : r.status;
  const cls = r.status === 'found' || r.status === 'range' ? 'fail' : r.status === 'not-reproduced' ? 'skipped' : 'error';
  return badge(cls, true).replace(`>${cls}<`, `>${html(label)}<`);
}

function commitTable(cs: CommitInfo[]): string {
  return `<table><thead><tr><th>Commit</th><th>Subject</th><th>Author</th><th>Date</th></tr></thead><tbody>${cs
    .map((c) => `<tr><td><code>${html(c.commit)}</code></td><td>${html(c.subject)}</td><td>${html(c.author)}</td><td class="nowrap">${html(c.date)}</td></tr>`)
    .join('\n')}</tbody></table>`;
}

/** bisect.html: one self-contained page in the style of report.html. */
export function renderBisectHtml(r: BisectReport): string {
  const facts: [string, string][] = [
    ['Board', r.board],
    ['Driver', `${r.driver.relPath || '.'} of ${r.driver.repo}`],
    ['Good', `${short(r.good.commit)} ${r.good.subject}`],
    ['Bad', `${short(r.bad.commit)} ${r.bad.subject}`],
    ['Driver commits', String(r.commits)],
    ['Runs', `${r.runs} (at most ${r.maxRuns} without untestable commits)${bootsText(r, ' on ')}`],
    ['Watched', `${r.watched.map(checkKey).join(', ') || '—'} (${r.watchedFrom === 'check-option' ? '--check' : 'failing at --bad, passing at --good'})`],
    ['Stages', `ends ${r.stages.ends.join(',')}, steps ${r.stages.steps.join(',') || '—'}`],
    ['Started', r.startedAt],
    ['Duration', formatDuration(r.durationMs)],
  ];
  const parts = [
    `<h1>vnet-harness bisect ${statusBadge(r)}</h1>`,
    `<p class="reason">${html(bisectHeadline(r))}</p><p>${html(r.message)}</p>`,
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${html(k)}</dt><dd>${html(v)}</dd>`).join('')}</dl>`,
  ];
  if (r.firstBad && r.status === 'found') parts.push('<h2>First bad commit</h2>', commitTable([r.firstBad]), `<p class="muted">Last good: <code>${html(short(r.lastGood?.commit ?? ''))}</code> ${html(r.lastGood?.subject ?? '')}</p>`);
  if (r.range && r.status === 'range') {
    parts.push('<h2>First bad commit: one of these</h2>', commitTable(r.range), `<p class="muted">Untestable: ${r.skipped.map((c) => `<code>${html(short(c))}</code>`).join(', ')}</p>`);
  }
  if (r.firstBad) parts.push(`<h3>Driver diff stat of ${html(short(r.firstBad.commit))}</h3><pre>${html(r.firstBad.diffStat || '(no change in the driver tree)')}</pre>`);
  const rows = r.steps.map(
    (s) =>
      `<tr${s.outcome === 'bad' ? ' class="bad"' : ''}><td class="num">${s.n}</td><td>${html(ROLE[s.role])}${s.attempt > 1 ? ' (retry)' : ''}</td><td><code>${html(short(s.commit))}</code> ${html(s.subject)}</td>` +
      `<td>${outcomeBadge(s.outcome)}</td><td>${html(watchedText(s))}</td><td>${s.stages.map((x) => `${x.stage} ${badge(x.verdict)}`).join(' ')}</td>` +
      `<td class="num">${html(formatDuration(s.durationMs))}</td><td>${s.runDir ? `<a href="${html(`${s.runDir}/report.html`)}">${html(s.runId ?? s.runDir)}</a>` : ''}</td></tr>`,
  );
  parts.push(
    '<h2>Steps</h2>',
    `<table><thead><tr><th class="num">#</th><th>Role</th><th>Commit</th><th>Verdict</th><th>Watched checks</th><th>Stages</th><th class="num">Duration</th><th>Run</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`,
  );
  if (r.comparison) parts.push(`<h2>Last good run against the first bad one</h2>${renderComparisonBody(r.comparison, true)}`);
  return page(`vnet-harness bisect: ${bisectHeadline(r)}`, parts.join('\n'));
}
