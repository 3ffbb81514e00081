/**
 * The mesh proxy's configuration for the namespaces it serves: per namespace an egress
 * RouteConfiguration (`egress|NS`) with the hosts the namespace's egress scope sees — mesh
 * VirtualServices, Knative routes (cluster-local and public hosts) and revision services — and
 * per pod an egress listener (the pod's HTTP proxy) and an inbound listener (queue-proxy role) to
 * a STATIC cluster `inbound|PORT|POD.NS` at 127.0.0.1:PORT. Proxyless gRPC clients get API
 * listeners that use the egress routes of their namespace.
 */
import type { Pod } from '../../api/types/core.ts';
import { TypeUrl } from '../../xds/protos.ts';
import { buildInboundCluster } from './clusters.ts';
import type { Recording, TranslateContext } from './context.ts';
import { useDestination } from './destination-rule.ts';
import { revisionHeaders } from './revision-headers.ts';
import { inboundClusterName, serviceDomains, serviceHost } from './hosts.ts';
import { addIngressVirtualHosts } from './ingress.ts';
import { ADS_SOURCE, duration } from './istio-values.ts';
import {
  buildListener, egressListenerName, egressRouteName, FAULT_FILTER, inboundListenerName, inboundRouteName, ROUTER_FILTER,
} from './listeners.ts';
import { RouteTableBuilder } from './route-table.ts';
import { egressScope, hostVisible, visibleNamespaces } from './sidecar-scope.ts';
import { addMeshVirtualServices } from './virtual-service.ts';
import { PodAnnotations } from './types.ts';
import { buildOutboundCluster } from './clusters.ts';
import {
  autoMtlsFields, callerClusterName, resetRenamedRoutes, type MeshSecurityInput, egressIdentityRouteName, inboundTargetPort, meshInboundListener, meshSecurityOf, podIdentity, renameRouteClusters, routeClusters,
} from './mesh-security.ts';
import { spiffeIdFor, type WorkloadIdentity } from '../../security/ca.ts';
import { sameElements } from '../../lib/same-elements.ts';

export interface MeshOutput { listeners: object[]; routes: object[]; staticClusters: object[] }

function portAnnotation(pod: Pod, key: string): number | undefined {
  const v = pod.metadata.annotations?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : NaN;
}

/** The port the pod's process listens on: annotation, else the first containerPort, else env PORT. */
export function podPort(pod: Pod): number | undefined {
  const a = portAnnotation(pod, PodAnnotations.podPort);
  if (a !== undefined && !Number.isNaN(a)) return a;
  for (const c of pod.spec?.containers ?? []) {
    const cp = c.ports?.[0]?.containerPort;
    if (cp) return cp;
    const env = c.env?.find((e) => e.name === 'PORT')?.value;
    if (env && Number.isInteger(Number(env))) return Number(env);
  }
  return undefined;
}

/**
 * What `egress|ns` was built from, compared by identity (MeshState shares unchanged indexes and
 * lists between snapshots): the Sidecars, the namespace list (host qualification, egress to every namespace),
 * the DestinationRule indexes, and per visible namespace its mesh VirtualServices, Ingresses and
 * Endpoints; with a VirtualService in view, every Endpoints (its routes may name a revision of
 * any namespace, whose headers come from its Endpoints).
 */
function egressInputs(ctx: TranslateContext, ns: string): unknown[] {
  const st = ctx.state;
  const skipServices = withoutServiceRoutes(ctx);
  const key: unknown[] = [ctx.optsKey, skipServices, st.sidecarsByNamespace, st.namespaces, st.destinationRulesByHost, st.wildcardDestinationRules];
  let vs = false;
  for (const n of visibleNamespaces(ctx, egressScope(ctx, ns, false))) {
    const v = st.meshVirtualServicesByNamespace.get(n);
    if (v?.length) vs = true;
    key.push(n, v, st.ingressesByNamespace.get(n), skipServices ? undefined : st.endpointsByNamespace.get(n));
  }
  if (vs && !skipServices) key.push(st.endpoints);
  return key;
}

/**
 * The per-service routes (one quiet virtual host per Endpoints, added last) report no problem
 * unless a DestinationRule is looked up for them: a problems-only translation without
 * DestinationRules leaves them out, and its egress routes then do not change with Endpoints
 * (scale to zero empties them in every namespace).
 */
function withoutServiceRoutes(ctx: TranslateContext): boolean {
  return ctx.problemsOnly && ctx.state.destinationRules.size === 0;
}

// One entry per (options, namespace): the last build of its egress routes and what it used
// (clusters, problems), replayed into later translations while the inputs are the same objects.
// A pod starting in one namespace then rebuilds no namespace's routes (every namespace's were
// rebuilt on every change of the all-namespace mesh proxy: 55 ms at 1,000 services).
const egressCache = new Map<string, { inputs: unknown[]; rc: object; recording: Recording }>();
const MAX_EGRESS_CACHED = 20_000;

/** `egress|ns`, from the cache when its inputs are unchanged. */
export function egressRoutes(ctx: TranslateContext, ns: string): object {
  const inputs = egressInputs(ctx, ns);
  const key = `${ctx.optsKey}|${ns}|${withoutServiceRoutes(ctx) ? 'p' : ''}`;
  const hit = egressCache.get(key);
  if (hit && sameElements(hit.inputs, inputs)) {
    ctx.replay(hit.recording);
    return hit.rc;
  }
  const { value: rc, recording } = ctx.record(() => buildEgressRoutes(ctx, ns));
  if (egressCache.size >= MAX_EGRESS_CACHED) egressCache.clear();
  egressCache.set(key, { inputs, rc, recording });
  return rc;
}

function buildEgressRoutes(ctx: TranslateContext, ns: string): object {
  const table = new RouteTableBuilder(egressRouteName(ns), ctx.problems);
  const scope = egressScope(ctx, ns);
  const nss = visibleNamespaces(ctx, scope);
  addMeshVirtualServices(ctx, scope, nss, table);
  for (const other of nss) {
    for (const ing of ctx.state.ingressesByNamespace.get(other) ?? []) {
      addIngressVirtualHosts(ctx, ing, table, () => true, false, (h) => hostVisible(scope, other, h));
    }
  }
  for (const other of withoutServiceRoutes(ctx) ? [] : nss) {
    for (const ep of ctx.state.endpointsByNamespace.get(other) ?? []) {
      ctx.stats.endpointsVisited++;
      const name = ep.metadata.name ?? '';
      const fqdn = serviceHost(name, other, ctx.opts.clusterDomain);
      if (!hostVisible(scope, other, fqdn)) continue;
      table.add(`${other}/${name}`, serviceDomains(name, other, ctx.opts.clusterDomain, ns), () => {
        const d = useDestination(ctx, fqdn, ctx.opts.defaultServicePort, undefined, ns, () => undefined)!;
        const rev = revisionHeaders(ctx, fqdn); // the activator may serve the revision: name it
        return [{ match: { prefix: '/' }, route: { cluster: d.cluster, timeout: duration(ctx.opts.routeTimeoutMs), ...(d.hashPolicy ? { hash_policy: d.hashPolicy } : {}) }, ...(rev.length ? { request_headers_to_add: rev } : {}) }];
      }, ep, 'metadata.name', {}, true);
    }
  }
  return table.build();
}

/** A listener for a proxyless gRPC client (grpc-js-xds asks for the target's name). */
export function apiListener(name: string, routeConfigName: string): object {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': TypeUrl.HttpConnectionManager,
        stat_prefix: 'api',
        rds: { route_config_name: routeConfigName, config_source: ADS_SOURCE },
        http_filters: [
          { name: FAULT_FILTER, typed_config: { '@type': TypeUrl.Fault } },
          { name: ROUTER_FILTER, typed_config: { '@type': TypeUrl.Router } },
        ],
      },
    },
  };
}

interface PodResources {
  listeners: object[]; routes: object[]; clusters: object[]; egress: boolean;
  /** Under mesh security: the pod's egress route name and identity (its caller variant). */
  egressId?: { routeName: string; id: WorkloadIdentity };
}

// A pod's listeners, route and cluster depend on the pod object, the options and the bind
// address; under mesh security also on its identity's certificate (and whether it is still valid
// now), the trust domain and root, the PeerAuthentications and AuthorizationPolicies of its
// namespace and the root namespace, and the kept last-good policies. They are kept per pod object
// with those inputs (compared by identity), the problems they reported, the SDS secrets they
// registered and whether a certificate had to be asked for, so a pod starting does not rebuild
// every other pod's (the all-namespace mesh proxy has them all).
interface CachedPod { inputs: unknown[]; res: PodResources; recording: Recording; secrets: [string, object][]; wanted: boolean }
let podCache = new WeakMap<Pod, CachedPod>();

/** Forgets the egress-route, pod and caller-copy caches (tests compare cached translations with fresh ones). */
export function resetMeshCaches(): void {
  egressCache.clear();
  podCache = new WeakMap();
  resetRenamedRoutes();
}

function podInputs(ctx: TranslateContext, pod: Pod, sec: MeshSecurityInput | undefined): unknown[] {
  const base: unknown[] = [ctx.optsKey, ctx.opts.meshAddress, sec !== undefined];
  if (!sec) return base;
  const ns = pod.metadata.namespace ?? 'default';
  const root = ctx.opts.rootNamespace;
  const cert = sec.certs.get(spiffeIdFor(sec.trustDomain, podIdentity(pod)));
  const st = ctx.state;
  // The certificate by content: the identity snapshot rebuilds every entry when any one rotates.
  return [...base, sec.trustDomain, sec.rootPem, cert?.chainPem, cert?.keyPem, cert?.notAfter, cert !== undefined && cert.notAfter > ctx.now, sec.lastGoodPolicies,
    st.peerAuthenticationsByNamespace.get(ns), st.peerAuthenticationsByNamespace.get(root),
    st.authorizationPoliciesByNamespace.get(ns), st.authorizationPoliciesByNamespace.get(root)];
}

function cachedPodResources(ctx: TranslateContext, pod: Pod, ns: string, sec: MeshSecurityInput | undefined): PodResources {
  const inputs = podInputs(ctx, pod, sec);
  const hit = podCache.get(pod);
  if (hit && sameElements(hit.inputs, inputs)) {
    ctx.replay(hit.recording);
    for (const [name, secret] of hit.secrets) if (!ctx.secrets.has(name)) ctx.secrets.set(name, secret);
    if (hit.wanted) sec?.want?.(podIdentity(pod));
    return hit.res;
  }
  let wanted = false;
  const tracked = sec ? { ...sec, want: (id: WorkloadIdentity) => { wanted = true; sec.want?.(id); } } : undefined;
  const before = new Set(ctx.secrets.keys());
  const { value: res, recording } = ctx.record(() => podResources(ctx, pod, ns, tracked));
  const secrets: [string, object][] = [];
  for (const [name, secret] of ctx.secrets) if (!before.has(name)) secrets.push([name, secret]);
  podCache.set(pod, { inputs, res, recording, secrets, wanted });
  return res;
}

/** A pod's inbound listener, route and static cluster, and its egress listener. */
function podResources(ctx: TranslateContext, pod: Pod, ns: string, sec: MeshSecurityInput | undefined): PodResources {
  const out: PodResources = { listeners: [], routes: [], clusters: [], egress: false };
  const addr = ctx.opts.meshAddress;
  const name = pod.metadata.name ?? '';
  const inbound = portAnnotation(pod, PodAnnotations.inboundPort);
  const egress = portAnnotation(pod, PodAnnotations.egressPort);
  if (Number.isNaN(inbound)) ctx.problems.add(pod, `metadata.annotations["${PodAnnotations.inboundPort}"]`, 'not a port number', 'error');
  if (Number.isNaN(egress)) ctx.problems.add(pod, `metadata.annotations["${PodAnnotations.egressPort}"]`, 'not a port number', 'error');
  if (inbound !== undefined && !Number.isNaN(inbound)) {
    const port = podPort(pod);
    if (port === undefined) {
      ctx.problems.add(pod, 'spec.containers[0].ports', `the pod has an inbound mesh port but no port of its own (annotation ${PodAnnotations.podPort}, a containerPort or env PORT)`, 'error');
    } else {
      // Under mesh security the inbound listener fronts the pod's queue-proxy (autoscaling
      // stats and the activator handoff stay in the path) and enforces mTLS and RBAC.
      const target = sec ? inboundTargetPort(pod, port) : port;
      const cluster = inboundClusterName(target, name, ns);
      const rname = inboundRouteName(name, ns);
      const lname = inboundListenerName(name, ns);
      const listener = sec
        ? meshInboundListener(ctx, sec, pod, { name: lname, address: addr, port: inbound, routeConfigName: rname, statPrefix: `inbound_${ns}_${name}` })
        : buildListener({ name: lname, address: addr, port: inbound, chains: [{ hcm: { statPrefix: `inbound_${ns}_${name}`, routeConfigName: rname, useRemoteAddress: false } }] });
      if (listener) {
        out.clusters.push(buildInboundCluster(ctx, cluster, target));
        out.routes.push({ name: rname, virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: duration(ctx.opts.routeTimeoutMs) } }] }], validate_clusters: { value: false } });
        out.listeners.push(listener);
      }
    }
  }
  if (egress !== undefined && !Number.isNaN(egress)) {
    out.egress = true;
    let routeName = egressRouteName(ns);
    if (sec) {
      const id = podIdentity(pod);
      routeName = egressIdentityRouteName(routeName, id);
      out.egressId = { routeName, id };
    }
    out.listeners.push(buildListener({ name: egressListenerName(name, ns), address: addr, port: egress, chains: [{ hcm: { statPrefix: `egress_${ns}`, routeConfigName: routeName, useRemoteAddress: false } }] }));
  }
  return out;
}

export function translateMesh(ctx: TranslateContext, apiListenerNames: readonly string[]): MeshOutput {
  const out: MeshOutput = { listeners: [], routes: [], staticClusters: [] };
  const scoped = ctx.proxy.namespace;
  const namespaces = scoped ? [scoped] : [...ctx.state.podsByNamespace.keys()].sort();
  const egressNeeded = new Set<string>(scoped ? [scoped] : []);
  const sec = meshSecurityOf(ctx);
  /** Under mesh security, each egress identity (namespace + service account) gets its own routes and clusters. */
  const egressIds = new Map<string, WorkloadIdentity>();
  for (const ns of namespaces) {
    for (const pod of ctx.state.podsByNamespace.get(ns) ?? []) {
      ctx.stats.podsVisited++;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || pod.metadata.deletionTimestamp) continue;
      const r = cachedPodResources(ctx, pod, ns, sec);
      if (r.egressId) egressIds.set(r.egressId.routeName, r.egressId.id);
      out.listeners.push(...r.listeners);
      out.routes.push(...r.routes);
      out.staticClusters.push(...r.clusters);
      if (r.egress) egressNeeded.add(ns);
    }
  }
  if (apiListenerNames.length) {
    const ns = scoped ?? 'default';
    egressNeeded.add(ns);
    for (const n of apiListenerNames) out.listeners.push(apiListener(n, egressRouteName(ns)));
  }
  const baseRoutes = new Map<string, object>();
  for (const ns of [...egressNeeded].sort()) {
    const rc = egressRoutes(ctx, ns);
    baseRoutes.set(egressRouteName(ns), rc);
    out.routes.push(rc);
  }
  // Per egress identity: the namespace's routes with clusters that present the caller's certificate.
  const variants = new Set<string>();
  for (const [routeName, id] of [...egressIds].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const base = baseRoutes.get(egressRouteName(id.namespace))!;
    out.routes.push(renameRouteClusters(base, routeName, (c) => callerClusterName(c, id)));
    for (const c of [...routeClusters(base)].sort()) {
      const vname = callerClusterName(c, id);
      const use = ctx.clusters.get(c);
      if (!use || variants.has(vname)) continue;
      variants.add(vname);
      const baseCluster = buildOutboundCluster(ctx, use) as Record<string, unknown>;
      const tls = use.policy?.tls?.mode;
      const mtls = sec && (tls === undefined || tls === 'ISTIO_MUTUAL') ? autoMtlsFields(ctx, sec, id, use.host) : undefined;
      out.staticClusters.push({ ...baseCluster, name: vname, eds_cluster_config: { eds_config: ADS_SOURCE, service_name: c }, ...(mtls ?? {}) });
    }
  }
  return out;
}
