// Parser for the diagnostics gcc (and Kbuild's modpost) print during a
// kernel module build. Pure text in, objects out: it knows nothing of
// make, paths or boards, so it can be tested on captured output alone.

import type { Diagnostic } from '../results/model.ts';

/** A Diagnostic plus the context gcc printed around it. */
export interface GccDiagnostic extends Diagnostic {
  /** The function named by the last "In function 'x':" line for this file. */
  function?: string;
  /** The "In file included from" chain of a diagnostic in a header, outermost last. */
  includedFrom?: { file: string; line: number }[];
}

// file:line:col: severity: message   (col is optional: some messages have none)
const LOCATED =
  /^(?<file>[^\s:][^:]*?):(?<line>\d+):(?:(?<col>\d+):)? (?<sev>fatal error|error|warning|note|sorry, unimplemented): (?<msg>.*)$/;
// cc1: warning: ...   gcc: error: ...   (a message about the invocation, no source position)
const TOOL = /^(?<tool>cc1|cc1plus|gcc|[\w.-]*-gcc(?:-[\d.]+)?|collect2|lto1): (?<sev>fatal error|error|warning|note): (?<msg>.*)$/;
// WARNING: modpost: ...   ERROR: modpost: ...
const MODPOST = /^(?<sev>WARNING|ERROR): modpost: (?<msg>.*)$/;
const IN_FUNCTION = /^(?<file>[^\s:][^:]*?): In (?:member |static member )?function [‘'`"](?<fn>.*)[’'"]:$/;
const AT_TOP_LEVEL = /^(?<file>[^\s:][^:]*?): At top level:$/;
const INCLUDED = /^(?:In file included|\s+) from (?<file>[^\s:][^:]*?):(?<line>\d+)[,:]$/;
// A trailing "[-Wfoo]" / "[-Werror=foo]" names the option that enabled the message.
const OPTION = /\s*\[(?<opt>-W[^\]\s]+)\]$/;

/** Parses a build log into the diagnostics it contains, in the order printed. */
export function parseGccOutput(text: string): GccDiagnostic[] {
  const out: GccDiagnostic[] = [];
  const functionOf = new Map<string, string | undefined>();
  // An include chain printed just now, and the one of the current group (a
  // diagnostic and the notes that follow it).
  let pending: { file: string; line: number }[] = [];
  let group: { file: string; line: number }[] = [];

  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    let m: RegExpExecArray | null;

    if ((m = INCLUDED.exec(line))) {
      const g = m.groups!;
      if (line.startsWith('In file included')) pending = [];
      pending.push({ file: g.file!, line: Number(g.line) });
      continue;
    }
    if ((m = IN_FUNCTION.exec(line))) {
      functionOf.set(m.groups!.file!, m.groups!.fn!);
      continue;
    }
    if ((m = AT_TOP_LEVEL.exec(line))) {
      functionOf.set(m.groups!.file!, undefined);
      continue;
    }
    if ((m = LOCATED.exec(line))) {
      const g = m.groups!;
      if (g.sev !== 'note' || pending.length > 0) {
        group = pending;
        pending = [];
      }
      const d = withOption({
        file: g.file!,
        line: Number(g.line),
        column: g.col === undefined ? 0 : Number(g.col),
        severity: severityOf(g.sev!),
        message: g.msg!,
      });
      // The function context belongs to the file being compiled (the outer
      // end of the include chain), whichever header the message points into.
      const outer = group[group.length - 1]?.file;
      const fn = functionOf.has(g.file!) ? functionOf.get(g.file!) : outer && functionOf.get(outer);
      if (fn) d.function = fn;
      if (outer !== undefined && outer !== d.file) d.includedFrom = group;
      out.push(d);
      continue;
    }
    if ((m = TOOL.exec(line))) {
      const g = m.groups!;
      out.push(
        withOption({ file: g.tool!, line: 0, column: 0, severity: severityOf(g.sev!), message: g.msg! }),
      );
      continue;
    }
    if ((m = MODPOST.exec(line))) {
      const g = m.groups!;
      out.push({
        file: modpostSubject(g.msg!),
        line: 0,
        column: 0,
        severity: g.sev === 'ERROR' ? 'error' : 'warning',
        message: `modpost: ${g.msg!}`,
      });
    }
  }
  return out;
}

/** Maps gcc's severity words onto the three the results model knows. */
function severityOf(word: string): Diagnostic['severity'] {
  if (word === 'warning') return 'warning';
  if (word === 'note') return 'note';
  return 'error'; // error, fatal error, sorry, unimplemented
}

/** Moves a trailing "[-Wopt]" from the message into `option`. */
function withOption(d: GccDiagnostic): GccDiagnostic {
  const m = OPTION.exec(d.message);
  if (m) {
    d.option = m.groups!.opt!;
    d.message = d.message.slice(0, m.index);
  }
  return d;
}

/** The object modpost complains about ("... [path.ko] ..." or "... in path.o"), else "modpost". */
function modpostSubject(msg: string): string {
  const bracket = /\[([^\]\s]+\.(?:ko|o))\]/.exec(msg);
  if (bracket) return bracket[1]!;
  const inFile = /\bin ([^\s]+\.(?:ko|o))\b/.exec(msg);
  if (inFile) return inFile[1]!;
  return 'modpost';
}
