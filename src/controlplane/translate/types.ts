/**
 * The translation's contract: an immutable snapshot of the inputs (MeshState), who the output is
 * for (ProxyInfo), and what comes out (a ResourceSet of plain Envoy objects plus Problems that the
 * control plane writes onto the offending resource's status).
 */
import type { KubeObject } from '../../api/meta.ts';
import type { Endpoints, Pod, Secret } from '../../api/types/core.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import type {
  AuthorizationPolicy, DestinationRule, Gateway, PeerAuthentication, Sidecar, VirtualService,
} from '../../api/types/istio.ts';
import type { ResourceTypeUrl } from '../../xds/protos.ts';

/** Pod annotations the runtime sets when it allocates mesh-proxy ports for a pod. */
export const PodAnnotations = {
  /** Port the mesh proxy listens on for the pod's inbound traffic (queue-proxy role). */
  inboundPort: 'sluice.dev/inbound-port',
  /** Port the mesh proxy listens on for the pod's outbound traffic (its HTTP_PROXY). */
  egressPort: 'sluice.dev/egress-port',
  /** Port the pod's process listens on ($PORT); else the first containerPort, else env PORT. */
  podPort: 'sluice.dev/port',
  /** Optional endpoint weight for load balancing (positive integer). */
  weight: 'sluice.dev/endpoint-weight',
} as const;
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';

/** Per-namespace, per-key indexes over the inputs; built by buildMeshState, never mutated. */
export interface MeshState {
  readonly ingresses: ReadonlyMap<string, KIngress>;
  readonly ingressesByNamespace: ReadonlyMap<string, readonly KIngress[]>;
  /** Ingresses with at least one ExternalIP rule (what the gateway serves), sorted. */
  readonly publicIngresses: readonly KIngress[];
  readonly endpoints: ReadonlyMap<string, Endpoints>;
  readonly endpointsByNamespace: ReadonlyMap<string, readonly Endpoints[]>;
  readonly pods: ReadonlyMap<string, Pod>;
  readonly podsByNamespace: ReadonlyMap<string, readonly Pod[]>;
  readonly virtualServices: ReadonlyMap<string, VirtualService>;
  /** VirtualServices bound to the `mesh` gateway (explicitly or by default), per namespace. */
  readonly meshVirtualServicesByNamespace: ReadonlyMap<string, readonly VirtualService[]>;
  /** VirtualServices bound to a Gateway, keyed `ns/name` of the Gateway. */
  readonly virtualServicesByGateway: ReadonlyMap<string, readonly VirtualService[]>;
  readonly destinationRules: ReadonlyMap<string, DestinationRule>;
  /** DestinationRules by the FQDN of spec.host (exact hosts). */
  readonly destinationRulesByHost: ReadonlyMap<string, readonly DestinationRule[]>;
  /** DestinationRules whose host is a wildcard (`*.ns.svc.cluster.local`). */
  readonly wildcardDestinationRules: readonly DestinationRule[];
  readonly gateways: ReadonlyMap<string, Gateway>;
  readonly sidecarsByNamespace: ReadonlyMap<string, readonly Sidecar[]>;
  readonly secrets: ReadonlyMap<string, Secret>;
  /** Per Secret `ns/name`, its last well-formed version (a bad update keeps the previous certificate serving). */
  readonly lastGoodSecrets: ReadonlyMap<string, Secret>;
  readonly peerAuthenticationsByNamespace: ReadonlyMap<string, readonly PeerAuthentication[]>;
  readonly authorizationPoliciesByNamespace: ReadonlyMap<string, readonly AuthorizationPolicy[]>;
  /** `ns/name` of every revision that some Ingress split routes to (activator fallback applies). */
  readonly revisionBackends: ReadonlySet<string>;
  /** Every namespace that holds at least one input object, sorted. */
  readonly namespaces: readonly string[];
  /** Where traffic for a revision without ready pods goes (issue 6); absent = nowhere. */
  readonly activator?: { readonly address: string; readonly port: number };
}

/** The lists buildMeshState takes (all optional); or pass KubeObject[] of mixed kinds. */
export interface MeshInput {
  ingresses?: readonly KIngress[];
  endpoints?: readonly Endpoints[];
  pods?: readonly Pod[];
  virtualServices?: readonly VirtualService[];
  destinationRules?: readonly DestinationRule[];
  gateways?: readonly Gateway[];
  sidecars?: readonly Sidecar[];
  secrets?: readonly Secret[];
  peerAuthentications?: readonly PeerAuthentication[];
  authorizationPolicies?: readonly AuthorizationPolicy[];
  activator?: { address: string; port: number };
}

/** Who the translation is for. Compatible with controlplane/xds/node-info.ts's ProxyInfo. */
export interface ProxyInfo {
  id: string;
  role: 'gateway' | 'mesh';
  /** Scope of a mesh proxy; absent = every namespace, each with its own egress scope. */
  namespace?: string;
  /** The gateway's listener ports (defaults from TranslateOptions). */
  ports?: { http?: number; https?: number };
  metadata?: Record<string, string>;
}

export type ResourceSet = Record<ResourceTypeUrl, Map<string, object>>;

export interface ProblemRef { kind: string; namespace: string; name: string }
/** Something in an input that sluice could not translate as written; goes on the resource's status. */
export interface Problem {
  resource: ProblemRef;
  /** Field path in the resource, e.g. `spec.http[0].corsPolicy`. */
  field: string;
  message: string;
  severity: 'error' | 'warning';
}

/** Counts of inputs looked at, so tests can check that scoping uses indexes (not timings). */
export interface TranslateStats {
  ingressesVisited: number;
  virtualServicesVisited: number;
  endpointsVisited: number;
  podsVisited: number;
}

export interface TranslateResult {
  resources: ResourceSet;
  problems: Problem[];
  stats: TranslateStats;
}

export interface TranslateOptions {
  /** Kubernetes cluster domain used to qualify service hosts. Default `cluster.local`. */
  clusterDomain?: string;
  /** Address gateway listeners bind. Default `0.0.0.0`. */
  gatewayAddress?: string;
  /** Address mesh-proxy listeners bind. Default `127.0.0.1`. */
  meshAddress?: string;
  /** Gateway ports when ProxyInfo.ports does not give them. Default http 8080, https 8443. */
  gatewayPorts?: { http: number; https: number };
  /** Default upstream connect timeout. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Default upstream idle timeout (lessons: 30 s, not 1 h). */
  upstreamIdleTimeoutMs?: number;
  /** Default route timeout, 0 = none (Istio's default). */
  routeTimeoutMs?: number;
  /** Default load-balancing policy. Default LEAST_REQUEST. */
  lbPolicy?: 'LEAST_REQUEST' | 'ROUND_ROBIN' | 'RANDOM';
  /** Retry budget on every cluster (lessons: 20 % of active requests, at least 3). */
  retryBudget?: { percent: number; minConcurrency: number };
  /** Outlier detection's max ejection percent when a DestinationRule does not give one. Default 10. */
  maxEjectionPercent?: number;
  /** Egress hosts of a namespace without a Sidecar. Default `['./*']` (own namespace only). */
  defaultEgressHosts?: readonly string[];
  /** Namespace whose selector-less Sidecar is the mesh-wide default. Default `istio-system`. */
  rootNamespace?: string;
  /** Let Gateways and DestinationRules use Secrets of other namespaces (`ns/name`). Default false. */
  allowCrossNamespaceSecrets?: boolean;
  /** Service port assumed when a destination names none. Default 80. */
  defaultServicePort?: number;
}

export type ResolvedOptions = Required<Omit<TranslateOptions, 'gatewayPorts'>> & { gatewayPorts: { http: number; https: number } };

export function resolveOptions(o: TranslateOptions = {}): ResolvedOptions {
  return {
    clusterDomain: o.clusterDomain ?? 'cluster.local',
    gatewayAddress: o.gatewayAddress ?? '0.0.0.0',
    meshAddress: o.meshAddress ?? '127.0.0.1',
    gatewayPorts: o.gatewayPorts ?? { http: 8080, https: 8443 },
    connectTimeoutMs: o.connectTimeoutMs ?? 1000,
    upstreamIdleTimeoutMs: o.upstreamIdleTimeoutMs ?? 30_000,
    routeTimeoutMs: o.routeTimeoutMs ?? 0,
    lbPolicy: o.lbPolicy ?? 'LEAST_REQUEST',
    retryBudget: o.retryBudget ?? { percent: 20, minConcurrency: 3 },
    maxEjectionPercent: o.maxEjectionPercent ?? 10,
    defaultEgressHosts: o.defaultEgressHosts ?? ['./*'],
    rootNamespace: o.rootNamespace ?? 'istio-system',
    allowCrossNamespaceSecrets: o.allowCrossNamespaceSecrets ?? false,
    defaultServicePort: o.defaultServicePort ?? 80,
  };
}

export function refOf(o: KubeObject): ProblemRef {
  return { kind: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' };
}
