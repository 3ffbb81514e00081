/**
 * Incremental translation for the gateway. The gateway holds every public host: a full
 * translation visits every public Ingress, claims every domain in a fresh table and registers
 * every cluster and load assignment — ~90 ms of CPU at 10,000 services for a change of one
 * Route, even with each piece cached (Istio's gateway pushes grow with the mesh the same way).
 *
 * Here a full translation also leaves a memo: per public Ingress, the virtual hosts, domains,
 * clusters and problems it contributed; per cluster, how many contributions use it. The next
 * translation for the same scope asks the MeshState which keys changed since (changesSince) and,
 * when only Ingresses, Endpoints, Pods and kinds the gateway does not read changed, re-translates
 * just the changed Ingresses, patches the memo and re-builds load assignments only for the
 * services whose Endpoints, Pods or activator fallback changed. The output is what a full
 * translation gives (the contract test checks them equal after random changes) except that the
 * names of new clusters and load assignments come after the others instead of in name order.
 *
 * Anything whose effect on other inputs is order-dependent falls back to a full translation:
 * a changed Ingress that touches a domain some input was refused (or asks for one another input
 * holds), TLS anywhere on the gateway, DestinationRules (a cluster's policy depends on which
 * route named it first), changed Gateways, VirtualServices or activator, mesh security.
 */
import type { KIngress } from '../../api/types/ingress.ts';
import { PUSH_ORDER, TypeUrl } from '../../xds/protos.ts';
import { buildOutboundCluster } from './clusters.ts';
import type { ClusterUse, Recording, TranslateContext } from './context.ts';
import { buildLoadAssignment, clusterServiceKey } from './endpoints.ts';
import { translateGateway, type GatewayCollector, type GatewayOutput } from './gateway.ts';
import { addIngressVirtualHosts, ingressTls } from './ingress.ts';
import { changesSince, isPublicIngress, isPublicRule, keyOf, stateSerial } from './mesh-state.ts';
import { ProblemSink } from './problems.ts';
import { routeConfiguration, RouteTableBuilder } from './route-table.ts';
import type { MeshState, ResourceSet, TranslateResult } from './types.ts';
import { virtualHostResource, vhdsRouteConfiguration } from './vhds.ts';

type ProblemArgs = Recording['problems'][number];

// Most parts have no problems and claim every domain they want: shared arrays, not 10,000 copies.
const NO_PROBLEMS: ProblemArgs[] = [];
function slim(p: Part): Part {
  if (p.problems.length === 0) p.problems = NO_PROBLEMS;
  if (p.claimed.length === p.wanted.length && p.claimed.every((d, i) => d === p.wanted[i])) p.claimed = p.wanted;
  return p;
}

/** What one input (a public Ingress, or the Gateways' VirtualServices together) put in the HTTP table. */
interface Part {
  vhosts: object[];
  names: string[];
  /** VHDS resource names of `vhosts`. */
  resources: string[];
  wanted: string[];
  claimed: string[];
  clusters: ClusterUse[];
  problems: ProblemArgs[];
}

interface ClusterEntry { use: ClusterUse; refs: number; problems: ProblemArgs[] }

interface Memo {
  serial: number;
  // Inputs an incremental step needs unchanged (compared by identity).
  gateways: MeshState['gateways'];
  virtualServicesByGateway: MeshState['virtualServicesByGateway'];
  namespaces: MeshState['namespaces'];
  revisionBackends: MeshState['revisionBackends'];
  routeName: string;
  listeners: Map<string, object>;
  /** The route configuration in VHDS form (constant) and its VirtualHost resources by name. */
  vhdsRoute: object;
  vhdsHosts: Map<string, object>;
  virtualServices: Part;
  parts: Map<string, Part>;
  byObject: WeakMap<KIngress, Part>;
  /** Domain → `ns/name` of the Ingress holding it ('' = a VirtualService). */
  claims: Map<string, string>;
  contested: Set<string>;
  names: Set<string>;
  clusters: Map<string, ClusterEntry>;
  clusterResources: Map<string, object>;
  loadAssignments: Map<string, object>;
  clustersByService: Map<string, Set<string>>;
  clustersByNamespace: Map<string, Set<string>>;
  partsWithProblems: Set<Part>;
  clustersWithProblems: Set<ClusterEntry>;
  problemsOnly: boolean;
}

/** Kinds whose changes an incremental step handles; any other changed kind means a full translation. */
const INCREMENTAL_KINDS = new Set(['ingresses', 'endpoints', 'pods', 'sidecars', 'secrets', 'peerAuthentications', 'authorizationPolicies']);
/** More changed keys than this and a full translation is as cheap. */
const MAX_CHANGED_KEYS = 256;

// One memo per gateway scope (ports, options, problems-only); a handful per process.
const memos = new Map<string, Memo>();
const MAX_MEMOS = 16;

/** How gateway translations were done: incremental ones, and full ones by why (the metrics read it). */
export const gatewayMemoStats = { incremental: 0, full: {} as Record<string, number> };

/** Why the last memo could not be advanced: the reason of the full translation that follows. */
let fellBack: string | undefined;
function fallback(reason: string): false {
  fellBack = reason;
  return false;
}
function countFull(reason: string): void {
  gatewayMemoStats.full[reason] = (gatewayMemoStats.full[reason] ?? 0) + 1;
}

/**
 * The gateway's translation, incremental when the scope's memo allows it. `full` is the plain
 * translation (on a fresh context), used when the scope cannot be memoised (TLS,
 * DestinationRules…).
 */
export function translateGatewayIncrementally(ctx: TranslateContext, problemsOnly: boolean, vhds: boolean,
  full: (done?: { ctx: TranslateContext; gateway: GatewayOutput }) => TranslateResult): TranslateResult {
  const key = memoKey(ctx, problemsOnly);
  const state = ctx.state;
  const memo = memos.get(key);
  if (memo) {
    const out = advance(ctx, key, memo) ? output(ctx, memo, vhds) : undefined;
    if (out) {
      gatewayMemoStats.incremental++;
      return out;
    }
    memos.delete(key);
  }
  const reason = fellBack ?? 'no memo';
  fellBack = undefined;
  if (state.destinationRules.size > 0) { countFull('destination rules'); return full(); }
  const { memo: built, gateway } = fullTranslation(ctx, problemsOnly);
  if (!built) {
    // TLS and the like: the gateway's translation on `ctx` is complete; finish it the plain way.
    countFull('not memoisable');
    return full({ ctx, gateway });
  }
  countFull(reason);
  const out = output(ctx, built, vhds);
  if (!out) return full();
  if (memos.size >= MAX_MEMOS) memos.delete(memos.keys().next().value!);
  memos.set(key, built);
  return out;
}

function memoKey(ctx: TranslateContext, problemsOnly: boolean): string {
  const ports = ctx.proxy.ports;
  return `${ctx.optsKey}|${ports?.http ?? ''},${ports?.https ?? ''}|${problemsOnly ? 'p' : ''}`;
}

/** Brings `memo` to ctx.state; false when that needs a full translation. */
function advance(ctx: TranslateContext, key: string, memo: Memo): boolean {
  const changes = memo.serial === stateSerial(ctx.state) ? new Map<string, Set<string>>() : changesSince(ctx.state, memo.serial, MAX_CHANGED_KEYS);
  try {
    return changes === undefined ? fallback('lineage') : step(ctx, memo, changes);
  } catch (e) {
    memos.delete(key);
    throw e;
  }
}

/**
 * The gateway's load assignments for `clusterNames` after an endpoint-only change, from its
 * memo: only the services whose Endpoints or Pods changed are rebuilt (translateEndpoints would
 * look at every cluster, 10,000 at 10,000 services). Undefined when there is no memo to advance
 * or it does not hold one of the names (the caller then uses translateEndpoints).
 */
export function gatewayLoadAssignments(ctx: TranslateContext, clusterNames: readonly string[]): Map<string, object> | undefined {
  const key = memoKey(ctx, false);
  const memo = memos.get(key);
  if (!memo || ctx.state.destinationRules.size > 0) return undefined;
  if (!advance(ctx, key, memo)) { memos.delete(key); return undefined; }
  const out = new Map<string, object>();
  for (const name of clusterNames) {
    const cla = memo.loadAssignments.get(name);
    if (!cla) return undefined;
    out.set(name, cla);
  }
  return out;
}

/** Forgets every memo (tests). */
export function resetGatewayMemos(): void {
  memos.clear();
}

function emptyPart(): Part {
  return { vhosts: [], names: [], resources: [], wanted: [], claimed: [], clusters: [], problems: [] };
}

function fullTranslation(ctx: TranslateContext, problemsOnly: boolean): { memo?: Memo; gateway: GatewayOutput } {
  const ingresses: { ing: KIngress; range: { start: number; end: number }; domains: { wanted: string[]; claimed: string[] }; recording: Recording }[] = [];
  let vs: { range: { start: number; end: number }; recording: Recording } | undefined;
  let table: RouteTableBuilder | undefined;
  let memoisable = true;
  const collector: GatewayCollector = {
    virtualServices(range, recording) { vs = { range, recording }; },
    ingress(ing, range, domains, recording, tls) { if (tls) memoisable = false; ingresses.push({ ing, range, domains, recording }); },
    done(http, haveTls) { table = http; if (haveTls) memoisable = false; },
  };
  const g = translateGateway(ctx, collector);
  if (!memoisable || !table || !vs || g.routes.length !== 1 || ctx.secrets.size > 0) return { gateway: g };
  const rc = g.routes[0] as { name: string; virtual_hosts: object[] };
  const hostNames = [...table.names()];
  const vhdsHosts = new Map<string, object>();
  const resourceNames: string[] = rc.virtual_hosts.map((vh, i) => {
    const res = virtualHostResource(rc.name, vh, i, (n) => vhdsHosts.has(n)) as { name: string };
    vhdsHosts.set(res.name, res);
    return res.name;
  });
  const partOf = (range: { start: number; end: number }, domains: { wanted: string[]; claimed: string[] }, recording: Recording): Part => slim({
    vhosts: rc.virtual_hosts.slice(range.start, range.end),
    names: hostNames.slice(range.start, range.end),
    resources: resourceNames.slice(range.start, range.end),
    wanted: domains.wanted, claimed: domains.claimed,
    clusters: recording.clusters, problems: recording.problems,
  });
  const vsClaimed = new Set<string>();
  for (const v of rc.virtual_hosts.slice(vs.range.start, vs.range.end)) for (const d of (v as { domains: string[] }).domains) vsClaimed.add(d);
  const memo: Memo = {
    serial: stateSerial(ctx.state),
    gateways: ctx.state.gateways, virtualServicesByGateway: ctx.state.virtualServicesByGateway,
    namespaces: ctx.state.namespaces, revisionBackends: ctx.state.revisionBackends,
    routeName: rc.name,
    listeners: new Map(g.listeners.map((l) => [(l as { name: string }).name, l])),
    vhdsRoute: vhdsRouteConfiguration(routeConfiguration(rc.name, [])), vhdsHosts,
    virtualServices: { ...emptyPart(), vhosts: rc.virtual_hosts.slice(vs.range.start, vs.range.end), names: hostNames.slice(vs.range.start, vs.range.end),
      resources: resourceNames.slice(vs.range.start, vs.range.end),
      claimed: [...vsClaimed], clusters: vs.recording.clusters, problems: vs.recording.problems },
    parts: new Map(), byObject: new WeakMap(),
    claims: new Map(), contested: new Set(table.contested), names: new Set(hostNames),
    clusters: new Map(), clusterResources: new Map(), loadAssignments: new Map(),
    clustersByService: new Map(), clustersByNamespace: new Map(),
    partsWithProblems: new Set(), clustersWithProblems: new Set(),
    problemsOnly,
  };
  for (const d of memo.virtualServices.claimed) memo.claims.set(d, '');
  if (memo.virtualServices.problems.length) memo.partsWithProblems.add(memo.virtualServices);
  for (const x of ingresses) {
    const key = keyOf(x.ing);
    const part = partOf(x.range, x.domains, x.recording);
    memo.parts.set(key, part);
    memo.byObject.set(x.ing, part);
    for (const d of part.claimed) memo.claims.set(d, key);
    if (part.problems.length) memo.partsWithProblems.add(part);
  }
  // Clusters in name order (as translateForProxy gives them), each with its own problems.
  for (const name of [...ctx.clusters.keys()].sort()) addCluster(ctx, memo, ctx.clusters.get(name)!);
  for (const part of [memo.virtualServices, ...memo.parts.values()]) {
    for (const u of part.clusters) memo.clusters.get(u.name)!.refs++;
  }
  // A cluster no recorded input uses cannot be reference-counted: no memo (never seen; defensive).
  for (const e of memo.clusters.values()) if (e.refs === 0) return { gateway: g };
  return { memo, gateway: g };
}

function indexAdd(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
function indexDelete(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (s?.delete(v) && s.size === 0) m.delete(k);
}

function addCluster(ctx: TranslateContext, memo: Memo, use: ClusterUse): ClusterEntry {
  const { value: cluster, recording } = ctx.record(() => buildOutboundCluster(ctx, use));
  const entry: ClusterEntry = { use, refs: 0, problems: recording.problems };
  memo.clusters.set(use.name, entry);
  memo.clusterResources.set(use.name, cluster);
  if (!memo.problemsOnly) memo.loadAssignments.set(use.name, buildLoadAssignment(ctx, use.name, use.subsetLabels));
  if (entry.problems.length) memo.clustersWithProblems.add(entry);
  const svc = clusterServiceKey(use.name, ctx.opts.clusterDomain);
  if (svc) {
    indexAdd(memo.clustersByService, svc, use.name);
    indexAdd(memo.clustersByNamespace, svc.slice(0, svc.indexOf('/')), use.name);
  }
  return entry;
}

function removeCluster(ctx: TranslateContext, memo: Memo, entry: ClusterEntry): void {
  const name = entry.use.name;
  memo.clusters.delete(name);
  memo.clusterResources.delete(name);
  memo.loadAssignments.delete(name);
  memo.clustersWithProblems.delete(entry);
  const svc = clusterServiceKey(name, ctx.opts.clusterDomain);
  if (svc) {
    indexDelete(memo.clustersByService, svc, name);
    indexDelete(memo.clustersByNamespace, svc.slice(0, svc.indexOf('/')), name);
  }
}

/**
 * Patches `memo` to `ctx.state`. Returns false, having changed nothing, when the changes need a
 * full translation; every check comes before the first change to the memo.
 */
function step(ctx: TranslateContext, memo: Memo, changes: Map<string, Set<string>>): boolean {
  const state = ctx.state;
  for (const kind of changes.keys()) if (!INCREMENTAL_KINDS.has(kind)) return fallback(`changed ${kind}`);
  if (state.gateways !== memo.gateways || state.virtualServicesByGateway !== memo.virtualServicesByGateway) return fallback('gateways');
  if (state.destinationRules.size > 0) return fallback('destination rules');
  if (state.gateways.size > 0 && state.namespaces !== memo.namespaces) return fallback('namespaces'); // VirtualService hosts qualify against the namespaces

  // Plan: translate each changed public Ingress alone and check it claims nothing contested.
  const ingressKeys = changes.get('ingresses') ?? new Set<string>();
  const planned: { key: string; ing: KIngress; part: Part; contested: Set<string> }[] = [];
  const batchClaims = new Map<string, string>();
  for (const key of ingressKeys) {
    const old = memo.parts.get(key);
    if (old) for (const d of old.wanted) if (memo.contested.has(d)) return fallback('contested host');
    const ing = state.ingresses.get(key);
    if (!ing || !isPublicIngress(ing)) continue;
    if (ingressTls(ing).length > 0) return fallback('tls');
    const table = new RouteTableBuilder(memo.routeName, ctx.problems);
    const domains = (table.track = { wanted: [], claimed: [] });
    const { recording } = ctx.record(() => addIngressVirtualHosts(ctx, ing, table, isPublicRule, false));
    for (const d of domains.wanted) {
      if (memo.contested.has(d)) return fallback('contested host');
      const holder = memo.claims.get(d);
      if (holder !== undefined && holder !== key) return fallback('host conflict');
      const other = batchClaims.get(d);
      if (other !== undefined && other !== key) return fallback('host conflict');
      batchClaims.set(d, key);
    }
    const names = [...table.names()];
    for (const n of names) if (memo.names.has(n) && !old?.names.includes(n)) return fallback('virtual host name');
    const vhosts = table.virtualHosts();
    const resources = vhosts.map((vh, i) => (virtualHostResource(memo.routeName, vh, i) as { name: string }).name);
    for (const r of resources) if (memo.vhdsHosts.has(r) && !old?.resources.includes(r)) return fallback('virtual host name');
    planned.push({
      key, ing, contested: table.contested,
      part: slim({ vhosts, names, resources, wanted: domains.wanted, claimed: domains.claimed, clusters: recording.clusters, problems: recording.problems }),
    });
  }

  // Apply. Load assignments to rebuild: services whose Endpoints, Pods or activator fallback changed.
  const touched = new Set<string>();
  const removedParts: Part[] = [];
  for (const key of ingressKeys) {
    const old = memo.parts.get(key);
    if (!old) continue;
    for (const d of old.claimed) if (memo.claims.get(d) === key) memo.claims.delete(d);
    for (const n of old.names) memo.names.delete(n);
    for (const r of old.resources) memo.vhdsHosts.delete(r);
    memo.parts.delete(key);
    memo.partsWithProblems.delete(old);
    removedParts.push(old);
  }
  for (const p of planned) {
    memo.parts.set(p.key, p.part);
    memo.byObject.set(p.ing, p.part);
    for (const d of p.part.claimed) memo.claims.set(d, p.key);
    for (const d of p.contested) memo.contested.add(d);
    for (const n of p.part.names) memo.names.add(n);
    p.part.vhosts.forEach((vh, i) => memo.vhdsHosts.set(p.part.resources[i], virtualHostResource(memo.routeName, vh, i)));
    if (p.part.problems.length) memo.partsWithProblems.add(p.part);
    for (const u of p.part.clusters) {
      const e = memo.clusters.get(u.name) ?? addCluster(ctx, memo, u);
      e.refs++;
      touched.add(u.name);
    }
  }
  for (const old of removedParts) {
    for (const u of old.clusters) {
      const e = memo.clusters.get(u.name);
      if (!e) continue;
      touched.add(u.name);
      if (--e.refs === 0) removeCluster(ctx, memo, e);
    }
  }
  if (!memo.problemsOnly) {
    const services = new Set(changes.get('endpoints') ?? []);
    if (state.revisionBackends !== memo.revisionBackends) {
      for (const k of state.revisionBackends) if (!memo.revisionBackends.has(k)) services.add(k);
      for (const k of memo.revisionBackends) if (!state.revisionBackends.has(k)) services.add(k);
    }
    for (const svc of services) for (const n of memo.clustersByService.get(svc) ?? []) touched.add(n);
    const podNamespaces = new Set<string>();
    for (const k of changes.get('pods') ?? []) podNamespaces.add(k.slice(0, k.indexOf('/')));
    for (const ns of podNamespaces) for (const n of memo.clustersByNamespace.get(ns) ?? []) touched.add(n);
    for (const name of touched) {
      const e = memo.clusters.get(name);
      if (e) memo.loadAssignments.set(name, buildLoadAssignment(ctx, name, e.use.subsetLabels));
    }
  }
  memo.serial = stateSerial(state);
  memo.namespaces = state.namespaces;
  memo.revisionBackends = state.revisionBackends;
  return true;
}

/**
 * The translation result held by `memo` (in VHDS form when `vhds`: no walk over the public
 * Ingresses at all); undefined if some public Ingress has no part (then a full translation is done).
 */
function output(ctx: TranslateContext, memo: Memo, vhds: boolean): TranslateResult | undefined {
  const set = {} as ResourceSet;
  for (const t of PUSH_ORDER) set[t] = new Map();
  if (vhds) {
    set[TypeUrl.RouteConfiguration] = new Map([[memo.routeName, memo.vhdsRoute]]);
    set[TypeUrl.VirtualHost] = new Map(memo.vhdsHosts);
  } else {
    const vhosts: object[] = [...memo.virtualServices.vhosts];
    for (const ing of ctx.state.publicIngresses) {
      const part = memo.byObject.get(ing);
      if (!part) return undefined;
      for (const v of part.vhosts) vhosts.push(v);
    }
    set[TypeUrl.RouteConfiguration] = new Map([[memo.routeName, routeConfiguration(memo.routeName, vhosts)]]);
  }
  set[TypeUrl.Listener] = new Map(memo.listeners);
  set[TypeUrl.Cluster] = new Map(memo.clusterResources);
  set[TypeUrl.ClusterLoadAssignment] = new Map(memo.loadAssignments);
  set[TypeUrl.Secret] = new Map();
  const sink = new ProblemSink();
  for (const p of memo.partsWithProblems) for (const a of p.problems) sink.add(...a);
  for (const e of memo.clustersWithProblems) for (const a of e.problems) sink.add(...a);
  return { resources: set, problems: sink.sorted(), stats: { ...ctx.stats } };
}
