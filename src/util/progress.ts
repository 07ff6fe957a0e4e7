// Progress for long phases: a line per phase always; on a TTY also a live
// percentage line, in CI logs a plain line every 10 %.

export interface Progress {
  /** Starts a phase: one line. */
  phase(line: string): void;
  /** Reports progress inside the current phase. */
  update(percent: number, text: string): void;
  /** Ends the current phase with a summary line. */
  done(line: string): void;
}

/** A Progress writing to a stream (stderr by default), live on a TTY, plain otherwise. */
export function streamProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const live = stream.isTTY === true && !process.env.CI;
  const spinner = ['|', '/', '-', '\\'];
  let tick = 0;
  let lastDecile = -1;
  let open = false;
  const clear = (): void => {
    if (open) stream.write('\r\x1b[2K');
    open = false;
  };
  return {
    phase(line) {
      clear();
      lastDecile = -1;
      stream.write(`${line}\n`);
    },
    update(percent, text) {
      if (live) {
        stream.write(`\r\x1b[2K${spinner[tick++ % spinner.length]} ${String(percent).padStart(3)}% ${text}`);
        open = true;
      } else if (Math.floor(percent / 10) > lastDecile) {
        lastDecile = Math.floor(percent / 10);
        stream.write(`${percent}% ${text}\n`);
      }
    },
    done(line) {
      clear();
      stream.write(`${line}\n`);
    },
  };
}

/** A Progress that only collects lines (tests, quiet mode). */
export function silentProgress(lines: string[] = []): Progress {
  return { phase: (l) => void lines.push(l), update: () => {}, done: (l) => void lines.push(l) };
}
