/**
 * Request → virtual host → route, with Envoy's semantics: domains match exact first, then the
 * longest `*.suffix`, then the longest `prefix*`, then `*`; the Host header is tried with and then
 * without its port. Routes match in order; `prefix` is checked against the whole :path (query
 * included), `path` and `safe_regex` against the path without its query. Pure, allocation-light.
 */
import type { HeaderMatcher, QueryMatcher, Route, RouteTable, VirtualHost } from './model.ts';

export type RequestHeaders = Record<string, string | string[] | undefined>;

function lookupHost(t: RouteTable, host: string): VirtualHost | undefined {
  const e = t.exact.get(host);
  if (e) return e;
  for (const [suffix, vh] of t.suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return vh;
  for (const [prefix, vh] of t.prefixes) if (host.length > prefix.length && host.startsWith(prefix)) return vh;
  return undefined;
}

/** Finds the virtual host for a Host/:authority value. */
export function selectVirtualHost(t: RouteTable, hostHeader: string | undefined): VirtualHost | undefined {
  if (hostHeader) {
    const host = hostHeader.toLowerCase();
    const found = lookupHost(t, host);
    if (found) return found;
    const colon = host.lastIndexOf(':');
    if (colon > 0 && host.indexOf(']', colon) < 0) {
      const noPort = lookupHost(t, host.slice(0, colon));
      if (noPort) return noPort;
    }
  }
  return t.any;
}

function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

function headersMatch(ms: readonly HeaderMatcher[], headers: RequestHeaders): boolean {
  for (const m of ms) {
    const v = headerValue(headers, m.name);
    let ok: boolean;
    if (m.test) ok = v !== undefined && m.test(v);
    else ok = m.present ? v !== undefined : v === undefined;
    if (ok === m.invert) return false;
  }
  return true;
}

function queryMatch(ms: readonly QueryMatcher[], query: string): boolean {
  if (ms.length === 0) return true;
  const params = new URLSearchParams(query);
  for (const m of ms) {
    const v = params.get(m.name);
    if (v === null) return false;
    if (m.test && !m.test(v)) return false;
  }
  return true;
}

/** First route of the virtual host that matches, or undefined. `path` is the raw :path (with query). */
export function matchRoute(vh: VirtualHost, path: string, headers: RequestHeaders): Route | undefined {
  const q = path.indexOf('?');
  const bare = q < 0 ? path : path.slice(0, q);
  let lowerPath: string | undefined;
  let lowerBare: string | undefined;
  for (const r of vh.routes) {
    const m = r.match;
    switch (m.kind) {
      case 'prefix':
        if (m.caseSensitive) { if (!path.startsWith(m.value)) continue; }
        else if (!(lowerPath ??= path.toLowerCase()).startsWith(m.value)) continue;
        break;
      case 'path':
        if (m.caseSensitive) { if (bare !== m.value) continue; }
        else if ((lowerBare ??= bare.toLowerCase()) !== m.value) continue;
        break;
      case 'regex':
        if (!m.regex!.test(bare)) continue;
        break;
    }
    if (m.headers.length > 0 && !headersMatch(m.headers, headers)) continue;
    if (m.query.length > 0 && !queryMatch(m.query, q < 0 ? '' : path.slice(q + 1))) continue;
    return r;
  }
  return undefined;
}

/** Convenience: both steps. */
export function routeRequest(t: RouteTable, host: string | undefined, path: string, headers: RequestHeaders): { vh?: VirtualHost; route?: Route } {
  const vh = selectVirtualHost(t, host);
  if (!vh) return {};
  return { vh, route: matchRoute(vh, path, headers) };
}
