/** Schemas for networking.istio.io/v1: VirtualService, DestinationRule, Gateway, Sidecar (Istio's CRD field names). */
import { istioStatus, kindSchema } from './meta.ts';
import {
  arr, bool, duration, enumOf, int, mapOf, num, obj, str, strMap, strs, type Schema,
} from './types.ts';

export const stringMatch: Schema = obj({
  exact: str('Exact string match.'),
  prefix: str('Prefix-based match.'),
  regex: str('RE2 style regex-based match.'),
}, { description: 'Describes how to match a given string in HTTP headers; exactly one of exact, prefix, regex.' });

const percent = obj({ value: num() }, { description: 'Percent specifies a percentage in the range of [0.0, 100.0].' });
const portSelector = obj({ number: int('Valid port number.') });
export const destination: Schema = obj({
  host: str('The name of a service from the service registry.'),
  subset: str('The name of a subset within the service.'),
  port: portSelector,
}, { required: ['host'], description: 'Destination uniquely identifies the instances of a service to which the request should be forwarded.' });
const headerOperations = obj({ set: strMap(), add: strMap(), remove: strs() });
const headers = obj({ request: headerOperations, response: headerOperations }, { description: 'Header manipulation rules.' });

const httpMatch = obj({
  name: str('The name assigned to a match.'),
  uri: stringMatch, scheme: stringMatch, method: stringMatch, authority: stringMatch,
  headers: mapOf(stringMatch), port: int(), sourceLabels: strMap(), gateways: strs(),
  queryParams: mapOf(stringMatch), ignoreUriCase: bool(), withoutHeaders: mapOf(stringMatch),
  sourceNamespace: str(), statPrefix: str(),
});

const httpRoute = obj({
  name: str('The name assigned to the route for debugging purposes.'),
  match: arr(httpMatch, 'Match conditions to be satisfied for the rule to be activated.'),
  route: arr(obj({ destination, weight: int('Proportion of traffic to forward to the destination (0-100).'), headers }, { required: ['destination'] })),
  redirect: obj({
    uri: str(), authority: str(), port: int(), derivePort: enumOf(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']),
    scheme: str(), redirectCode: int(),
  }),
  directResponse: obj({ status: int(), body: obj({ string: str(), bytes: str(undefined, 'binary') }) }, { required: ['status'] }),
  delegate: obj({ name: str(), namespace: str() }),
  rewrite: obj({ uri: str(), authority: str(), uriRegexRewrite: obj({ match: str(), rewrite: str() }) }),
  timeout: duration('Timeout for HTTP requests; disabled by default.'),
  retries: obj({
    attempts: int('Number of retries to be allowed for a given request.'),
    perTryTimeout: duration('Timeout per attempt for a given request.'),
    retryOn: str('Conditions under which retry takes place, comma-separated.'),
    retryRemoteLocalities: { type: 'boolean', nullable: true },
    retryIgnorePreviousHosts: { type: 'boolean', nullable: true },
    backoff: duration(),
  }, { description: 'Retry policy for HTTP requests.' }),
  fault: obj({
    delay: obj({ fixedDelay: duration(), exponentialDelay: duration(), percentage: percent, percent: int() }),
    abort: obj({ httpStatus: int(), grpcStatus: str(), http2Error: str(), percentage: percent }),
  }),
  mirror: destination,
  mirrorPercentage: percent,
  mirrors: arr(obj({ destination, percentage: percent }, { required: ['destination'] })),
  corsPolicy: obj({
    allowOrigins: arr(stringMatch), allowMethods: strs(), allowHeaders: strs(), exposeHeaders: strs(),
    maxAge: duration(), allowCredentials: { type: 'boolean', nullable: true },
    unmatchedPreflights: enumOf(['UNSPECIFIED', 'FORWARD', 'IGNORE']),
  }),
  headers,
}, { description: 'Describes match conditions and actions for routing HTTP/1.1, HTTP2, and gRPC traffic.' });

const routeDestination = obj({ destination, weight: int() }, { required: ['destination'] });
const l4Match = { destinationSubnets: strs(), port: int(), sourceLabels: strMap(), gateways: strs(), sourceNamespace: str() };

export const virtualServiceSpec: Schema = obj({
  hosts: strs('The destination hosts to which traffic is being sent.'),
  gateways: strs('The names of gateways and sidecars that should apply these routes.'),
  http: arr(httpRoute, 'An ordered list of route rules for HTTP traffic.'),
  tls: arr(obj({ match: arr(obj({ sniHosts: strs(), ...l4Match }, { required: ['sniHosts'] })), route: arr(routeDestination) }, { required: ['match'] })),
  tcp: arr(obj({ match: arr(obj(l4Match)), route: arr(routeDestination) })),
  exportTo: strs('A list of namespaces to which this virtual service is exported.'),
}, { description: 'Configuration affecting label/content routing, sni routing, etc.' });

const lbSimple = enumOf(['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'], 'Standard load balancing algorithm.');
const loadBalancer = obj({
  simple: lbSimple,
  consistentHash: obj({
    httpHeaderName: str(), httpCookie: obj({ name: str(), path: str(), ttl: duration() }, { required: ['name'] }),
    useSourceIp: bool(), httpQueryParameterName: str(),
    ringHash: obj({ minimumRingSize: int(undefined, 'int64') }), maglev: obj({ tableSize: int(undefined, 'int64') }),
    minimumRingSize: int(undefined, 'int64'),
  }),
  localityLbSetting: obj({
    distribute: arr(obj({ from: str(), to: mapOf(int()) })),
    failover: arr(obj({ from: str(), to: str() })),
    failoverPriority: strs(),
    enabled: { type: 'boolean', nullable: true },
  }),
  warmupDurationSecs: duration(),
}, { description: 'Settings controlling the load balancer algorithms.' });

const connectionPool = obj({
  tcp: obj({
    maxConnections: int('Maximum number of HTTP1/TCP connections to a destination host.'),
    connectTimeout: duration('TCP connection timeout.'),
    tcpKeepalive: obj({ probes: int(), time: duration(), interval: duration() }),
    maxConnectionDuration: duration(),
    idleTimeout: duration(),
  }),
  http: obj({
    http1MaxPendingRequests: int(), http2MaxRequests: int(), maxRequestsPerConnection: int(), maxRetries: int(),
    idleTimeout: duration('The idle timeout for upstream connection pool connections.'),
    h2UpgradePolicy: enumOf(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']),
    useClientProtocol: bool(), maxConcurrentStreams: int(),
  }),
}, { description: 'Connection pool settings for an upstream host.' });

const outlierDetection = obj({
  splitExternalLocalOriginErrors: bool(), consecutiveLocalOriginFailures: { type: 'integer', nullable: true },
  consecutiveGatewayErrors: { type: 'integer', nullable: true }, consecutive5xxErrors: { type: 'integer', nullable: true },
  interval: duration(), baseEjectionTime: duration(), maxEjectionPercent: int(), minHealthPercent: int(),
}, { description: 'Circuit breaker implementation that tracks the status of each individual host in the upstream service.' });

const clientTls = obj({
  mode: enumOf(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'], 'Indicates whether connections to this port should be secured using TLS.'),
  clientCertificate: str(), privateKey: str(), caCertificates: str(), credentialName: str(),
  subjectAltNames: strs(), sni: str(), insecureSkipVerify: { type: 'boolean', nullable: true }, caCrl: str(),
});

const policyFields = { loadBalancer, connectionPool, outlierDetection, tls: clientTls };
const trafficPolicy = obj({
  ...policyFields,
  portLevelSettings: arr(obj({ port: portSelector, ...policyFields })),
  tunnel: obj({ protocol: str(), targetHost: str(), targetPort: int() }, { required: ['targetHost', 'targetPort'] }),
  proxyProtocol: obj({ version: enumOf(['V1', 'V2']) }),
}, { description: 'Traffic policies to apply (load balancing policy, connection pool sizes, outlier detection).' });

export const destinationRuleSpec: Schema = obj({
  host: str('The name of a service from the service registry.'),
  trafficPolicy,
  subsets: arr(obj({ name: str(), labels: strMap(), trafficPolicy }, { required: ['name'] }), 'One or more named sets that represent individual versions of a service.'),
  exportTo: strs(),
  workloadSelector: obj({ matchLabels: strMap() }),
}, { required: ['host'], description: 'Policies that apply to traffic intended for a service after routing has occurred.' });

const tlsProtocol = enumOf(['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3']);
const serverTls = obj({
  httpsRedirect: bool('If set to true, the load balancer will send a 301 redirect for all http connections.'),
  mode: enumOf(['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']),
  serverCertificate: str(), privateKey: str(), caCertificates: str(), caCrl: str(),
  credentialName: str('For gateways running on sluice, the name of the Secret that holds the TLS certs.'),
  credentialNames: strs(), subjectAltNames: strs(), verifyCertificateSpki: strs(), verifyCertificateHash: strs(),
  minProtocolVersion: tlsProtocol, maxProtocolVersion: tlsProtocol, cipherSuites: strs(),
});

export const gatewaySpec: Schema = obj({
  servers: arr(obj({
    port: obj({ number: int(), protocol: str('HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP or TLS.'), name: str(), targetPort: int() }, { required: ['number', 'protocol', 'name'] }),
    bind: str(), hosts: strs('One or more hosts exposed by this gateway.'), tls: serverTls, defaultEndpoint: str(), name: str(),
  }, { required: ['port', 'hosts'] }), 'A list of server specifications.'),
  selector: strMap('One or more labels that indicate a specific set of pods/VMs on which this gateway configuration should be applied.'),
}, { description: 'Configuration affecting edge load balancer.' });

const sidecarPort = obj({ number: int(), protocol: str(), name: str(), targetPort: int() });
const captureMode = enumOf(['DEFAULT', 'IPTABLES', 'NONE']);
export const sidecarSpec: Schema = obj({
  workloadSelector: obj({ labels: strMap() }),
  ingress: arr(obj({
    port: sidecarPort, bind: str(), captureMode, defaultEndpoint: str(), tls: serverTls, connectionPool,
  }, { required: ['port'] })),
  egress: arr(obj({ port: sidecarPort, bind: str(), captureMode, hosts: strs('`namespace/dnsName` hosts the proxy can reach.') }, { required: ['hosts'] })),
  inboundConnectionPool: connectionPool,
  outboundTrafficPolicy: obj({ mode: enumOf(['REGISTRY_ONLY', 'ALLOW_ANY']), egressProxy: destination }),
}, { description: 'Configuration affecting network reachability of a sidecar.' });

export const istioNetworkingSchemas: Record<string, Schema> = {
  VirtualService: kindSchema('Configuration affecting label/content routing, sni routing, etc. See more details at: https://istio.io/docs/reference/config/networking/virtual-service.html', { spec: virtualServiceSpec, status: istioStatus }),
  DestinationRule: kindSchema('Configuration affecting load balancing, outlier detection, etc. See more details at: https://istio.io/docs/reference/config/networking/destination-rule.html', { spec: destinationRuleSpec, status: istioStatus }),
  Gateway: kindSchema('Configuration affecting edge load balancer. See more details at: https://istio.io/docs/reference/config/networking/gateway.html', { spec: gatewaySpec, status: istioStatus }),
  Sidecar: kindSchema('Configuration affecting network reachability of a sidecar. See more details at: https://istio.io/docs/reference/config/networking/sidecar.html', { spec: sidecarSpec, status: istioStatus }),
};
