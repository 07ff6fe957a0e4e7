// src/lava/results.ts, server.ts, commands/lava.ts: a LAVA job's results
// (the results/<job>/yaml export) become a run of the harness that compare,
// the reports and the history read like a local one; the REST submission
// and polling against a small fake LAVA server on 127.0.0.1, with its errors.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main } from '../src/cli.ts';
import { submitAndImport } from '../src/commands/lava.ts';
import { RTT_CASE_PREFIX, scriptCheckIds } from '../src/lava/stage-script.ts';
import { loadResults } from '../src/reporters/load-results.ts';

interface Case {
  suite: string;
  name: string;
  result: string;
  measurement?: string | null;
  unit?: string;
  metadata?: Record<string, unknown>;
}

/** What LAVA's yaml export holds for a job of lava-job: its own suite `lava`, then a suite per stage. */
function lavaExport(o: { stages?: number[]; fail?: Record<number, string[]>; jobResult?: 'pass' | 'fail'; errorMsg?: string } = {}): string {
  const cases: Case[] = [{ suite: 'lava', name: 'tftp-deploy', result: 'pass', measurement: '2.1', unit: 'seconds' }];
  for (const [i, stage] of (o.stages ?? [1, 2, 3, 4]).entries()) {
    const suite = `${i + 1}_vnet-stage${stage}`;
    for (const id of scriptCheckIds(stage)) cases.push({ suite, name: id, result: o.fail?.[stage]?.includes(id) ? 'fail' : 'pass', measurement: id === 'frames-dropped' ? '6' : null, unit: id === 'frames-dropped' ? 'packets' : '' });
    if (stage === 4) for (let n = 1; n <= 20; n++) cases.push({ suite, name: `${RTT_CASE_PREFIX}${n}`, result: 'pass', measurement: (0.5 + n / 100).toFixed(3), unit: 'ms' });
  }
  cases.push({ suite: 'lava', name: 'job', result: o.jobResult ?? 'pass', metadata: o.errorMsg ? { error_msg: o.errorMsg, error_type: 'Infrastructure' } : {} });
  return stringify(cases.map((c, i) => ({ id: 100 + i, job: '42', level: '', logged: '2026-11-25 19:00:00+00:00', url: `/results/testcase/${100 + i}`, ...c, metadata: stringify(c.metadata ?? {}) })));
}

/** Runs the CLI, keeping its stdout and stderr out of mocha's. */
async function cli(...words: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const [w1, w2] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  const capture = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    return { code: await main(['node', 'vnet-harness', ...words]), out };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

describe('lava-results: a LAVA job\'s results as a run', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'vnet-lava-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('imports a passing job: every check of the suites, the probe\'s RTTs, the usual reports (exit 0)', async () => {
    await writeFile(join(dir, 'results.yaml'), lavaExport());
    const r = await cli('lava-results', join(dir, 'results.yaml'), '--out', join(dir, 'run'));
    expect(r.code, r.out).to.equal(0);
    const results = await loadResults(join(dir, 'run', 'results.json'));
    expect(results.verdict).to.equal('pass');
    expect(results.board).to.deep.equal({ name: 'qemu-imx25', transport: 'serial', emulated: true });
    expect(results.stages.map((s) => [s.stage, s.verdict, s.checks.map((c) => c.id)])).to.deep.equal([1, 2, 3, 4].map((s) => [s, 'pass', scriptCheckIds(s)]));
    expect(results.stages[3]?.rttsMs).to.have.length(20);
    expect(results.stages[3]?.rttsMs[0]).to.equal(0.51);
    for (const f of ['junit.xml', 'report.html', 'summary.md']) expect(existsSync(join(dir, 'run', f)), f).to.equal(true);
  });

  it('a check that failed on the LAVA board fails its stage (exit 1), and compare calls it a regression against a passing LAVA run', async () => {
    await writeFile(join(dir, 'good.yaml'), lavaExport());
    await writeFile(join(dir, 'bad.yaml'), lavaExport({ fail: { 3: ['mac-address'] } }));
    expect((await cli('lava-results', join(dir, 'good.yaml'), '--out', join(dir, 'good'))).code).to.equal(0);
    const bad = await cli('lava-results', join(dir, 'bad.yaml'), '--out', join(dir, 'bad'));
    expect(bad.code, bad.out).to.equal(1);
    const results = await loadResults(join(dir, 'bad', 'results.json'));
    expect(results.stages.map((s) => s.verdict)).to.deep.equal(['pass', 'pass', 'fail', 'pass']);
    expect(results.stages[2]?.reason).to.match(/^mac-address: vnet0 has MAC 08:89:89:89:89:11/);
    const cmp = await cli('compare', join(dir, 'good'), join(dir, 'bad'), '--out', join(dir, 'cmp.md'));
    expect(cmp.code, cmp.out).to.equal(1);
    expect(await readFile(join(dir, 'cmp.md'), 'utf8')).to.match(/mac-address/);
  });

  it('joins the history of its reports folder like a local run', async () => {
    await writeFile(join(dir, 'results.yaml'), lavaExport({ stages: [3] }));
    const r = await cli('lava-results', join(dir, 'results.yaml'), '--reports-dir', join(dir, 'reports'));
    expect(r.code, r.out).to.equal(0);
    const history = JSON.parse(await readFile(join(dir, 'reports', 'history.json'), 'utf8')) as { runs: { board: { name: string; transport: string }; verdict: string; stages: { stage: number }[] }[] };
    expect(history.runs.map((e) => [e.board.name, e.board.transport, e.verdict, e.stages.map((s) => s.stage)])).to.deep.equal([['qemu-imx25', 'serial', 'pass', [3]]]);
    expect(existsSync(join(dir, 'reports', 'index.html'))).to.equal(true);
  });

  it('a job LAVA ended incomplete is an infrastructure error (exit 2): its missing checks are errors, the reason is LAVA\'s', async () => {
    await writeFile(join(dir, 'results.yaml'), lavaExport({ stages: [1, 2, 3], jobResult: 'fail', errorMsg: 'auto-login-action timed out after 180 seconds' }));
    const r = await cli('lava-results', join(dir, 'results.yaml'), '--stages', '1,2,3,4', '--out', join(dir, 'run'));
    expect(r.code, r.out).to.equal(2);
    const results = await loadResults(join(dir, 'run', 'results.json'));
    expect(results.verdict).to.equal('error');
    expect(results.errors[0]).to.match(/auto-login-action timed out/);
    expect(results.stages[3]?.verdict).to.equal('error');
    expect(results.stages[3]?.checks.every((c) => c.verdict === 'error')).to.equal(true);
  });

  it('imports lava-run\'s log (its stderr: one YAML record a line, the cases as lvl: results), a failed check and the job\'s times included', async () => {
    const rec = (dt: string, lvl: string, msg: unknown) => JSON.stringify({ dt, lvl, msg }).replace('\\u001b', '\\e');
    const lines = [
      rec('2026-12-03T20:29:18.765588', 'info', 'lava-dispatcher, installed at version: 2023.01'),
      rec('2026-12-03T20:29:18.816745', 'results', { case: 'validate', definition: 'lava', result: 'pass' }),
      // a console line with an escape: YAML's "\e", not JSON
      rec('2026-12-03T20:29:20.850311', 'target', '/root # \u001b[6n'),
      rec('2026-12-03T20:29:20.900000', 'target', 'lava-test-case module-loads --result pass'),
    ];
    for (const [i, stage] of [3, 4].entries()) {
      for (const id of scriptCheckIds(stage)) lines.push(rec('2026-12-03T20:29:25.000000', 'results', { case: id, definition: `${i}_vnet-stage${stage}`, result: stage === 3 && id === 'mac-address' ? 'fail' : 'pass', ...(id === 'frames-dropped' ? { measurement: '6.0000000000', units: 'packets' } : {}), level: '3.1', namespace: 'common' }));
      if (stage === 4) for (let n = 1; n <= 20; n++) lines.push(rec('2026-12-03T20:29:30.000000', 'results', { case: `${RTT_CASE_PREFIX}${n}`, definition: `${i}_vnet-stage4`, result: 'pass', measurement: '0.512', units: 'ms' }));
    }
    lines.push(rec('2026-12-03T20:29:37.680361', 'results', { case: 'job', definition: 'lava', result: 'pass' }));
    expect(lines[2]).to.contain('\\e[6n');
    await writeFile(join(dir, 'lava.log'), `${lines.join('\n')}\n`);
    const r = await cli('lava-results', join(dir, 'lava.log'), '--out', join(dir, 'run'));
    expect(r.code, r.out).to.equal(1);
    const results = await loadResults(join(dir, 'run', 'results.json'));
    expect(results.stages.map((s) => [s.stage, s.verdict, s.checks.filter((c) => c.verdict !== 'pass').map((c) => c.id)])).to.deep.equal([[3, 'fail', ['mac-address']], [4, 'pass', []]]);
    expect(results.stages[1]?.rttsMs).to.have.length(20);
    expect(results.startedAt).to.equal('2026-12-03T20:29:18.765Z');
    expect(results.durationMs).to.equal(18915);
    // the job ended incomplete: LAVA's reason, exit 2
    const failed = lines.slice(0, -1).concat(rec('2026-12-03T20:29:40.000000', 'results', { case: 'job', definition: 'lava', result: 'fail', error_msg: 'lava-test-shell timed out after 600 seconds', error_type: 'Test' }));
    await writeFile(join(dir, 'failed.log'), failed.join('\n'));
    const f = await cli('lava-results', join(dir, 'failed.log'), '--out', join(dir, 'run2'));
    expect(f.code, f.out).to.equal(2);
    expect((await loadResults(join(dir, 'run2', 'results.json'))).errors[0]).to.match(/lava-test-shell timed out after 600 seconds/);
    // a log with no results record at all
    await writeFile(join(dir, 'empty.log'), `${lines[0]}\n`);
    expect((await cli('lava-results', join(dir, 'empty.log'), '--out', join(dir, 'run3'))).out).to.match(/empty\.log: a LAVA job log without any results record/);
  });

  it('refuses what is not a LAVA export (exit 2, naming the file)', async () => {
    await writeFile(join(dir, 'x.yaml'), 'a: 1\n');
    const r = await cli('lava-results', join(dir, 'x.yaml'), '--out', join(dir, 'run'));
    expect(r.code).to.equal(2);
    expect(r.out).to.match(/x\.yaml: expected LAVA's results export/);
    expect((await cli('lava-results', '42')).out).to.match(/a job id needs --server/);
  });
});

/** A LAVA server as far as lava-job and lava-results use it: REST v0.2 jobs, the yaml results export. */
class FakeLava {
  server: Server;
  jobs = new Map<number, { definition: string; polls: number; finishAfter: number; health: string; results: string }>();
  requests: string[] = [];
  token = 'sekrit';
  next = { finishAfter: 2, health: 'Complete', results: lavaExport() };
  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    this.requests.push(`${req.method} ${req.url}`);
    const send = (status: number, data: unknown, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(typeof data === 'string' ? data : JSON.stringify(data));
    };
    if (req.headers.authorization !== `Token ${this.token}`) return send(401, { detail: 'Invalid token.' });
    if (req.method === 'POST' && req.url === '/api/v0.2/jobs/') {
      const id = 1000 + this.jobs.size;
      this.jobs.set(id, { definition: (JSON.parse(body) as { definition: string }).definition, polls: 0, ...this.next });
      return send(201, { message: 'job(s) successfully submitted', job_ids: [id] });
    }
    const m = /^\/api\/v0\.2\/jobs\/(\d+)\/$/.exec(req.url ?? '');
    const job = m ? this.jobs.get(Number(m[1])) : undefined;
    if (m && job) {
      job.polls++;
      const done = job.polls > job.finishAfter;
      return send(200, { id: Number(m[1]), state: done ? 'Finished' : job.polls === 1 ? 'Submitted' : 'Running', health: done ? job.health : 'Unknown', submit_time: '2026-11-25T19:00:00Z', start_time: '2026-11-25T19:00:05Z', ...(done ? { end_time: '2026-11-25T19:01:05Z' } : {}) });
    }
    const r = /^\/results\/(\d+)\/yaml$/.exec(req.url ?? '');
    const rjob = r ? this.jobs.get(Number(r[1])) : undefined;
    if (rjob) return send(200, rjob.results, 'text/yaml');
    return send(404, { detail: 'Not found.' });
  }
}

describe('lava-job --server / lava-results JOB_ID --server: a fake LAVA server on 127.0.0.1', function () {
  this.timeout(60_000);
  let lava: FakeLava;
  let url: string;
  let dir: string;
  beforeEach(async () => {
    lava = new FakeLava();
    url = await lava.start();
    dir = await mkdtemp(join(tmpdir(), 'vnet-lava-'));
    process.env.VNET_TEST_LAVA_TOKEN = 'sekrit';
  });
  afterEach(async () => {
    await lava.stop();
    await rm(dir, { recursive: true, force: true });
    delete process.env.VNET_TEST_LAVA_TOKEN;
  });
  const opts = () => ({ board: 'qemu-imx25', boardsDir: join(import.meta.dirname, '..', 'boards'), modules: join(import.meta.dirname, '..', 'kernel-modules', 'virt_net'), stages: '1,2,3,4', out: join(dir, 'run'), pollInterval: 1, timeout: 20 });

  it('submits the job with the token, polls until Finished, fetches the results and imports them (exit 0)', async () => {
    const code = await submitAndImport({ url, token: 'sekrit' }, 'device_type: qemu\njob_name: vnet\n', opts());
    expect(code).to.equal(0);
    expect(lava.jobs.get(1000)?.definition).to.equal('device_type: qemu\njob_name: vnet\n');
    expect(lava.requests).to.deep.equal(['POST /api/v0.2/jobs/', 'GET /api/v0.2/jobs/1000/', 'GET /api/v0.2/jobs/1000/', 'GET /api/v0.2/jobs/1000/', 'GET /results/1000/yaml']);
    const results = await loadResults(join(dir, 'run', 'results.json'));
    expect(results.verdict).to.equal('pass');
    expect(results.durationMs).to.equal(60_000);
    expect(results.warnings?.[0]).to.include(`LAVA job 1000 on ${url}`);
  });

  it('lava-results JOB_ID --server --token-env imports a job already run; a wrong token is HTTP 401, exit 2', async () => {
    lava.jobs.set(7, { definition: '', polls: 5, finishAfter: 0, health: 'Complete', results: lavaExport({ fail: { 1: ['frames-dropped'] } }) });
    const r = await cli('lava-results', '7', '--server', url, '--token-env', 'VNET_TEST_LAVA_TOKEN', '--out', join(dir, 'run'), '--poll-interval', '1');
    expect(r.code, r.out).to.equal(1);
    expect((await loadResults(join(dir, 'run', 'results.json'))).stages[0]?.verdict).to.equal('fail');
    process.env.VNET_TEST_LAVA_TOKEN = 'wrong';
    const denied = await cli('lava-results', '7', '--server', url, '--token-env', 'VNET_TEST_LAVA_TOKEN', '--out', join(dir, 'run2'));
    expect(denied.code).to.equal(2);
    expect(denied.out).to.match(/HTTP 401.*token/);
    delete process.env.VNET_TEST_LAVA_TOKEN;
    expect((await cli('lava-results', '7', '--server', url, '--token-env', 'VNET_TEST_LAVA_TOKEN')).out).to.match(/VNET_TEST_LAVA_TOKEN: the environment variable is not set/);
  });

  it('a job that ends Incomplete is exit 2, with the reason LAVA gave', async () => {
    lava.next = { finishAfter: 1, health: 'Incomplete', results: lavaExport({ stages: [1], jobResult: 'fail', errorMsg: 'kernel panic: lava-test-shell timed out' }) };
    const code = await submitAndImport({ url, token: 'sekrit' }, 'job', opts());
    expect(code).to.equal(2);
    const results = await loadResults(join(dir, 'run', 'results.json'));
    expect(results.verdict).to.equal('error');
    expect(results.errors[0]).to.match(/ended Incomplete: kernel panic/);
    expect(results.stages.map((s) => s.verdict)).to.deep.equal(['pass', 'error', 'error', 'error']);
  });

  it('a job that does not finish in --timeout is exit 2 (not finished after N s)', async () => {
    lava.next = { finishAfter: 1000, health: 'Unknown', results: '' };
    const started = Date.now();
    const error = await submitAndImport({ url, token: 'sekrit' }, 'job', { ...opts(), timeout: 2 }).catch((e: unknown) => e as Error & { exitCode?: number });
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/LAVA job 1000 .*not finished after 2 s \(state Running\)/);
    expect((error as { exitCode?: number }).exitCode).to.equal(2);
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it('a server that does not answer is exit 2, naming it', async () => {
    await lava.stop();
    lava = new FakeLava();
    await lava.start();
    const r = await cli('lava-results', '9', '--server', 'http://127.0.0.1:1', '--out', join(dir, 'run'));
    expect(r.code).to.equal(2);
    expect(r.out).to.match(/LAVA server http:\/\/127\.0\.0\.1:1: GET \/api\/v0\.2\/jobs\/9\/ failed/);
  });
});
