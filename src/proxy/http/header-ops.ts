/**
 * Header transforms on the request path: hop-by-hop removal (HTTP/1 and HTTP/2 have different
 * rules), Envoy's header_to_add/remove mutations, and the headers the proxy itself sets.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { HeaderMutation } from '../config/model.ts';

/** Connection-specific headers never forwarded (RFC 9110 §7.6.1; HTTP/2 forbids them outright). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization', 'http2-settings']);

/** Copies request headers for the upstream (HTTP/1.1), dropping hop-by-hop and pseudo headers. */
export function upstreamRequestHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const conn = h.connection;
  const listed = conn && conn !== 'keep-alive' && conn !== 'close' ? new Set(String(conn).toLowerCase().split(',').map((s) => s.trim())) : undefined;
  for (const k in h) {
    if (k.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(k) || listed?.has(k)) continue;
    out[k] = h[k];
  }
  // HTTP/2 carries the host in :authority; HTTP/1.1 upstreams need Host.
  if (out.host === undefined && h[':authority'] !== undefined) out.host = String(h[':authority']);
  return out;
}

/** Copies response headers for the downstream, dropping hop-by-hop headers. */
export function downstreamResponseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) if (!HOP_BY_HOP.has(k)) out[k] = h[k];
  return out;
}

/** Applies an Envoy header mutation in place (remove first, then add/append/overwrite). */
export function applyMutation(h: OutgoingHttpHeaders, m: HeaderMutation): void {
  for (const r of m.remove) delete h[r];
  for (const a of m.add) {
    const cur = h[a.name];
    if (cur === undefined || a.mode === 'overwrite') h[a.name] = a.value;
    else if (a.mode === 'append') h[a.name] = Array.isArray(cur) ? [...cur, a.value] : [String(cur), a.value];
  }
}

export function hasMutation(m: HeaderMutation): boolean { return m.add.length > 0 || m.remove.length > 0; }

/**
 * Flat header list `[name, value, name, value, …]` as node:http's ClientRequest and
 * ServerResponse.writeHead take it: stored as written, without a setHeader call (validation,
 * lower-casing, a map entry) per header.
 */
export type HeaderList = (string | string[])[];

/** OutgoingHttpHeaders → flat list (values that are arrays stay one entry; node writes one line per value). */
export function toHeaderList(h: OutgoingHttpHeaders): HeaderList {
  const out: HeaderList = [];
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    out.push(k, typeof v === 'string' || Array.isArray(v) ? v : String(v));
  }
  return out;
}

/**
 * Upstream response raw headers → flat list for the downstream: names lower-cased (as Envoy
 * writes them), hop-by-hop headers dropped, repeated headers kept as repeated lines.
 */
export function responseHeaderList(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(k)) continue;
    out.push(k, raw[i + 1]!);
  }
  return out;
}

/** applyMutation for a flat list of lower-case names. */
export function applyMutationList(h: HeaderList, m: HeaderMutation): void {
  if (m.remove.length) for (const r of m.remove) removeFromList(h, r);
  for (const a of m.add) {
    if (a.mode === 'append') { h.push(a.name, a.value); continue; }
    const present = indexInList(h, a.name) >= 0;
    if (a.mode === 'overwrite') { if (present) removeFromList(h, a.name); h.push(a.name, a.value); }
    else if (!present) h.push(a.name, a.value);
  }
}

function indexInList(h: HeaderList, name: string): number {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return i;
  return -1;
}
function removeFromList(h: HeaderList, name: string): void {
  for (let i = h.length - 2; i >= 0; i -= 2) if (h[i] === name) h.splice(i, 2);
}

/** Flat list → OutgoingHttpHeaders (repeated names become arrays), for APIs that want an object. */
export function headerListToObject(h: HeaderList): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i < h.length; i += 2) {
    const k = h[i] as string;
    const v = h[i + 1]!;
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else out[k] = [...(Array.isArray(cur) ? cur : [String(cur)]), ...(Array.isArray(v) ? v : [v])];
  }
  return out;
}
