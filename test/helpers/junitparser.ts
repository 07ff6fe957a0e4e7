// Reads a junit.xml with junitparser (Debian's python3-junitparser), a JUnit
// reader that is not the harness: what a CI system makes of the file, case
// by case. Run by Debian's own Python, whose module path has the package.
import { existsSync } from 'node:fs';
import { execa } from 'execa';

/** One test case as junitparser reads it. */
export interface ReadCase {
  suite: string;
  classname: string;
  name: string;
  /** The case's result elements: [] when it passed, else e.g. ["Failure"], ["Error"], ["Skipped"]. */
  results: string[];
}

export const DEBIAN_PYTHON = '/usr/bin/python3';

const SCRIPT = `
import json, sys
from junitparser import JUnitXml, TestSuite
xml = JUnitXml.fromfile(sys.argv[1])
suites = [xml] if isinstance(xml, TestSuite) else list(xml)
out = []
for suite in suites:
    for case in suite:
        out.append({"suite": suite.name, "classname": case.classname, "name": case.name, "results": [type(r).__name__ for r in case.result]})
print(json.dumps(out))
`;

/** Whether junitparser can be imported by Debian's Python here. */
export async function junitparserAvailable(): Promise<boolean> {
  if (!existsSync(DEBIAN_PYTHON)) return false;
  const r = await execa('/usr/bin/python3', ['-c', 'import junitparser'], { reject: false });
  return r.exitCode === 0;
}

/** Every test case of `file`, as junitparser reads them. */
export async function readJunit(file: string): Promise<ReadCase[]> {
  const r = await execa('/usr/bin/python3', ['-c', SCRIPT, file]);
  return JSON.parse(r.stdout) as ReadCase[];
}
