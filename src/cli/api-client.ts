/**
 * The CLI's client for the sluice API server: finds the server (from --server or the state dir's
 * endpoints.json) and the bearer token (--token, $SLUICE_TOKEN or the state dir's kubeconfig), builds resource paths from the kind registry, and turns Status answers into
 * errors with the server's message.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { KubeObject, Status } from '../api/meta.ts';
import type { KindInfo } from '../api/registry.ts';
import { SluiceError } from '../lib/errors.ts';
import { readKubeconfig } from './kubeconfig.ts';

export const ClientErrors = {
  NoServer: 'SLUICE_E_CLI_NO_SERVER',
  Request: 'SLUICE_E_CLI_REQUEST',
} as const;

export interface ConnectionOptions { stateDir: string; server?: string; token?: string }

/** Adds `--state-dir`, `--server` and `--token` to a command that talks to a running sluice. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'state dir of the running `sluice up` (its endpoints.json names the API, its kubeconfig the token)', './.sluice')
    .option('--server <url>', 'API server URL (overrides --state-dir)')
    .option('--token <token>', 'bearer token (default: the token of the state dir\'s kubeconfig, or $SLUICE_TOKEN)');
}

export function resolveServer(o: ConnectionOptions): string {
  if (o.server) return o.server.replace(/\/+$/, '');
  const file = path.resolve(o.stateDir, 'endpoints.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new SluiceError(ClientErrors.NoServer, `no running sluice found: ${file} does not exist. Start one with \`sluice up --state-dir ${o.stateDir}\` or pass --server URL`);
  }
  const api = (JSON.parse(text) as Record<string, string>).api;
  if (!api) throw new SluiceError(ClientErrors.NoServer, `${file} names no "api" endpoint`);
  return api;
}

/** The bearer token to send: --token, else $SLUICE_TOKEN, else the one `sluice up` wrote into STATE_DIR/kubeconfig. */
export function resolveToken(o: ConnectionOptions): string | undefined {
  if (o.token) return o.token;
  if (process.env.SLUICE_TOKEN) return process.env.SLUICE_TOKEN;
  return readKubeconfig(path.resolve(o.stateDir, 'kubeconfig'))?.token;
}

/** A client for the running sluice the options name (server and token). */
export function connect(o: ConnectionOptions): ApiClient {
  return new ApiClient(resolveServer(o), resolveToken(o));
}

export function collectionPath(k: KindInfo, namespace: string | undefined): string {
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return k.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${k.plural}` : `${base}/${k.plural}`;
}
export function objectPath(k: KindInfo, namespace: string | undefined, name: string): string {
  return `${collectionPath(k, namespace)}/${encodeURIComponent(name)}`;
}

export interface ApiResponse<T = unknown> { status: number; body: T; headers: Headers }

export class ApiError extends SluiceError {
  constructor(readonly status: Status, readonly httpCode: number) {
    super(ClientErrors.Request, status.message ?? `${status.reason ?? 'error'} (HTTP ${httpCode})`, { httpStatus: httpCode });
  }
  get reason(): string | undefined { return this.status.reason; }
}

export class ApiClient {
  constructor(readonly base: string, private readonly token?: string) {}

  async request<T = KubeObject>(method: string, p: string, opts: { body?: unknown; contentType?: string; accept?: string } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(this.base + p, { method, headers, body });
    } catch (e) {
      throw new SluiceError(ClientErrors.Request, `cannot reach the sluice API at ${this.base}: ${(e as Error).cause ? String((e as { cause: unknown }).cause) : (e as Error).message}`, { cause: e });
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    if (res.status >= 400) {
      const st = parsed && typeof parsed === 'object' && (parsed as Status).kind === 'Status'
        ? (parsed as Status)
        : ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: res.status, message: `HTTP ${res.status}: ${String(text).slice(0, 200)}` } as Status);
      if (res.status === 401) {
        // Say where the token comes from, not just "Unauthorized".
        st.message = `${st.message ?? 'Unauthorized'}: ${this.token ? 'the API does not accept this bearer token' : 'the API needs a bearer token'} (--token, $SLUICE_TOKEN, or --state-dir of the running sluice, whose kubeconfig holds the admin token)`;
      }
      throw new ApiError(st, res.status);
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}
