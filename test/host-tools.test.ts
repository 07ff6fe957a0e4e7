// Every host program src/ and test/ start is declared in src/host/tools.ts
// with its Debian package, so doctor installs it on a fresh machine. The scan
// itself is tested on small texts, and shown to fail when a declaration goes.
import { join } from 'node:path';
import { expect } from 'chai';
import { BOARD_PROGRAMS, HOST_TOOLS, toolPackages } from '../src/host/tools.ts';
import { projectSpawnSites, spawnSites, undeclared } from './helpers/spawn-scan.ts';

const ROOT = join(import.meta.dirname, '..');
const declared = (tools = HOST_TOOLS) => new Set([...tools.map((t) => t.command), ...BOARD_PROGRAMS]);

describe('host tools: every spawned program is declared with its package', () => {
  it('finds no undeclared program and no unreadable spawn site in src/, test/, suites/, bin/', () => {
    const sites = projectSpawnSites(ROOT);
    expect(sites.length, 'the scan found the spawn sites').to.be.greaterThan(40);
    expect(undeclared(sites, declared())).to.deep.equal([]);
  });

  it('fails when a declaration is removed (modinfo, spawned by the module build test)', () => {
    const without = HOST_TOOLS.filter((t) => t.command !== 'modinfo');
    const findings = undeclared(projectSpawnSites(ROOT), declared(without));
    expect(findings).to.have.length.greaterThan(0);
    expect(findings.every((f) => f.endsWith('spawns modinfo, which src/host/tools.ts does not declare'))).to.equal(true);
    expect(findings.some((f) => f.startsWith('test/build-modules.test.ts:'))).to.equal(true);
  });

  it('declares each program once, each with a package unless it is the running Node.js', () => {
    const commands = HOST_TOOLS.map((t) => t.command);
    expect(commands.length).to.equal(new Set(commands).size);
    expect(HOST_TOOLS.filter((t) => t.package === null).map((t) => t.command)).to.deep.equal(['node']);
  });

  it('gives doctor the packages by scope', () => {
    const run = toolPackages({ emulated: false, tests: false });
    expect(run).to.include.members(['make', 'git']);
    expect(run).to.not.include('qemu-system-arm');
    expect(run).to.not.include('kmod');
    const tests = toolPackages({ emulated: true, tests: true });
    expect(tests).to.include.members(['kmod', 'socat', 'libxml2-utils', 'chromium', 'util-linux', 'linux-headers-amd64']);
  });
});

describe('host tools: the spawn scanner', () => {
  const scan = (text: string) => spawnSites('x.ts', text);

  it('reads literal commands of every spawn function, including a path and a shell string', () => {
    const sites = scan(
      [
        "await execa('git', ['log']);",
        'spawnSync("/usr/bin/socat", []);',
        "execSync('modinfo -F vermagic x.ko');",
        'const c = spawn(`xmllint`, []);',
      ].join('\n'),
    );
    expect(sites.map((s) => s.commands[0])).to.deep.equal(['git', 'socat', 'modinfo', 'xmllint']);
  });

  it('reads a literal on the next line and skips definitions, imports and comments', () => {
    const sites = scan(
      [
        "import { spawn, spawnSync } from 'node:child_process';",
        'function execa(x) {}',
        "// execa('not-a-call')",
        'await execa(',
        "  'perl', [script]);",
      ].join('\n'),
    );
    expect(sites).to.deep.equal([{ file: 'x.ts', line: 4, commands: ['perl'] }]);
  });

  it('needs a `// spawns:` note for a computed command, and reads it', () => {
    expect(scan('await execa(cc, []);')[0]!.problem).to.match(/computed command/);
    const noted = scan(['// spawns: board:cross_compile', 'await execa(cc, []);'].join('\n'));
    expect(noted[0]).to.deep.equal({ file: 'x.ts', line: 2, commands: ['board:cross_compile'] });
  });

  it('follows a file\'s own wrapper named in a `// spawn-wrapper:` note', () => {
    const sites = scan(
      [
        '// spawn-wrapper: run',
        'function run(cmd, args) {',
        '  // spawns: callers',
        '  return spawnSync(cmd, args);',
        '}',
        "run('unshare', ['-n', 'true']);",
      ].join('\n'),
    );
    expect(sites.map((s) => [s.line, s.commands])).to.deep.equal([
      [4, []],
      [6, ['unshare']],
    ]);
  });

  it('reports an undeclared command with its place', () => {
    expect(undeclared(scan("\n\nexeca('nosuchtool', []);"), declared())).to.deep.equal([
      'x.ts:3: spawns nosuchtool, which src/host/tools.ts does not declare',
    ]);
  });
});
