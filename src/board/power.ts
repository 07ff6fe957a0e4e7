// Power drivers: how the harness switches a board on, cuts it off and
// power-cycles it. One interface, one implementation per kind of switch:
// external commands (a PDU or relay script from the board YAML), manual (no
// switch: the board is on, nobody can cycle it), and QEMU (qemu.ts: the
// emulator is the board, so starting it is powering on and killing it is
// cutting the power). The strategy (strategy.ts) decides when.
import { execa } from 'execa';
import { BoardError } from '../errors.ts';
import type { PowerSwitch } from './resources.ts';

/** How a recovery by a power driver is reported. */
export type RecoveryMethod = 'qemu-restart' | 'power-cycle';

export interface PowerDriver {
  readonly method: RecoveryMethod;
  /** Powers the board on (and boots it, where the harness runs the machine); `first`: the session's first power-on (a cycle leaves a real board on). */
  on(first: boolean): Promise<void>;
  /** Cuts the power at once, waiting for nothing: the board is presumed hung or gone, or the run was interrupted. */
  cut(): void;
  /** After a cut and before the next on(): power off and on again. Throws a BoardError naming the command that failed. */
  cycle(): Promise<void>;
  /** Ends what the harness started for the board (an emulator); a real board is left as it is. */
  release(): Promise<void>;
  /** The pid of the process that is the board (an emulator), when there is one. */
  machinePid(): number | undefined;
  /** Whether the machine still runs: false once an emulator is gone; undefined when the harness cannot know (a real board). */
  running(): boolean | undefined;
  /**
   * What ended the machine when neither the harness nor the board did (an
   * emulator killed by another process: `QEMU (pid 812) was killed by SIGKILL
   * from outside the harness`): the host's doing, never the driver's.
   * Undefined while it runs, when it ended by itself (a guest reset), after
   * the harness ended it, and when the harness cannot know (a real board).
   */
  killedFromOutside(): string | undefined;
}

/** Time a power command (PDU/relay script) gets before it counts as failed. */
export const POWER_COMMAND_TIMEOUT_MS = 60_000;

type Action = 'on' | 'off' | 'cycle';

/** The error of a board whose power cannot do what recovery needs. */
function noPowerCommand(board: string, file: string, action: Action, consoleTail: () => string[]): BoardError {
  return new BoardError('board-lost', board, `no power ${action} command in ${file}: cannot recover the board`, undefined, consoleTail());
}

/**
 * A real board's power: the harness runs no machine for it, so there is
 * nothing to cut at once, to end, or to ask about (no pid, no liveness, no
 * outside kill it could see).
 */
abstract class RealBoardPower implements PowerDriver {
  readonly method = 'power-cycle';

  abstract on(first: boolean): Promise<void>;
  abstract cycle(): Promise<void>;

  cut(): void {}

  async release(): Promise<void> {}

  machinePid(): undefined {
    return undefined;
  }

  running(): undefined {
    return undefined;
  }

  killedFromOutside(): undefined {
    return undefined;
  }
}

/**
 * Power through the board YAML's shell commands, run with sh -c in the YAML's
 * directory with a timeout. A cycle without a `cycle` command is `off`, two
 * seconds, `on`.
 */
export class ExternalPowerDriver extends RealBoardPower {
  constructor(
    private readonly board: string,
    private readonly power: PowerSwitch,
    private readonly consoleTail: () => string[],
  ) {
    super();
  }

  async on(first: boolean): Promise<void> {
    if (first && this.power.commands.on) await this.run('on');
  }


  async cycle(): Promise<void> {
    await this.run('cycle');
  }


  /** The command of an action, with the key(s) of the YAML it comes from. */
  private command(action: Action): { command: string; key: string } | undefined {
    const { on, off, cycle } = this.power.commands;
    if (action === 'cycle' && !cycle && off && on) return { command: `${off} && sleep 2 && ${on}`, key: 'power.off and power.on' };
    const command = this.power.commands[action];
    return command ? { command, key: `power.${action}` } : undefined;
  }

  private async run(action: Action): Promise<void> {
    const found = this.command(action);
    if (!found) throw noPowerCommand(this.board, this.power.file, action, this.consoleTail);
    const { command, key } = found;
    const r = await execa('sh', ['-c', command], { cwd: this.power.dir, reject: false, timeout: POWER_COMMAND_TIMEOUT_MS, all: true });
    if (r.exitCode !== 0 || r.timedOut) {
      const how = r.timedOut ? `did not finish within ${POWER_COMMAND_TIMEOUT_MS / 1000} s` : r.exitCode === undefined ? `was killed by ${r.signal ?? 'a signal'}` : `exited with ${r.exitCode}`;
      const output = (r.all ?? '').trim();
      throw new BoardError(
        'board-lost',
        this.board,
        `power ${action} command \`${command}\` (${key} in ${this.power.file}) ${how}${output ? `: ${output}` : ' (no output)'}`,
        command,
        this.consoleTail(),
      );
    }
  }
}

/** No power switch: the board is on when the session starts, and a hung board cannot be recovered. */
export class ManualPowerDriver extends RealBoardPower {
  constructor(
    private readonly board: string,
    private readonly file: string,
    private readonly consoleTail: () => string[],
  ) {
    super();
  }

  async on(_first?: boolean): Promise<void> {}


  async cycle(): Promise<void> {
    throw noPowerCommand(this.board, this.file, 'cycle', this.consoleTail);
  }

}
