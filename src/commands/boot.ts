// `vnet-harness boot -- CMD`: bring the board to a shell, run CMD, print its
// output, shut down, and exit with CMD's exit code (128+N for a signal).
import { openBoard } from '../board/target.ts';
import { loadBoard } from '../config/board.ts';
import { streamProgress } from '../util/progress.ts';
import { signalNumber } from '../util/signals.ts';

export interface BootOptions {
  board: string;
  boardsDir: string;
  transport?: 'ssh' | 'serial';
  command: string[];
}

/** Runs the boot command; returns the exit code to leave with. */
export async function bootCommand(options: BootOptions): Promise<number> {
  // boot builds nothing: a kernel_tree that is not on this host does not matter to it.
  const config = loadBoard(options.board, { boardsDir: options.boardsDir, hostPaths: false });
  const progress = streamProgress();
  const board = await openBoard(config, { progress, ...(options.transport ? { transport: options.transport } : {}) });
  try {
    const pid = board.power.machinePid();
    progress.phase(`board ${board.name}: up in ${(board.strategy.bootMs / 1000).toFixed(1)} s over ${board.transportKind}${pid ? ` (qemu pid ${pid})` : ''}`);
    // The words after -- are one shell command line, as ssh joins them.
    const result = await board.run(options.command.join(' '));
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    if (result.exitCode !== null) return result.exitCode;
    return 128 + (signalNumber(result.signal ?? '') ?? 0);
  } finally {
    await board.close();
  }
}
