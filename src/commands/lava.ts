// `vnet-harness lava-job` and `lava-results`: the stages as a LAVA job (a lab
// runs the same checks on its boards), and a LAVA job's results as a run of
// the harness (results.json, the reports, the history).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildModulesCached } from '../build/module-cache.ts';
import { buildProbe } from '../build/probe.ts';
import { describeSource } from '../build/source.ts';
import { loadBoard } from '../config/board.ts';
import type { BoardConfig } from '../config/types.ts';
import { ConfigError, HarnessError } from '../errors.ts';
import { appendToHistory } from '../history/record.ts';
import { prepareImages } from '../emulated/machine.ts';
import { writeReports, writeRunIndex } from '../reporters/index.ts';
import { parseStageList } from '../stages/plan.ts';
import { newRunId, PROBE_SOURCE, runExitCode } from '../stages/run.ts';
import { writeArtifacts } from '../lava/artifacts.ts';
import { renderQemuDevice } from '../lava/device.ts';
import { lavaJob, lavaJobYaml, type JobVariant, type LavaJobOptions } from '../lava/job.ts';
import { lavaRunScript } from '../lava/local-run.ts';
import { requireLavaTemplates } from '../lava/templates.ts';
import { importLavaResults, isLavaLog, logSpan, parseLavaResults } from '../lava/results.ts';
import { fetchResults, submitJob, waitForJob, type LavaServer } from '../lava/server.ts';
import { PROJECT_ROOT } from '../paths.ts';
import { cacheRoot } from '../util/cache.ts';
import { streamProgress } from '../util/progress.ts';

const REPORTS_ROOT = join(PROJECT_ROOT, 'reports');

export interface LavaServerOptions {
  server?: string;
  tokenEnv?: string;
  /** Seconds to wait for a submitted job to finish. */
  timeout?: number;
  /** Seconds between polls of a submitted job. */
  pollInterval?: number;
}

export interface LavaJobCliOptions extends LavaServerOptions {
  board: string;
  boardsDir: string;
  modules: string;
  stages: string;
  out?: string;
  artifactsUrl?: string;
  deviceType?: string;
  reportsDir?: string;
  /** lab (default) or lava-run: the job for Debian's dispatcher on this host, with its device file and runner script. */
  for?: JobVariant;
}

export interface LavaResultsCliOptions extends LavaServerOptions {
  board: string;
  boardsDir: string;
  modules: string;
  stages?: string;
  out?: string;
  reportsDir?: string;
}

/** The server and its token (from the variable --token-env names; never from the command line). */
export function lavaServer(o: LavaServerOptions): LavaServer | undefined {
  if (!o.server) {
    if (o.tokenEnv) throw new ConfigError('--token-env needs --server');
    return undefined;
  }
  if (!/^https?:\/\//.test(o.server)) throw new ConfigError(`--server: expected an http:// or https:// URL, got ${JSON.stringify(o.server)}`);
  if (!o.tokenEnv) return { url: o.server };
  const token = process.env[o.tokenEnv];
  if (!token) throw new ConfigError(`--token-env ${o.tokenEnv}: the environment variable is not set or empty`);
  return { url: o.server, token };
}

/** The images' URLs: file:// URLs of the files, or under --artifacts-url (where the lab serves the folder). */
function imageUrl(file: string, base: string | undefined): string {
  return base ? `${base.replace(/\/+$/, '')}/${file.split('/').at(-1) ?? file}` : pathToFileURL(file).href;
}

/** How the job boots the board. */
function jobTarget(config: BoardConfig, deviceType: string | undefined): LavaJobOptions['target'] {
  if (config.kind === 'emulated') {
    const mem = /^(\d+)([MG])?$/i.exec(config.emulated.memory);
    const memoryMiB = mem ? Number(mem[1]) * (mem[2]?.toUpperCase() === 'G' ? 1024 : 1) : 128;
    return { kind: 'qemu', machine: config.emulated.machine, memoryMiB, append: config.emulated.append };
  }
  if (!deviceType) throw new ConfigError(`board ${config.name}: a real board's LAVA job needs --device-type (the lab's device type of the board, booted by u-boot)`);
  return { kind: 'u-boot', deviceType };
}

/** `lava-job`: writes the job and its images; with --server submits it, waits, and imports the results. */
export async function lavaJobCommand(o: LavaJobCliOptions): Promise<number> {
  const server = lavaServer(o);
  const config = loadBoard(o.board, { boardsDir: o.boardsDir });
  const stages = parseStageList(o.stages);
  const variant: JobVariant = o.for ?? 'lab';
  if (variant === 'lava-run') {
    if (config.kind !== 'emulated') throw new ConfigError(`--for lava-run: board ${config.name} is a real board; the local dispatcher runs the emulated board only (LAVA's qemu device type)`);
    if (server) throw new ConfigError('--for lava-run writes a job for the local dispatcher; --server submits to a lab (use --for lab)');
    if (o.artifactsUrl) throw new ConfigError('--for lava-run: the local dispatcher reads the images from here (file:// URLs); --artifacts-url is for a lab');
  }
  // Before any build: the device file needs lava-server's templates in the cache.
  const templates = variant === 'lava-run' ? await requireLavaTemplates() : undefined;
  const progress = streamProgress();
  // The kernel and the initramfs the board boots: the emulated board's (a real board: its kernel tree's zImage and device tree, with the emulated board's busybox userland).
  const emulatedConfig = config.kind === 'emulated' ? config : loadBoard('qemu-imx25', { boardsDir: o.boardsDir });
  if (emulatedConfig.kind !== 'emulated') throw new HarnessError('qemu-imx25 is not an emulated board');
  const images = await prepareImages(emulatedConfig, progress);
  const kernelDir = config.kind === 'real' ? config.kernelTree : images.kernel.buildTree;
  const kernel = config.kind === 'real' ? join(kernelDir, 'arch', 'arm', 'boot', 'zImage') : images.kernel.image;
  const dtb = config.kind === 'real' ? join(kernelDir, 'arch', 'arm', 'boot', 'dts', 'imx25-pdk.dtb') : images.kernel.dtb;
  for (const f of [kernel, dtb]) if (!existsSync(f)) throw new HarnessError(`board ${config.name}: ${f} does not exist (build the board's kernel and device tree first)`);
  const builds = await buildModulesCached({ board: config.name, kernelDir, arch: config.arch, crossCompile: config.crossCompile, sourceDir: resolve(o.modules), stages });
  const broken = builds.filter((b) => !b.ok || !b.module);
  if (broken.length > 0) {
    process.stderr.write(`stage ${broken.map((b) => b.stage).join(', ')}: the module did not build:\n${broken.map((b) => b.log).join('\n')}\n`);
    return 1;
  }
  const probe = await buildProbe({ source: PROBE_SOURCE, crossCompile: config.crossCompile, outDir: join(cacheRoot(), 'probe'), board: config.name });
  const jobFile = resolve(o.out ?? 'vnet-lava-job.yaml');
  const artifactsDir = join(dirname(jobFile), 'vnet-lava-images');
  const written = await writeArtifacts(artifactsDir, {
    kernel,
    dtb,
    baseInitrd: images.rootfs.initrd,
    modules: new Map(builds.map((b) => [b.stage, b.module ?? ''])),
    probe,
  });
  const driver = await describeSource(resolve(o.modules));
  const jobOptions: LavaJobOptions = {
    board: config.name,
    target: jobTarget(config, o.deviceType),
    images: { kernel: imageUrl(written.kernel, o.artifactsUrl), dtb: imageUrl(written.dtb, o.artifactsUrl), ramdisk: imageUrl(written.ramdisk, o.artifactsUrl) },
    stages,
    driverRevision: driver.gitRevision ?? driver.contentHash,
    variant,
  };
  const yaml = lavaJobYaml(jobOptions);
  await mkdir(dirname(jobFile), { recursive: true });
  await writeFile(jobFile, yaml);
  process.stdout.write(`LAVA job written to ${jobFile}; its images in ${artifactsDir}${o.artifactsUrl ? ` (the job fetches them from ${o.artifactsUrl})` : ''}\n`);
  if (templates) {
    const files = localRunFiles(jobFile);
    await writeFile(files.device, renderQemuDevice(templates, lavaJob(jobOptions).context as Record<string, unknown>));
    await writeFile(files.script, lavaRunScript({ job: jobFile, device: files.device, output: files.output }), { mode: 0o755 });
    process.stdout.write(
      `for Debian's lava-run: the device file ${files.device}, and ${files.script} runs the job (as root: a private mount namespace; the log on stderr, its results imported with vnet-harness lava-results <log>)\n`,
    );
  }
  if (!server) return 0;
  return submitAndImport(server, yaml, { ...o, stages: o.stages });
}

/** The files beside a lava-run job: the device file, the runner script, lava-run's output folder. */
export function localRunFiles(jobFile: string): { device: string; script: string; output: string } {
  const dir = dirname(jobFile);
  return { device: join(dir, 'vnet-lava-device.yaml'), script: join(dir, 'vnet-lava-run.sh'), output: join(dir, 'vnet-lava-output') };
}

/** Submits the job, waits for it, imports its results as a run. */
export async function submitAndImport(server: LavaServer, yaml: string, o: LavaResultsCliOptions & LavaServerOptions): Promise<number> {
  const id = await submitJob(server, yaml);
  process.stdout.write(`LAVA job ${id} submitted to ${server.url}\n`);
  return importJob(server, id, o);
}

async function importJob(server: LavaServer, id: number, o: LavaResultsCliOptions & LavaServerOptions): Promise<number> {
  const started = Date.now();
  const state = await waitForJob(server, id, {
    pollMs: (o.pollInterval ?? 10) * 1000,
    timeoutMs: (o.timeout ?? 3600) * 1000,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const text = await fetchResults(server, id);
  const startedAt = state.startTime ?? state.submitTime ?? new Date(started).toISOString();
  const endedAt = state.endTime ? Date.parse(state.endTime) : Date.now();
  return writeImported(text, `LAVA job ${id} on ${server.url}`, o, { startedAt, durationMs: Math.max(0, endedAt - Date.parse(startedAt)) || 0, health: state.health });
}

/** `lava-results <results.yaml | JOB_ID --server URL>`. */
export async function lavaResultsCommand(o: LavaResultsCliOptions, source: string): Promise<number> {
  const server = lavaServer(o);
  if (/^\d+$/.test(source) && !existsSync(source)) {
    if (!server) throw new ConfigError(`lava-results ${source}: a job id needs --server URL (or give the results.yaml file)`);
    return importJob(server, Number(source), o);
  }
  const text = await readFile(source, 'utf8').catch((e: unknown) => {
    throw new ConfigError(`lava-results: cannot read ${source}: ${(e as Error).message}`);
  });
  if (isLavaLog(text)) return writeImported(text, `LAVA job log ${source}`, o, logSpan(text) ?? { startedAt: new Date().toISOString(), durationMs: 0 });
  return writeImported(text, `LAVA results ${source}`, o, { startedAt: new Date().toISOString(), durationMs: 0 });
}

async function writeImported(text: string, origin: string, o: LavaResultsCliOptions, when: { startedAt: string; durationMs: number; health?: string }): Promise<number> {
  const config = loadBoard(o.board, { boardsDir: o.boardsDir, hostPaths: false });
  const cases = parseLavaResults(text, origin);
  const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  const results = await importLavaResults(cases, {
    board: config.name,
    emulated: config.kind === 'emulated',
    driver: await describeSource(resolve(o.modules)),
    harnessVersion: pkg.version,
    runId: newRunId(new Date(when.startedAt)),
    startedAt: when.startedAt,
    durationMs: when.durationMs,
    ...(o.stages ? { stages: parseStageList(o.stages) } : {}),
    origin,
    ...(when.health ? { health: when.health } : {}),
  });
  const reportsRoot = resolve(o.reportsDir ?? REPORTS_ROOT);
  const outDir = resolve(o.out ?? join(reportsRoot, results.runId));
  const written = await writeReports(results, { outDir, ...(o.out ? {} : { reportsRoot }) });
  for (const e of written.errors) process.stderr.write(`report ${e.reporter} (${e.file}) failed: ${e.message}\n`);
  let historyFailed = false;
  if (!o.out) {
    try {
      await appendToHistory(reportsRoot, results, outDir);
      await writeRunIndex(reportsRoot);
    } catch (error) {
      process.stderr.write(`error: ${(error as Error).message}\n`);
      historyFailed = true;
    }
  }
  for (const s of results.stages) {
    const passed = s.checks.filter((c) => c.verdict === 'pass').length;
    process.stdout.write(`stage ${s.stage}: ${s.verdict.toUpperCase()} (${passed}/${s.checks.length} checks)${s.reason ? ` — ${s.reason}` : ''}\n`);
  }
  for (const e of results.errors) process.stderr.write(`error: ${e}\n`);
  process.stdout.write(`run ${results.runId} (${origin}): ${results.verdict.toUpperCase()}; reports in ${outDir}\n`);
  return historyFailed ? 2 : runExitCode(results);
}
