/**
 * The per-call state of one translation: inputs, options, the proxy, collected problems, and
 * what the routes built so far refer to (clusters, secrets). Route builders register what they
 * use here, so the proxy receives exactly the clusters and secrets its routes and listeners need.
 */
import type { DestinationRule, TrafficPolicy } from '../../api/types/istio.ts';
import { outboundClusterName } from './hosts.ts';
import { ProblemSink } from './problems.ts';
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

export class TranslateContext {
  readonly problems = new ProblemSink();
  readonly stats: TranslateStats = { ingressesVisited: 0, virtualServicesVisited: 0, endpointsVisited: 0, podsVisited: 0 };
  readonly clusters = new Map<string, ClusterUse>();
  /** Envoy Secret resources by SDS name, registered when a listener or cluster references them. */
  readonly secrets = new Map<string, object>();
  readonly namespaceSet: ReadonlySet<string>;

  constructor(readonly state: MeshState, readonly opts: ResolvedOptions, readonly proxy: ProxyInfo) {
    this.namespaceSet = new Set(state.namespaces);
  }

  /** Registers an outbound cluster by its parts; `resolve` fills the policy the first time. */
  useCluster(host: string, port: number | string, subset: string | undefined, fromNamespace: string, resolve: (u: ClusterUse) => void): string {
    const name = outboundClusterName(port, subset, host);
    if (!this.clusters.has(name)) {
      const use: ClusterUse = { name, host, port: String(port), fromNamespace, ...(subset ? { subset } : {}) };
      resolve(use);
      this.clusters.set(name, use);
    }
    return name;
  }
}
