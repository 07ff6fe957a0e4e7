// Abandoning an ssh2 channel safely. dropbear 2022.83 (the emulated board's
// sshd) has a known race (mkj/dropbear#321, fixed upstream by PR #326): a channel
// opened while dropbear handles a child's exit gets closed at once, and dropbear
// then dies on `Failed assertion (common-channel.c:705): !channel->sent_close`,
// taking the whole connection along. Measured here: closing an SFTP channel and
// opening the next one at once broke the connection within the first 4 tries in
// every run; closing a timed-out command's channel without killing it broke it
// about once in 50 timeouts. So an
// abandoned command is killed first, the server closes the channel itself, and
// new channels wait for that (ssh.ts: settle/quiesce).

import type { ClientChannel, SFTPWrapper } from 'ssh2';

/** How long the server gets to close a channel on its own before we close it. */
export const CHANNEL_GRACE_MS = 1_000;

interface ChannelInternals {
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/** Sends a signal to the command of a channel, even after stdin was closed. */
export function signalChannel(channel: ClientChannel, name: string): void {
  if (channel.writable) {
    channel.signal(name);
    return;
  }
  // ssh2's signal() silently does nothing once stdin got EOF, which run() sends at
  // once; the protocol layer still accepts it and dropbear honours it.
  const internals = channel as unknown as ChannelInternals;
  if (internals.outgoing?.state === 'open' || internals.outgoing?.state === 'eof') {
    internals._client?._protocol?.signal(internals.outgoing.id, name);
  }
}

/** Resolves when `emitter` emits 'close', or after `ms` (false then). */
function closed(emitter: ClientChannel | SFTPWrapper, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    emitter.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Kills a channel's command and waits (bounded) until the channel is closed on both sides. */
export async function killChannel(channel: ClientChannel): Promise<void> {
  // ssh2 emits 'close' only after the data streams ended, so they must flow.
  channel.resume();
  channel.stderr.resume();
  try {
    signalChannel(channel, 'KILL');
  } catch {
    // the channel may be gone already
  }
  if (await closed(channel, CHANNEL_GRACE_MS)) return;
  // The command outlived KILL (an orphan holding the pipes, or a server without
  // signal support): close from our side and give the server time to answer.
  try {
    channel.close();
  } catch {
    // already closing
  }
  await closed(channel, CHANNEL_GRACE_MS);
}

/** Ends an SFTP session and waits (bounded) until its channel is closed. */
export async function endSftp(sftp: SFTPWrapper): Promise<void> {
  const done = closed(sftp, CHANNEL_GRACE_MS * 2);
  try {
    sftp.end();
  } catch {
    // already closed with the link
  }
  await done;
}
