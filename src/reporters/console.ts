// console.log: the board's console transcript, byte for byte as the session
// captured it. The other reports clean it for display; this file is the record.

/** Returns the transcript unchanged (an absent transcript is an empty file). */
export function renderConsole(transcript: string | undefined): string {
  return transcript ?? '';
}
