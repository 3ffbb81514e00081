/**
 * One VirtualService HTTPRoute → Envoy routes (one per match condition, in order, as Istio does).
 * match uri/headers/withoutHeaders/queryParams/method/authority/scheme/ignoreUriCase; route
 * destinations with weights and subsets; rewrite; redirect; directResponse; timeout; retries
 * (only when asked); headers; fault; mirror(s). Fields sluice does not translate are reported.
 */
import type { HTTPMatchRequest, HTTPRoute, VirtualService } from '../../api/types/istio.ts';
import type { TranslateContext } from './context.ts';
import { useDestination } from './destination-rule.ts';
import { revisionHeaders } from './revision-headers.ts';
import { qualifyHost } from './hosts.ts';
import { headerMatcher, headerOperations, mergeHeaderFields, queryMatcher } from './http-match.ts';
import { duration, fractionalPercent, parseDurationMs } from './istio-values.ts';
import { TypeUrl } from '../../xds/protos.ts';
import { FAULT_FILTER } from './listeners.ts';

/** Where the route is being built: a gateway (`ns/name`) or the mesh, seen from a namespace. */
export interface RouteScope { gateway: string | 'mesh'; fromNamespace: string }

const REDIRECT_CODES: Record<number, string> = { 301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' };
/** Istio's retryOn when a route asks for retries without saying on what. */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
const GRPC_CODES: Record<string, number> = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16 };

function envoyMatch(ctx: TranslateContext, vs: VirtualService, m: HTTPMatchRequest | undefined, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const uri = m?.uri;
  if (uri?.exact !== undefined) out.path = uri.exact;
  else if (uri?.regex !== undefined) out.safe_regex = { regex: uri.regex };
  else out.prefix = uri?.prefix ?? '/';
  if (m?.ignoreUriCase) out.case_sensitive = { value: false };
  const headers: object[] = [];
  for (const k of Object.keys(m?.headers ?? {}).sort()) headers.push(headerMatcher(k, m!.headers![k]));
  for (const k of Object.keys(m?.withoutHeaders ?? {}).sort()) headers.push(headerMatcher(k, m!.withoutHeaders![k], true));
  if (m?.method) headers.push(headerMatcher(':method', m.method));
  if (m?.authority) headers.push(headerMatcher(':authority', m.authority));
  if (m?.scheme) headers.push(headerMatcher(':scheme', m.scheme));
  if (headers.length) out.headers = headers;
  const qp = Object.keys(m?.queryParams ?? {}).sort().map((k) => queryMatcher(k, m!.queryParams![k]));
  if (qp.length) out.query_parameters = qp;
  if (m?.port !== undefined) ctx.problems.unsupported(vs, `${field}.port`, 'match on port');
  if (m?.sourceLabels) ctx.problems.unsupported(vs, `${field}.sourceLabels`, 'match on sourceLabels (the mesh proxy routes per namespace)');
  if (m?.statPrefix) ctx.problems.unsupported(vs, `${field}.statPrefix`);
  return out;
}

/** Whether a match applies in this scope (match-level gateways and sourceNamespace are static per route table). */
function matchApplies(m: HTTPMatchRequest, vs: VirtualService, scope: RouteScope): boolean {
  if (m.gateways?.length) {
    const ns = vs.metadata.namespace ?? '';
    const keys = m.gateways.map((g) => (g === 'mesh' ? 'mesh' : g.includes('/') ? g : `${ns}/${g}`));
    if (!keys.includes(scope.gateway)) return false;
  }
  if (m.sourceNamespace !== undefined && (scope.gateway !== 'mesh' || m.sourceNamespace !== scope.fromNamespace)) return false;
  return true;
}

function retryPolicy(ctx: TranslateContext, vs: VirtualService, r: NonNullable<HTTPRoute['retries']>, field: string): Record<string, unknown> | undefined {
  if (!(r.attempts > 0)) return undefined;
  const on: string[] = [];
  const codes: number[] = [];
  for (const c of (r.retryOn ?? DEFAULT_RETRY_ON).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (/^\d{3}$/.test(c)) codes.push(Number(c)); else if (!on.includes(c)) on.push(c);
  }
  if (codes.length && !on.includes('retriable-status-codes')) on.push('retriable-status-codes');
  const p: Record<string, unknown> = { retry_on: on.join(','), num_retries: { value: r.attempts } };
  if (codes.length) p.retriable_status_codes = codes;
  if (r.perTryTimeout !== undefined) {
    const t = parseDurationMs(r.perTryTimeout);
    if (t === undefined) ctx.problems.add(vs, `${field}.perTryTimeout`, `"${r.perTryTimeout}" is not a duration`, 'error'); else p.per_try_timeout = duration(t);
  }
  if (r.retryIgnorePreviousHosts !== false) {
    // Name-only predicate: the PreviousHosts proto is empty, so the name says everything.
    p.retry_host_predicate = [{ name: 'envoy.retry_host_predicates.previous_hosts' }];
    p.host_selection_retry_max_attempts = 5;
  }
  if (r.backoff !== undefined) {
    const b = parseDurationMs(r.backoff);
    if (b === undefined || b <= 0) ctx.problems.add(vs, `${field}.backoff`, `"${r.backoff}" is not a positive duration`, 'error'); else p.retry_back_off = { base_interval: duration(b) };
  }
  if (r.retryRemoteLocalities) ctx.problems.unsupported(vs, `${field}.retryRemoteLocalities`);
  return p;
}

function faultConfig(ctx: TranslateContext, vs: VirtualService, f: NonNullable<HTTPRoute['fault']>, field: string): object | undefined {
  const out: Record<string, unknown> = { '@type': TypeUrl.Fault };
  if (f.delay) {
    if (f.delay.exponentialDelay) ctx.problems.unsupported(vs, `${field}.delay.exponentialDelay`);
    const d = parseDurationMs(f.delay.fixedDelay);
    if (f.delay.fixedDelay !== undefined && d === undefined) ctx.problems.add(vs, `${field}.delay.fixedDelay`, `"${f.delay.fixedDelay}" is not a duration`, 'error');
    if (d !== undefined) out.delay = { fixed_delay: duration(d), percentage: fractionalPercent(f.delay.percentage?.value ?? f.delay.percent ?? 100) };
  }
  if (f.abort) {
    const pct = fractionalPercent(f.abort.percentage?.value ?? 100);
    if (f.abort.httpStatus !== undefined) out.abort = { http_status: f.abort.httpStatus, percentage: pct };
    else if (f.abort.grpcStatus !== undefined) {
      const code = GRPC_CODES[f.abort.grpcStatus.toUpperCase()] ?? (/^\d+$/.test(f.abort.grpcStatus) ? Number(f.abort.grpcStatus) : undefined);
      if (code === undefined) ctx.problems.add(vs, `${field}.abort.grpcStatus`, `"${f.abort.grpcStatus}" is not a gRPC status name`, 'error');
      else out.abort = { grpc_status: code, percentage: pct };
    } else if (f.abort.http2Error !== undefined) ctx.problems.unsupported(vs, `${field}.abort.http2Error`);
  }
  return out.delay || out.abort ? out : undefined;
}

/** Translates `route` (at `field`) into Envoy routes for `scope`. */
export function translateHttpRoute(ctx: TranslateContext, vs: VirtualService, route: HTTPRoute, field: string, scope: RouteScope): object[] {
  const ns = vs.metadata.namespace ?? '';
  const p = ctx.problems;
  if (route.delegate) { p.unsupported(vs, `${field}.delegate`, 'delegate (VirtualService chaining)'); return []; }
  if (route.corsPolicy) p.unsupported(vs, `${field}.corsPolicy`);
  const matches = route.match?.length ? route.match.map((m, i) => ({ m, i })).filter(({ m }) => matchApplies(m, vs, scope)) : [{ m: undefined, i: -1 }];
  if (matches.length === 0) return [];
  const fqdnOf = (h: string) => qualifyHost(h, ns, ctx.opts.clusterDomain, ctx.namespaceSet);

  // The action (the same for every match of this HTTPRoute).
  let action: Record<string, unknown> = {};
  let actionKind: 'route' | 'redirect' | 'direct_response' = 'route';
  if (route.redirect) {
    actionKind = 'redirect';
    const r = route.redirect;
    if (r.uri !== undefined) action.path_redirect = r.uri;
    if (r.authority !== undefined) action.host_redirect = r.authority;
    if (r.port !== undefined) action.port_redirect = r.port;
    if (r.scheme !== undefined) action.scheme_redirect = r.scheme;
    if (r.derivePort === 'FROM_REQUEST_PORT') p.unsupported(vs, `${field}.redirect.derivePort`, 'derivePort FROM_REQUEST_PORT');
    const code = r.redirectCode ?? 301;
    if (!REDIRECT_CODES[code]) p.add(vs, `${field}.redirect.redirectCode`, `redirect code ${code} is not one of 301, 302, 303, 307, 308; 301 is used`, 'error');
    action.response_code = REDIRECT_CODES[code] ?? 'MOVED_PERMANENTLY';
    if (route.route?.length) p.add(vs, `${field}.route`, 'a route with redirect cannot also have route destinations; the redirect is applied', 'error');
  } else if (route.directResponse) {
    actionKind = 'direct_response';
    const b = route.directResponse.body;
    action = { status: route.directResponse.status, ...(b?.string !== undefined ? { body: { inline_string: b.string } } : b?.bytes !== undefined ? { body: { inline_bytes: b.bytes } } : {}) };
  } else {
    // One destination takes everything; several without any weight share evenly; otherwise
    // destinations without a (positive) weight get none, as in Istio.
    const all = route.route ?? [];
    const unweighted = all.length > 1 && all.every((d) => d.weight === undefined);
    const weightOf = (d: (typeof all)[number]) => (all.length === 1 ? 100 : unweighted ? 1 : d.weight ?? 0);
    const dests = all.filter((d) => weightOf(d) > 0);
    const clusters: Record<string, unknown>[] = [];
    const hash: object[] = [];
    dests.forEach((d) => {
      const k = route.route!.indexOf(d);
      const port = d.destination.port?.number ?? ctx.opts.defaultServicePort;
      const fqdn = fqdnOf(d.destination.host);
      const use = useDestination(ctx, fqdn, port, d.destination.subset, scope.fromNamespace,
        (msg) => p.add(vs, `${field}.route[${k}].destination.subset`, msg, 'error'));
      if (!use) return;
      const ops = mergeHeaderFields(headerOperations(d.headers?.request, 'request'), headerOperations(d.headers?.response, 'response'));
      // A revision's service may be served by the activator, which needs to know the revision.
      const rev = revisionHeaders(ctx, fqdn);
      if (rev.length) ops.request_headers_to_add = [...rev, ...((ops.request_headers_to_add as object[] | undefined) ?? [])];
      clusters.push({ name: use.cluster, weight: { value: weightOf(d) }, ...ops });
      for (const h of use.hashPolicy ?? []) if (!hash.some((x) => JSON.stringify(x) === JSON.stringify(h))) hash.push(h);
    });
    if (clusters.length === 0) {
      if (!route.route?.length) p.add(vs, `${field}.route`, 'an http route needs route destinations, a redirect or a directResponse', 'error');
      actionKind = 'direct_response';
      action = { status: 503, body: { inline_string: 'no destination to route to' } };
    } else {
      const single = clusters.length === 1 && Object.keys(clusters[0]).length === 2;
      action = single ? { cluster: clusters[0].name } : { weighted_clusters: { clusters } };
      const rw = route.rewrite;
      if (rw?.uri !== undefined && rw.uriRegexRewrite) p.add(vs, `${field}.rewrite`, 'rewrite.uri and rewrite.uriRegexRewrite are exclusive; uri is applied', 'error');
      if (rw?.uri !== undefined) action.prefix_rewrite = rw.uri;
      else if (rw?.uriRegexRewrite) action.regex_rewrite = { pattern: { regex: rw.uriRegexRewrite.match }, substitution: rw.uriRegexRewrite.rewrite };
      if (rw?.authority !== undefined) action.host_rewrite_literal = rw.authority;
      const t = route.timeout !== undefined ? parseDurationMs(route.timeout) : ctx.opts.routeTimeoutMs;
      if (t === undefined) p.add(vs, `${field}.timeout`, `"${route.timeout}" is not a duration (use e.g. "10s")`, 'error');
      action.timeout = duration(t ?? ctx.opts.routeTimeoutMs);
      if (route.retries) {
        const rp = retryPolicy(ctx, vs, route.retries, `${field}.retries`);
        if (rp) action.retry_policy = rp;
      }
      if (hash.length) action.hash_policy = hash;
      const mirrors: object[] = [];
      const mirrorOf = (dest: { host: string; subset?: string; port?: { number: number } }, pct: number | undefined, f: string) => {
        const use = useDestination(ctx, fqdnOf(dest.host), dest.port?.number ?? ctx.opts.defaultServicePort, dest.subset, scope.fromNamespace, (msg) => p.add(vs, f, msg, 'error'));
        if (use) mirrors.push({ cluster: use.cluster, runtime_fraction: { default_value: fractionalPercent(pct ?? 100) } });
      };
      if (route.mirror) mirrorOf(route.mirror, route.mirrorPercentage?.value, `${field}.mirror`);
      route.mirrors?.forEach((m, i) => mirrorOf(m.destination, m.percentage?.value, `${field}.mirrors[${i}]`));
      if (mirrors.length) action.request_mirror_policies = mirrors;
    }
  }
  const extra: Record<string, unknown> = mergeHeaderFields(headerOperations(route.headers?.request, 'request'), headerOperations(route.headers?.response, 'response'));
  if (route.fault) {
    const fc = faultConfig(ctx, vs, route.fault, `${field}.fault`);
    if (fc) extra.typed_per_filter_config = { [FAULT_FILTER]: fc };
  }
  return matches.map(({ m, i }) => ({
    ...(route.name || m?.name ? { name: [route.name, m?.name].filter(Boolean).join('.') } : {}),
    match: envoyMatch(ctx, vs, m, `${field}.match[${i}]`),
    [actionKind]: action,
    ...extra,
  }));
}
