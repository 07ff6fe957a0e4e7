// Drives mocha programmatically over the stage suites of suites/ (mocha has
// no pass-through for custom flags, so the harness's CLI is the entry point)
// and collects one StageResult per stage.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Mocha from 'mocha';
import type { StageResult } from '../results/model.ts';
import type { StageSuite, SuiteContext } from './suite.ts';

/** Where the stage suites live. */
export const SUITES_DIR = join(import.meta.dirname, '..', '..', 'suites');

/** Loads the suite of a stage (suites/stageN.ts). */
async function loadSuite(stage: number): Promise<StageSuite> {
  const mod = (await import(pathToFileURL(join(SUITES_DIR, `stage${stage}.ts`)).href)) as { default: StageSuite };
  if (mod.default?.stage !== stage) throw new Error(`suites/stage${stage}.ts does not export the suite of stage ${stage}`);
  return mod.default;
}

export interface RunSuitesOptions {
  stages: readonly number[];
  context: Omit<SuiteContext, 'record'>;
  /** Mocha reporter name (default "spec"). */
  reporter?: string;
}

/** Runs the selected stages' suites in order; returns their results (one per stage). */
export async function runSuites(options: RunSuitesOptions): Promise<StageResult[]> {
  const results: StageResult[] = [];
  const ctx: SuiteContext = { ...options.context, record: (r) => void results.push(r) };
  const mocha = new Mocha({ reporter: options.reporter ?? 'spec', timeout: options.context.stageTimeoutMs, bail: false });
  const suites = await Promise.all(options.stages.map(loadSuite));
  for (const suite of suites) {
    // Binds describe/it to this mocha instance, as mocha does before loading a file.
    mocha.suite.emit(Mocha.Suite.constants.EVENT_FILE_PRE_REQUIRE, globalThis, `suites/stage${suite.stage}.ts`, mocha);
    suite.register(ctx);
  }
  await new Promise<number>((resolve) => mocha.run(resolve));
  mocha.dispose();
  return results.sort((a, b) => a.stage - b.stage);
}
