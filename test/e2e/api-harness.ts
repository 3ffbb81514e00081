/**
 * Starts `sluice up` as a real child process for the API acceptance tests: temp state dir,
 * --api-port 0, waits for the `sluice ready` line, reads endpoints.json and the admin token of
 * the kubeconfig it wrote; stop() ends it. `call(s, ...)` sends that token; `authHeaders(stateDir)`
 * gives any raw HTTP client the header.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readKubeconfig } from '../../src/cli/kubeconfig.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SluiceProc {
  proc: ChildProcess;
  stateDir: string;
  api: string;
  kubeconfig: string;
  /** The cluster-admin bearer token `sluice up` wrote into the kubeconfig. */
  token: string;
  output(): string;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** Removes the state dir (after stop). */
  cleanup(): void;
}

/** The admin bearer token of a state dir's kubeconfig (written by `sluice up`). */
export function adminToken(stateDir: string): string {
  const token = readKubeconfig(path.join(stateDir, 'kubeconfig'))?.token;
  if (!token) throw new Error(`${stateDir}/kubeconfig has no token: is sluice up running on this state dir?`);
  return token;
}

/** `{ Authorization: 'Bearer <admin token>' }` for raw HTTP clients of the sluice running on `stateDir`. */
export function authHeaders(stateDir: string): { Authorization: string } {
  return { Authorization: `Bearer ${adminToken(stateDir)}` };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * The API acceptance tests run `sluice up --only-api`: they check the API server and the store,
 * so controllers must not write to the objects under test (the platform's own e2e tests run all
 * of sluice). `platform: true` starts everything.
 */
export async function startSluice(opts: { stateDir?: string; store?: 'sqlite' | 'memory'; args?: string[]; timeoutMs?: number; platform?: boolean } = {}): Promise<SluiceProc> {
  const stateDir = opts.stateDir ?? tempDir('sluice-e2e-');
  const args = ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'up', '--state-dir', stateDir, '--api-port', '0', '--store', opts.store ?? 'memory',
    ...(opts.platform ? [] : ['--only-api']), ...(opts.args ?? [])];
  const proc = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn', NODE_TEST_CONTEXT: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice up did not print "sluice ready" within ${opts.timeoutMs ?? 30000} ms:\n${out}`)), opts.timeoutMs ?? 30000);
    const check = (): void => {
      if (/^sluice ready/m.test(out)) { clearTimeout(timer); resolve(); }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`sluice up exited with ${code} before ready:\n${out}`)); });
  });
  const endpoints = JSON.parse(fs.readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  return {
    proc,
    stateDir,
    api: endpoints.api,
    kubeconfig: path.join(stateDir, 'kubeconfig'),
    token: adminToken(stateDir),
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    cleanup() {
      fs.rmSync(stateDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/**
 * fetch with JSON in and out; never throws on HTTP errors. `to` is a base URL (no token sent) or a
 * started sluice (its admin token is sent unless `headers` has its own Authorization).
 */
export async function call(to: string | { api: string; token?: string }, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const base = typeof to === 'string' ? to : to.api;
  const auth: Record<string, string> = typeof to !== 'string' && to.token && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization') ? { Authorization: `Bearer ${to.token}` } : {};
  const init: RequestInit = { method, headers: { Accept: 'application/json', ...auth, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(base + p, init);
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

export const SERVICES = '/apis/serving.knative.dev/v1/namespaces/default/services';

export function ksvc(name: string, image = 'sluice/hello'): Record<string, unknown> {
  return { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name }, spec: { template: { spec: { containers: [{ image }] } } } };
}

/** Polls `fn` until it returns something other than undefined; the last error is in the timeout message. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try { const v = await fn(); if (v !== undefined) return v; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message ?? last}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Creates or replaces an object through the API (PUT with the current resourceVersion when it exists). */
export async function apply(s: SluiceProc, collection: string, obj: { metadata: { name: string } }): Promise<void> {
  const existing = await call(s, 'GET', `${collection}/${obj.metadata.name}`);
  const res = existing.status === 200
    ? await call(s, 'PUT', `${collection}/${obj.metadata.name}`, { ...obj, metadata: { ...obj.metadata, resourceVersion: existing.body.metadata.resourceVersion } })
    : await call(s, 'POST', collection, obj);
  if (res.status !== 200 && res.status !== 201) throw new Error(`apply ${collection}/${obj.metadata.name}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** GET over plain HTTP to 127.0.0.1:port with a Host header (fetch cannot set Host). */
export function hostGet(port: number, host: string, p = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, headers: { host }, agent: false, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${host}${p} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
