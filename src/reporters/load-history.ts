// Reads reports/history.json back into its model (src/results/history.ts).
// A file that is not what this harness writes is an error naming the file and
// what is wrong (bad JSON with line:col, other schema version, which field):
// whoever appends refuses to go on, and never overwrites it.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { HarnessError } from '../errors.ts';
import { HISTORY_SCHEMA, type HistoryFile } from '../results/history.ts';
import type { StageVerdict } from '../results/model.ts';
import { issuePath, parseJsonText } from './load-results.ts';

const num = z.number();
// Any verdict word: the history shows it (a verdict this harness does not know gets a plain badge)
// and judges nothing by it, so verdicts added to the results model need no new history schema.
const stageVerdict = z.custom<StageVerdict>((v) => typeof v === 'string' && /^[a-z][a-z-]*$/.test(v), { message: 'expected a stage verdict (a lower-case word)' });

/** The zod schema of history.json; unknown extra keys are kept. */
export const historySchema = z.looseObject({
  schema: z.literal(HISTORY_SCHEMA),
  runs: z.array(
    z.looseObject({
      runId: z.string().min(1),
      startedAt: z.string(),
      durationMs: num,
      dir: z.string(),
      board: z.looseObject({ name: z.string(), transport: z.enum(['ssh', 'serial']), emulated: z.boolean(), kernelRelease: z.string().optional() }),
      driver: z.looseObject({ gitRevision: z.string().optional(), gitDirty: z.boolean().optional(), contentHash: z.string() }),
      verdict: z.enum(['pass', 'fail', 'error']),
      incomplete: z.string().optional(),
      errors: z.array(z.string()),
      stages: z.array(
        z.looseObject({
          stage: num,
          verdict: stageVerdict,
          reason: z.string().optional(),
          checksPassed: num,
          checks: num,
          counters: z.record(z.string(), num),
          countersAt: z.string().optional(),
          rtt: z.looseObject({ n: num, medianMs: num, q1Ms: num, q3Ms: num, minMs: num, maxMs: num }).optional(),
        }),
      ),
      previous: z
        .union([
          z.looseObject({ runId: z.string(), regression: z.boolean(), reasons: z.array(z.string()), reported: z.array(z.string()) }),
          z.looseObject({ runId: z.string(), problem: z.string() }),
        ])
        .optional(),
    }),
  ),
});

// Compile-time guard: the schema above must produce the model's type.
const _sameShape = (x: z.infer<typeof historySchema>): HistoryFile => x;
void _sameShape;

/** Parses history.json text; `file` names it in errors. Throws HarnessError. */
export function parseHistory(text: string, file: string): HistoryFile {
  const data = parseJsonText(text, file);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new HarnessError(`${file}: not a run history: expected a JSON object at the top level`);
  }
  const schema = (data as Record<string, unknown>).schema;
  if (schema !== HISTORY_SCHEMA) {
    throw new HarnessError(
      `${file}: history schema ${JSON.stringify(schema) ?? 'missing'}; this harness reads schema ${HISTORY_SCHEMA}` +
        (typeof schema === 'number' && schema > HISTORY_SCHEMA ? ' (written by a newer harness: update it)' : ''),
    );
  }
  const parsed = historySchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 8).map((i) => `${issuePath(i.path)}: ${i.message}`);
    const more = parsed.error.issues.length > 8 ? [`… and ${parsed.error.issues.length - 8} more`] : [];
    throw new HarnessError(`${file}: not a valid run history (schema ${HISTORY_SCHEMA}):\n  ${[...issues, ...more].join('\n  ')}`);
  }
  return parsed.data as HistoryFile;
}

/** Reads history.json; an absent file is an empty history. Throws HarnessError naming the file for anything else. */
export async function loadHistory(file: string): Promise<HistoryFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { schema: HISTORY_SCHEMA, runs: [] };
    throw new HarnessError(`${file}: cannot read the run history: ${(error as Error).message}`, { cause: error });
  }
  return parseHistory(text, file);
}

/** history.json as the harness writes it: two-space indented, a newline at the end. */
export function renderHistory(history: HistoryFile): string {
  return `${JSON.stringify(history, null, 2)}\n`;
}
