/**
 * Adapts the pure translation (translate/) to the push pipeline: holds the MeshState, applies
 * watched changes to it in batches (once per flush, not per event: updateMeshState rebuilds a
 * kind's indexes, so per-event application would be quadratic on an initial list of 10,000
 * objects), translates per scope, checks consistency before anything is published, and keeps the
 * translation problems of every scope so the control plane can put them on resource statuses.
 *
 * Scope key: role | namespace | gateway ports | explicitly requested API listeners. Sidecar
 * selection in sluice is per namespace (workloadSelector is reported unsupported), so role and
 * namespace already determine the Sidecar a proxy sees; no separate sidecar hash is needed.
 */
import type { KubeObject } from '../api/meta.ts';
import { buildMeshState, changesSince, stateSerial, updateMeshState, type MeshChange } from './translate/mesh-state.ts';
import { translateEndpoints, translateForProxy, type ProxyTranslateOptions } from './translate/translate.ts';
import type { MeshSecuritySource } from './translate/mesh-security.ts';
import { assertConsistent } from './translate/consistency.ts';
import type { MeshState, Problem, ResourceSet, TranslateOptions } from './translate/types.ts';
import type { ScopeTranslator } from './pipeline/push-pipeline.ts';
import type { ProxyInfo } from './xds/node-info.ts';
import { changesBetween, type TypeEntries } from './xds/snapshot.ts';
import { clusterServiceKey } from './translate/endpoints.ts';
import type { Endpoints } from '../api/types/core.ts';

export interface MeshTranslatorOptions extends TranslateOptions {
  activator?: { address: string; port: number };
  /** Mesh security (CA certificates); absent = mesh security off. */
  meshSecurity?: MeshSecuritySource;
  /** The translation's notion of now (certificate validity); the control plane passes its clock. */
  now?: () => number;
}

/**
 * Proxies that asked for VHDS get their hosts as VirtualHost resources: the gateway (every public
 * host) and the mesh proxy (each namespace's egress routes hold every host it may call), so one new
 * service is one small resource for each, not every route configuration again.
 */
function usesVhds(proxy: ProxyInfo): boolean {
  return proxy.vhds === true;
}

export function problemKey(p: Pick<Problem, 'resource'>): string {
  return `${p.resource.kind}|${p.resource.namespace}/${p.resource.name}`;
}

export class MeshTranslator implements ScopeTranslator {
  private state: MeshState;
  private pending: MeshChange[] = [];
  private readonly opts: MeshTranslatorOptions;
  private readonly problemsByScope = new Map<string, Problem[]>();
  /** The last stand-in mesh pass: the state it saw and each namespace's problems. */
  private meshStandIn?: { serial: number; namespaces: readonly string[]; perNs: Map<string, Problem[]> };
  /** Bumped whenever the problem lists change (the status writer compares it). */
  problemsVersion = 0;

  constructor(opts: MeshTranslatorOptions = {}) {
    this.opts = opts;
    this.state = buildMeshState({ activator: opts.activator }, { clusterDomain: opts.clusterDomain });
  }

  /** Endpoints (`ns/name`, the service's key) that name each pod (`ns/name`) among their addresses. */
  private readonly endpointsOfPod = new Map<string, Set<string>>();
  private readonly podsOfEndpoints = new Map<string, readonly string[]>();
  /** Per scope: its cluster names by service key, and the Cluster entries they were read from. */
  private readonly clusterIndexes = new Map<string, { entries: TypeEntries; bySvc: Map<string, Set<string>> }>();

  /** Queues a watched change; it is applied before the next translation. */
  apply(change: MeshChange): void {
    this.pending.push(change);
    if (change.object.kind === 'Endpoints') this.indexEndpoints(change);
  }

  private indexEndpoints(change: MeshChange): void {
    const ep = change.object as Endpoints;
    const ns = ep.metadata.namespace ?? '';
    const key = `${ns}/${ep.metadata.name}`;
    const before = this.podsOfEndpoints.get(key) ?? [];
    const now = new Set<string>();
    if (change.type !== 'delete') {
      for (const subset of ep.subsets ?? []) {
        for (const a of [...(subset.addresses ?? []), ...(subset.notReadyAddresses ?? [])]) {
          if (a.targetRef?.kind === 'Pod' && a.targetRef.name) now.add(`${a.targetRef.namespace ?? ns}/${a.targetRef.name}`);
        }
      }
    }
    for (const p of before) {
      if (now.has(p)) continue;
      const set = this.endpointsOfPod.get(p);
      set?.delete(key);
      if (set?.size === 0) this.endpointsOfPod.delete(p);
    }
    for (const p of now) {
      let set = this.endpointsOfPod.get(p);
      if (!set) this.endpointsOfPod.set(p, (set = new Set()));
      set.add(key);
    }
    if (now.size) this.podsOfEndpoints.set(key, [...now]); else this.podsOfEndpoints.delete(key);
  }

  /**
   * The clusters among `clusters` (a scope's Cluster entries) whose load assignments an
   * endpoint-only change set can change: those of the services whose Endpoints changed or name a
   * changed pod. Undefined when the set holds anything else (then every assignment is rebuilt).
   * Rebuilding every assignment of a scope on each endpoint change made each such flush
   * O(services): at 1,000 services, most of what grew per flush between the first and the last
   * 100 of a readiness run.
   */
  affectedClusters(scopeKey: string, changes: ReadonlyMap<string, ReadonlySet<string>>, clusters: TypeEntries): string[] | undefined {
    for (const kind of changes.keys()) if (kind !== 'core/endpoints' && kind !== 'core/pods') return undefined;
    const services = new Set(changes.get('core/endpoints') ?? []);
    for (const pod of changes.get('core/pods') ?? []) for (const svc of this.endpointsOfPod.get(pod) ?? []) services.add(svc);
    const bySvc = this.clustersByService(scopeKey, clusters);
    const out: string[] = [];
    for (const svc of services) for (const name of bySvc.get(svc) ?? []) out.push(name);
    return out;
  }

  /** A scope's cluster names by service key, kept up to date through the snapshot diff chain. */
  private clustersByService(scopeKey: string, entries: TypeEntries): Map<string, Set<string>> {
    const domain = this.opts.clusterDomain ?? 'cluster.local';
    let ix = this.clusterIndexes.get(scopeKey);
    if (ix?.entries === entries) return ix.bySvc;
    const add = (bySvc: Map<string, Set<string>>, name: string): void => {
      const svc = clusterServiceKey(name, domain);
      if (!svc) return;
      let set = bySvc.get(svc);
      if (!set) bySvc.set(svc, (set = new Set()));
      set.add(name);
    };
    const since = ix ? changesBetween(ix.entries, entries) : undefined;
    if (ix && since) {
      for (const name of [...since.changed, ...since.removed]) {
        if (entries.has(name)) { add(ix.bySvc, name); continue; }
        const svc = clusterServiceKey(name, domain);
        const set = svc ? ix.bySvc.get(svc) : undefined;
        set?.delete(name);
        if (set?.size === 0) ix.bySvc.delete(svc);
      }
      ix.entries = entries;
      return ix.bySvc;
    }
    const bySvc = new Map<string, Set<string>>();
    for (const name of entries.keys()) add(bySvc, name);
    this.clusterIndexes.set(scopeKey, (ix = { entries, bySvc }));
    return bySvc;
  }


  get meshState(): MeshState { this.sync(); return this.state; }

  private sync(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.state = updateMeshState(this.state, batch, { clusterDomain: this.opts.clusterDomain });
  }

  scopeKey(proxy: ProxyInfo, apiListeners: readonly string[]): string {
    const ports = proxy.role === 'gateway' ? `${proxy.ports?.http ?? ''},${proxy.ports?.https ?? ''}` : '';
    return `${proxy.role}|${proxy.namespace ?? '*'}|${ports}|${apiListeners.join(',')}${usesVhds(proxy) ? '|vhds' : ''}`;
  }

  private options(apiListeners: readonly string[]): ProxyTranslateOptions {
    const { activator: _a, now, ...rest } = this.opts;
    return { ...rest, apiListeners, ...(now ? { now: now() } : {}) };
  }

  translate(proxy: ProxyInfo, apiListeners: readonly string[]): ResourceSet {
    this.sync();
    const r = translateForProxy(this.state, proxy, { ...this.options(apiListeners), vhds: usesVhds(proxy) });
    assertConsistent(r.resources, `configuration for ${proxy.role} proxy ${proxy.id}`);
    this.setProblems(this.scopeKey(proxy, apiListeners), r.problems);
    return r.resources;
  }

  translateEndpoints(proxy: ProxyInfo, clusterNames: string[]): Map<string, object> {
    this.sync();
    return translateEndpoints(this.state, proxy, clusterNames, this.options([]));
  }

  /**
   * Translates for stand-in proxies (a gateway and an all-namespace mesh proxy) only to collect
   * problems, so unsupported fields are reported even while no real proxy of a role is connected.
   */
  problemsPass(roles: readonly ('gateway' | 'mesh')[]): void {
    this.sync();
    for (const role of roles) {
      if (role === 'gateway') {
        const r = translateForProxy(this.state, { id: '(problems-gateway)', role, metadata: {} }, { ...this.options([]), problemsOnly: true });
        this.setProblems('(stand-in)|gateway', r.problems);
        continue;
      }
      // A mesh proxy builds a namespace's egress routes only when something there needs them;
      // an API listener forces them, so every namespace's mesh VirtualServices get looked at.
      const redo = this.standInNamespaces();
      const perNs = new Map<string, Problem[]>();
      const problems: Problem[] = [];
      for (const ns of this.state.namespaces) {
        let list = redo === 'all' || redo.has(ns) ? undefined : this.meshStandIn?.perNs.get(ns);
        if (!list) list = translateForProxy(this.state, { id: '(problems-mesh)', role, namespace: ns, metadata: {} }, { ...this.options(['(problems)']), problemsOnly: true }).problems;
        perNs.set(ns, list);
        problems.push(...list);
      }
      this.meshStandIn = { serial: stateSerial(this.state), namespaces: this.state.namespaces, perNs };
      this.setProblems('(stand-in)|mesh', problems);
    }
  }

  /**
   * Namespaces whose stand-in mesh translation may give other problems than at the last pass.
   * Without Sidecars and with the default egress (`./*`: a namespace sees only its own
   * namespace's services and VirtualServices), a namespace's scope reads only objects of that
   * namespace; when only Ingresses, Endpoints and Pods changed since, only their namespaces are
   * translated again (every namespace was, on every pass: 163 ms at 10,000 services in 100
   * namespaces). A namespace appearing or going, or anything else: 'all'.
   */
  private standInNamespaces(): Set<string> | 'all' {
    const last = this.meshStandIn;
    const egress = this.opts.defaultEgressHosts;
    if (!last || this.state.sidecarsByNamespace.size > 0 || (egress && (egress.length !== 1 || egress[0] !== './*'))) return 'all';
    // A new or gone namespace changes how `name.ns` hosts qualify anywhere.
    if (this.state.namespaces !== last.namespaces) return 'all';
    const changes = changesSince(this.state, last.serial);
    if (!changes) return 'all';
    const out = new Set<string>();
    for (const [kind, keys] of changes) {
      if (kind !== 'ingresses' && kind !== 'endpoints' && kind !== 'pods') return 'all';
      // Without DestinationRules the stand-in leaves per-service routes out (mesh.ts): Endpoints
      // changes cannot change its problems.
      if (kind === 'endpoints' && this.state.destinationRules.size === 0) continue;
      for (const k of keys) out.add(k.slice(0, k.indexOf('/')));
    }
    return out;
  }

  /** A scope went away (its last proxy left): its problems and cluster index go too. */
  forgetScope(key: string): void {
    this.clusterIndexes.delete(key);
    if (this.problemsByScope.delete(key)) this.problemsVersion++;
  }

  private setProblems(key: string, problems: Problem[]): void {
    const before = this.problemsByScope.get(key);
    if (before && JSON.stringify(before) === JSON.stringify(problems)) return;
    if (!before && problems.length === 0) return;
    this.problemsByScope.set(key, problems);
    this.problemsVersion++;
  }

  /** Every problem of every scope, by object (`Kind|ns/name`), deduplicated by field. */
  problems(): Map<string, Problem[]> {
    const out = new Map<string, Problem[]>();
    for (const list of this.problemsByScope.values()) {
      for (const p of list) {
        const k = problemKey(p);
        let l = out.get(k);
        if (!l) out.set(k, (l = []));
        if (!l.some((q) => q.field === p.field && q.message === p.message)) l.push(p);
      }
    }
    return out;
  }

  /** Objects currently known (for tests). */
  has(kind: 'ingresses', o: KubeObject): boolean {
    this.sync();
    return this.state[kind].has(`${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`);
  }
}
