// What each stage does on the board, as data: the tutorial's manual test
// (insmod, ifconfig vnet0 3.3.3.3, ping 3.3.3.3, ping 3.3.3.4, dmesg,
// rmmod) with the counts and deadlines each stage's checks need, and no
// waiting for nothing: short intervals, deadlines where a reply is not expected.

export const IFACE = 'vnet0';
export const LOCAL_ADDRESS = '3.3.3.3';
export const REMOTE_ADDRESS = '3.3.3.4';
/**
 * On a board with kmemleak, stages 1-3 ping these too, alongside 3.3.3.4 and
 * with their replies not waited for: each sends one more ARP request through
 * vnet0 at once (all in vnet0's 3.0.0.0/8). A driver that leaks its frames
 * then leaks five, not one, and kmemleak reports a leak only when nothing
 * points at it any more: it kept finding a stale pointer to a lone leaked
 * frame in about a third of stage runs (measured on the debug board with
 * the other core busy), and the leak went unseen.
 */
export const LEAK_WITNESS_ADDRESSES = ['3.3.3.5', '3.3.3.6', '3.3.3.7', '3.3.3.8'] as const;
/** Prefix of the files the harness puts on the board (/tmp exists everywhere: no mkdir round trip). */
export const BOARD_DIR = '/tmp/vnet-harness-';
export const MODULE_NAMES = ['virt_net1', 'virt_net2', 'virt_net3', 'virt_net4'] as const;

/** Where a stage's module goes on the board. */
export function boardModulePath(stage: number): string {
  return `${BOARD_DIR}${MODULE_NAMES[stage - 1] ?? 'virt_net'}.ko`;
}
/** Where the probe goes on the board; it stays there, uploaded again only when its sha256 differs. */
export const BOARD_PROBE = `${BOARD_DIR}vnet_probe`;

/** Bytes of an ICMP echo frame on vnet0 for busybox ping's default 56-byte payload: 14 + 20 + 8 + 56. */
export const ECHO_FRAME_BYTES = 98;
/** IP option bytes (record route, as ping -R) of the probe's echo requests through vnet0: ihl 15. */
export const PROBE_IP_OPTION_BYTES = 40;
/** Bytes of one of those echo request frames: 14 + 20 + 40 + 8 + 56. */
export const OPTIONS_ECHO_FRAME_BYTES = 14 + 20 + PROBE_IP_OPTION_BYTES + 8 + 56;

/** Bytes of an ARP request frame (14 + 28), without padding: virtual devices do not pad. */
export const ARP_FRAME_BYTES = 42;
export const EXPECTED_MAC = '08:89:89:89:89:11';

export interface StagePlan {
  stage: number;
  title: string;
  /** What ping 3.3.3.4 should do: be answered (stage 4) or not (stages 1-3). */
  remoteAnswered: boolean;
  /** Echo requests sent to 3.3.3.4 by busybox ping. */
  remoteCount: number;
  /** Echo requests the board-side probe sends (0: no probe). */
  probeCount: number;
  /**
   * Echo requests with IP options the probe sends through a packet socket on
   * vnet0 after the frames the peer must not answer (ARP, IPv6, UDP, short,
   * truncated, a fragment); 0: no such step.
   */
  framesCount: number;
}

export const STAGES: readonly StagePlan[] = [
  { stage: 1, title: 'registration only (transmit drops)', remoteAnswered: false, remoteCount: 1, probeCount: 0, framesCount: 0 },
  { stage: 2, title: 'transmit hook prints cnt', remoteAnswered: false, remoteCount: 1, probeCount: 0, framesCount: 0 },
  { stage: 3, title: 'tx statistics and MAC address', remoteAnswered: false, remoteCount: 1, probeCount: 0, framesCount: 0 },
  { stage: 4, title: 'emulated wire: echo requests answered', remoteAnswered: true, remoteCount: 3, probeCount: 20, framesCount: 2 },
];

/** Looks up a stage's plan. */
export function stagePlan(stage: number): StagePlan {
  const plan = STAGES.find((s) => s.stage === stage);
  if (!plan) throw new RangeError(`no stage ${stage} (stages are 1-4)`);
  return plan;
}

/** Parses `--stages 1,3` into sorted unique stage numbers. */
export function parseStageList(text: string): number[] {
  const stages = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const bad = stages.filter((s) => !STAGES.some((p) => p.stage === s));
  if (stages.length === 0 || bad.length > 0) throw new RangeError(`--stages takes a comma list of 1-4, got ${JSON.stringify(text)}`);
  return [...new Set(stages)].sort((a, b) => a - b);
}
