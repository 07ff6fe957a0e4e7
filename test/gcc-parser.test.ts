// The gcc/modpost diagnostics parser, on output captured from real builds of
// test/fixtures/drivers/broken-module against the emulated board's kernel tree.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseGccOutput } from '../src/parsers/gcc.ts';
import type { GccDiagnostic } from '../src/parsers/gcc.ts';

const OUT = join(import.meta.dirname, 'fixtures/drivers/gcc-output');
const read = (name: string) => readFileSync(join(OUT, name), 'utf8');
const BROKEN = '/tmp/vncap/broken.c';

function find(ds: GccDiagnostic[], file: string, line: number, severity: string): GccDiagnostic {
  const d = ds.find((x) => x.file === file && x.line === line && x.severity === severity);
  if (d === undefined) {
    throw new Error(`no ${severity} at ${file}:${line} among:\n${ds.map((x) => `${x.file}:${x.line} ${x.severity}`).join('\n')}`);
  }
  return d;
}

describe('parseGccOutput', () => {
  describe('a module with warnings and errors (C locale)', () => {
    const ds = parseGccOutput(read('broken-c-locale.log'));

    it('finds every diagnostic, in the order printed, and nothing else', () => {
      expect(ds.map((d) => `${d.severity} ${d.line}:${d.column}`)).to.deep.equal([
        'warning 5:25',
        'note 429:25',
        'note 530:9',
        'note 14:25',
        'note 530:16',
        'note 16:9',
        'error 17:16',
        'note 17:16',
        'warning 13:13',
        'error 18:1',
        'warning 6:12',
      ]);
    });

    it('reads a warning with its option and function', () => {
      expect(find(ds, BROKEN, 13, 'warning')).to.deep.equal({
        file: BROKEN,
        line: 13,
        column: 13,
        severity: 'warning',
        message: "unused variable 'unused_counter'",
        option: '-Wunused-variable',
        function: 'broken_init',
      });
    });

    it('reads errors, including one promoted by -Werror=', () => {
      expect(find(ds, BROKEN, 17, 'error').message).to.equal(
        "'undeclared_thing' undeclared (first use in this function)",
      );
      const promoted = find(ds, BROKEN, 18, 'error');
      expect(promoted.option).to.equal('-Werror=return-type');
      expect(promoted.message).to.equal('control reaches end of non-void function');
    });

    it('drops the function context after "At top level:"', () => {
      const d = find(ds, BROKEN, 6, 'warning');
      expect(d.option).to.equal('-Wunused-function');
      expect(d).to.not.have.property('function');
    });

    it('keeps the include chain and the compiled file\'s function for a warning in a header', () => {
      const d = ds[0]!;
      expect(d.file).to.match(/include\/linux\/kern_levels\.h$/);
      expect(d.option).to.equal('-Wformat=');
      expect(d.function).to.equal('broken_init');
      expect(d.includedFrom).to.have.length(7);
      expect(d.includedFrom!.at(-1)).to.deep.equal({ file: BROKEN, line: 3 });
      // The macro-expansion notes lead back to the line in the module.
      const last = ds[5]!;
      expect(last).to.include({ file: BROKEN, line: 16, severity: 'note' });
      expect(last.message).to.equal("in expansion of macro 'pr_info'");
      expect(last).to.not.have.property('includedFrom');
    });

    it('ignores the lines that are not diagnostics', () => {
      expect(ds.some((d) => /treated as errors|Error 1/.test(d.message))).to.equal(false);
    });
  });

  it('reads output in a UTF-8 locale (typographic quotes) the same way', () => {
    const c = parseGccOutput(read('broken-c-locale.log'));
    const utf8 = parseGccOutput(read('broken-utf8.log'));
    expect(utf8.map((d) => ({ ...d, message: d.message.replace(/[‘’]/g, "'") }))).to.deep.equal(c);
    expect(utf8.some((d) => d.message.includes('‘'))).to.equal(true);
  });

  it('reads modpost errors and names the object they are about', () => {
    expect(parseGccOutput(read('modpost-errors.log'))).to.deep.equal([
      {
        file: '/tmp/vncap/nolicense.o',
        line: 0,
        column: 0,
        severity: 'error',
        message: 'modpost: missing MODULE_LICENSE() in /tmp/vncap/nolicense.o',
      },
      {
        file: '/tmp/vncap/nolicense.ko',
        line: 0,
        column: 0,
        severity: 'error',
        message: 'modpost: "vnet_symbol_that_does_not_exist" [/tmp/vncap/nolicense.ko] undefined!',
      },
    ]);
  });

  it('reads an error of the compiler driver itself (bad flag), without position', () => {
    expect(parseGccOutput(read('driver-error.log'))).to.deep.equal([
      {
        file: 'arm-linux-gnueabi-gcc',
        line: 0,
        column: 0,
        severity: 'error',
        message: "unrecognized command-line option '-fno-such-flag'; did you mean '-fno-mudflap'?",
      },
    ]);
  });

  it('reads a position without a column (older gcc, preprocessor #error)', () => {
    // Hand-written: the format of gcc < 4.5 and of some cpp messages.
    expect(parseGccOutput('drivers/x.c:12: error: #error too old\n')).to.deep.equal([
      { file: 'drivers/x.c', line: 12, column: 0, severity: 'error', message: '#error too old' },
    ]);
  });

  it('returns nothing for a clean build log', () => {
    const clean = [
      "make: Entering directory '/tmp/kb'",
      '  CC [M]  /tmp/b/virt_net1.o',
      '  MODPOST /tmp/b/Module.symvers',
      '  LD [M]  /tmp/b/virt_net1.ko',
      "make: Leaving directory '/tmp/kb'",
    ].join('\n');
    expect(parseGccOutput(clean)).to.deep.equal([]);
    expect(parseGccOutput('')).to.deep.equal([]);
  });
});
