/**
 * One-shot probes, as the kubelet runs them: TCP connect, or HTTP GET where 200–399 is success.
 * Probes always target 127.0.0.1 and the pod's assigned $PORT unless the probe names another
 * numeric port that is not the container's declared port.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import { execFile } from 'node:child_process';
import type { Probe } from '../api/types/core.ts';

export type ProbeResult = { ok: true } | { ok: false; message: string };

export function tcpProbe(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    const done = (r: ProbeResult): void => { clearTimeout(t); s.destroy(); resolve(r); };
    const t = setTimeout(() => done({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }), timeoutMs);
    s.once('connect', () => done({ ok: true }));
    s.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, message: `dial tcp ${host}:${port}: ${e.code ?? e.message}` }));
  });
}

export function httpProbe(port: number, path: string, headers: Record<string, string>, timeoutMs: number, host = '127.0.0.1'): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult): void => { if (!settled) { settled = true; resolve(r); } };
    const req = request({ host, port, path, method: 'GET', headers: { 'user-agent': 'kube-probe/sluice', ...headers }, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      done(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => { req.destroy(); done({ ok: false, message: `Get "http://${host}:${port}${path}": context deadline exceeded` }); });
    req.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, message: `Get "http://${host}:${port}${path}": ${e.code ?? e.message}` }));
    req.end();
  });
}

/** exec probe: the command exits 0 within the timeout (run with the pod's env and working dir). */
export function execProbe(command: string[], timeoutMs: number, env: Record<string, string>, cwd?: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    if (command.length === 0) { resolve({ ok: false, message: 'exec probe: empty command' }); return; }
    execFile(command[0], command.slice(1), { env, cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (!err) { resolve({ ok: true }); return; }
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      const out = `${stdout}${stderr}`.trim().split('\n').slice(-3).join('\n');
      resolve({ ok: false, message: e.killed ? `command timed out after ${timeoutMs} ms` : `command exited with ${e.code}${out ? ': ' + out : ''}` });
    });
  });
}

/** Why sluice cannot run this probe (with its field path), or undefined. */
export function probeProblem(p: Probe | undefined, where: string): string | undefined {
  if (!p) return undefined;
  if (p.grpc) return `${where}.grpc: gRPC probes are not supported by sluice; use httpGet, tcpSocket or exec`;
  if (p.exec && (!Array.isArray(p.exec.command) || p.exec.command.length === 0)) return `${where}.exec.command: must be a non-empty list`;
  return undefined;
}

/** Runs `probe` (default: TCP on the pod port) once. */
export function runProbe(probe: Probe | undefined, podPort: number, declaredPort: number | undefined, execCtx?: { env: Record<string, string>; cwd?: string }): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, probe?.timeoutSeconds ?? 1) * 1000;
  const portOf = (p: number | string | undefined): number =>
    typeof p === 'number' && p > 0 && p !== declaredPort ? p : podPort;
  if (probe?.exec) return execProbe(probe.exec.command, timeoutMs, execCtx?.env ?? {}, execCtx?.cwd);
  if (probe?.httpGet) {
    const h: Record<string, string> = {};
    for (const x of probe.httpGet.httpHeaders ?? []) h[x.name] = x.value;
    return httpProbe(portOf(probe.httpGet.port), probe.httpGet.path ?? '/', h, timeoutMs);
  }
  return tcpProbe(portOf(probe?.tcpSocket?.port), timeoutMs);
}

export interface ProbeTiming { initialDelayMs: number; periodMs: number; failureThreshold: number; successThreshold: number }
export function probeTiming(p: Probe | undefined, dflt: { periodS: number }): ProbeTiming {
  return {
    initialDelayMs: (p?.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, p?.periodSeconds ?? dflt.periodS) * 1000,
    failureThreshold: Math.max(1, p?.failureThreshold ?? 3),
    successThreshold: Math.max(1, p?.successThreshold ?? 1),
  };
}
