/**
 * networking.istio.io/v1 and security.istio.io/v1 types, with Istio's v1 field names
 * (istio.io/api networking/v1alpha3 and security/v1beta1 protos, served as v1).
 * Durations are strings in protobuf JSON form (`1.5s`, `100ms`, `1m`); enums are their
 * upper-case names.
 */
import type { KubeObject } from '../meta.ts';

// ---------------------------------------------------------------- shared

/** Exactly one of exact / prefix / regex (RE2 syntax). */
export interface StringMatch { exact?: string; prefix?: string; regex?: string }
export interface Percent { value: number }
export interface PortSelector { number: number }
export interface WorkloadSelector { matchLabels?: Record<string, string> }
export interface PolicyTargetReference { group?: string; kind: string; name: string; namespace?: string }

export interface IstioCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}
export interface IstioStatus {
  conditions?: IstioCondition[];
  validationMessages?: { type?: { code?: string; name?: string }; level?: string; documentationUrl?: string }[];
  observedGeneration?: number | string;
}

// ---------------------------------------------------------------- VirtualService

export interface Destination { host: string; subset?: string; port?: PortSelector }
export interface HeaderOperations { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] }
export interface Headers { request?: HeaderOperations; response?: HeaderOperations }

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  queryParams?: Record<string, StringMatch>;
  ignoreUriCase?: boolean;
  withoutHeaders?: Record<string, StringMatch>;
  sourceNamespace?: string;
  statPrefix?: string;
}

export interface HTTPRouteDestination { destination: Destination; weight?: number; headers?: Headers }

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  redirectCode?: number;
}
export interface HTTPDirectResponse { status: number; body?: { string?: string; bytes?: string } }
export interface Delegate { name: string; namespace?: string }
export interface RegexRewrite { match: string; rewrite: string }
export interface HTTPRewrite { uri?: string; authority?: string; uriRegexRewrite?: RegexRewrite }

export interface HTTPRetry {
  attempts: number;
  perTryTimeout?: string;
  /** Comma-separated Envoy retry conditions (`5xx,connect-failure`) and/or gRPC status names. */
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  backoff?: string;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; exponentialDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; http2Error?: string; percentage?: Percent };
}

export interface CorsPolicy {
  allowOrigins?: StringMatch[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
}

export interface HTTPMirrorPolicy { destination: Destination; percentage?: Percent }

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  delegate?: Delegate;
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: Percent;
  mirrors?: HTTPMirrorPolicy[];
  corsPolicy?: CorsPolicy;
  headers?: Headers;
}

export interface RouteDestination { destination: Destination; weight?: number }
export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
}
export interface TLSMatchAttributes extends L4MatchAttributes { sniHosts: string[] }
export interface TCPRoute { match?: L4MatchAttributes[]; route?: RouteDestination[] }
export interface TLSRoute { match: TLSMatchAttributes[]; route?: RouteDestination[] }

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tls?: TLSRoute[];
  tcp?: TCPRoute[];
  exportTo?: string[];
}
export type VirtualService = KubeObject<VirtualServiceSpec, IstioStatus>;

// ---------------------------------------------------------------- DestinationRule

export type SimpleLB = 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';
export interface ConsistentHashLB {
  httpHeaderName?: string;
  httpCookie?: { name: string; path?: string; ttl?: string };
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
  ringHash?: { minimumRingSize?: number };
  maglev?: { tableSize?: number };
  minimumRingSize?: number;
}
export interface LocalityLoadBalancerSetting {
  distribute?: { from?: string; to?: Record<string, number> }[];
  failover?: { from?: string; to?: string }[];
  failoverPriority?: string[];
  enabled?: boolean | null;
}
export interface LoadBalancerSettings {
  simple?: SimpleLB;
  consistentHash?: ConsistentHashLB;
  localityLbSetting?: LocalityLoadBalancerSetting;
  warmupDurationSecs?: string;
}

export interface TcpKeepalive { probes?: number; time?: string; interval?: string }
export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: string;
    tcpKeepalive?: TcpKeepalive;
    maxConnectionDuration?: string;
    idleTimeout?: string;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    useClientProtocol?: boolean;
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailures?: number;
  consecutiveGatewayErrors?: number;
  consecutive5xxErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export type ClientTLSMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
export interface ClientTLSSettings {
  mode?: ClientTLSMode;
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
  caCrl?: string;
}

export interface PortTrafficPolicy {
  port?: PortSelector;
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
}
export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  portLevelSettings?: PortTrafficPolicy[];
  tunnel?: { protocol?: string; targetHost: string; targetPort: number };
  proxyProtocol?: { version?: 'V1' | 'V2' };
}
export interface Subset { name: string; labels?: Record<string, string>; trafficPolicy?: TrafficPolicy }

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: WorkloadSelector;
}
export type DestinationRule = KubeObject<DestinationRuleSpec, IstioStatus>;

// ---------------------------------------------------------------- Gateway

export interface GatewayPort { number: number; protocol: string; name?: string; targetPort?: number }
export type ServerTLSMode = 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
export type TLSProtocol = 'TLS_AUTO' | 'TLSV1_0' | 'TLSV1_1' | 'TLSV1_2' | 'TLSV1_3';
export interface ServerTLSSettings {
  httpsRedirect?: boolean;
  mode?: ServerTLSMode;
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  caCrl?: string;
  credentialName?: string;
  credentialNames?: string[];
  subjectAltNames?: string[];
  verifyCertificateSpki?: string[];
  verifyCertificateHash?: string[];
  minProtocolVersion?: TLSProtocol;
  maxProtocolVersion?: TLSProtocol;
  cipherSuites?: string[];
}
export interface Server {
  port: GatewayPort;
  bind?: string;
  hosts: string[];
  tls?: ServerTLSSettings;
  defaultEndpoint?: string;
  name?: string;
}
export interface GatewaySpec { servers?: Server[]; selector?: Record<string, string> }
export type Gateway = KubeObject<GatewaySpec, IstioStatus>;

// ---------------------------------------------------------------- Sidecar

export interface SidecarPort { number: number; protocol?: string; name?: string; targetPort?: number }
export type CaptureMode = 'DEFAULT' | 'IPTABLES' | 'NONE';
export interface IstioIngressListener {
  port: SidecarPort;
  bind?: string;
  captureMode?: CaptureMode;
  defaultEndpoint?: string;
  tls?: ServerTLSSettings;
  connectionPool?: ConnectionPoolSettings;
}
export interface IstioEgressListener {
  port?: SidecarPort;
  bind?: string;
  captureMode?: CaptureMode;
  /** `namespace/dnsName` entries: `./*`, `istio-system/*`, `*\/foo.example.com`. */
  hosts: string[];
}
export interface OutboundTrafficPolicy { mode?: 'REGISTRY_ONLY' | 'ALLOW_ANY'; egressProxy?: Destination }
export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: IstioIngressListener[];
  egress?: IstioEgressListener[];
  inboundConnectionPool?: ConnectionPoolSettings;
  outboundTrafficPolicy?: OutboundTrafficPolicy;
}
export type Sidecar = KubeObject<SidecarSpec, IstioStatus>;

// ---------------------------------------------------------------- PeerAuthentication

export type MutualTLSMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';
export interface PeerAuthenticationMutualTLS { mode?: MutualTLSMode }
export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  mtls?: PeerAuthenticationMutualTLS;
  /** Keyed by port number (as a string in JSON). */
  portLevelMtls?: Record<string, PeerAuthenticationMutualTLS>;
}
export type PeerAuthentication = KubeObject<PeerAuthenticationSpec, IstioStatus>;

// ---------------------------------------------------------------- AuthorizationPolicy

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
export interface Source {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}
export interface Operation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}
export interface AuthorizationCondition { key: string; values?: string[]; notValues?: string[] }
export interface AuthorizationRule {
  from?: { source?: Source }[];
  to?: { operation?: Operation }[];
  when?: AuthorizationCondition[];
}
export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  rules?: AuthorizationRule[];
  action?: AuthorizationAction;
  /** Required when action is CUSTOM. */
  provider?: { name: string };
}
export type AuthorizationPolicy = KubeObject<AuthorizationPolicySpec, IstioStatus>;
