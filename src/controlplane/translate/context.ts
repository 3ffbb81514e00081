/**
 * The per-call state of one translation: inputs, options, the proxy, collected problems, and
 * what the routes built so far refer to (clusters, secrets). Route builders register what they
 * use here, so the proxy receives exactly the clusters and secrets its routes and listeners need.
 */
import type { DestinationRule, TrafficPolicy } from '../../api/types/istio.ts';
import { outboundClusterName } from './hosts.ts';
import { ProblemSink } from './problems.ts';
import { canonicalJson } from './resource-hash.ts';
import type { MeshState, ProxyInfo, ResolvedOptions, TranslateStats } from './types.ts';

/** An outbound cluster a route uses, with the DestinationRule policy that shapes it. */
export interface ClusterUse {
  name: string;
  host: string;
  port: string;
  subset?: string;
  /** Namespace of the route that referenced the cluster first (DestinationRule lookup starts there). */
  fromNamespace: string;
  rule?: DestinationRule;
  policy?: TrafficPolicy;
  /** Labels a subset selects endpoints by. */
  subsetLabels?: Record<string, string>;
}

// The namespace set of a MeshState's (immutable, shared between states) namespace list: built
// once, not per translation (a pass over 1,000 namespaces would otherwise build 1,000 sets).
const namespaceSets = new WeakMap<readonly string[], ReadonlySet<string>>();

// Distinct option sets seen by this process (a handful: one per control-plane configuration).
const optionIds = new Map<string, string>();

/** What a recorded piece of translation used, so a cached result can be replayed into another context. */
export interface Recording { clusters: ClusterUse[]; problems: Parameters<ProblemSink['add']>[] }

export class TranslateContext {
  readonly problems = new ProblemSink();
  private recordings: Recording[] = [];
  private optsKeyCache?: string;
  readonly stats: TranslateStats = { ingressesVisited: 0, virtualServicesVisited: 0, endpointsVisited: 0, podsVisited: 0 };
  readonly clusters = new Map<string, ClusterUse>();
  /** Envoy Secret resources by SDS name, registered when a listener or cluster references them. */
  readonly secrets = new Map<string, object>();
  readonly namespaceSet: ReadonlySet<string>;
  /**
   * Only the problems are wanted (the control plane's stand-in pass): builders may leave out what
   * can report none (translate.ts: load assignments; mesh.ts: the quiet per-service routes).
   */
  problemsOnly = false;

  /**
   * @param now epoch ms the translation checks certificate validity at (not part of `opts`, so
   *   cache keys built from the options stay stable from one translation to the next).
   */
  constructor(readonly state: MeshState, readonly opts: ResolvedOptions, readonly proxy: ProxyInfo, readonly now: number = Date.now()) {
    let set = namespaceSets.get(state.namespaces);
    if (!set) namespaceSets.set(state.namespaces, (set = new Set(state.namespaces)));
    this.namespaceSet = set;
  }

  /** Registers an outbound cluster by its parts; `resolve` fills the policy the first time. */
  useCluster(host: string, port: number | string, subset: string | undefined, fromNamespace: string, resolve: (u: ClusterUse) => void): string {
    const name = outboundClusterName(port, subset, host);
    let use = this.clusters.get(name);
    if (!use) {
      use = { name, host, port: String(port), fromNamespace, ...(subset ? { subset } : {}) };
      resolve(use);
      this.clusters.set(name, use);
    }
    for (const r of this.recordings) r.clusters.push(use);
    return name;
  }

  /** Runs `fn`, recording the clusters it uses and the problems it reports (nested recordings nest). */
  record<T>(fn: () => T): { value: T; recording: Recording } {
    const recording: Recording = { clusters: [], problems: [] };
    this.recordings.push(recording);
    const stop = this.problems.listen((args) => recording.problems.push(args));
    try {
      return { value: fn(), recording };
    } finally {
      stop();
      this.recordings.splice(this.recordings.indexOf(recording), 1);
    }
  }

  /** Replays a recording made in another translation: registers its clusters and problems here. */
  replay(r: Recording): void {
    for (const use of r.clusters) {
      if (!this.clusters.has(use.name)) this.clusters.set(use.name, use);
      for (const rec of this.recordings) rec.clusters.push(use);
    }
    for (const args of r.problems) this.problems.add(...args);
  }

  /** A short stable key of the resolved options (cache keys include it): equal options, equal key. */
  get optsKey(): string {
    if (this.optsKeyCache === undefined) {
      const json = canonicalJson(this.opts);
      let id = optionIds.get(json);
      if (id === undefined) optionIds.set(json, (id = `o${optionIds.size}`));
      this.optsKeyCache = id;
    }
    return this.optsKeyCache;
  }
}
