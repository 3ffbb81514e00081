/**
 * Shared by the autoscaling end-to-end tests and bench/coldstart.ts: runs `node bin/sluice.js up`
 * as a child with a config file (gateway on free ports, a test-shortened autoscaler section),
 * talks to the API over plain HTTP and to services through the gateway with a Host header,
 * and reads pod process ids from the runtime's pid files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readKubeconfig } from '../../src/cli/kubeconfig.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Sluice {
  proc: ChildProcess;
  dir: string;
  stateDir: string;
  endpoints: Record<string, string>;
  output(): string;
  api(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Pod process ids of a revision's pods now (the runtime's pid files). */
  podPids(revision: string, namespace?: string): number[];
  /** Stops sluice; `keepState`: leave the directory for a restart on the same state (startSluice's `dir`). */
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

/** Starts sluice with `autoscaler` as the config's autoscaler section (YAML text, indented by 2). */
export async function startSluice(autoscalerYaml: string, opts: { timeoutMs?: number; prefix?: string; logLevel?: string; dir?: string } = {}): Promise<Sluice> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix ?? 'sluice-autoscale-'));
  const stateDir = path.join(dir, 'state');
  fs.writeFileSync(path.join(dir, 'config.yaml'), `proxy:\n  http-port: 0\n  https-port: 0\nautoscaler:\n${autoscalerYaml}`);
  const proc = spawn(process.execPath, [path.join(REPO, 'bin/sluice.js'), 'up', '--state-dir', stateDir, '--api-port', '0', '--config', path.join(dir, 'config.yaml')], {
    cwd: REPO, env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? opts.logLevel ?? 'warn', NODE_TEST_CONTEXT: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const timeoutMs = opts.timeoutMs ?? 90_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sluice up not ready within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      proc.stdout!.on('data', () => { if (/^sluice ready/m.test(out)) { clearTimeout(timer); resolve(); } });
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`sluice up exited with ${code}:\n${out}`)); });
    });
  } catch (e) {
    proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const endpoints = JSON.parse(fs.readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  // The API wants the bearer token sluice wrote into its kubeconfig (what kubectl sends).
  const token = readKubeconfig(path.join(stateDir, 'kubeconfig'))?.token;
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    proc, dir, stateDir, endpoints,
    output: () => out,
    async api(method, p, body) {
      const res = await fetch(endpoints.api + p, { method, headers: { accept: 'application/json', 'content-type': 'application/json', ...auth }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = text;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      return { status: res.status, body: parsed };
    },
    podPids(revision, namespace = 'default') {
      const d = path.join(stateDir, 'pids');
      if (!fs.existsSync(d)) return [];
      const out: number[] = [];
      for (const f of fs.readdirSync(d)) {
        if (!f.startsWith(`${namespace}_${revision}-deployment-`)) continue;
        try { out.push(JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')).pid as number); } catch { /* being rewritten */ }
      }
      return out;
    },
    async stop(o) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
      if (!o?.keepState) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** The autoscaler's "desired scale changed" log lines (info level) as short text, for failure messages. */
export function scaleTrail(s: Sluice, revision: string): string {
  const out: string[] = [];
  for (const line of s.output().split('\n')) {
    if (!line.includes('desired scale changed') || !line.includes(revision)) continue;
    try { const j = JSON.parse(line); out.push(`${new Date(j.time).toISOString().slice(11, 23)} ${j.from ?? '-'}→${j.to}`); } catch { /* not JSON */ }
  }
  return out.join(', ');
}

export function processAlive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${pid}/status`));
}
function safeRead(f: string): string { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } }

export function ksvc(name: string, image: string, opts: { env?: Record<string, string>; annotations?: Record<string, string>; containerConcurrency?: number } = {}): Record<string, unknown> {
  return {
    apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { template: {
      metadata: { annotations: opts.annotations ?? {} },
      spec: {
        ...(opts.containerConcurrency !== undefined ? { containerConcurrency: opts.containerConcurrency } : {}),
        containers: [{ image, env: Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value })) }],
      },
    } },
  };
}

export const SERVICES = '/apis/serving.knative.dev/v1/namespaces/default/services';
export const REVISIONS = '/apis/serving.knative.dev/v1/namespaces/default/revisions';

/** One GET through the gateway with a Host header; a fresh connection each time. */
export function gatewayGet(gateway: string, host: string, p = '/', timeoutMs = 60_000): Promise<{ status: number; body: string }> {
  const u = new URL(gateway);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), path: p, headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host}${p} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 60_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** status.actualReplicas / desiredReplicas and Ready of a revision. */
export async function revisionScale(s: Sluice, name: string): Promise<{ actual?: number; desired?: number; ready?: string }> {
  const r = await s.api('GET', `${REVISIONS}/${name}`);
  const st = r.body?.status ?? {};
  return { actual: st.actualReplicas, desired: st.desiredReplicas, ready: st.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status };
}
