// A LAVA server's REST API (v0.2), the part a submission needs: POST the job,
// poll it until Finished, fetch its results as the yaml export.
import { HarnessError } from '../errors.ts';

export interface LavaServer {
  /** e.g. http://lava.example.org (no trailing /api). */
  url: string;
  /** The API token (sent as `Authorization: Token …`); read from the environment variable the user named. */
  token?: string;
}

export interface LavaJobState {
  id: number;
  state: string;
  health: string;
  submitTime?: string;
  startTime?: string;
  endTime?: string;
}

function endpoint(server: LavaServer, path: string): string {
  return `${server.url.replace(/\/+$/, '')}${path}`;
}

async function call(server: LavaServer, path: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<Response> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (server.token) headers.Authorization = `Token ${server.token}`;
  let response: Response;
  try {
    response = await fetch(endpoint(server, path), { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new HarnessError(`LAVA server ${server.url}: ${init.method ?? 'GET'} ${path} failed: ${cause}`);
  }
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).trim().slice(0, 300);
    const hint = response.status === 401 || response.status === 403 ? ' (is the token right? --token-env names the variable holding it)' : '';
    throw new HarnessError(`LAVA server ${server.url}: ${init.method ?? 'GET'} ${path}: HTTP ${response.status}${hint}${body ? `: ${body}` : ''}`);
  }
  return response;
}

/** Submits a job definition (YAML); returns its id. */
export async function submitJob(server: LavaServer, definition: string): Promise<number> {
  const r = await call(server, '/api/v0.2/jobs/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ definition }) });
  const body = (await r.json()) as { job_ids?: unknown[]; id?: unknown };
  const id = Number(body.job_ids?.[0] ?? body.id);
  if (!Number.isSafeInteger(id)) throw new HarnessError(`LAVA server ${server.url}: the submission's answer names no job id: ${JSON.stringify(body).slice(0, 200)}`);
  return id;
}

/** The job's state and health. */
export async function jobState(server: LavaServer, id: number): Promise<LavaJobState> {
  const b = (await (await call(server, `/api/v0.2/jobs/${id}/`)).json()) as Record<string, unknown>;
  return {
    id,
    state: String(b.state ?? ''),
    health: String(b.health ?? ''),
    ...(typeof b.submit_time === 'string' ? { submitTime: b.submit_time } : {}),
    ...(typeof b.start_time === 'string' ? { startTime: b.start_time } : {}),
    ...(typeof b.end_time === 'string' ? { endTime: b.end_time } : {}),
  };
}

/** Polls until the job is Finished; a HarnessError when timeoutMs passes first. */
export async function waitForJob(server: LavaServer, id: number, o: { pollMs: number; timeoutMs: number; log?: (line: string) => void }): Promise<LavaJobState> {
  const deadline = Date.now() + o.timeoutMs;
  let last = '';
  for (;;) {
    const s = await jobState(server, id);
    if (s.state !== last) o.log?.(`LAVA job ${id}: ${s.state}${s.health && s.health !== 'Unknown' ? ` (${s.health})` : ''}`);
    last = s.state;
    if (s.state === 'Finished') return s;
    if (Date.now() + o.pollMs > deadline) throw new HarnessError(`LAVA job ${id} on ${server.url}: not finished after ${Math.round(o.timeoutMs / 1000)} s (state ${s.state})`);
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
}

/** The job's results as LAVA's yaml export. */
export async function fetchResults(server: LavaServer, id: number): Promise<string> {
  return (await call(server, `/results/${id}/yaml`)).text();
}
