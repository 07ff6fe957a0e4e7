// Reads a results.json back into the model, for the run index and compare.
// A file that is not what this harness writes gets an error naming the file
// and what is wrong (bad JSON with line:col, other schema version, which field).
// Files of an older schema this harness still reads are upgraded in memory.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { HarnessError } from '../errors.ts';
import { KERNEL_EVENT_CLASSES, RESULTS_SCHEMA, STAGE_VERDICTS, type RunResults } from '../results/model.ts';

const num = z.number();
const diagnostic = z.looseObject({
  file: z.string(),
  line: num,
  column: num,
  severity: z.enum(['error', 'warning', 'note']),
  message: z.string(),
  option: z.string().optional(),
});
// `skipped` was in the model until no code wrote it; a file that has one (written
// by hand or by another tool) reads as `error`: a stage that did not run is no pass.
const stageVerdict = z
  .enum([...STAGE_VERDICTS, 'skipped'])
  .transform((v) => (v === 'skipped' ? 'error' : v));
const eventClass = z.enum(KERNEL_EVENT_CLASSES);

/** The oldest schema this harness still reads (see upgrade()). */
export const OLDEST_READABLE_SCHEMA = 1;

/** The zod schema of results.json (schemas 1 to 3 have the same shape; 3 has more verdicts); unknown extra keys are kept. */
export const runResultsSchema = z.looseObject({
  schema: z.union([z.literal(OLDEST_READABLE_SCHEMA), z.literal(2), z.literal(RESULTS_SCHEMA)]),
  runId: z.string().min(1),
  startedAt: z.string(),
  durationMs: num,
  harnessVersion: z.string(),
  board: z.looseObject({
    name: z.string(),
    kernelRelease: z.string().optional(),
    machine: z.string().optional(),
    transport: z.enum(['ssh', 'serial']),
    emulated: z.boolean(),
    userland: z.object({ missing: z.array(z.string()), fallbacks: z.array(z.string()) }).optional(),
  }),
  driver: z.looseObject({
    path: z.string(),
    gitRevision: z.string().optional(),
    gitDirty: z.boolean().optional(),
    contentHash: z.string(),
  }),
  verdict: z.enum(['pass', 'fail', 'error']),
  stages: z.array(
    z.looseObject({
      stage: num,
      title: z.string(),
      verdict: stageVerdict,
      reason: z.string().optional(),
      build: z
        .looseObject({
          stage: num,
          ok: z.boolean(),
          module: z.string().optional(),
          vermagic: z.string().optional(),
          sha256: z.string().optional(),
          warnings: z.array(diagnostic),
          diagnostics: z.array(diagnostic),
          compiled: z.boolean(),
          durationMs: num,
          log: z.string(),
        })
        .optional(),
      checks: z.array(
        z.looseObject({
          id: z.string(),
          title: z.string(),
          verdict: z.enum(['pass', 'fail', 'error', 'skipped']),
          expected: z.unknown().optional(),
          actual: z.unknown().optional(),
          message: z.string().optional(),
          durationMs: num.optional(),
        }),
      ),
      readings: z.array(
        z.looseObject({
          at: z.string(),
          address: z.string().optional(),
          flags: num.optional(),
          flagNames: z.array(z.string()).optional(),
          mtu: num.optional(),
          type: num.optional(),
          operstate: z.string().optional(),
          statistics: z.record(z.string(), num),
        }),
      ),
      pings: z.array(
        z.looseObject({
          target: z.string(),
          transmitted: num,
          received: num,
          lossPercent: num,
          rttMinMs: num.optional(),
          rttAvgMs: num.optional(),
          rttMaxMs: num.optional(),
        }),
      ),
      rttsMs: z.array(num),
      dmesg: z.array(z.string()),
      kernelEvents: z.array(
        z.looseObject({ class: eventClass, firstLine: z.string(), text: z.string(), atMs: num.optional(), fatal: z.boolean() }),
      ),
      steps: z.array(z.looseObject({ name: z.string(), durationMs: num })),
      startedAt: z.string(),
      durationMs: num,
      recovered: z.boolean().optional(),
      kmemleak: z.looseObject({ unattributed: num, others: z.array(z.string()), transient: z.array(z.string()).optional() }).optional(),
    }),
  ),
  errors: z.array(z.string()),
  consoleLog: z.string().optional(),
});

// Compile-time guard: the schema above must produce the model's type.
const _sameShape = (x: z.infer<typeof runResultsSchema>): RunResults => ({ ...x, schema: RESULTS_SCHEMA });
void _sameShape;

// Schema 1 kept chai's sentence in a failed check's message
// ("MAC set by the driver: expected '…12' to deeply equal '…11'", which calls
// the observed value "expected"), and `holds` added "(expected X, got Y)":
// both are cut back to the check's statement, which the reports complete
// from the recorded values.
const CHAI_SENTENCE = /^([\s\S]*?): expected [\s\S]* to (?:deeply )?(?:equal|be) [\s\S]*$/;
const HOLDS_VALUES = /^([\s\S]*?) \(expected [\s\S]*, got [\s\S]*\)$/;

/** Brings a file of an older readable schema to the current model. */
function upgrade(data: z.infer<typeof runResultsSchema>): RunResults {
  // Schema 2 differs from 3 only by verdicts it could not hold.
  if (data.schema !== OLDEST_READABLE_SCHEMA) return { ...data, schema: RESULTS_SCHEMA } as RunResults;
  for (const stage of data.stages) {
    for (const check of stage.checks) {
      if (check.verdict !== 'fail' || check.message === undefined) continue;
      const statement = CHAI_SENTENCE.exec(check.message)?.[1] ?? check.message;
      check.message = HOLDS_VALUES.exec(statement)?.[1] ?? statement;
    }
  }
  return { ...data, schema: RESULTS_SCHEMA } as RunResults;
}

function lineCol(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const col = position - before.lastIndexOf('\n');
  return `${line}:${col}`;
}

/** A zod issue's path as messages show it: `stages[2].verdict`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(top level)';
}

/**
 * JSON.parse of a file's text; invalid JSON is a HarnessError naming
 * `file:line:col` (a truncated file, as a run killed while writing leaves
 * it, says "end of JSON input": that is where).
 */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const pos = /position (\d+)/.exec(message);
    const at = pos ? Number(pos[1]) : /end of JSON input/.test(message) ? text.length : undefined;
    const where = at === undefined ? file : `${file}:${lineCol(text, at)}`;
    throw new HarnessError(`${where}: not valid JSON: ${message}`);
  }
}

/** Parses results.json text; `file` is used in error messages only. Throws HarnessError. */
export function parseResults(text: string, file: string): RunResults {
  const data = parseJsonText(text, file);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new HarnessError(`${file}: not a results file: expected a JSON object at the top level`);
  }
  const schema = (data as Record<string, unknown>).schema;
  if (typeof schema !== 'number' || !Number.isInteger(schema) || schema < OLDEST_READABLE_SCHEMA || schema > RESULTS_SCHEMA) {
    throw new HarnessError(
      `${file}: results schema ${JSON.stringify(schema) ?? 'missing'}; this harness reads schemas ${OLDEST_READABLE_SCHEMA} to ${RESULTS_SCHEMA}` +
        (typeof schema === 'number' && schema > RESULTS_SCHEMA ? ' (written by a newer harness: update it)' : ''),
    );
  }
  const parsed = runResultsSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 8).map((i) => `${issuePath(i.path)}: ${i.message}`);
    const more = parsed.error.issues.length > 8 ? [`… and ${parsed.error.issues.length - 8} more`] : [];
    throw new HarnessError(`${file}: not a valid results file (schema ${String(schema)}):\n  ${[...issues, ...more].join('\n  ')}`);
  }
  return upgrade(parsed.data);
}

/** Reads and validates a results.json file. Throws HarnessError naming the file. */
export async function loadResults(file: string): Promise<RunResults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new HarnessError(`${file}: cannot read results: ${code === 'ENOENT' ? 'no such file' : String((error as Error).message)}`, { cause: error });
  }
  return parseResults(text, file);
}
