// `vnet-harness run` over a board matrix: several boards (`--board a,b` or
// repeated), several transports (`--transport ssh,serial`), or both: every
// board over every transport asked for. Each entry is an ordinary run (its
// own report set, in reports/<run-id>/ with history and index, or in
// <out>/<board>-<transport>/ with --out); the matrix folder adds views of
// those runs: one merged junit.xml whose suites are named
// `<board>/<transport>: stage N`, a combined summary.md, and matrix.json.
//
// Scheduling: the entries of one board run one after another (a real board's
// lock allows one run; an emulated board's entries share its module build
// directory); different real boards run side by side (their work is on the
// boards); emulated boards take host cores, so at most `jobs` of them run at
// once (default: half the cores, at least 1).
//
// Exit code: 2 when any entry had an infrastructure error, else 1 when any
// failed, else 0; 128+n when a signal stopped the matrix.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { recordRunFolder } from '../compare/resolve.ts';
import { boardTransports, loadBoard, type BoardConfig, type TransportKind } from '../config/board.ts';
import { ExitCode, HarnessError } from '../errors.ts';
import { writeRunIndex } from '../reporters/index.ts';
import { matrixLabel, renderJunitMatrix, type MatrixJunitRun } from '../reporters/junit.ts';
import { mdCode, mdText } from '../reporters/markdown.ts';
import { checkFailureText } from '../results/check-text.ts';
import type { RunResults } from '../results/model.ts';
import { writeFileAtomic } from '../util/files.ts';
import type { Progress } from '../util/progress.ts';
import { deferSignals, signalExitCode } from '../util/reaper.ts';
import { formatDuration } from '../reporters/text.ts';
import { mkdir } from 'node:fs/promises';

/** matrix.json's format version. */
export const MATRIX_SCHEMA = 1;

/** One board over one transport. */
export interface MatrixEntry {
  config: BoardConfig;
  transport: TransportKind;
  /** `qemu-imx25/ssh`. */
  label: string;
}

/** What one entry gave: its run, or the error that left it without one. */
export type EntryOutcome = { entry: MatrixEntry; results: RunResults; outDir: string; exitCode: number } | { entry: MatrixEntry; error: string; exitCode: number };

/**
 * The matrix's entries: every board over every transport given (or over its
 * own default transport), in the order given, each once. A board that lacks a
 * transport asked for is bad input, found before any board is used.
 */
export function matrixEntries(boards: readonly string[], transports: readonly TransportKind[] | undefined, load: (board: string) => BoardConfig): MatrixEntry[] {
  const out: MatrixEntry[] = [];
  for (const board of boards) {
    const config = load(board);
    for (const transport of transports ?? [config.defaultTransport]) {
      if (!boardTransports(config).includes(transport)) {
        throw new HarnessError(`board ${config.name} (${config.file}) has no ${transport} section: it cannot run over ${transport} (it offers ${boardTransports(config).join(', ') || 'nothing'})`);
      }
      const label = matrixLabel({ name: config.name, transport });
      const same = out.find((e) => e.label === label);
      if (same && same.config.file !== config.file) throw new HarnessError(`two board files are named ${config.name}: ${same.config.file} and ${config.file}`);
      if (!same) out.push({ config, transport, label });
    }
  }
  return out;
}

/** Emulated boards run at once by default: half the cores (one for QEMU's CPU, one for the harness and builds), at least 1. */
export function defaultJobs(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

/**
 * Runs `run` on every entry: a board's entries in order, real boards side by
 * side, at most `jobs` emulated boards at once. Entries not started when
 * `stopped()` turns true are left out. Returns the outcomes in entry order.
 */
export async function scheduleMatrix<T>(entries: readonly MatrixEntry[], jobs: number, run: (e: MatrixEntry) => Promise<T>, stopped: () => boolean = () => false): Promise<T[]> {
  const groups = new Map<string, MatrixEntry[]>();
  for (const e of entries) groups.set(e.config.name, [...(groups.get(e.config.name) ?? []), e]);
  const done = new Map<MatrixEntry, T>();
  const runGroup = async (group: readonly MatrixEntry[]): Promise<void> => {
    for (const e of group) {
      if (stopped()) return;
      done.set(e, await run(e));
    }
  };
  const emulated = [...groups.values()].filter((g) => g[0]!.config.kind === 'emulated');
  const real = [...groups.values()].filter((g) => g[0]!.config.kind !== 'emulated');
  const worker = async (): Promise<void> => {
    for (let g = emulated.shift(); g; g = emulated.shift()) await runGroup(g);
  };
  await Promise.all([...real.map(runGroup), ...Array.from({ length: Math.min(Math.max(1, jobs), emulated.length) }, worker)]);
  return entries.filter((e) => done.has(e)).map((e) => done.get(e) as T);
}

/** The matrix's exit code: 2 if any entry had an infrastructure error, else 1 if any failed, else 0. */
export function matrixExitCode(exitCodes: readonly number[]): number {
  if (exitCodes.some((c) => c === ExitCode.infrastructure)) return ExitCode.infrastructure;
  if (exitCodes.some((c) => c !== ExitCode.ok)) return ExitCode.checkFailed;
  return ExitCode.ok;
}

// console.log as CI opens it, as a run's own junit.xml names it: relative to
// where the job runs when below it (GitLab takes only those), else absolute.
function attachmentPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** A Progress whose lines name the entry (runs side by side interleave). */
function labelled(progress: Progress, label: string): Progress {
  return { phase: (l) => progress.phase(`[${label}] ${l}`), update: (p, t) => progress.update(p, `[${label}] ${t}`), done: (l) => progress.done(`[${label}] ${l}`) };
}

/** A matrix id that sorts by time, as run ids do: matrix-20261125-081900-ab12. */
export function newMatrixId(now = new Date()): string {
  return `matrix-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(2).toString('hex')}`;
}

/** A folder name for an entry inside a --out matrix folder: `qemu-imx25-ssh`. */
function entryFolder(e: MatrixEntry): string {
  return `${e.config.name}-${e.transport}`.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** What one run of the matrix needs from `run` (src/commands/run.ts runOnce), with its folder and abort signal. */
export type RunEntry = (e: MatrixEntry, o: { outDir?: string; progress: Progress; abort: AbortSignal }) => Promise<{ results: RunResults; outDir: string; exitCode: number }>;

export interface MatrixOptions {
  entries: readonly MatrixEntry[];
  jobs: number;
  /** The reports folder (runs, history, index; the matrix folder goes in it without `out`). */
  reportsRoot: string;
  /** The matrix folder; runs then go in <out>/<board>-<transport>/ (recorded by id, not in the history). */
  out?: string;
  progress: Progress;
  runEntry: RunEntry;
  /** Where the terminal summary goes (default stdout). */
  stdout?: (text: string) => void;
}

export interface MatrixDone {
  dir: string;
  outcomes: EntryOutcome[];
  exitCode: number;
}

/** Runs the matrix, writes its folder (junit.xml, summary.md, matrix.json), prints the summary; returns the exit code. */
export async function runMatrix(o: MatrixOptions): Promise<MatrixDone> {
  const stdout = o.stdout ?? ((t: string) => void process.stdout.write(t));
  const started = new Date();
  const id = newMatrixId(started);
  const dir = path.resolve(o.out ?? path.join(o.reportsRoot, id));
  o.progress.phase(`board matrix ${id}: ${o.entries.map((e) => e.label).join(', ')} (${o.jobs} emulated board${o.jobs === 1 ? '' : 's'} at a time)`);
  // One signal stops every run in progress and starts no other; a second quits at once.
  const abort = new AbortController();
  const undefer = deferSignals((signal) => {
    o.progress.phase(`${signal}: stopping the board matrix and writing what was gathered (send it again to quit at once)`);
    abort.abort(signal);
  });
  let outcomes: EntryOutcome[];
  try {
    outcomes = await scheduleMatrix(
      o.entries,
      o.jobs,
      async (entry): Promise<EntryOutcome> => {
        try {
          const done = await o.runEntry(entry, { ...(o.out ? { outDir: path.join(dir, entryFolder(entry)) } : {}), progress: labelled(o.progress, entry.label), abort: abort.signal });
          return { entry, ...done };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          process.stderr.write(`error: ${entry.label}: ${message}\n`);
          return { entry, error: message, exitCode: ExitCode.infrastructure };
        }
      },
      () => abort.signal.aborted,
    );
  } finally {
    undefer();
  }
  const durationMs = Date.now() - started.getTime();
  const signal = abort.signal.aborted ? String(abort.signal.reason) : undefined;
  const exitCode = signal ? signalExitCode(signal as NodeJS.Signals) : matrixExitCode(outcomes.map((x) => x.exitCode));
  await mkdir(dir, { recursive: true });
  const junitRuns: MatrixJunitRun[] = outcomes.map((x) =>
    'error' in x ? { board: { name: x.entry.config.name, transport: x.entry.transport }, error: x.error } : { results: x.results, consoleLogPath: attachmentPath(path.join(x.outDir, 'console.log')) },
  );
  await writeFileAtomic(path.join(dir, 'junit.xml'), renderJunitMatrix(junitRuns, `vnet-harness ${id}`, durationMs));
  const model = matrixModel(id, started, durationMs, exitCode, o, outcomes, dir, signal);
  await writeFileAtomic(path.join(dir, 'summary.md'), renderMatrixMarkdown(model));
  await writeFileAtomic(path.join(dir, 'matrix.json'), `${JSON.stringify(model, null, 2)}\n`);
  if (o.out) {
    for (const x of outcomes) if (!('error' in x)) await recordRunFolder(o.reportsRoot, x.results.runId, x.outDir).catch(() => undefined);
  } else {
    await writeRunIndex(o.reportsRoot).catch((e: unknown) => process.stderr.write(`cannot refresh ${path.join(o.reportsRoot, 'index.html')}: ${String(e)}\n`));
  }
  stdout(renderMatrixText(model, dir));
  return { dir, outcomes, exitCode };
}

/** matrix.json: the matrix as a list of its runs (each run's own results.json has the rest). */
export interface MatrixModel {
  schema: typeof MATRIX_SCHEMA;
  matrixId: string;
  startedAt: string;
  durationMs: number;
  /** pass: every run passed; error: a run had an infrastructure error (or none ran); fail otherwise. */
  verdict: 'pass' | 'fail' | 'error';
  exitCode: number;
  /** The signal that stopped the matrix, when one did. */
  incomplete?: string;
  jobs: number;
  entries: MatrixModelEntry[];
}

export interface MatrixModelEntry {
  board: string;
  transport: TransportKind;
  emulated: boolean;
  exitCode: number;
  verdict: RunResults['verdict'];
  runId?: string;
  /** The run's folder, relative to the matrix folder. */
  dir?: string;
  durationMs?: number;
  stages: { stage: number; verdict: string; reason?: string }[];
  /** Failed checks, as every report words them: `stage 3 mac-address: MAC set by the driver: expected …, got …`. */
  failures: string[];
  errors: string[];
}

function matrixModel(
  id: string,
  started: Date,
  durationMs: number,
  exitCode: number,
  o: MatrixOptions,
  outcomes: readonly EntryOutcome[],
  dir: string,
  signal: string | undefined,
): MatrixModel {
  const entries = outcomes.map((x): MatrixModelEntry => {
    const base = { board: x.entry.config.name, transport: x.entry.transport, emulated: x.entry.config.kind === 'emulated', exitCode: x.exitCode };
    if ('error' in x) return { ...base, verdict: 'error', stages: [], failures: [], errors: [x.error] };
    const r = x.results;
    return {
      ...base,
      verdict: r.verdict,
      runId: r.runId,
      dir: path.relative(dir, x.outDir).split(path.sep).join('/'),
      durationMs: r.durationMs,
      stages: r.stages.map((s) => ({ stage: s.stage, verdict: s.verdict, ...(s.reason && s.verdict !== 'pass' ? { reason: s.reason } : {}) })),
      failures: r.stages.flatMap((s) => s.checks.filter((c) => c.verdict === 'fail' || c.verdict === 'error').map((c) => `stage ${s.stage} ${c.id}: ${checkFailureText(c)}`)),
      errors: r.errors.map((e) => e.split('\n')[0] ?? e),
    };
  });
  const verdict = entries.length === 0 || exitCode === ExitCode.infrastructure ? 'error' : entries.every((e) => e.verdict === 'pass') && !signal ? 'pass' : entries.some((e) => e.verdict === 'error') ? 'error' : 'fail';
  return {
    schema: MATRIX_SCHEMA,
    matrixId: id,
    startedAt: started.toISOString(),
    durationMs,
    verdict,
    exitCode,
    ...(signal ? { incomplete: signal } : {}),
    jobs: o.jobs,
    entries,
  };
}

const ICON: Record<string, string> = { pass: '✅', fail: '❌', error: '⚠️' };

/** The matrix's summary.md: one line per board and transport, then what failed, each linked to its run's own summary. */
export function renderMatrixMarkdown(m: MatrixModel): string {
  const lines = [
    `## vnet-harness board matrix ${ICON[m.verdict] ?? ''} ${m.verdict} — ${mdText(m.matrixId)}`,
    '',
    `${m.entries.length} run${m.entries.length === 1 ? '' : 's'} · ${formatDuration(m.durationMs)} · exit ${m.exitCode}${m.incomplete ? ` · **INCOMPLETE**: stopped by ${mdText(m.incomplete)}` : ''}`,
    '',
    '| Board | Transport | Verdict | Stages | Duration | Run |',
    '|---|---|---|---|---|---|',
  ];
  for (const e of m.entries) {
    const stages = e.stages.map((s) => `${s.stage} ${s.verdict}`).join(', ') || '—';
    const run = e.runId && e.dir !== undefined ? `[${mdText(e.runId)}](${e.dir}/summary.md)` : '—';
    lines.push(`| ${mdCode(e.board)} | ${e.transport} | ${ICON[e.verdict] ?? ''} ${e.verdict} | ${mdText(stages)} | ${e.durationMs === undefined ? '—' : formatDuration(e.durationMs)} | ${run} |`);
  }
  const bad = m.entries.filter((e) => e.failures.length > 0 || e.errors.length > 0 || e.stages.some((s) => s.verdict !== 'pass'));
  for (const e of bad) {
    lines.push('', `### ${mdText(`${e.board}/${e.transport}`)}`, '');
    for (const s of e.stages.filter((s) => s.verdict !== 'pass')) lines.push(`- stage ${s.stage} **${mdText(s.verdict)}**${s.reason ? `: ${mdText(s.reason, 200)}` : ''}`);
    for (const f of e.failures.slice(0, 12)) lines.push(`- ${mdText(f, 300)}`);
    if (e.failures.length > 12) lines.push(`- … and ${e.failures.length - 12} more`);
    for (const x of e.errors) lines.push(`- infrastructure: ${mdText(x, 300)}`);
  }
  lines.push('', '<sub>Details: [junit.xml](junit.xml) (every board and transport) · [matrix.json](matrix.json) · each run\'s own report set</sub>', '');
  return lines.join('\n');
}

/** The matrix on the terminal: a line per entry and the exit code. */
function renderMatrixText(m: MatrixModel, dir: string): string {
  const width = Math.max(...m.entries.map((e) => `${e.board}/${e.transport}`.length), 5);
  const rows = m.entries.map(
    (e) => `  ${`${e.board}/${e.transport}`.padEnd(width)}  ${e.verdict.toUpperCase().padEnd(5)}  ${e.stages.map((s) => `${s.stage}:${s.verdict}`).join(' ') || e.errors[0] || ''}${e.runId ? `  (${e.runId})` : ''}`,
  );
  return `\nboard matrix ${m.matrixId}: ${m.verdict.toUpperCase()}${m.incomplete ? ` (INCOMPLETE: ${m.incomplete})` : ''}, exit ${m.exitCode}, ${formatDuration(m.durationMs)}\n${rows.join('\n')}\nmerged JUnit, summary.md and matrix.json in ${dir}\n`;
}

/** Loads the boards of a matrix from the command line's lists (bad input throws before anything runs). */
export function loadMatrix(boards: readonly string[], transports: readonly TransportKind[] | undefined, boardsDir: string): MatrixEntry[] {
  return matrixEntries(boards, transports, (b) => loadBoard(b, { boardsDir }));
}
