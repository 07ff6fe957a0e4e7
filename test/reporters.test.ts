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
import type { RunResults } from '../src/results/model.ts';
import { renderHtml } from '../src/reporters/html.ts';
import { writeReports } from '../src/reporters/index.ts';
import { renderJson } from '../src/reporters/json.ts';
import { renderJunit } from '../src/reporters/junit.ts';
import { parseResults } from '../src/reporters/load-results.ts';
import { renderMarkdown } from '../src/reporters/markdown.ts';
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
  it('has a stable key order whatever order the input object had', async () => {
    const { results } = await fixture('pass-run');
    const shuffled = JSON.parse(JSON.stringify(results), function (_k, v) {
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).reverse());
      return v;
    }) as RunResults;
    expect(Object.keys(shuffled)[0]).to.not.equal('schema');
    const text = renderJson(shuffled);
    expect(text).to.equal(renderJson(results));
    expect(text.split('\n')[1]).to.equal('  "schema": 1,');
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
      const suite = `/testsuites/testsuite[@name="vnet.stage${s.stage}"]`;
      // checks + build + kernel-events
      expect(await count(`count(${suite}/testcase)`)).to.equal(s.checks.length + 2);
      expect(await count(`count(${suite}/testcase[@classname="vnet.stage${s.stage}"])`)).to.equal(s.checks.length + 2);
      expect(await count(`number(${suite}/@tests)`)).to.equal(s.checks.length + 2);
      expect(await count(`number(${suite}/@failures)`)).to.equal(await count(`count(${suite}/testcase/failure)`));
      expect(await count(`number(${suite}/@errors)`)).to.equal(await count(`count(${suite}/testcase/error)`));
      expect(await count(`number(${suite}/@skipped)`)).to.equal(await count(`count(${suite}/testcase/skipped)`));
    }
    expect(await count('number(/testsuites/@tests)')).to.equal(await count('count(//testcase)'));
  });

  it('reports the failed MAC check with expected and actual, the panic as a failing kernel-events case', async () => {
    const { results } = await fixture('bug-run');
    const file = path.join(tmp, 'bug.junit.xml');
    await writeFile(file, renderJunit(results));
    const text = async (xpath: string) => (await xmllint(['--xpath', xpath, file])).stdout;
    const mac = await text('string(//testsuite[@name="vnet.stage3"]/testcase[starts-with(@name,"mac-address")]/failure)');
    expect(mac).to.contain('expected: 08:89:89:89:89:11').and.to.contain('actual:   08:89:89:89:89:12');
    const macMsg = await text('string(//testsuite[@name="vnet.stage3"]/testcase[starts-with(@name,"mac-address")]/failure/@message)');
    expect(macMsg).to.contain('expected 08:89:89:89:89:11, got 08:89:89:89:89:12');
    const events = await text('string(//testsuite[@name="vnet.stage1"]/testcase[@name="kernel-events"]/failure/@type)');
    expect(events).to.equal('panic');
    const oops = await text('string(//testsuite[@name="vnet.stage1"]/testcase[@name="kernel-events"]/failure)');
    expect(oops).to.contain('Unable to handle kernel NULL pointer dereference').and.to.contain('dev_hard_start_xmit');
    expect(await text('string(//testsuite[@name="vnet.stage1"]/system-err)')).to.contain('Internal error: Oops');
    expect(await text('count(//testsuite[@name="vnet.stage2"]/testcase[@name="kernel-events"]/failure)')).to.equal('0');
    expect(await text('string(//testsuite[@name="vnet.stage1"]/testcase[starts-with(@name,"ping-peer-no-reply")]/error/@message)')).to.contain('board lost');
    expect(await text('count(//testsuite[@name="vnet.stage1"]/testcase[starts-with(@name,"tx-dropped")]/skipped)')).to.equal('1');
    expect(await text('string(//testsuite[@name="vnet.stage3"]/system-out)')).to.contain('virt_net_send_packet cnt = 3');
    expect(await text('string(//testsuite[@name="vnet.stage1"]/@time)')).to.equal('23.800');
    expect(await text('string(//testsuite[@name="vnet.stage1"]/@timestamp)')).to.equal('2025-11-25T08:30:31Z');
  });

  it('hostile text survives as text: the markup is escaped, the control bytes are gone', async () => {
    const { results } = await fixture('hostile-run');
    const file = path.join(tmp, 'hostile2.junit.xml');
    await writeFile(file, renderJunit(results));
    const r = await xmllint(['--xpath', 'string(//testcase[starts-with(@name,"evil-check")]/failure/@message)', file]);
    expect(r.stdout).to.contain(`<script>document.title='pwned'</script> & "quoted"`);
    expect(r.stdout).to.not.match(/[\u0000-\u0008\u001b]/);
    // A hang with no checks still fails in CI, and a stage whose build broke shows the compiler error.
    const hang = await xmllint(['--xpath', 'string(//testsuite[@name="vnet.stage3"]/testcase[@name="build"]/failure/@message)', file]);
    expect(hang.stdout).to.contain("expected ';' before '}' token");
    const run = await xmllint(['--xpath', 'count(//testsuite[@name="vnet.run"]/testcase/error)', file]);
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
    expect(index).to.match(/broken-run<\/td><td colspan="6"><strong>unreadable:<\/strong> results\.json:1:\d+: not valid JSON/);
    expect(index).to.contain('results schema 0; this harness reads schema 1');
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
