// `vnet-harness build`: the four stage modules, cross-built against the
// board's kernel tree (for the emulated board: the cached kernel build).
import { resolve } from 'node:path';
import { kernelTreeOf } from '../board/resources.ts';
import { buildModulesCached } from '../build/module-cache.ts';
import { kernelTreeRelease, untestedKernelWarning } from '../build/modules.ts';
import { loadBoard } from '../config/board.ts';
import { streamProgress } from '../util/progress.ts';

export interface BuildOptions {
  board: string;
  boardsDir: string;
  modules: string;
  json: boolean;
}

/** Builds every stage; exit 0 when all built warning-free, 1 when a stage failed or warned. */
export async function buildCommand(options: BuildOptions): Promise<number> {
  const config = loadBoard(options.board, { boardsDir: options.boardsDir });
  const progress = streamProgress();
  const kernelDir = await kernelTreeOf(config, progress);
  const sourceDir = resolve(options.modules);
  const untested = untestedKernelWarning(await kernelTreeRelease(kernelDir).catch(() => ''));
  if (untested) process.stderr.write(`warning: ${untested}\n`);
  // The same cache as run's: a module built here is the one the next run of this tree uploads.
  const results = await buildModulesCached({
    board: config.name,
    kernelDir,
    arch: config.arch,
    crossCompile: config.crossCompile,
    sourceDir,
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(results.map(({ log: _log, entry: _entry, ...r }) => r), null, 2)}\n`);
  } else {
    for (const r of results) {
      if (r.ok) {
        process.stdout.write(`stage ${r.stage}: ${r.module}\n  vermagic: ${r.vermagic}\n  ${r.compiled ? 'compiled' : 'cached (built before from the same sources, kernel tree and compiler)'}, ${r.warnings.length} warning(s)\n`);
      } else {
        process.stdout.write(`stage ${r.stage}: FAILED\n`);
      }
      for (const d of r.diagnostics) {
        process.stdout.write(`  ${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}${d.option ? ` [${d.option}]` : ''}\n`);
      }
    }
  }
  return results.every((r) => r.ok && r.warnings.length === 0) ? 0 : 1;
}
