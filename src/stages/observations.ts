// What a stage observed on the board, by name: the steps (steps.ts) record
// it, the checks (checks.ts, suites/) judge it, the suite turns it into a
// StageResult.
import type { ProbeReport } from '../parsers/probe.ts';
import type { PingOutput } from '../parsers/ping.ts';
import type { SysfsReading } from '../parsers/sysfs.ts';
import type { KernelEvent, StepTiming } from '../results/model.ts';
import type { CommandResult } from '../transport/types.ts';
import type { StagePlan } from './plan.ts';

/** A ping, with the interface readings taken right before and after it. */
export interface PingObservation {
  command: CommandResult;
  parsed: PingOutput;
  before: SysfsReading;
  after: SysfsReading;
}

export interface ProbeObservation {
  command: CommandResult;
  parsed: ProbeReport;
  before: SysfsReading;
  after: SysfsReading;
}

export interface StageFault {
  class: 'crash' | 'hang' | 'error';
  step: string;
  message: string;
}

export interface StageObservations {
  plan: StagePlan;
  reset?: CommandResult;
  insmod?: CommandResult;
  /** Reading right after insmod. */
  loaded?: SysfsReading;
  ifconfig?: CommandResult;
  /** Reading right after ifconfig. */
  configured?: SysfsReading;
  localPing?: PingObservation;
  remotePing?: PingObservation;
  /** Kernel log lines printed during ping 3.3.3.4. */
  remoteDmesg?: string[];
  probe?: ProbeObservation;
  /** The probe's frames through a packet socket on vnet0 (-F): frames the peer must not answer, echo requests with IP options. */
  frames?: ProbeObservation;
  rmmod?: CommandResult;
  /** Reading after rmmod (expected: interface missing). */
  unloaded?: SysfsReading;
  dmesg: string[];
  kernelEvents: KernelEvent[];
  /** The kmemleak scan after rmmod (kernels with kmemleak): the stage's leaks, and how many other suspects it listed. */
  leaks?: { events: KernelEvent[]; unattributed: number; others: string[]; transient?: string[] };
  steps: StepTiming[];
  fault?: StageFault;
  recovered?: boolean;
  startedAt: string;
  durationMs: number;
}
