/**
 * Knative Ingress (KIngress) rules → virtual hosts. Each path becomes a route: prefix match,
 * header matches (Knative's tag routing uses them), weighted clusters by split percent (one
 * cluster per revision, `outbound|PORT||REV.NS.svc.DOMAIN`), appendHeaders as request headers,
 * rewriteHost as a host rewrite. No retries and no timeout unless configured (lessons table).
 */
import type { HTTPIngressPath, IngressRule, KIngress } from '../../api/types/ingress.ts';
import type { Recording, TranslateContext } from './context.ts';
import { useDestination } from './destination-rule.ts';
import { domainsFor, serviceHost } from './hosts.ts';
import { headerMatcher, headerValues } from './http-match.ts';
import { duration } from './istio-values.ts';
import type { RouteTableBuilder } from './route-table.ts';

function pathRoute(ctx: TranslateContext, ing: KIngress, p: HTTPIngressPath, field: string): object {
  const ns = ing.metadata.namespace ?? '';
  const match: Record<string, unknown> = { prefix: p.path && p.path !== '' ? p.path : '/' };
  const headers = Object.keys(p.headers ?? {}).sort().map((h) => headerMatcher(h, { exact: p.headers![h].exact }));
  if (headers.length) match.headers = headers;
  const clusters: { name: string; weight: { value: number }; request_headers_to_add?: object[] }[] = [];
  const hash: object[] = [];
  (p.splits ?? []).forEach((s, k) => {
    if (!(s.percent > 0)) return;
    const d = useDestination(ctx, serviceHost(s.serviceName, s.serviceNamespace || ns, ctx.opts.clusterDomain), s.servicePort ?? ctx.opts.defaultServicePort, undefined, ns,
      (msg) => ctx.problems.add(ing, `${field}.splits[${k}]`, msg, 'error'));
    if (!d) return;
    const add = headerValues(s.appendHeaders, 'OVERWRITE_IF_EXISTS_OR_ADD');
    clusters.push({ name: d.cluster, weight: { value: s.percent }, ...(add.length ? { request_headers_to_add: add } : {}) });
    for (const h of d.hashPolicy ?? []) if (!hash.some((x) => JSON.stringify(x) === JSON.stringify(h))) hash.push(h);
  });
  const pathHeaders = headerValues(p.appendHeaders, 'OVERWRITE_IF_EXISTS_OR_ADD');
  if (clusters.length === 0) {
    ctx.problems.add(ing, `${field}.splits`, 'no split with a positive percent: requests on this path are answered 503', 'error');
    return { match, direct_response: { status: 503, body: { inline_string: 'no revision to route to' } } };
  }
  const action: Record<string, unknown> = clusters.length === 1
    ? { cluster: clusters[0].name }
    : { weighted_clusters: { clusters } };
  const route: Record<string, unknown> = { match, route: action };
  let reqHeaders = pathHeaders;
  if (clusters.length === 1 && clusters[0].request_headers_to_add) reqHeaders = [...clusters[0].request_headers_to_add, ...pathHeaders];
  if (p.rewriteHost) action.host_rewrite_literal = p.rewriteHost;
  action.timeout = duration(ctx.opts.routeTimeoutMs);
  if (hash.length) action.hash_policy = hash;
  if (reqHeaders.length) route.request_headers_to_add = reqHeaders;
  return route;
}

interface Fragment { byHost: unknown; wildcard: unknown; routes: object[]; recording: Recording }
// Routes of one rule depend only on the (immutable) Ingress object, the DestinationRule indexes
// and the options; they are kept per Ingress object, so a change to one Route re-translates one
// Ingress, not all of them. Cached route objects are shared and never mutated.
const fragments = new WeakMap<KIngress, Map<string, Fragment>>();

function cachedRoutes(ctx: TranslateContext, ing: KIngress, rule: number, build: () => object[]): object[] {
  let m = fragments.get(ing);
  if (!m) fragments.set(ing, (m = new Map()));
  const key = `${rule}|${ctx.optsKey}`;
  const f = m.get(key);
  if (f && f.byHost === ctx.state.destinationRulesByHost && f.wildcard === ctx.state.wildcardDestinationRules) {
    ctx.replay(f.recording);
    return f.routes;
  }
  const { value, recording } = ctx.record(build);
  m.set(key, { byHost: ctx.state.destinationRulesByHost, wildcard: ctx.state.wildcardDestinationRules, routes: value, recording });
  return value;
}

const REQUIRE_TLS: Record<string, unknown> = Object.freeze({ require_tls: 'ALL' });
const NO_EXTRA: Record<string, unknown> = Object.freeze({});
const shapes = new WeakMap<KIngress, { name: string; domains: string[] }[]>();

function ruleShape(ing: KIngress, rule: number, hosts: readonly string[]): { name: string; domains: string[] } {
  let list = shapes.get(ing);
  if (!list) shapes.set(ing, (list = []));
  return (list[rule] ??= { name: `${ing.metadata.namespace}/${ing.metadata.name}#${rule}`, domains: hosts.flatMap(domainsFor) });
}

/**
 * Adds the virtual hosts of `ing`'s rules accepted by `accept` to `table`. `requireTls` marks
 * them as redirect-to-HTTPS (Knative httpOption Redirected, on the gateway's HTTP port);
 * `hostFilter` keeps only the hosts a mesh scope may see.
 */
export function addIngressVirtualHosts(ctx: TranslateContext, ing: KIngress, table: RouteTableBuilder, accept: (r: IngressRule) => boolean,
  requireTls = false, hostFilter?: (host: string) => boolean): void {
  ctx.stats.ingressesVisited++;
  (ing.spec?.rules ?? []).forEach((rule, i) => {
    if (!accept(rule)) return;
    const field = `spec.rules[${i}]`;
    if (!rule.hosts?.length) { ctx.problems.add(ing, `${field}.hosts`, 'a rule needs at least one host', 'error'); return; }
    if (!rule.http?.paths?.length) { ctx.problems.add(ing, `${field}.http.paths`, 'a rule needs at least one path', 'error'); return; }
    const hosts = hostFilter ? rule.hosts.filter((h) => hostFilter(h.toLowerCase())) : rule.hosts;
    if (hosts.length === 0) return;
    const routes = () => cachedRoutes(ctx, ing, i, () => rule.http.paths.map((p, j) => pathRoute(ctx, ing, p, `${field}.http.paths[${j}]`)));
    // Unfiltered (the gateway: every public Ingress on every translation), the rule's domains and
    // virtual host name are kept with the Ingress object: the same strings each time, no rebuild.
    const shape = hostFilter ? undefined : ruleShape(ing, i, hosts);
    const domains = shape ? shape.domains : hosts.flatMap(domainsFor);
    const name = shape ? shape.name : `${ing.metadata.namespace}/${ing.metadata.name}#${i}`;
    table.add(name, domains, routes, ing, `${field}.hosts`, requireTls ? REQUIRE_TLS : NO_EXTRA);
  });
}

/** Hosts of the ingress's TLS entries, with the SDS secret each uses (`secretNamespace/secretName`). */
export function ingressTls(ing: KIngress): { hosts: string[]; secret: string; index: number }[] {
  return (ing.spec?.tls ?? []).map((t, index) => ({ hosts: t.hosts ?? [], secret: `${t.secretNamespace || ing.metadata.namespace}/${t.secretName}`, index }));
}
