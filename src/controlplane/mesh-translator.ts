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

  /** Queues a watched change; it is applied before the next translation. */
  apply(change: MeshChange): void { this.pending.push(change); }

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

  forgetScope(key: string): void {
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
