// results.json: the model itself, pretty, with keys in a fixed order so two
// runs diff line by line. Known objects keep the model's declaration order;
// free-form values (expected/actual, unknown extra keys) are sorted by name.

import type { RunResults } from '../results/model.ts';
import { sortKeysDeep } from './text.ts';

type Shape = { keys: readonly string[]; children?: Record<string, Shape | 'free'> };

const DIAGNOSTIC: Shape = { keys: ['file', 'line', 'column', 'severity', 'message', 'option'] };
const BUILD: Shape = {
  keys: ['stage', 'ok', 'module', 'vermagic', 'sha256', 'warnings', 'diagnostics', 'compiled', 'durationMs', 'log'],
  children: { warnings: DIAGNOSTIC, diagnostics: DIAGNOSTIC },
};
const CHECK: Shape = {
  keys: ['id', 'title', 'verdict', 'expected', 'actual', 'message', 'durationMs'],
  children: { expected: 'free', actual: 'free' },
};
const READING: Shape = {
  keys: ['at', 'address', 'flags', 'flagNames', 'mtu', 'type', 'operstate', 'statistics'],
  children: { statistics: 'free' },
};
const PING: Shape = {
  keys: ['target', 'transmitted', 'received', 'lossPercent', 'rttMinMs', 'rttAvgMs', 'rttMaxMs'],
};
const EVENT: Shape = { keys: ['class', 'firstLine', 'text', 'atMs', 'fatal'] };
const STEP: Shape = { keys: ['name', 'durationMs'] };
const STAGE: Shape = {
  keys: [
    'stage', 'title', 'verdict', 'reason', 'build', 'checks', 'readings', 'pings', 'rttsMs',
    'dmesg', 'kernelEvents', 'steps', 'startedAt', 'durationMs', 'recovered',
  ],
  children: { build: BUILD, checks: CHECK, readings: READING, pings: PING, kernelEvents: EVENT, steps: STEP },
};
const RUN: Shape = {
  keys: [
    'schema', 'runId', 'startedAt', 'durationMs', 'harnessVersion', 'board', 'driver', 'verdict',
    'stages', 'errors', 'consoleLog',
  ],
  children: {
    board: { keys: ['name', 'kernelRelease', 'machine', 'transport', 'emulated'] },
    driver: { keys: ['path', 'gitRevision', 'gitDirty', 'contentHash'] },
    stages: STAGE,
  },
};

// Rebuilds `value` with keys in the shape's order; arrays apply the shape to each item.
function order(value: unknown, shape: Shape | 'free'): unknown {
  if (shape === 'free') return sortKeysDeep(value);
  if (Array.isArray(value)) return value.map((item) => order(item, shape));
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const known = shape.keys.filter((k) => k in source);
  const extra = Object.keys(source).filter((k) => !shape.keys.includes(k)).sort();
  for (const key of [...known, ...extra]) {
    const child = shape.children?.[key];
    out[key] = child ? order(source[key], child) : sortKeysDeep(source[key]);
  }
  return out;
}

/** Renders results.json: two-space indented, stable key order, trailing newline. */
export function renderJson(results: RunResults): string {
  return `${JSON.stringify(order(results, RUN), null, 2)}\n`;
}
