/** Small HTTP helpers shared by the API server's handlers: content negotiation, JSON answers, query flags. */
import type { ServerResponse } from 'node:http';
import type { Status } from '../api/meta.ts';
import { badRequest } from './status.ts';

export interface AcceptEntry { type: string; params: Record<string, string> }

/** `application/json;as=Table;v=v1;g=meta.k8s.io, application/json` → entries in order. */
export function parseAccept(accept: string | undefined): AcceptEntry[] {
  if (!accept) return [];
  const out: AcceptEntry[] = [];
  for (const part of accept.split(',')) {
    const [type, ...rest] = part.split(';');
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
    }
    out.push({ type: type.trim().toLowerCase(), params });
  }
  return out;
}

/** True when the client asked for `meta.k8s.io/v1` Table output (kubectl get does). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept || !accept.includes('Table')) return false;
  return parseAccept(accept).some((a) => a.params.as === 'Table' && a.params.g === 'meta.k8s.io' && a.params.v === 'v1');
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers?: Record<string, string | string[]>): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: Status, headers?: Record<string, string | string[]>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status.code, status, headers);
}

/** Query flags: `?x` and `?x=true` are true, `?x=false` false, absent undefined. */
export function boolParam(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw badRequest(`query parameter ${name}=${JSON.stringify(v)} is not a boolean (true or false)`);
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d{1,12}$/.test(v)) throw badRequest(`query parameter ${name}=${JSON.stringify(v)} is not a non-negative integer`);
  return Number(v);
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export function fieldValidationParam(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`query parameter fieldValidation=${JSON.stringify(v)} is invalid: expected Strict, Warn or Ignore`);
}

/** `dryRun=All` → true; absent → false; anything else → 400 (Kubernetes accepts only All). */
export function dryRunParam(q: URLSearchParams): boolean {
  const all = q.getAll('dryRun');
  if (all.length === 0) return false;
  for (const v of all) if (v !== 'All') throw badRequest(`query parameter dryRun=${JSON.stringify(v)} is invalid: the only supported value is All`);
  return true;
}

/** A Warning header value as Kubernetes writes it: `299 - "text"`. */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text.replace(/[\r\n]+/g, ' '))}`;
}
