/**
 * ClusterLoadAssignments from Endpoints: ready addresses only, the port the cluster names (by
 * name or number, else the only one), subset clusters filtered by the labels of the pods behind
 * the addresses, localities from the pods' topology labels, weights from the pods' annotation.
 * A revision with no ready pod is sent to the activator when one is configured (issue 6), and
 * so is one whose Endpoints carry `sluice.dev/activator-mode: proxy` (the autoscaler's
 * Knative SKS proxy mode: too little spare capacity for the target burst).
 */
import type { EndpointAddress, Endpoints, EndpointSubset, Pod } from '../../api/types/core.ts';
import { endpointsActivatorMode } from '../../autoscaler/activator-mode.ts';
import { canonicalJson } from './resource-hash.ts';
import { findDestinationRule } from './destination-rule.ts';
import { TranslateContext } from './context.ts';
import { attachMeshSecurity, endpointTlsMetadata, isCallerVariant, meshInboundPort, meshSecurityOf, resolveMeshSecurity, type MeshSecuritySource } from './mesh-security.ts';
import { parseClusterName, parseServiceHost } from './hosts.ts';
import { PodAnnotations, REGION_LABEL, resolveOptions, ZONE_LABEL, type MeshState, type ProxyInfo, type TranslateOptions } from './types.ts';

interface Ep { ip: string; port: number; weight: number; region: string; zone: string; metadata?: object }

function portOf(subset: EndpointSubset, want: string): number | undefined {
  const ports = subset.ports ?? [];
  if (ports.length === 0) return undefined;
  const byName = ports.find((p) => p.name === want);
  if (byName) return byName.port;
  const byNum = ports.find((p) => String(p.port) === want);
  if (byNum) return byNum.port;
  return ports[0].port;
}

function labelsMatch(labels: Record<string, string> | undefined, sel: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel)) if (labels?.[k] !== v) return false;
  return true;
}

/** The load assignment for one cluster. `subsetLabels` selects pods for a subset cluster. */
export function buildLoadAssignment(ctx: TranslateContext, clusterName: string, subsetLabels?: Record<string, string>): object {
  const names = clusterNames(clusterName, ctx.opts.clusterDomain);
  const parsed = names.parsed;
  if (parsed.direction !== 'outbound') return { cluster_name: clusterName, endpoints: [] };
  const svc = names.svc;
  const eps: Ep[] = [];
  let ep: Endpoints | undefined;
  if (svc) {
    ep = ctx.state.endpoints.get(names.svcKey);
    if (ep) ctx.stats.endpointsVisited++;
  }
  // A cached assignment is valid while the Endpoints object, the pods behind its addresses and
  // the activator fallback are the same objects/values as when it was built.
  const act = ctx.state.activator;
  const actKey = act && svc && ctx.state.revisionBackends.has(names.svcKey) ? `${act.address}:${act.port}` : '';
  let podRefs: (Pod | undefined)[] | undefined;
  let perEp: Map<string, CachedCla> | undefined;
  let secKey = '';
  const key = subsetLabels ? `${clusterName}|${canonicalJson(subsetLabels)}` : names.plainKey;
  if (ep) {
    podRefs = [];
    for (const subset of ep.subsets ?? []) for (const a of subset.addresses ?? []) podRefs.push(podOf(ctx, a, svc!.namespace));
    perEp = claCache.get(ep);
    if (!perEp) claCache.set(ep, (perEp = new Map()));
    secKey = meshKey(ctx, podRefs);
    const hit = perEp.get(key);
    if (hit && hit.act === actKey && hit.sec === secKey && hit.pods.length === podRefs.length && hit.pods.every((p, i) => p === podRefs![i])) return hit.cla;
  }
  for (const subset of ep?.subsets ?? []) {
    const port = portOf(subset, parsed.port);
    if (port === undefined) continue;
    for (const a of subset.addresses ?? []) {
      const pod = podOf(ctx, a, svc!.namespace);
      if (subsetLabels && !labelsMatch(pod?.metadata.labels, subsetLabels)) continue;
      const w = Number(pod?.metadata.annotations?.[PodAnnotations.weight]);
      // A pod the mesh proxy fronts is reached at its mesh inbound port (mTLS, RBAC), marked
      // for auto mTLS unless its port's PeerAuthentication mode is DISABLE.
      const meshPort = meshInboundPort(pod);
      const metadata = meshPort !== undefined ? endpointTlsMetadata(ctx, pod) : undefined;
      eps.push({
        ip: meshPort !== undefined ? ctx.opts.meshAddress : a.ip, port: meshPort ?? port, weight: Number.isInteger(w) && w > 0 ? w : 1,
        region: pod?.metadata.labels?.[REGION_LABEL] ?? '', zone: pod?.metadata.labels?.[ZONE_LABEL] ?? '',
        ...(metadata ? { metadata } : {}),
      });
    }
  }
  if (!parsed.subset && actKey && (eps.length === 0 || endpointsActivatorMode(ep?.metadata.annotations) === 'proxy')) {
    eps.length = 0;
    eps.push({ ip: act!.address, port: act!.port, weight: 1, region: '', zone: '' });
  }
  eps.sort((a, b) => (a.region + '/' + a.zone).localeCompare(b.region + '/' + b.zone) || a.ip.localeCompare(b.ip) || a.port - b.port);
  const groups = new Map<string, Ep[]>();
  for (const e of eps) {
    const k = `${e.region}/${e.zone}`;
    const g = groups.get(k);
    if (g) { if (!g.some((x) => x.ip === e.ip && x.port === e.port)) g.push(e); } else groups.set(k, [e]);
  }
  const endpoints = [...groups.values()].map((g) => {
    // Always set (possibly empty): gRPC's xDS client rejects a locality group without one.
    const locality = { ...(g[0].region ? { region: g[0].region } : {}), ...(g[0].zone ? { zone: g[0].zone } : {}) };
    return {
      locality,
      lb_endpoints: g.map((e) => ({
        endpoint: { address: { socket_address: { address: e.ip, port_value: e.port } } },
        ...(e.metadata ? { metadata: e.metadata } : {}),
        health_status: 'HEALTHY',
        load_balancing_weight: { value: e.weight },
      })),
      load_balancing_weight: { value: g.reduce((s, e) => s + e.weight, 0) },
    };
  });
  const cla = { cluster_name: clusterName, endpoints };
  if (perEp && podRefs) perEp.set(key, { pods: podRefs, act: actKey, sec: secKey, cla });
  return cla;
}

/**
 * What a cluster name parses to, kept per name: the gateway asks for every cluster's assignment on
 * every translation (10,000 at 10,000 services), and parsing and joining the same strings each
 * time was most of an unchanged assignment's cost. Bounded: cleared when it grows past MAX_NAMES.
 */
interface ClusterNames { parsed: ReturnType<typeof parseClusterName>; svc: { name: string; namespace: string } | undefined; svcKey: string; plainKey: string; domain: string }
const namesCache = new Map<string, ClusterNames>();
const MAX_NAMES = 200_000;
function clusterNames(clusterName: string, clusterDomain: string): ClusterNames {
  const hit = namesCache.get(clusterName);
  if (hit && hit.domain === clusterDomain) return hit;
  const parsed = parseClusterName(clusterName);
  const svc = parsed.direction === 'outbound' ? parseServiceHost(parsed.host, clusterDomain) : undefined;
  const out = { parsed, svc, svcKey: svc ? `${svc.namespace}/${svc.name}` : '', plainKey: `${clusterName}|-`, domain: clusterDomain };
  if (namesCache.size >= MAX_NAMES) namesCache.clear();
  namesCache.set(clusterName, out);
  return out;
}

/** `ns/name` of the service an outbound cluster name points at; '' for anything else. */
export function clusterServiceKey(clusterName: string, clusterDomain: string): string {
  return clusterNames(clusterName, clusterDomain).svcKey;
}

interface CachedCla { pods: (Pod | undefined)[]; act: string; sec: string; cla: object }

/** What mesh security changes in an assignment: per address, whether it is marked for mTLS. */
function meshKey(ctx: TranslateContext, pods: (Pod | undefined)[]): string {
  if (!meshSecurityOf(ctx)) return '';
  return pods.map((p) => (meshInboundPort(p) !== undefined && endpointTlsMetadata(ctx, p) ? '1' : '0')).join('');
}
const claCache = new WeakMap<Endpoints, Map<string, CachedCla>>();

function podOf(ctx: TranslateContext, a: EndpointAddress, ns: string): Pod | undefined {
  return a.targetRef?.kind === 'Pod' ? ctx.state.pods.get(`${a.targetRef.namespace ?? ns}/${a.targetRef.name}`) : undefined;
}

/**
 * Load assignments for the named outbound clusters only — what an endpoint-only change needs,
 * without recomputing listeners, routes or clusters. Subset labels come from the same
 * DestinationRule the full translation picks (seen from the proxy's namespace, else the service's).
 */
export function translateEndpoints(state: MeshState, proxy: ProxyInfo, clusterNames: Iterable<string>, opts: TranslateOptions & { meshSecurity?: MeshSecuritySource; now?: number } = {}): Map<string, object> {
  const ctx = new TranslateContext(state, resolveOptions(opts), proxy, opts.now);
  attachMeshSecurity(ctx, resolveMeshSecurity(opts.meshSecurity));
  const out = new Map<string, object>();
  for (const name of [...clusterNames].sort()) {
    if (isCallerVariant(name)) continue; // per-caller clusters share their base cluster's assignment
    const parsed = parseClusterName(name);
    if (parsed.direction !== 'outbound') continue;
    let labels: Record<string, string> | undefined;
    if (parsed.subset) {
      const fromNs = proxy.namespace ?? parsed.host.split('.')[1] ?? '';
      const dr = findDestinationRule(ctx, parsed.host, fromNs);
      const ss = dr?.spec?.subsets?.find((s) => s.name === parsed.subset);
      if (!ss) { out.set(name, { cluster_name: name, endpoints: [] }); continue; }
      labels = ss.labels ?? {};
    }
    out.set(name, buildLoadAssignment(ctx, name, labels));
  }
  return out;
}
