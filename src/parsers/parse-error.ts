// The one error every parser throws on input it cannot read. It names the
// parser, where in the input it gave up and why, and keeps the whole input so
// a report can still show what the board printed.

import { HarnessError } from '../errors.ts';

/** Board output a parser could not make sense of (exit code 2: not a driver verdict). */
export class ParseError extends HarnessError {
  override name = 'ParseError';
  constructor(
    readonly parser: string,
    readonly reason: string,
    /** The complete input, kept so nothing the board printed is lost. */
    readonly input: string,
    /** 1-based line of the input the parser stopped at, when there is one. */
    readonly line?: number,
  ) {
    super(ParseError.format(parser, reason, input, line));
  }

  /** Builds "<parser> parser: <reason> (line N: "...")" with a short excerpt. */
  static format(parser: string, reason: string, input: string, line?: number): string {
    const lines = input.split(/\r?\n/);
    let where: string;
    if (line !== undefined) {
      where = ` at line ${line}: ${JSON.stringify(clip(lines[line - 1] ?? ''))}`;
    } else if (input.trim() === '') {
      where = ' (the input was empty)';
    } else {
      where = `; input began ${JSON.stringify(clip(input))}`;
    }
    return `${parser} parser: ${reason}${where}`;
  }
}

function clip(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
