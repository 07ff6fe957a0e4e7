// The one results model. Stage suites produce it; results.json is it, and every
// other report (JUnit, HTML, Markdown, comparison) is a view of it. Bump
// RESULTS_SCHEMA on any incompatible change, document it in reports/README.md
// and teach src/reporters/load-results.ts to read the older files.
//
// Schema 2: a check's `message` is the check's own statement (the reports
// add ": expected X, got Y"), and its `durationMs` is the board time it judged.

//
// Schema 3: a stage's verdict can be a sanitizer class (kasan, kmemleak,
// ubsan, lockdep, atomic-sleep); kernel events have the classes lockdep and
// atomic-sleep; a stage has `kmemleak` when the board's kernel was scanned.
export const RESULTS_SCHEMA = 3;

/**
 * Kernel reports that name a memory or locking bug the kernel survived: on a
 * board whose kernel has the detector, the stage that caused one gets this
 * class as its verdict (the driver's fault, like `fail`).
 */
export const SANITIZER_CLASSES = ['kasan', 'kmemleak', 'ubsan', 'lockdep', 'atomic-sleep'] as const;
export type SanitizerClass = (typeof SANITIZER_CLASSES)[number];

/**
 * Verdicts of a whole stage. A selected stage always runs or errs: one the run
 * never got to (interrupted, board gone) is an `error` saying why, never a
 * verdict that reads as harmless as a pass. Stages not selected are absent.
 * `fail`, `crash`, `hang` and the sanitizer classes are the driver's faults;
 * `build-error` too; `error` is the board's, the host's or the harness's.
 */
export const STAGE_VERDICTS = ['pass', 'fail', 'crash', 'hang', ...SANITIZER_CLASSES, 'build-error', 'error'] as const;
export type StageVerdict = (typeof STAGE_VERDICTS)[number];

/** Whether a verdict is a sanitizer class. */
export function isSanitizerClass(v: string): v is SanitizerClass {
  return (SANITIZER_CLASSES as readonly string[]).includes(v);
}

/** Verdict of one check inside a stage. */
export type CheckVerdict = 'pass' | 'fail' | 'error' | 'skipped';

/** Classes of kernel messages the console watcher (and the kmemleak scan) report. */
export const KERNEL_EVENT_CLASSES = ['oops', 'panic', 'bug', 'warning', 'soft-lockup', 'hung-task', 'rcu-stall', ...SANITIZER_CLASSES, 'hang'] as const;
export type KernelEventClass = (typeof KERNEL_EVENT_CLASSES)[number];

/** A kernel fault seen on the console or in dmesg. */
export interface KernelEvent {
  class: KernelEventClass;
  /** The first line of the report, e.g. "Kernel panic - not syncing: Fatal exception". */
  firstLine: string;
  /** The whole report, from its start marker to its end marker. */
  text: string;
  /** Milliseconds since the run started, when it was seen. */
  atMs?: number;
  /** Whether the kernel is still usable after it (a panic or oops in interrupt is fatal). */
  fatal: boolean;
}

/** One compiler diagnostic. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning' | 'note';
  message: string;
  /** e.g. "-Wunused-variable", when the compiler named one. */
  option?: string;
}

/** Result of building one stage's module. */
export interface BuildResult {
  stage: number;
  ok: boolean;
  /** Path of the built .ko, when ok. */
  module?: string;
  vermagic?: string;
  /** sha256 of the .ko, when ok. */
  sha256?: string;
  warnings: Diagnostic[];
  diagnostics: Diagnostic[];
  /** Whether the compiler actually ran (false when the module was up to date). */
  compiled: boolean;
  durationMs: number;
  /** The raw compiler output, kept for reports. */
  log: string;
}

/** One check of a stage, with the values it compared. */
export interface CheckResult {
  id: string;
  title: string;
  verdict: CheckVerdict;
  expected?: unknown;
  actual?: unknown;
  /**
   * Failed: what the check holds the driver to ("MAC set by the driver"); every
   * report reads it as "<message>: expected X, got Y" (src/results/check-text.ts).
   * Error or skipped: why.
   */
  message?: string;
  /** Milliseconds of the board steps whose observations the check judged (the whole stage for kernel faults). */
  durationMs?: number;
}

/** A snapshot of /sys/class/net/<if>/ at one moment. */
export interface InterfaceReading {
  at: string;
  address?: string;
  flags?: number;
  flagNames?: string[];
  mtu?: number;
  type?: number;
  operstate?: string;
  statistics: Record<string, number>;
}

/** What a ping printed, parsed. */
export interface PingStats {
  target: string;
  transmitted: number;
  received: number;
  lossPercent: number;
  rttMinMs?: number;
  rttAvgMs?: number;
  rttMaxMs?: number;
}

/** A timed step of a stage (upload, insmod, ping, ...). */
export interface StepTiming {
  name: string;
  durationMs: number;
}

export interface StageResult {
  stage: number;
  title: string;
  verdict: StageVerdict;
  /** Why the stage ended as it did, in one line, when it did not pass. */
  reason?: string;
  build?: BuildResult;
  checks: CheckResult[];
  readings: InterfaceReading[];
  pings: PingStats[];
  /** Round-trip times of the probe's echo replies, in ms. */
  rttsMs: number[];
  /** Kernel log lines that appeared during the stage. */
  dmesg: string[];
  kernelEvents: KernelEvent[];
  steps: StepTiming[];
  startedAt: string;
  durationMs: number;
  /**
   * Set when the stage ended with a kmemleak scan (the board's kernel has
   * kmemleak): `unattributed` counts the reports the scan listed that the
   * stage did not cause (other processes' objects, older ones), `others` the
   * first few of those reports as the kernel printed them; the stage's own
   * are kernel events of class kmemleak. `transient`: reports of the stage's
   * kind that one more scan a second later no longer listed (objects already
   * freed), kept as the kernel printed them and not counted against it.
   */
  kmemleak?: { unattributed: number; others: string[]; transient?: string[] };
  /**
   * Whether the board was power-cycled during this stage: before its steps (an
   * earlier stage left it dirty: a module that would not unload, vnet0 still
   * there) or after a fault (crash, hang) ended them; the reason says which.
   */
  recovered?: boolean;
}

export interface BoardInfo {
  name: string;
  kernelRelease?: string;
  machine?: string;
  transport: 'ssh' | 'serial';
  emulated: boolean;
  /**
   * What the board's userland lacked of what the harness uses (busybox applets
   * such as ip, base64, sha256sum, timeout; options such as `ping -W`) and the
   * stand-in used for each, in words. Set once the board was probed (empty
   * lists: the full tools were used).
   */
  userland?: { missing: string[]; fallbacks: string[] };
}

export interface DriverSource {
  path: string;
  gitRevision?: string;
  gitDirty?: boolean;
  /** sha256 over the tree's file names and contents. */
  contentHash: string;
}

export interface RunResults {
  schema: typeof RESULTS_SCHEMA;
  runId: string;
  startedAt: string;
  durationMs: number;
  harnessVersion: string;
  board: BoardInfo;
  driver: DriverSource;
  /** Overall verdict: pass only when every selected stage passed. */
  verdict: 'pass' | 'fail' | 'error';
  stages: StageResult[];
  /** Infrastructure errors that ended the run early, if any. */
  errors: string[];
  /**
   * Set when a signal (SIGINT, SIGTERM, SIGHUP) stopped the run: everything
   * here is what was gathered until then; the stage in progress and the ones
   * after it are `error` ("interrupted"). Absent for a run that ended by itself.
   */
  incomplete?: { signal: string; afterMs: number };
  /** What limits the verdict without changing it (e.g. no console capture: faults seen through dmesg only). */
  warnings?: string[];
  /** Console transcript file, relative to the results file. */
  consoleLog?: string;
}
