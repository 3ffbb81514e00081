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
