/**
 * VirtualServices → virtual hosts, for the mesh (VirtualServices bound to `mesh`, seen from one
 * namespace's egress scope) and for a Gateway (bound by `ns/name`, hosts intersected with the
 * server's hosts). Each host gets one virtual host; its routes come from http[] in order.
 */
import type { VirtualService } from '../../api/types/istio.ts';
import type { TranslateContext } from './context.ts';
import { domainsFor, hostIntersection, parseServiceHost, qualifyHost, serviceDomains } from './hosts.ts';
import { translateHttpRoute, type RouteScope } from './http-route.ts';
import type { RouteTableBuilder } from './route-table.ts';
import { hostVisible, type EgressScope } from './sidecar-scope.ts';

const checked = new WeakMap<object, WeakSet<VirtualService>>();
/** Reports once per translation what the VirtualService has that sluice does not route. */
export function checkVirtualService(ctx: TranslateContext, vs: VirtualService): void {
  let set = checked.get(ctx.problems);
  if (!set) checked.set(ctx.problems, (set = new WeakSet()));
  if (set.has(vs)) return;
  set.add(vs);
  if (vs.spec?.tcp?.length) ctx.problems.unsupported(vs, 'spec.tcp', 'tcp routes (sluice proxies HTTP only)');
  if (vs.spec?.tls?.length) ctx.problems.unsupported(vs, 'spec.tls', 'tls (SNI passthrough) routes');
  if (!vs.spec?.hosts?.length) ctx.problems.add(vs, 'spec.hosts', 'a VirtualService needs at least one host', 'error');
}

function exportedTo(vs: VirtualService, ns: string): boolean {
  const exp = vs.spec?.exportTo;
  if (!exp || exp.length === 0) return true;
  return exp.some((e) => e === '*' || (e === '.' ? vs.metadata.namespace === ns : e === ns));
}

function routesFor(ctx: TranslateContext, vs: VirtualService, scope: RouteScope): () => object[] {
  let cached: object[] | undefined;
  return () => (cached ??= (vs.spec?.http ?? []).flatMap((r, i) => translateHttpRoute(ctx, vs, r, `spec.http[${i}]`, scope)));
}

/** Adds the mesh VirtualServices visible in `scope` (namespaces in `namespaces`) to `table`. */
export function addMeshVirtualServices(ctx: TranslateContext, scope: EgressScope, namespaces: readonly string[], table: RouteTableBuilder): void {
  const from = scope.namespace;
  for (const ns of namespaces) {
    for (const vs of ctx.state.meshVirtualServicesByNamespace.get(ns) ?? []) {
      ctx.stats.virtualServicesVisited++;
      if (!exportedTo(vs, from)) continue;
      const hosts = (vs.spec?.hosts ?? []).map((h) => qualifyHost(h, ns, ctx.opts.clusterDomain, ctx.namespaceSet)).filter((h) => hostVisible(scope, ns, h));
      if (hosts.length === 0) continue;
      checkVirtualService(ctx, vs);
      const routes = routesFor(ctx, vs, { gateway: 'mesh', fromNamespace: from });
      hosts.forEach((h) => {
        const svc = parseServiceHost(h, ctx.opts.clusterDomain);
        const domains = svc ? serviceDomains(svc.name, svc.namespace, ctx.opts.clusterDomain, from) : domainsFor(h);
        table.add(`${ns}/${vs.metadata.name}/${h}`, domains, routes, vs, 'spec.hosts');
      });
    }
  }
}

/** One server's hosts as a Gateway writes them: `host` or `ns/host` (`.` = the Gateway's namespace, `*` = any). */
export interface ServerHost { namespace: string; host: string }
export function parseServerHosts(hosts: readonly string[], gwNs: string): ServerHost[] {
  return hosts.map((h) => {
    const slash = h.indexOf('/');
    if (slash < 0) return { namespace: '*', host: h.toLowerCase() };
    const ns = h.slice(0, slash);
    return { namespace: ns === '.' ? gwNs : ns, host: h.slice(slash + 1).toLowerCase() };
  });
}

/**
 * Adds the VirtualServices bound to Gateway `gatewayKey` (`ns/name`) to `table`, each host
 * intersected with `serverHosts`. `extra` goes on every virtual host (e.g. require_tls).
 */
export function addGatewayVirtualServices(ctx: TranslateContext, gatewayKey: string, serverHosts: readonly ServerHost[], table: RouteTableBuilder, extra: Record<string, unknown> = {}): void {
  for (const vs of ctx.state.virtualServicesByGateway.get(gatewayKey) ?? []) {
    ctx.stats.virtualServicesVisited++;
    const ns = vs.metadata.namespace ?? '';
    checkVirtualService(ctx, vs);
    const routes = routesFor(ctx, vs, { gateway: gatewayKey, fromNamespace: ns });
    const seen = new Set<string>();
    for (const raw of vs.spec?.hosts ?? []) {
      const h = raw.includes('.') || raw === '*' ? raw.toLowerCase() : qualifyHost(raw, ns, ctx.opts.clusterDomain);
      for (const sh of serverHosts) {
        if (sh.namespace !== '*' && sh.namespace !== ns) continue;
        const host = hostIntersection(h, sh.host);
        if (!host || seen.has(host)) continue;
        seen.add(host);
        table.add(`${gatewayKey}/${ns}/${vs.metadata.name}/${host}`, domainsFor(host), routes, vs, 'spec.hosts', extra);
      }
    }
    if (seen.size === 0 && vs.spec?.hosts?.length) {
      ctx.problems.add(vs, 'spec.hosts', `none of the hosts matches a server host of Gateway ${gatewayKey}`);
    }
  }
}
