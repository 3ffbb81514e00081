/**
 * translateForProxy: MeshState + ProxyInfo → the proxy's Listeners, RouteConfigurations,
 * Clusters, ClusterLoadAssignments and Secrets, plus Problems to report on input statuses.
 * Pure and deterministic: equal inputs give equal (byte-equal once encoded) output, each type's
 * map in name order. The proxy receives only what its scope needs: the gateway only the clusters
 * its routes use; a mesh proxy only its namespace's egress scope and its pods' listeners.
 */
import { PUSH_ORDER, TypeUrl } from '../../xds/protos.ts';
import { buildOutboundCluster } from './clusters.ts';
import { TranslateContext } from './context.ts';
import { buildLoadAssignment } from './endpoints.ts';
import { translateGateway, type GatewayOutput } from './gateway.ts';
import { translateGatewayIncrementally } from './gateway-memo.ts';
import { toVhds } from './vhds.ts';
import { translateMesh } from './mesh.ts';
import { attachMeshSecurity, resolveMeshSecurity, type MeshSecuritySource } from './mesh-security.ts';
import { resolveOptions, type MeshState, type ProxyInfo, type ResourceSet, type TranslateOptions, type TranslateResult } from './types.ts';

import { translateEndpoints as translateEndpointsPlain } from './endpoints.ts';
import { gatewayLoadAssignments } from './gateway-memo.ts';

/**
 * Load assignments for the named clusters after an endpoint-only change. The gateway's come from
 * its incremental translation's memo when it has one (only changed services rebuilt).
 */
export function translateEndpoints(state: MeshState, proxy: ProxyInfo, clusterNames: readonly string[], opts: ProxyTranslateOptions = {}): Map<string, object> {
  const security = resolveMeshSecurity(opts.meshSecurity);
  if (proxy.role === 'gateway' && !security && opts.incremental !== false) {
    const ctx = new TranslateContext(state, resolveOptions(opts), proxy, opts.now ?? Date.now());
    const memo = gatewayLoadAssignments(ctx, clusterNames);
    if (memo) return memo;
  }
  return translateEndpointsPlain(state, proxy, clusterNames, opts);
}

export interface ProxyTranslateOptions extends TranslateOptions {
  /** Listener names a proxyless gRPC client subscribed to (mesh role): each gets an API listener. */
  apiListeners?: readonly string[];
  /**
   * Epoch ms to check certificate validity at (expired / not yet valid credentials). The control
   * plane passes its clock's now; when absent, the wall clock is read here, at the boundary.
   */
  now?: number;
  /** Mesh security (CA certificates): mTLS and RBAC on mesh listeners, auto mTLS on clusters. Absent = mesh security off. */
  meshSecurity?: MeshSecuritySource;
  /**
   * Only the problems are wanted (the control plane's stand-in pass): ClusterLoadAssignments,
   * which report none, are not built. Everything that may report a problem still runs.
   */
  problemsOnly?: boolean;
  /**
   * Gateway only: translate incrementally from the previous translation of the same scope when
   * the MeshState descends from it (gateway-memo.ts). Default true; false = always from scratch.
   */
  incremental?: boolean;
  /** Give the routes in VHDS form (each virtual host a VirtualHost resource; vhds.ts). Default false. */
  vhds?: boolean;
}

export function emptyResourceSet(): ResourceSet {
  const out = {} as ResourceSet;
  for (const t of PUSH_ORDER) out[t] = new Map();
  return out;
}

function named(list: object[]): Map<string, object> {
  const m = new Map<string, object>();
  for (const o of [...list].sort((a, b) => cmp((a as { name: string }).name, (b as { name: string }).name))) m.set((o as { name: string }).name, o);
  return m;
}
function cmp(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }

export function translateForProxy(state: MeshState, proxy: ProxyInfo, opts: ProxyTranslateOptions = {}): TranslateResult {
  const security = resolveMeshSecurity(opts.meshSecurity);
  const context = () => {
    const ctx = new TranslateContext(state, resolveOptions(opts), proxy, opts.now ?? Date.now());
    attachMeshSecurity(ctx, security);
    ctx.problemsOnly = opts.problemsOnly === true;
    return ctx;
  };
  // `done`: a context on which the gateway's translation already ran, with its output (the
  // incremental path's full translation, when it could not keep a memo), so it is not done twice.
  const plain = (done?: { ctx: TranslateContext; gateway: GatewayOutput }) => {
    const r = translateWith(done?.ctx ?? context(), opts, security, done?.gateway);
    return opts.vhds ? { ...r, resources: toVhds(r.resources) } : r;
  };
  if (proxy.role === 'gateway' && !security && opts.incremental !== false) {
    return translateGatewayIncrementally(context(), opts.problemsOnly === true, opts.vhds === true, plain);
  }
  return plain();
}

function translateWith(ctx: TranslateContext, opts: ProxyTranslateOptions, security: ReturnType<typeof resolveMeshSecurity>, gateway?: GatewayOutput): TranslateResult {
  const { state, proxy } = ctx;
  const set = emptyResourceSet();
  const clusters: object[] = [];
  if (proxy.role === 'gateway') {
    const g = gateway ?? translateGateway(ctx);
    set[TypeUrl.Listener] = named(g.listeners);
    set[TypeUrl.RouteConfiguration] = named(g.routes);
  } else {
    const m = translateMesh(ctx, opts.apiListeners ?? []);
    set[TypeUrl.Listener] = named(m.listeners);
    set[TypeUrl.RouteConfiguration] = named(m.routes);
    clusters.push(...m.staticClusters);
    if (!security) reportSecurityPolicies(ctx, proxy.namespace ? [proxy.namespace] : [...state.podsByNamespace.keys()]);
  }
  const cla: object[] = [];
  for (const name of [...ctx.clusters.keys()].sort()) {
    const use = ctx.clusters.get(name)!;
    clusters.push(buildOutboundCluster(ctx, use));
    if (!opts.problemsOnly) cla.push(buildLoadAssignment(ctx, name, use.subsetLabels));
  }
  set[TypeUrl.Cluster] = named(clusters);
  set[TypeUrl.ClusterLoadAssignment] = new Map(cla.map((c) => [(c as { cluster_name: string }).cluster_name, c]));
  set[TypeUrl.Secret] = new Map([...ctx.secrets.entries()].sort((a, b) => cmp(a[0], b[0])));
  return { resources: set, problems: ctx.problems.sorted(), stats: { ...ctx.stats } };
}

/** Names of the EDS clusters in a set: what translateEndpoints needs after an endpoint-only change. */
export function edsClusterNames(set: ResourceSet): string[] {
  const out: string[] = [];
  for (const [name, c] of set[TypeUrl.Cluster]) if ((c as { type?: string }).type === 'EDS') out.push(name);
  return out;
}

/**
 * PeerAuthentication and AuthorizationPolicy are read into MeshState but their enforcement
 * (mTLS, RBAC filters) comes with the mesh security work; until then each one in scope is
 * reported, so a policy is never silently not enforced.
 */
export const PA_NOT_ENFORCED = 'PeerAuthentication is not enforced yet by sluice\'s proxy configuration (mTLS arrives with mesh security)';
export const AP_NOT_ENFORCED = 'AuthorizationPolicy is not enforced yet by sluice\'s proxy configuration (RBAC arrives with mesh security)';

function reportSecurityPolicies(ctx: TranslateContext, namespaces: readonly string[]): void {
  const nss = new Set([...namespaces, ctx.opts.rootNamespace]);
  for (const ns of [...nss].sort()) {
    for (const pa of ctx.state.peerAuthenticationsByNamespace.get(ns) ?? []) ctx.problems.add(pa, 'spec', PA_NOT_ENFORCED);
    for (const ap of ctx.state.authorizationPoliciesByNamespace.get(ns) ?? []) ctx.problems.add(ap, 'spec', AP_NOT_ENFORCED);
  }
}
