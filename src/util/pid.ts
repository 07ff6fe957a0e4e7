// Whether a process still exists, for locks and temporary files named by pid.

/** Whether a process with this pid exists on this host (another user's counts: kill(pid, 0) then fails with EPERM). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
