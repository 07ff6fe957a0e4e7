// Tests of the reporters: each report is a view of the results model and must
// stay valid and safe whatever the board printed (hostile fixture).

import { expect } from 'chai';
import { loadInChromium as loadPage } from './helpers/chromium.ts';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_SCHEMA, type RunResults } from '../src/results/model.ts';
import { renderHtml } from '../src/reporters/html.ts';
import { writeReports } from '../src/reporters/index.ts';
import { renderJson } from '../src/reporters/json.ts';
import { renderJunit } from '../src/reporters/junit.ts';
import { parseResults } from '../src/reporters/load-results.ts';
import { renderMarkdown } from '../src/reporters/markdown.ts';
import { buildRunIndex } from '../src/reporters/run-index.ts';
import { cleanText, stripInvalidXmlChars } from '../src/reporters/text.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'reports');
const XSD = path.join(FIXTURES, 'junit-10.xsd');
const NAMES = ['pass-run', 'bug-run', 'hostile-run'] as const;

async function fixture(name: string): Promise<{ results: RunResults; console: string }> {
  const file = path.join(FIXTURES, `${name}.json`);
  return {
    results: parseResults(await readFile(file, 'utf8'), file),
    console: await readFile(path.join(FIXTURES, `${name}.console.txt`), 'utf8'),
  };
}

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vnet-reporters-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function xmllint(args: string[]) {
  return execa('xmllint', args, { reject: false });
}

// XML 1.0 Char production, checked independently of the code under test.
function invalidXmlChars(text: string): string[] {
  const bad: string[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    const ok =
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
    if (!ok) bad.push(`U+${c.toString(16).padStart(4, '0')}`);
  }
  return bad;
}

describe('reporters: text cleaning', () => {
  it('strips characters invalid in XML 1.0 and keeps tab, newline, astral characters', () => {
    const input = 'a\u0000b\u0007c\td\ne\u001bf\ud800g\udc00h\ufffei\uffffj😀k\u0085l';
    expect(stripInvalidXmlChars(input)).to.equal('abc\td\nefghij😀kl');
  });
  it('removes ANSI colour sequences whole and normalizes CR LF', () => {
    expect(cleanText('\u001b[31mred\u001b[0m\r\r\nnext\rlast')).to.equal('red\nnext\nlast');
  });
});

describe('reporters: results.json', () => {
  it('round-trips through the loader unchanged', async () => {
    const { results } = await fixture('bug-run');
    expect(parseResults(renderJson(results), 'x')).to.deep.equal(results);
  });
  it('reads a stage verdict `skipped` (no longer in the model, never written by the harness) as error: a stage that did not run is no pass', async () => {
    const { results } = await fixture('pass-run');
    const raw = JSON.parse(renderJson(results)) as { stages: { verdict: string; reason?: string }[] };
    Object.assign(raw.stages[1] as object, { verdict: 'skipped', reason: 'not run' });
    const read = parseResults(JSON.stringify(raw), 'r/results.json');
    expect(read.stages.map((s) => s.verdict)).to.deep.equal(['pass', 'error', 'pass', 'pass']);
    expect(read.stages[1]?.reason).to.equal('not run');
  });
  it('has a stable key order whatever order the input object had', async () => {
    const { results } = await fixture('pass-run');
    const shuffled = JSON.parse(JSON.stringify(results), function (_k, v) {
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).reverse());
      return v;
    }) as RunResults;
    expect(Object.keys(shuffled)[0]).to.not.equal('schema');
    const text = renderJson(shuffled);
    expect(text).to.equal(renderJson(results));
    expect(text.split('\n')[1]).to.equal(`  "schema": ${RESULTS_SCHEMA},`);
    expect(Object.keys(JSON.parse(text).stages[0]).slice(0, 3)).to.deep.equal(['stage', 'title', 'verdict']);
    expect(text.endsWith('}\n')).to.equal(true);
  });
});

describe('reporters: junit.xml', () => {
  for (const name of NAMES) {
    it(`${name}: is well-formed and valid against the Jenkins junit-10 schema`, async () => {
      const { results } = await fixture(name);
      const file = path.join(tmp, `${name}.junit.xml`);
      const xml = renderJunit(results);
      await writeFile(file, xml);
      expect(invalidXmlChars(xml)).to.deep.equal([]);
      const r = await xmllint(['--noout', '--schema', XSD, file]);
      expect(r.stderr).to.contain('validates');
      expect(r.exitCode, r.stderr).to.equal(0);
    });
  }

  it('the schema check can fail: a suite without its required counts is rejected', async () => {
    const file = path.join(tmp, 'broken.junit.xml');
    await writeFile(file, '<?xml version="1.0"?><testsuites><testsuite name="x"><testcase name="y"><bogus/></testcase></testsuite></testsuites>');
    const r = await xmllint(['--noout', '--schema', XSD, file]);
    expect(r.exitCode).to.not.equal(0);
    expect(r.stderr).to.match(/fails to validate/);
  });

  it('has one testsuite per stage and one testcase per check, with counts that match', async () => {
    const { results } = await fixture('bug-run');
    const file = path.join(tmp, 'counts.junit.xml');
    await writeFile(file, renderJunit(results));
    const count = async (xpath: string) => Number((await xmllint(['--xpath', xpath, file])).stdout.trim());
    expect(await count('count(/testsuites/testsuite)')).to.equal(4);
    for (const s of results.stages) {
      const suite = `/testsuites/testsuite[@name="vnet.qemu-imx25.ssh.stage${s.stage}"]`;
      // checks + build, + kernel-events when no no-kernel-fault check carries the faults
      const cases = s.checks.length + 1 + (s.checks.some((c) => c.id === 'no-kernel-fault') ? 0 : 1);
      expect(await count(`count(${suite}/testcase)`)).to.equal(cases);
      expect(await count(`count(${suite}/testcase[@classname="vnet.qemu-imx25.ssh.stage${s.stage}"])`)).to.equal(cases);
      expect(await count(`number(${suite}/@tests)`)).to.equal(cases);
      expect(await count(`number(${suite}/@failures)`)).to.equal(await count(`count(${suite}/testcase/failure)`));
      expect(await count(`number(${suite}/@errors)`)).to.equal(await count(`count(${suite}/testcase/error)`));
      expect(await count(`number(${suite}/@skipped)`)).to.equal(await count(`count(${suite}/testcase/skipped)`));
    }
    expect(await count('number(/testsuites/@tests)')).to.equal(await count('count(//testcase)'));
  });

  it('reports the failed MAC check with expected and actual, the panic on the no-kernel-fault case', async () => {
    const { results } = await fixture('bug-run');
    const file = path.join(tmp, 'bug.junit.xml');
    await writeFile(file, renderJunit(results));
    const text = async (xpath: string) => (await xmllint(['--xpath', xpath, file])).stdout;
    const s1 = '//testsuite[@name="vnet.qemu-imx25.ssh.stage1"]';
    const s3 = '//testsuite[@name="vnet.qemu-imx25.ssh.stage3"]';
    const mac = await text(`string(${s3}/testcase[starts-with(@name,"mac-address")]/failure)`);
    expect(mac).to.contain('expected: 08:89:89:89:89:11').and.to.contain('actual:   08:89:89:89:89:12');
    const macMsg = await text(`string(${s3}/testcase[starts-with(@name,"mac-address")]/failure/@message)`);
    expect(macMsg).to.equal('/sys/class/net/vnet0/address differs: expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
    expect(await text(`string(${s1}/testcase[starts-with(@name,"no-kernel-fault")]/failure/@type)`)).to.equal('panic');
    const oops = await text(`string(${s1}/testcase[starts-with(@name,"no-kernel-fault")]/failure)`);
    expect(oops).to.contain('Unable to handle kernel NULL pointer dereference').and.to.contain('dev_hard_start_xmit');
    expect(await text(`string(${s1}/system-err)`)).to.contain('Internal error: Oops');
    expect(await text('count(//testsuite[@name="vnet.qemu-imx25.ssh.stage2"]/testcase[@name="kernel-events"]/failure)')).to.equal('0');
    expect(await text(`string(${s1}/testcase[starts-with(@name,"ping-peer-no-reply")]/error/@message)`)).to.contain('board lost');
    expect(await text(`count(${s1}/testcase[starts-with(@name,"tx-dropped")]/skipped)`)).to.equal('1');
    expect(await text(`string(${s3}/system-out)`)).to.contain('virt_net_send_packet cnt = 3');
    expect(await text(`string(${s1}/@time)`)).to.equal('23.800');
    expect(await text(`string(${s1}/@timestamp)`)).to.equal('2025-11-25T08:30:31Z');
  });

  it('a recovered stage says the board was power-cycled during it (before its steps or after a fault), not "after" it', async () => {
    const { results, console } = await fixture('bug-run');
    const recovered = results.stages.filter((s) => s.recovered).map((s) => s.stage);
    expect(recovered).to.deep.equal([1]);
    const xml = renderJunit(results);
    expect(xml).to.contain('board power-cycled during this stage (found dirty before its steps, or after a fault)');
    expect(xml).to.not.contain('power-cycled after');
    const page = renderHtml(results, console);
    expect(page).to.contain('The board was power-cycled during this stage: it was found dirty before the steps, or a fault ended them.');
    expect(page).to.not.contain('power-cycled after');
  });

  it('hostile text survives as text: the markup is escaped, the control bytes are gone', async () => {
    const { results } = await fixture('hostile-run');
    const file = path.join(tmp, 'hostile2.junit.xml');
    await writeFile(file, renderJunit(results));
    const r = await xmllint(['--xpath', 'string(//testcase[starts-with(@name,"evil-check")]/failure/@message)', file]);
    expect(r.stdout).to.contain(`<script>document.title='pwned'</script> & "quoted"`);
    expect(r.stdout).to.not.match(/[\u0000-\u0008\u001b]/);
    // A hang with no checks still fails in CI, and a stage whose build broke shows the compiler error.
    const hang = await xmllint(['--xpath', 'string(//testsuite[@name="vnet.qemu-imx25.serial.stage3"]/testcase[@name="build"]/failure/@message)', file]);
    expect(hang.stdout).to.contain("expected ';' before '}' token");
    const run = await xmllint(['--xpath', 'count(//testsuite[@name="vnet.qemu-imx25.serial.run"]/testcase/error)', file]);
    expect(run.stdout.trim()).to.equal('1');
  });
});

describe('reporters: summary.md', () => {
  it('a normal run fits a PR comment (≤ 60 lines) and has the summary table', async () => {
    const { results } = await fixture('pass-run');
    const md = renderMarkdown(results);
    expect(md.split('\n').length).to.be.at.most(60);
    expect(md).to.contain('| Stage | Verdict | Checks passed | Failed | Duration |');
    expect(md).to.contain('| 4 · emulated echo replies | ✅ pass | 11/11 | 0 |');
  });
  it('lists the failed check with expected and actual, and the kernel event', async () => {
    const { results } = await fixture('bug-run');
    const md = renderMarkdown(results);
    expect(md.split('\n').length).to.be.at.most(60);
    expect(md).to.match(/stage 3 · mac-address\*\*.*expected `08:89:89:89:89:11`, got `08:89:89:89:89:12`/);
    expect(md).to.contain('### Kernel events');
    expect(md).to.contain('**stage 1 · panic** (fatal) `Kernel panic - not syncing: Fatal exception in interrupt`');
    expect(md).to.contain("virt_net3.c:57:13: unused variable 'i'");
  });
  it('says the userland fallbacks a board needed (summary.md and report.html); a full userland says nothing', async () => {
    const { results } = await fixture('pass-run');
    const fallbacks = ['no sha256sum: uploads and the probe on the board checked with md5sum', 'no ip: arp -d instead of ip neigh flush'];
    const minimal: RunResults = { ...results, board: { ...results.board, userland: { missing: ['sha256sum', 'ip'], fallbacks } } };
    expect(renderMarkdown(minimal)).to.contain('Userland fallbacks (missing: sha256sum, ip): no sha256sum: uploads and the probe on the board checked with md5sum; no ip: arp -d instead of ip neigh flush');
    expect(renderHtml(minimal)).to.contain('<dt>Userland fallbacks</dt><dd>no sha256sum: uploads and the probe on the board checked with md5sum; no ip: arp -d instead of ip neigh flush</dd>');
    expect(parseResults(renderJson(minimal), 'x.json').board.userland, 'results.json keeps it').to.deep.equal({ missing: ['sha256sum', 'ip'], fallbacks });
    const full: RunResults = { ...results, board: { ...results.board, userland: { missing: [], fallbacks: [] } } };
    expect(renderMarkdown(full)).to.not.contain('Userland');
    expect(renderHtml(full)).to.not.contain('Userland fallbacks');
  });
  it('never passes board text through as HTML', async () => {
    const { results } = await fixture('hostile-run');
    const md = renderMarkdown(results);
    // Outside code spans every "<" is an entity; inside them Markdown shows text literally.
    const prose = md.replace(/(`+)[^`]*?\1/g, '');
    expect(prose).to.not.match(/<(script|img|b|i)\b/i);
    expect(invalidXmlChars(md)).to.deep.equal([]);
  });
});

describe('reporters: report.html (static checks)', () => {
  it('is one self-contained file: no external reference of any kind', async () => {
    for (const name of ['pass-run', 'bug-run'] as const) {
      const { results, console } = await fixture(name);
      const page = renderHtml(results, console);
      expect(page).to.not.match(/https?:\/\//);
      expect(page).to.not.match(/<(script|link|img|iframe|object|embed)\b/i);
      expect(page).to.not.match(/@import|url\(/i);
      expect(page).to.contain('<svg class="chart"');
    }
  });
  it('escapes every piece of hostile board text', async () => {
    const { results, console } = await fixture('hostile-run');
    const page = renderHtml(results, console);
    expect(page).to.not.match(/<(script|img|iframe|object|embed|link)\b/i);
    expect(page).to.not.match(/<(b|i)>/);
    expect(page).to.contain('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; &amp; &quot;quoted&quot;');
    expect(invalidXmlChars(page)).to.deep.equal([]);
    // Every href stays inside the page.
    for (const m of page.matchAll(/href="([^"]*)"/g)) expect(m[1]).to.match(/^#/);
  });
  it('highlights the kernel event inside the console log, linked from the event', async () => {
    const { results, console } = await fixture('bug-run');
    const page = renderHtml(results, console);
    const span = /<span class="ev"><a id="console-ev-0"><\/a>[^<]*8&lt;--- cut here ---[\s\S]*?<\/span>/.exec(page);
    expect(span, 'highlighted block').to.not.equal(null);
    expect(span?.[0]).to.contain('Kernel panic - not syncing: Fatal exception in interrupt');
    expect(span?.[0]).to.not.contain('VNET-HARNESS-BOOTED');
    expect(page).to.contain('href="#console-ev-0"');
  });
});

async function loadInChromium(file: string): Promise<{ dom: string; requests: string[] }> {
  const r = await loadPage(file, tmp);
  expect(r.exitCode, r.stderr).to.equal(0);
  return { dom: r.dom, requests: r.requests };
}

describe('reporters: report.html in headless Chromium', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = path.join(tmp, 'chromium-reports');
    const { results, console } = await fixture('hostile-run');
    await writeReports(results, { outDir: dir, consoleTranscript: console });
  });

  it('shows the summary table, runs nothing from the board text, and makes no network request', async () => {
    const { dom, requests } = await loadInChromium(path.join(dir, 'report.html'));
    expect(dom).to.contain('id="summary-table"');
    expect(dom).to.match(/<title>vnet-harness 20251125-090000-evil: fail<\/title>/);
    expect(dom).to.not.match(/<script\b/i);
    expect(dom).to.not.match(/<img\b/i);
    expect(dom).to.not.contain('pwned</title>');
    expect(dom).to.contain('&lt;script&gt;document.body.innerHTML=');
    expect(requests).to.deep.equal([]);
  });

  it('the request check can fail: a page with an external image is caught', async () => {
    const control = path.join(tmp, 'control.html');
    await writeFile(control, '<!DOCTYPE html><title>control</title><img src="http://vnet-harness-test.invalid/x.png">');
    const { requests } = await loadInChromium(control);
    expect(requests).to.include('http://vnet-harness-test.invalid/x.png');
  });
});

describe('reporters: writeReports', () => {
  it('writes the five files, a relative latest link, and an index of all runs newest first', async () => {
    const root = path.join(tmp, 'reports-a');
    const pass = await fixture('pass-run');
    const bug = await fixture('bug-run');
    const first = await writeReports(pass.results, { outDir: path.join(root, pass.results.runId), consoleTranscript: pass.console, reportsRoot: root });
    expect(first.errors).to.deep.equal([]);
    const second = await writeReports(bug.results, { outDir: path.join(root, bug.results.runId), consoleTranscript: bug.console, reportsRoot: root });
    expect(second.errors).to.deep.equal([]);
    const runDir = path.join(root, bug.results.runId);
    expect(second.files).to.deep.equal([
      ...['results.json', 'junit.xml', 'report.html', 'summary.md', 'console.log'].map((f) => path.join(runDir, f)),
      path.join(root, 'index.html'),
    ]);
    expect(await readFile(path.join(runDir, 'console.log'), 'utf8')).to.equal(bug.console);
    expect(JSON.parse(await readFile(path.join(runDir, 'results.json'), 'utf8')).consoleLog).to.equal('console.log');
    expect((await lstat(path.join(root, 'latest'))).isSymbolicLink()).to.equal(true);
    expect(await readlink(path.join(root, 'latest'))).to.equal(bug.results.runId);
    const index = await readFile(path.join(root, 'index.html'), 'utf8');
    const newer = index.indexOf(bug.results.runId);
    const older = index.indexOf(pass.results.runId);
    expect(newer).to.be.greaterThan(-1);
    expect(older).to.be.greaterThan(newer);
    expect(index).to.not.match(/https?:\/\//);
  });

  it('lists an unreadable run in the index instead of failing', async () => {
    const root = path.join(tmp, 'reports-b');
    await mkdir(path.join(root, 'broken-run'), { recursive: true });
    await writeFile(path.join(root, 'broken-run', 'results.json'), '{"schema": 1, "runId": ');
    await mkdir(path.join(root, 'old-schema'), { recursive: true });
    await writeFile(path.join(root, 'old-schema', 'results.json'), '{"schema": 0}');
    const pass = await fixture('pass-run');
    const out = await writeReports(pass.results, { outDir: path.join(root, 'run-1'), consoleTranscript: pass.console, reportsRoot: root });
    expect(out.errors).to.deep.equal([]);
    const index = await readFile(path.join(root, 'index.html'), 'utf8');
    expect(index).to.match(/broken-run<\/td><td colspan="7"><strong>unreadable:<\/strong> results\.json:1:\d+: not valid JSON/);
    expect(index).to.contain(`results schema 0; this harness reads schemas 1 to ${RESULTS_SCHEMA}`);
    expect(index).to.contain('href="run-1/report.html"');
  });

  it('one broken reporter does not stop the others, and a real folder named latest is left alone', async () => {
    const root = path.join(tmp, 'reports-c');
    await mkdir(path.join(root, 'latest'), { recursive: true });
    await writeFile(path.join(root, 'latest', 'keep.txt'), 'mine');
    const { results } = await fixture('pass-run');
    // A model with a stage whose dmesg is missing: JUnit and HTML read it, the others do not.
    const broken = structuredClone(results) as unknown as { stages: { dmesg?: unknown }[] };
    delete broken.stages[0]!.dmesg;
    const out = await writeReports(broken as unknown as RunResults, { outDir: path.join(root, 'run-x'), consoleTranscript: 'x', reportsRoot: root });
    expect(out.errors.map((e) => e.reporter).sort()).to.deep.equal(['html', 'junit', 'latest']);
    expect(out.errors.find((e) => e.reporter === 'junit')?.message).to.match(/TypeError/);
    for (const f of ['results.json', 'summary.md', 'console.log']) expect(existsSync(path.join(root, 'run-x', f)), f).to.equal(true);
    for (const f of ['junit.xml', 'report.html']) expect(existsSync(path.join(root, 'run-x', f)), f).to.equal(false);
    expect(await readFile(path.join(root, 'latest', 'keep.txt'), 'utf8')).to.equal('mine');
    expect(existsSync(path.join(root, 'index.html'))).to.equal(true);
  });
});

describe('reporters: a failed check reads the same everywhere', () => {
  const LINE = 'MAC set by the driver: expected 08:89:89:89:89:11, got 08:89:89:89:89:12';

  // The bug run as a schema-1 harness wrote it: chai's sentence in the message.
  async function chaiEra(): Promise<{ results: RunResults; console: string }> {
    const { results, console } = await fixture('bug-run');
    const raw = JSON.parse(renderJson(results)) as { schema: number; stages: { checks: { id: string; message?: string }[] }[] };
    raw.schema = 1;
    const mac = raw.stages[2]!.checks.find((c) => c.id === 'mac-address')!;
    mac.message = "MAC set by the driver: expected '08:89:89:89:89:12' to deeply equal '08:89:89:89:89:11'";
    return { results: parseResults(JSON.stringify(raw), 'old/results.json'), console };
  }

  it('a schema-1 file is still read, its check message cut back to the check\'s statement', async () => {
    const { results } = await chaiEra();
    expect(results.schema).to.equal(RESULTS_SCHEMA);
    expect(results.stages[2]!.checks.find((c) => c.id === 'mac-address')?.message).to.equal('MAC set by the driver');
  });

  it('JUnit message, summary.md and report.html say "<statement>: expected X, got Y", never chai\'s sentence', async () => {
    const { results, console } = await chaiEra();
    const file = path.join(tmp, 'chai-era.junit.xml');
    await writeFile(file, renderJunit(results));
    const junit = (await xmllint(['--xpath', 'string(//testcase[starts-with(@name,"mac-address")]/failure/@message)', file])).stdout;
    expect(junit).to.equal(LINE);
    const md = renderMarkdown(results);
    expect(md).to.contain('MAC set by the driver: expected `08:89:89:89:89:11`, got `08:89:89:89:89:12`');
    const page = renderHtml(results, console);
    const failures = page.slice(page.indexOf('id="failures"'), page.indexOf('id="summary"'));
    expect(failures).to.contain(LINE);
    for (const text of [junit, md, page]) expect(text).to.not.match(/deeply equal|\+0\b/);
  });
});

describe('reporters: junit.xml for CI test views', () => {
  async function lint(xml: string, name: string) {
    const file = path.join(tmp, name);
    await writeFile(file, xml);
    return async (xpath: string) => (await xmllint(['--xpath', xpath, file])).stdout.trim();
  }

  it('a crash is counted once: the no-kernel-fault case fails with the panic, no second kernel-events failure', async () => {
    const { results } = await fixture('bug-run');
    const x = await lint(renderJunit(results), 'once.junit.xml');
    const s1 = '//testsuite[@name="vnet.qemu-imx25.ssh.stage1"]';
    expect(await x(`count(${s1}/testcase/failure)`)).to.equal('1');
    expect(await x(`count(${s1}/testcase[@name="kernel-events"])`)).to.equal('0');
    expect(await x(`number(${s1}/@failures)`)).to.equal('1');
    expect(await x('count(//failure[contains(., "Kernel panic - not syncing")])')).to.equal('1');
  });

  it('class names carry board and transport: the merged reports of two boards keep every case apart', async () => {
    const { results } = await fixture('bug-run');
    const other = structuredClone(results);
    other.board = { ...other.board, name: 'imx257', transport: 'serial', emulated: false };
    const pairs = async (r: RunResults, name: string) => {
      const x = await lint(renderJunit(r), name);
      const n = Number(await x('count(//testcase)'));
      const out: string[] = [];
      for (let i = 1; i <= n; i++) out.push(await x(`concat((//testcase)[${i}]/@classname, " / ", (//testcase)[${i}]/@name)`));
      return out;
    };
    const a = await pairs(results, 'board-a.junit.xml');
    const b = await pairs(other, 'board-b.junit.xml');
    expect(new Set([...a, ...b]).size).to.equal(a.length + b.length);
    expect(b).to.include('vnet.imx257.serial.stage3 / mac-address: MAC address is 08:89:89:89:89:11');
    expect(a[0]).to.match(/^vnet\.qemu-imx25\.ssh\.stage1 \/ /);
  });

  it('a failing case carries its own system-out (the stage\'s kernel lines) and an attachment line naming console.log', async () => {
    const { results, console } = await fixture('bug-run');
    const ci = path.join(tmp, 'ci-job');
    const outDir = path.join(ci, 'reports', results.runId);
    await writeReports(results, { outDir, consoleTranscript: console, ciDir: ci });
    const x = await lint(await readFile(path.join(outDir, 'junit.xml'), 'utf8'), 'attach.junit.xml');
    const attachment = `[[ATTACHMENT|reports/${results.runId}/console.log]]`;
    const mac = await x('string(//testcase[starts-with(@name,"mac-address")]/system-out)');
    expect(mac).to.contain(attachment).and.to.contain('virt_net_send_packet cnt = 3');
    const fault = await x('string(//testcase[starts-with(@name,"no-kernel-fault")]/system-out)');
    expect(fault).to.contain(attachment).and.to.contain('Unable to handle kernel NULL pointer dereference');
    expect(existsSync(path.join(ci, `reports/${results.runId}/console.log`))).to.equal(true);
    // Passing checks stay quiet.
    expect(await x('count(//testcase[not(failure) and not(error) and @name!="build"]/system-out)')).to.equal('0');
    const lintFile = await xmllint(['--noout', '--schema', XSD, path.join(outDir, 'junit.xml')]);
    expect(lintFile.exitCode, lintFile.stderr).to.equal(0);
  });

  it('each check case has its own time', async () => {
    const { results } = await fixture('bug-run');
    const x = await lint(renderJunit(results), 'time.junit.xml');
    expect(await x('string(//testcase[starts-with(@name,"ping-peer-no-reply")]/@time)')).to.equal('5.200');
  });
});

describe('reporters: pages a person reads', function () {
  this.timeout(120_000);

  it('summary.md links its files on the Details line', async () => {
    const md = renderMarkdown((await fixture('pass-run')).results);
    for (const f of ['report.html', 'junit.xml', 'results.json', 'console.log']) expect(md).to.contain(`[${f}](${f})`);
  });

  it('report.html opens with the failures; a passing run has none; clean stages are folded', async () => {
    const bug = await fixture('bug-run');
    const page = renderHtml(bug.results, bug.console);
    const failures = page.indexOf('id="failures"');
    expect(failures).to.be.greaterThan(-1);
    expect(failures).to.be.lessThan(page.indexOf('id="summary-table"'));
    const section = page.slice(failures, page.indexOf('id="summary"'));
    expect(section).to.contain('/sys/class/net/vnet0/address differs: expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
    expect(section).to.contain('Kernel panic - not syncing: Fatal exception in interrupt');
    expect(section).to.contain('href="#console-ev-0"');
    const stage2 = page.slice(page.indexOf('<section id="stage-2">'), page.indexOf('<section id="stage-3">'));
    expect(stage2).to.contain('<details class="stage">');
    const pass = await fixture('pass-run');
    expect(renderHtml(pass.results, pass.console)).to.not.contain('id="failures"');
  });

  it('empty expected/actual cells say what they mean instead of {} / [] / a dash', async () => {
    const { results, console } = await fixture('bug-run');
    const r = structuredClone(results);
    r.stages[1]!.checks.push(
      { id: 'no-kernel-fault', title: 'no kernel fault', verdict: 'pass', expected: [], actual: [], durationMs: 1 },
      { id: 'local-ping-counters-untouched', title: 'untouched', verdict: 'pass', expected: {}, actual: {}, durationMs: 1 },
    );
    const page = renderHtml(r, console);
    expect(page).to.not.match(/<td class="val">(\{\}|\[\]|—)<\/td>/);
    expect(page).to.contain('<td class="val">none</td><td class="val">none</td>');
    expect(page).to.contain('<td class="val muted">not reached</td>');
  });

  it('console lines wrap: a 3000-character line stays inside the page (headless Chromium)', async () => {
    const { results, console } = await fixture('bug-run');
    const page = renderHtml(results, `${console}${'x'.repeat(3000)}\n`)
      // Only this test copy measures itself: the real page runs no script.
      .replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '')
      .replace('</body>', "<script>const p = document.querySelector('pre.console'); document.title = 'overflow ' + (p.scrollWidth - p.clientWidth);</script></body>");
    const file = path.join(tmp, 'wrap.html');
    await writeFile(file, page);
    const { dom } = await loadInChromium(file);
    expect(dom).to.contain('<title>overflow 0</title>');
  });

  it('reports/index.html shows the comparison run --baseline left in a run folder, next to the run', async () => {
    const root = path.join(tmp, 'reports-d');
    const pass = await fixture('pass-run');
    const bug = await fixture('bug-run');
    await writeReports(pass.results, { outDir: path.join(root, pass.results.runId), consoleTranscript: pass.console });
    const bugDir = path.join(root, bug.results.runId);
    await writeReports(bug.results, { outDir: bugDir, consoleTranscript: bug.console });
    await writeFile(path.join(bugDir, 'compare.json'), JSON.stringify({ kind: 'vnet-harness-comparison', version: 1, a: { runId: pass.results.runId }, b: { runId: bug.results.runId }, regression: true }));
    await writeFile(path.join(bugDir, 'compare.html'), '<!DOCTYPE html><title>x</title>');
    const index = await buildRunIndex(root);
    const row = index.slice(index.indexOf(`${bug.results.runId}/report.html`));
    const bugRow = row.slice(0, row.indexOf('</tr>'));
    expect(bugRow).to.contain(`<a class="bad-text" href="${bug.results.runId}/compare.html">regression</a>`);
    expect(bugRow).to.contain(`vs <a href="${pass.results.runId}/report.html">${pass.results.runId}</a>`);
  });
});

describe('reports of an interrupted run and of a run with warnings', () => {
  it('say INCOMPLETE with the signal, and every warning, at the top of summary.md and report.html', async () => {
    const { results, console } = await fixture('pass-run');
    results.incomplete = { signal: 'SIGINT', afterMs: 6_400 };
    results.warnings = ['no console capture: cannot open /dev/ttyUSB0; kernel faults are seen through dmesg only'];
    const md = renderMarkdown(results);
    const head = md.split('| Stage |')[0]!;
    expect(head).to.contain('**INCOMPLETE**: stopped by SIGINT after 6.4 s');
    expect(head).to.contain('⚠️ no console capture: cannot open /dev/ttyUSB0; kernel faults are seen through dmesg only');
    const page = renderHtml(results, console);
    const top = page.split('<h2 id="summary">')[0]!;
    expect(top).to.contain('INCOMPLETE: the run was stopped by SIGINT after 6.4 s');
    expect(top).to.contain('warning: no console capture: cannot open /dev/ttyUSB0');
    const plain = await fixture('pass-run');
    expect(renderMarkdown(plain.results)).to.not.contain('INCOMPLETE');
    expect(renderHtml(plain.results, plain.console)).to.not.contain('id="limits"');
  });
});
