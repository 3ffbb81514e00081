/**
 * RouteConfiguration (plain object, proto field names) → RouteTable: virtual hosts indexed by
 * domain kind, routes with precompiled matchers. Pure; throws InvalidResource naming the field.
 */
import { FieldCtx, wrapped, type Obj } from './invalid-resource.ts';
import { compileHeaderMatcher, compileQueryMatcher } from './string-match.ts';
import { compileFullMatch } from './re2-regex.ts';
import { isSluiceError } from '../../lib/errors.ts';
import { durationMs, TypeUrl } from '../../xds/protos.ts';
import type {
  FaultConfig, HeaderMutation, HeaderToAdd, RedirectAction, RetryPolicy, Route, RouteAction, RouteMatch, RouteTable, TranslateDefaults, VirtualHost, WeightedCluster,
} from './model.ts';

const EMPTY_MUTATION: HeaderMutation = Object.freeze({ add: Object.freeze([]) as readonly HeaderToAdd[], remove: Object.freeze([]) as readonly string[] });
const KNOWN_RETRY_ON = new Set(['5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);
/** WebSocket upgrades are on by default (as Istio configures Envoy); shared by every route that does not say otherwise. */
const DEFAULT_UPGRADES: ReadonlySet<string> = Object.freeze(new Set(['websocket']));
const NO_MATCHERS: readonly never[] = Object.freeze([]);
const NO_MIRRORS: readonly { cluster: string; percent: number }[] = Object.freeze([]);
const REDIRECT_CODES: Record<string, number> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

export function headerMutation(ctx: FieldCtx, field: string, o: Obj, prefix: 'request' | 'response'): HeaderMutation {
  const addRaw: Obj[] = o[`${prefix}_headers_to_add`] ?? [];
  const removeRaw: string[] = o[`${prefix}_headers_to_remove`] ?? [];
  if (addRaw.length === 0 && removeRaw.length === 0) return EMPTY_MUTATION;
  const add = addRaw.map((h, i): HeaderToAdd => {
    const f = `${field}.${prefix}_headers_to_add[${i}]`;
    const key = h.header?.key;
    if (typeof key !== 'string' || key === '' || !/^[!#$%&'*+.^_`|~0-9a-zA-Z-]+$/.test(key)) ctx.fail(`${f}.header.key`, `invalid header name ${JSON.stringify(key)}`);
    const value = String(h.header?.value ?? '');
    if (/[\r\n\0]/.test(value)) ctx.fail(`${f}.header.value`, 'header value contains CR, LF or NUL');
    let mode: HeaderToAdd['mode'] = 'append';
    if (h.append_action === 'ADD_IF_ABSENT') mode = 'ifAbsent';
    else if (h.append_action === 'OVERWRITE_IF_EXISTS_OR_ADD' || h.append_action === 'OVERWRITE_IF_EXISTS') mode = 'overwrite';
    else if (h.append && h.append.value === false) mode = 'overwrite';
    return { name: key.toLowerCase(), value, mode };
  });
  return { add, remove: removeRaw.map((n) => String(n).toLowerCase()) };
}

function fractionPercent(p: Obj | undefined): number {
  if (!p) return 100;
  const num = Number(p.numerator ?? 0);
  const den = p.denominator === 'TEN_THOUSAND' ? 10_000 : p.denominator === 'MILLION' ? 1_000_000 : 100;
  return (num / den) * 100;
}

/**
 * Per-translation tables that let the virtual hosts of one RouteConfiguration share what is equal:
 * cluster names (each decoded string is its own copy: 10,000 routes to two clusters held 20,000
 * strings) and the match of a route that matches on the path alone (most routes: `prefix: "/"`).
 * Both are immutable, so sharing is invisible to readers.
 */
interface Shared { names: Map<string, string>; matches: Map<string, RouteMatch> }
const intern = (sh: Shared, s: string): string => { const had = sh.names.get(s); if (had !== undefined) return had; sh.names.set(s, s); return s; };

function compileMatch(ctx: FieldCtx, field: string, m: Obj | undefined, sh: Shared): RouteMatch {
  const r = compileMatchUnshared(ctx, field, m);
  if (r.headers !== NO_MATCHERS || r.query !== NO_MATCHERS || r.kind === 'regex') return r;
  const key = `${r.kind}\0${r.caseSensitive ? 1 : 0}\0${r.value}`;
  const had = sh.matches.get(key);
  if (had) return had;
  sh.matches.set(key, r);
  return r;
}

function compileMatchUnshared(ctx: FieldCtx, field: string, m: Obj | undefined): RouteMatch {
  if (!m) ctx.fail(field, 'match is required');
  const caseSensitive = wrapped<boolean>(m.case_sensitive, true);
  // Most routes match on the path alone: they share one empty matcher list (10,000 routes, ~0.6 MB).
  const headers = m.headers?.length ? m.headers.map((h: Obj, i: number) => compileHeaderMatcher(ctx, `${field}.headers[${i}]`, h)) : NO_MATCHERS;
  const query = m.query_parameters?.length ? m.query_parameters.map((q: Obj, i: number) => compileQueryMatcher(ctx, `${field}.query_parameters[${i}]`, q)) : NO_MATCHERS;
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase());
  if (typeof m.prefix === 'string') return { kind: 'prefix', value: norm(m.prefix), caseSensitive, headers, query };
  if (typeof m.path_separated_prefix === 'string') return { kind: 'prefix', value: norm(m.path_separated_prefix), caseSensitive, headers, query };
  if (typeof m.path === 'string') {
    if (m.path !== '' && !m.path.startsWith('/')) ctx.fail(`${field}.path`, `must start with "/", got ${JSON.stringify(m.path)}`);
    return { kind: 'path', value: norm(m.path), caseSensitive, headers, query };
  }
  if (m.safe_regex) {
    try {
      const regex = compileFullMatch(m.safe_regex.regex, !caseSensitive);
      return { kind: 'regex', value: m.safe_regex.regex, regex, caseSensitive, headers, query };
    } catch (e) {
      if (isSluiceError(e)) ctx.fail(`${field}.safe_regex.regex`, e.message);
      throw e;
    }
  }
  if (m.connect_matcher) ctx.fail(`${field}.connect_matcher`, 'CONNECT routes are not supported');
  ctx.fail(field, 'route match needs one of prefix, path, safe_regex, path_separated_prefix');
}

function compileRetry(ctx: FieldCtx, field: string, r: Obj | undefined): RetryPolicy | undefined {
  if (!r) return undefined;
  const retryOn: string[] = [];
  for (const part of String(r.retry_on ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!KNOWN_RETRY_ON.has(part)) ctx.fail(`${field}.retry_on`, `unknown retry condition ${JSON.stringify(part)}`);
    if (!retryOn.includes(part)) retryOn.push(part);
  }
  const numRetries = wrapped<number>(r.num_retries, 1);
  if (numRetries > 100) ctx.fail(`${field}.num_retries`, `must be ≤ 100, got ${numRetries}`);
  let previousHosts = false;
  for (const [i, p] of (r.retry_host_predicate ?? []).entries()) {
    if (p.name === 'envoy.retry_host_predicates.previous_hosts') previousHosts = true;
    else ctx.fail(`${field}.retry_host_predicate[${i}].name`, `unsupported predicate ${JSON.stringify(p.name)}`);
  }
  return {
    retryOn,
    numRetries,
    perTryTimeoutMs: durationMs(r.per_try_timeout, 0),
    previousHosts,
    retriableStatusCodes: (r.retriable_status_codes ?? []).map(Number),
    backoffBaseMs: durationMs(r.retry_back_off?.base_interval, 25),
    backoffMaxMs: durationMs(r.retry_back_off?.max_interval, durationMs(r.retry_back_off?.base_interval, 25) * 10),
  };
}

function compileFault(ctx: FieldCtx, field: string, perFilter: Obj | undefined): FaultConfig | undefined {
  const f = perFilter?.['envoy.filters.http.fault'];
  if (!f) return undefined;
  if (f['@type'] && f['@type'] !== TypeUrl.Fault) ctx.fail(`${field}["envoy.filters.http.fault"]`, `expected ${TypeUrl.Fault}, got ${f['@type']}`);
  const abortStatus = f.abort?.http_status !== undefined ? Number(f.abort.http_status) : undefined;
  if (abortStatus !== undefined && (abortStatus < 200 || abortStatus > 599)) ctx.fail(`${field}.abort.http_status`, `must be 200–599, got ${abortStatus}`);
  return {
    abortStatus,
    abortPercent: f.abort ? fractionPercent(f.abort.percentage) : 0,
    delayMs: f.delay?.fixed_delay ? durationMs(f.delay.fixed_delay, 0) : undefined,
    delayPercent: f.delay ? fractionPercent(f.delay.percentage) : 0,
  };
}

function compileAction(ctx: FieldCtx, field: string, r: Obj, vhRetry: Obj | undefined, d: TranslateDefaults, sh: Shared): RouteAction {
  if (r.route) {
    const a = r.route;
    const f = `${field}.route`;
    let clusters: WeightedCluster[];
    if (typeof a.cluster === 'string' && a.cluster !== '') clusters = [{ name: intern(sh, a.cluster), weight: 1 }];
    else if (a.weighted_clusters) {
      const list: Obj[] = a.weighted_clusters.clusters ?? [];
      if (list.length === 0) ctx.fail(`${f}.weighted_clusters.clusters`, 'must list at least one cluster');
      clusters = list.map((c, i) => {
        if (typeof c.name !== 'string' || c.name === '') ctx.fail(`${f}.weighted_clusters.clusters[${i}].name`, 'cluster name is required');
        const wc: WeightedCluster = { name: intern(sh, c.name), weight: wrapped<number>(c.weight, 0) };
        const cf = `${f}.weighted_clusters.clusters[${i}]`;
        const req = headerMutation(ctx, cf, c, 'request');
        const res = headerMutation(ctx, cf, c, 'response');
        if (req !== EMPTY_MUTATION) wc.requestHeaders = req;
        if (res !== EMPTY_MUTATION) wc.responseHeaders = res;
        return wc;
      });
      if (clusters.every((c) => c.weight === 0)) ctx.fail(`${f}.weighted_clusters`, 'all weights are 0');
    } else if (a.cluster_header) ctx.fail(`${f}.cluster_header`, 'cluster_header is not supported; name the cluster');
    else ctx.fail(`${f}.cluster`, 'route action needs cluster or weighted_clusters');
    const hashHeader = (a.hash_policy ?? []).find((h: Obj) => h.header?.header_name)?.header.header_name?.toLowerCase();
    let upgrades: ReadonlySet<string> = DEFAULT_UPGRADES;
    if (a.upgrade_configs?.length) upgrades = new Set<string>(['websocket']);
    for (const u of a.upgrade_configs ?? []) {
      if (wrapped<boolean>(u.enabled, true)) (upgrades as Set<string>).add(String(u.upgrade_type).toLowerCase());
      else (upgrades as Set<string>).delete(String(u.upgrade_type).toLowerCase());
    }
    return {
      kind: 'route',
      clusters,
      totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
      prefixRewrite: typeof a.prefix_rewrite === 'string' && a.prefix_rewrite !== '' ? a.prefix_rewrite : undefined,
      hostRewrite: typeof a.host_rewrite_literal === 'string' && a.host_rewrite_literal !== '' ? a.host_rewrite_literal : undefined,
      timeoutMs: durationMs(a.timeout, d.routeTimeoutMs),
      idleTimeoutMs: a.idle_timeout ? durationMs(a.idle_timeout, 0) : undefined,
      retry: compileRetry(ctx, `${f}.retry_policy`, a.retry_policy ?? vhRetry),
      mirrors: !a.request_mirror_policies?.length ? NO_MIRRORS : a.request_mirror_policies.map((m: Obj, i: number) => {
        if (typeof m.cluster !== 'string' || !m.cluster) ctx.fail(`${f}.request_mirror_policies[${i}].cluster`, 'cluster is required');
        return { cluster: m.cluster, percent: fractionPercent(m.runtime_fraction?.default_value) };
      }),
      hashHeader,
      upgrades,
    };
  }
  if (r.redirect) {
    const x = r.redirect;
    const status = x.response_code === undefined ? 301 : REDIRECT_CODES[x.response_code];
    if (!status) ctx.fail(`${field}.redirect.response_code`, `unknown code ${JSON.stringify(x.response_code)}`);
    const red: RedirectAction = {
      kind: 'redirect', status,
      scheme: x.https_redirect ? 'https' : x.scheme_redirect || undefined,
      host: x.host_redirect || undefined,
      port: x.port_redirect ? Number(x.port_redirect) : undefined,
      path: x.path_redirect || undefined,
      prefixRewrite: x.prefix_rewrite || undefined,
      stripQuery: x.strip_query === true,
    };
    return red;
  }
  if (r.direct_response) {
    const status = Number(r.direct_response.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) ctx.fail(`${field}.direct_response.status`, `must be 200–599, got ${r.direct_response.status}`);
    const b = r.direct_response.body;
    const body = b?.inline_string ?? (b?.inline_bytes ? Buffer.from(b.inline_bytes, 'base64').toString() : undefined);
    return { kind: 'direct', status, body };
  }
  ctx.fail(field, 'route needs one of route, redirect, direct_response');
}

/**
 * How a virtual host domain is matched (Envoy): `*` any host, `*suffix`, `prefix*`, or exactly;
 * `key` is the lower-cased domain without its wildcard. A wildcard anywhere else is invalid.
 */
export type DomainMatch = { kind: 'any' | 'suffix' | 'prefix' | 'exact'; key: string } | { kind: 'invalid'; why: string };
export function domainMatch(domain: string): DomainMatch {
  const dom = domain.toLowerCase();
  if (dom === '*') return { kind: 'any', key: '' };
  if (dom.startsWith('*')) return { kind: 'suffix', key: dom.slice(1) };
  if (dom.endsWith('*')) return { kind: 'prefix', key: dom.slice(0, -1) };
  if (dom.includes('*')) return { kind: 'invalid', why: `wildcard only allowed at the start or end of ${JSON.stringify(domain)}` };
  return { kind: 'exact', key: dom };
}

function addDomain(ctx: FieldCtx, field: string, d: string, vh: VirtualHost, exact: Map<string, VirtualHost>, suffixes: [string, VirtualHost][], prefixes: [string, VirtualHost][], seen: Set<string>): VirtualHost | undefined {
  const dom = d.toLowerCase();
  if (seen.has(dom)) ctx.fail(field, `domain ${JSON.stringify(d)} appears in more than one virtual host`);
  seen.add(dom);
  const m = domainMatch(d);
  if (m.kind === 'invalid') return ctx.fail(field, m.why);
  if (m.kind === 'any') return vh;
  if (m.kind === 'suffix') suffixes.push([m.key, vh]);
  else if (m.kind === 'prefix') prefixes.push([m.key, vh]);
  else exact.set(m.key, vh);
  return undefined;
}

/**
 * A translated route. A route without a name is called `<virtual host>/<index>` (in access logs);
 * that name is made when read rather than stored (10,000 routes: 10,000 strings fewer).
 */
class CompiledRoute implements Route {
  constructor(
    private readonly ownName: string | undefined,
    private readonly vhName: string,
    private readonly index: number,
    readonly match: RouteMatch,
    readonly action: RouteAction,
    readonly requestHeaders: HeaderMutation,
    readonly responseHeaders: HeaderMutation,
    readonly fault: FaultConfig | undefined,
  ) {}
  get name(): string { return this.ownName ?? `${this.vhName}/${this.index}`; }
}

/** A RouteTable's domain index: exact, `*.suffix` and `prefix*` (longest first) and `*`. */
export type DomainIndex = Pick<RouteTable, 'exact' | 'suffixes' | 'prefixes' | 'any' | 'virtualHosts'>;

/** Indexes virtual hosts by their domains; a domain in two virtual hosts fails naming the field. */
export function indexVirtualHosts(ctx: FieldCtx, hosts: readonly { vh: VirtualHost; field: string }[]): DomainIndex {
  const exact = new Map<string, VirtualHost>();
  const suffixes: [string, VirtualHost][] = [];
  const prefixes: [string, VirtualHost][] = [];
  const seen = new Set<string>();
  let any: VirtualHost | undefined;
  for (const { vh, field } of hosts) {
    for (const [di, dom] of vh.domains.entries()) {
      const star = addDomain(ctx, `${field}.domains[${di}]`, dom, vh, exact, suffixes, prefixes, seen);
      if (star) any = star;
    }
  }
  suffixes.sort((a, b) => b[0].length - a[0].length);
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return { exact, suffixes, prefixes, any, virtualHosts: hosts.map((h) => h.vh) };
}

/** Compiles one virtual host (`field` names it in errors). */
export function compileVirtualHost(ctx: FieldCtx, vf: string, v: Obj, index: number, d: TranslateDefaults, sh: Shared = { names: new Map(), matches: new Map() }): VirtualHost {
  if (!Array.isArray(v.domains) || v.domains.length === 0) ctx.fail(`${vf}.domains`, 'at least one domain is required');
  const vhName: string = v.name ?? String(index);
  const routes: Route[] = ((v.routes ?? []) as Obj[]).map((r, ri) => {
    const rf = `${vf}.routes[${ri}]`;
    return new CompiledRoute(
      typeof r.name === 'string' ? r.name : undefined, vhName, ri,
      compileMatch(ctx, `${rf}.match`, r.match, sh),
      compileAction(ctx, rf, r, v.retry_policy, d, sh),
      headerMutation(ctx, rf, r, 'request'),
      headerMutation(ctx, rf, r, 'response'),
      compileFault(ctx, `${rf}.typed_per_filter_config`, r.typed_per_filter_config) ?? compileFault(ctx, `${vf}.typed_per_filter_config`, v.typed_per_filter_config),
    );
  });
  return { name: vhName, domains: v.domains, routes, requestHeaders: headerMutation(ctx, vf, v, 'request'), responseHeaders: headerMutation(ctx, vf, v, 'response') };
}

/** Translates a RouteConfiguration; `name` is used in errors when the resource lacks one. */
export function translateRouteConfiguration(rc: Obj, d: TranslateDefaults, name = rc.name ?? ''): RouteTable {
  const ctx: FieldCtx = new FieldCtx('RouteConfiguration', name);
  const sh: Shared = { names: new Map(), matches: new Map() };
  const hosts = ((rc.virtual_hosts ?? []) as Obj[]).map((v, vi) => {
    const field = `virtual_hosts[${vi}]`;
    return { vh: compileVirtualHost(ctx, field, v, vi, d, sh), field };
  });
  return { name, ...indexVirtualHosts(ctx, hosts), requestHeaders: headerMutation(ctx, '', rc, 'request'), responseHeaders: headerMutation(ctx, '', rc, 'response') };
}
