// One board command made of several named shell parts: one round trip
// instead of one per part (the board's shell is slow to start on an emulated
// ARM), its output split at a marker line that carries each part's exit status.
import type { CommandResult } from '../transport/types.ts';
import { parsePing } from '../parsers/ping.ts';
import { parseProbeOutput } from '../parsers/probe.ts';
import { parseSysfsReading, type SysfsReading } from '../parsers/sysfs.ts';
import { IFACE } from './plan.ts';
import type { PingObservation, ProbeObservation } from './observations.ts';

export const SPLIT = '@@vnet-harness-split@@';

/** What a reading is when the interface was not there (or the command ended before it). */
export const MISSING: SysfsReading = { iface: IFACE, present: false };

/** The outputs of a compound command, part by part name. */
export interface Sections<K extends string> {
  result: CommandResult;
  /** Output of a part, or undefined when the command ended before it. */
  output(name: K): string | undefined;
  /** A part as a command result of its own (stderr goes to the first part: the parts after it are readers). */
  part(name: K): CommandResult;
  /** A part parsed as an interface reading. */
  reading(name: K): SysfsReading | undefined;
  /** A ping with its readings taken before and after it. */
  ping(name: K, before: K, after: K): PingObservation;
  /** A run of the board-side probe with its readings taken before and after it. */
  probe(name: K, before: K, after: K): ProbeObservation;
}

/** Runs the parts (in the order given) as ONE board command; their outputs come back by name. */
export async function sections<K extends string>(run: (command: string) => Promise<CommandResult>, parts: Readonly<Record<K, string>>): Promise<Sections<K>> {
  const names = Object.keys(parts) as K[];
  const commands = names.map((n) => parts[n]);
  const result = await run(commands.map((p) => `${p}\necho "${SPLIT} $?"`).join('\n'));
  const outputs: string[] = [];
  const statuses: number[] = [];
  let rest = result.stdout;
  const marker = new RegExp(`^${SPLIT} (\\d+)\\r?$`, 'm');
  for (let m = marker.exec(rest); m; m = marker.exec(rest)) {
    outputs.push(rest.slice(0, m.index));
    statuses.push(Number(m[1]));
    rest = rest.slice(m.index + m[0].length).replace(/^\r?\n/, '');
  }
  const index = (name: K): number => names.indexOf(name);
  const output = (name: K): string | undefined => outputs[index(name)];
  const part = (name: K): CommandResult => {
    const i = index(name);
    return {
      command: commands[i] ?? '',
      stdout: outputs[i] ?? '',
      stderr: i === 0 ? result.stderr : '',
      exitCode: statuses[i] ?? result.exitCode,
      durationMs: result.durationMs,
    };
  };
  const reading = (name: K): SysfsReading | undefined => {
    const text = output(name);
    return text === undefined ? undefined : parseSysfsReading(text);
  };
  return {
    result,
    output,
    part,
    reading,
    ping: (name, before, after) => {
      const command = part(name);
      return { command, parsed: parsePing(command.stdout), before: reading(before) ?? MISSING, after: reading(after) ?? MISSING };
    },
    probe: (name, before, after) => {
      const command = part(name);
      return { command, parsed: parseProbeOutput(command.stdout), before: reading(before) ?? MISSING, after: reading(after) ?? MISSING };
    },
  };
}
