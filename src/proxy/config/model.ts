/**
 * The proxy's internal configuration: immutable, precompiled translations of Envoy resources.
 * Built once per xDS update by the pure translators beside this file, read on every request.
 */
export type LbPolicyName = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'LOCALITY_WEIGHTED';

export type StringTest = (v: string) => boolean;

export interface HeaderMatcher {
  /** Lower-case header name. */
  name: string;
  /** undefined = presence match. */
  test?: StringTest;
  present: boolean;
  invert: boolean;
}
export interface QueryMatcher { name: string; test?: StringTest; present: boolean }

export interface RouteMatch {
  kind: 'prefix' | 'path' | 'regex';
  /** Lower-cased when !caseSensitive. */
  value: string;
  regex?: RegExp;
  caseSensitive: boolean;
  headers: readonly HeaderMatcher[];
  query: readonly QueryMatcher[];
}

export interface HeaderToAdd { name: string; value: string; mode: 'append' | 'overwrite' | 'ifAbsent' }
export interface HeaderMutation { add: readonly HeaderToAdd[]; remove: readonly string[] }

export interface RetryPolicy {
  retryOn: string[];
  numRetries: number;
  perTryTimeoutMs: number;
  previousHosts: boolean;
  retriableStatusCodes: number[];
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface WeightedCluster {
  name: string;
  weight: number;
  /** The cluster entry's own request_/response_headers_to_add/remove (Knative's per-split headers). */
  requestHeaders?: HeaderMutation;
  responseHeaders?: HeaderMutation;
}
export interface FaultConfig { abortStatus?: number; abortPercent: number; delayMs?: number; delayPercent: number }

export interface ForwardAction {
  kind: 'route';
  clusters: readonly WeightedCluster[];
  totalWeight: number;
  prefixRewrite?: string;
  hostRewrite?: string;
  /** 0 = no timeout. */
  timeoutMs: number;
  idleTimeoutMs?: number;
  retry?: RetryPolicy;
  mirrors: readonly { cluster: string; percent: number }[];
  hashHeader?: string;
  upgrades: ReadonlySet<string>;
}
export interface RedirectAction {
  kind: 'redirect';
  status: number;
  scheme?: string;
  host?: string;
  port?: number;
  path?: string;
  prefixRewrite?: string;
  stripQuery: boolean;
}
export interface DirectAction { kind: 'direct'; status: number; body?: string }
export type RouteAction = ForwardAction | RedirectAction | DirectAction;

export interface Route {
  name: string;
  match: RouteMatch;
  action: RouteAction;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  fault?: FaultConfig;
}

export interface VirtualHost {
  name: string;
  domains: readonly string[];
  routes: readonly Route[];
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
}

export interface RouteTable {
  name: string;
  /** Exact domains, lower-case. */
  exact: ReadonlyMap<string, VirtualHost>;
  /** `*.example.com` → ['.example.com', vh], longest first. */
  suffixes: readonly (readonly [string, VirtualHost])[];
  /** `foo.*` → ['foo.', vh], longest first. */
  prefixes: readonly (readonly [string, VirtualHost])[];
  any?: VirtualHost;
  virtualHosts: readonly VirtualHost[];
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  /** Its virtual hosts (also) come over VHDS as VirtualHost resources `<name>/<host>`. */
  vhds?: boolean;
}

export interface AccessLogSink { kind: 'stdout' | 'file'; path?: string }

export interface HttpConnectionManagerConfig {
  statPrefix: string;
  rdsName?: string;
  inlineRoutes?: RouteTable;
  /** 0 = disabled. */
  streamIdleTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  accessLogs: readonly AccessLogSink[];
  /** Whether the http filter chain contains a fault filter (typed_per_filter_config is honoured only then). */
  faultFilter: boolean;
  /** envoy.filters.http.rbac configs (validated), evaluated in order before routing. */
  rbacFilters: readonly Record<string, any>[];
}

export interface DownstreamTls {
  /** SDS secret names holding certificates; the first whose SAN matches the SNI wins, first is default. */
  certSecrets: readonly string[];
  validationSecret?: string;
  requireClientCert: boolean;
  alpn: readonly string[];
}
export interface FilterChain {
  serverNames: readonly string[];
  /** filter_chain_match.transport_protocol (tls_inspector): `tls` or `raw_buffer`; absent = by whether the chain has TLS. */
  transportProtocol?: 'tls' | 'raw_buffer';
  tls?: DownstreamTls;
  hcm: HttpConnectionManagerConfig;
}

export interface ListenerConfig {
  name: string;
  address: string;
  port: number;
  filterChains: readonly FilterChain[];
  tls: boolean;
}

export interface CircuitBreakerLimits {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  retryBudget?: { budgetPercent: number; minRetryConcurrency: number };
}
export interface OutlierConfig {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
  enforcingConsecutive5xx: number;
  enforcingConsecutiveGatewayFailure: number;
}
/** A subject alternative name the upstream's certificate must carry (match_typed_subject_alt_names, exact). */
export interface SanMatch { type: 'URI' | 'DNS'; exact: string }
export interface UpstreamTls {
  certSecret?: string; validationSecret?: string; sni?: string; alpn: readonly string[];
  /** The server certificate must carry one of these SANs (empty/absent: the chain is verified only, as Envoy does). */
  sanMatches?: readonly SanMatch[];
}

export interface ClusterConfig {
  name: string;
  type: 'EDS' | 'STATIC';
  edsServiceName: string;
  connectTimeoutMs: number;
  lbPolicy: LbPolicyName;
  ringHash?: { minRingSize: number; maxRingSize: number };
  circuitBreakers: CircuitBreakerLimits;
  outlier?: OutlierConfig;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  /**
   * Upstream HTTP/2 (HttpProtocolOptions explicit_http_config.http2_protocol_options, or the
   * cluster's http2_protocol_options): `always`; use_downstream_protocol_config: `downstream`
   * (HTTP/2 when the downstream request is). Absent = HTTP/1.1.
   */
  http2?: 'always' | 'downstream';
  tls?: UpstreamTls;
  /**
   * From transport_socket_matches: `tls` applies only to endpoints whose transport-socket-match
   * metadata has these values (Istio's auto mTLS, `tlsMode: istio`); other endpoints are plaintext.
   * Absent = `tls` (if any) applies to every endpoint.
   */
  tlsMatch?: Readonly<Record<string, string>>;
  /** Endpoints given inline (STATIC clusters or load_assignment). */
  inlineEndpoints?: EndpointsConfig;
}

export interface EndpointConfig {
  address: string; port: number; weight: number; healthy: boolean;
  /** filter_metadata["envoy.transport_socket_match"] (string values), matched against ClusterConfig.tlsMatch. */
  socketMatch?: Readonly<Record<string, string>>;
}
export interface LocalityEndpoints {
  locality: string;
  priority: number;
  weight: number;
  endpoints: readonly EndpointConfig[];
}
export interface EndpointsConfig { clusterName: string; localities: readonly LocalityEndpoints[] }

export interface SecretConfig { name: string; certChain?: string; privateKey?: string; trustedCa?: string }

export interface TranslateDefaults { upstreamIdleTimeoutMs: number; connectTimeoutMs: number; routeTimeoutMs: number; streamIdleTimeoutMs: number }
