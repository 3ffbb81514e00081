import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrafficPolicy } from '../../api/types/istio.ts';
import * as f from './testing/fixtures.ts';
import { clas, clusters, hasProblem, meshIn, routesOf, run, secrets } from './testing/inspect.ts';
import { ok } from './testing/inspect.ts';

const C = 'outbound|80||reviews.default.svc.cluster.local';
function withPolicy(trafficPolicy?: TrafficPolicy, more: object = {}) {
  const rules = trafficPolicy || Object.keys(more).length ? [f.destinationRule('default', 'reviews', { host: 'reviews', ...(trafficPolicy ? { trafficPolicy } : {}), ...more })] : [];
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] });
  return run({ virtualServices: [vs], destinationRules: rules, secrets: [f.tlsSecret('default', 'client', { ca: true })] }, meshIn('default'));
}

test('defaults without a DestinationRule: EDS over ADS, 1 s connect, least request (P2C), 30 s idle, retry budget 20 %/3, no outlier detection', () => {
  const c = clusters(withPolicy()).get(C)!;
  assert.equal(c.type, 'EDS');
  assert.deepEqual(c.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: C });
  assert.deepEqual(c.connect_timeout, { seconds: 1, nanos: 0 });
  assert.equal(c.lb_policy, 'LEAST_REQUEST');
  assert.equal(c.load_balancing_policy.policies[0].typed_extension_config.typed_config.choice_count.value, 2);
  assert.deepEqual(c.common_http_protocol_options, { idle_timeout: { seconds: 30, nanos: 0 } });
  const th = c.circuit_breakers.thresholds[0];
  assert.deepEqual(th.retry_budget, { budget_percent: { value: 20 }, min_retry_concurrency: { value: 3 } });
  assert.equal(th.max_retries, undefined);
  assert.equal(c.outlier_detection, undefined);
});

test('loadBalancer.simple table', () => {
  for (const [simple, want] of [['ROUND_ROBIN', 'ROUND_ROBIN'], ['RANDOM', 'RANDOM'], ['LEAST_REQUEST', 'LEAST_REQUEST'], ['LEAST_CONN', 'LEAST_REQUEST']] as const) {
    const c = clusters(withPolicy({ loadBalancer: { simple } })).get(C)!;
    assert.equal(c.lb_policy, want, simple);
    assert.equal(c.load_balancing_policy !== undefined, want === 'LEAST_REQUEST');
  }
  const r = withPolicy({ loadBalancer: { simple: 'PASSTHROUGH' } });
  assert.equal(clusters(r).get(C)!.lb_policy, 'LEAST_REQUEST');
  ok(hasProblem(r, 'DestinationRule', 'spec.trafficPolicy.loadBalancer.simple', /not supported/));
});

test('consistentHash → RING_HASH with a minimum ring size, and a hash_policy on the route', () => {
  const table: [object, object][] = [
    [{ httpHeaderName: 'X-User' }, { header: { header_name: 'x-user' } }],
    [{ httpCookie: { name: 'sid', ttl: '60s', path: '/' } }, { cookie: { name: 'sid', path: '/', ttl: { seconds: 60, nanos: 0 } } }],
    [{ useSourceIp: true }, { connection_properties: { source_ip: true } }],
    [{ httpQueryParameterName: 'u' }, { query_parameter: { name: 'u' } }],
  ];
  for (const [ch, want] of table) {
    const r = withPolicy({ loadBalancer: { consistentHash: { ...ch, ringHash: { minimumRingSize: 2048 } } } });
    const c = clusters(r).get(C)!;
    assert.equal(c.lb_policy, 'RING_HASH');
    assert.deepEqual(c.ring_hash_lb_config, { minimum_ring_size: { value: 2048 } });
    assert.deepEqual(routesOf(r, 'egress|default', 'reviews')[0].route.hash_policy, [want]);
  }
});

test('localityLbSetting enables locality-weighted balancing; distribute/failover are reported', () => {
  const r = withPolicy({ loadBalancer: { localityLbSetting: { enabled: true, failover: [{ from: 'a', to: 'b' }] } } });
  assert.deepEqual(clusters(r).get(C)!.common_lb_config, { locality_weighted_lb_config: {} });
  ok(hasProblem(r, 'DestinationRule', 'spec.trafficPolicy.loadBalancer.localityLbSetting.failover', /not supported/));
  const off = withPolicy({ loadBalancer: { localityLbSetting: { enabled: false } } });
  assert.equal(clusters(off).get(C)!.common_lb_config, undefined);
});

test('connectionPool: idle timeout, max requests per connection, circuit breakers, maxRetries replaces the budget, keepalive, connect timeout', () => {
  const c = clusters(withPolicy({ connectionPool: {
    tcp: { maxConnections: 100, connectTimeout: '250ms', tcpKeepalive: { probes: 3, time: '60s', interval: '10s' }, maxConnectionDuration: '10m' },
    http: { idleTimeout: '5s', maxRequestsPerConnection: 50, http1MaxPendingRequests: 10, http2MaxRequests: 200, maxRetries: 4 },
  } })).get(C)!;
  assert.deepEqual(c.connect_timeout, { seconds: 0, nanos: 250_000_000 });
  assert.deepEqual(c.common_http_protocol_options, { idle_timeout: { seconds: 5, nanos: 0 }, max_connection_duration: { seconds: 600, nanos: 0 }, max_requests_per_connection: { value: 50 } });
  assert.deepEqual(c.circuit_breakers.thresholds[0], { priority: 'DEFAULT', max_connections: { value: 100 }, max_pending_requests: { value: 10 }, max_requests: { value: 200 }, max_retries: { value: 4 } });
  assert.deepEqual(c.upstream_connection_options, { tcp_keepalive: { keepalive_probes: { value: 3 }, keepalive_time: { value: 60 }, keepalive_interval: { value: 10 } } });
});

test('outlierDetection only when asked; max ejection 10 % by default; gateway-only errors do not enforce 5xx', () => {
  let c = clusters(withPolicy({ outlierDetection: { consecutive5xxErrors: 3, interval: '5s', baseEjectionTime: '1m' } })).get(C)!;
  assert.deepEqual(c.outlier_detection, {
    consecutive_5xx: { value: 3 }, enforcing_consecutive_5xx: { value: 100 }, enforcing_consecutive_gateway_failure: { value: 0 },
    enforcing_success_rate: { value: 0 }, interval: { seconds: 5, nanos: 0 }, base_ejection_time: { seconds: 60, nanos: 0 }, max_ejection_percent: { value: 10 },
  });
  c = clusters(withPolicy({ outlierDetection: { consecutiveGatewayErrors: 2, maxEjectionPercent: 30, minHealthPercent: 50 } })).get(C)!;
  assert.equal(c.outlier_detection.enforcing_consecutive_5xx.value, 0);
  assert.equal(c.outlier_detection.consecutive_gateway_failure.value, 2);
  assert.equal(c.outlier_detection.enforcing_consecutive_gateway_failure.value, 100);
  assert.equal(c.outlier_detection.max_ejection_percent.value, 30);
  assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 50 } });
  const bad = withPolicy({ outlierDetection: { interval: 'often' } });
  ok(hasProblem(bad, 'DestinationRule', 'spec.trafficPolicy.outlierDetection.interval', /not a duration/, 'error'));
});

test('subsets: one cluster per subset, endpoints filtered by pod labels, subset policy overrides the top level', () => {
  const dr = f.destinationRule('default', 'reviews', {
    host: 'reviews.default.svc.cluster.local',
    trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' }, connectionPool: { http: { idleTimeout: '7s' } } },
    subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }],
  });
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 50 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 50 }] }] });
  const r = run({
    virtualServices: [vs], destinationRules: [dr],
    endpoints: [f.endpoints('default', 'reviews', [{ port: 31001, pod: 'r1' }, { port: 31002, pod: 'r2' }])],
    pods: [f.pod('default', 'r1', { labels: { version: 'v1' } }), f.pod('default', 'r2', { labels: { version: 'v2' } })],
  }, meshIn('default'));
  const v1 = 'outbound|80|v1|reviews.default.svc.cluster.local';
  const v2 = 'outbound|80|v2|reviews.default.svc.cluster.local';
  assert.equal(clusters(r).get(v1)!.lb_policy, 'ROUND_ROBIN');
  assert.equal(clusters(r).get(v2)!.lb_policy, 'RANDOM');
  assert.deepEqual(clusters(r).get(v2)!.common_http_protocol_options.idle_timeout, { seconds: 7, nanos: 0 });
  const ports = (name: string) => clas(r).get(name)!.endpoints.flatMap((l: any) => l.lb_endpoints.map((e: any) => e.endpoint.address.socket_address.port_value));
  assert.deepEqual(ports(v1), [31001]);
  assert.deepEqual(ports(v2), [31002]);
});

test('portLevelSettings apply to the cluster of that port', () => {
  const dr = f.destinationRule('default', 'reviews', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' }, portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'ROUND_ROBIN' } }] } });
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', port: { number: 9080 } }, weight: 50 }, { destination: { host: 'reviews' }, weight: 50 }] }] });
  const r = run({ virtualServices: [vs], destinationRules: [dr] }, meshIn('default'));
  assert.equal(clusters(r).get('outbound|9080||reviews.default.svc.cluster.local')!.lb_policy, 'ROUND_ROBIN');
  assert.equal(clusters(r).get(C)!.lb_policy, 'RANDOM');
});

test('tls SIMPLE and MUTUAL → UpstreamTlsContext with SDS secrets that are sent along', () => {
  let r = withPolicy({ tls: { mode: 'SIMPLE', credentialName: 'client', sni: 'reviews.internal' } });
  let ts = clusters(r).get(C)!.transport_socket;
  assert.equal(ts.name, 'envoy.transport_sockets.tls');
  assert.equal(ts.typed_config.sni, 'reviews.internal');
  assert.equal(ts.typed_config.common_tls_context.validation_context_sds_secret_config.name, 'default/client-cacert');
  assert.equal(ts.typed_config.common_tls_context.tls_certificate_sds_secret_configs, undefined);
  ok(secrets(r).get('default/client-cacert')!.validation_context.trusted_ca.inline_bytes);
  r = withPolicy({ tls: { mode: 'MUTUAL', credentialName: 'client', subjectAltNames: ['reviews.default'] } });
  ts = clusters(r).get(C)!.transport_socket;
  assert.equal(ts.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default/client');
  assert.deepEqual(ts.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [{ san_type: 'DNS', matcher: { exact: 'reviews.default' } }]);
  assert.deepEqual([...secrets(r).keys()], ['default/client', 'default/client-cacert']);
  r = withPolicy({ tls: { mode: 'MUTUAL', credentialName: 'missing' } });
  ok(hasProblem(r, 'DestinationRule', 'spec.trafficPolicy.tls.credentialName', /Secret default\/missing does not exist/, 'error'));
  assert.equal(secrets(r).size, 0);
  r = withPolicy({ tls: { mode: 'DISABLE' } });
  assert.equal(clusters(r).get(C)!.transport_socket, undefined);
});

test('unsupported DestinationRule fields are reported with their paths', () => {
  const r = withPolicy({
    tunnel: { targetHost: 'x', targetPort: 1 }, proxyProtocol: { version: 'V1' },
    loadBalancer: { simple: 'ROUND_ROBIN', warmupDurationSecs: '10s' },
    connectionPool: { tcp: { idleTimeout: '1h' }, http: { h2UpgradePolicy: 'UPGRADE', useClientProtocol: true, maxConcurrentStreams: 10 } },
    tls: { mode: 'ISTIO_MUTUAL', caCertificates: '/etc/ca.pem' },
  }, { workloadSelector: { matchLabels: { app: 'x' } } });
  for (const f of ['spec.workloadSelector', 'spec.trafficPolicy.tunnel', 'spec.trafficPolicy.proxyProtocol', 'spec.trafficPolicy.loadBalancer.warmupDurationSecs',
    'spec.trafficPolicy.connectionPool.tcp.idleTimeout', 'spec.trafficPolicy.connectionPool.http.h2UpgradePolicy', 'spec.trafficPolicy.connectionPool.http.useClientProtocol',
    'spec.trafficPolicy.connectionPool.http.maxConcurrentStreams', 'spec.trafficPolicy.tls.mode', 'spec.trafficPolicy.tls.caCertificates']) {
    ok(hasProblem(r, 'DestinationRule', f, /not supported/), f);
  }
  assert.equal(clusters(r).get(C)!.lb_policy, 'ROUND_ROBIN', 'the rest still applies');
});

test('the rule in the client namespace wins over the one in the service namespace; exportTo hides rules', () => {
  const local = f.destinationRule('client', 'r', { host: 'reviews.default.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } });
  const owner = f.destinationRule('default', 'r', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } });
  const hidden = f.destinationRule('third', 'r', { host: 'reviews.default.svc.cluster.local', exportTo: ['.'], trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } } });
  const vs = f.virtualService('client', 'v', { hosts: ['reviews.default.svc.cluster.local'], http: [{ route: [{ destination: { host: 'reviews.default.svc.cluster.local' } }] }] });
  const sc = f.sidecar('client', 'default', { egress: [{ hosts: ['./*', 'default/*'] }] });
  const r = run({ virtualServices: [vs], destinationRules: [owner, local, hidden], sidecars: [sc] }, meshIn('client'));
  assert.equal(clusters(r).get(C)!.lb_policy, 'RANDOM');
  const r2 = run({ virtualServices: [vs], destinationRules: [owner, hidden], sidecars: [sc] }, meshIn('client'));
  assert.equal(clusters(r2).get(C)!.lb_policy, 'ROUND_ROBIN');
});
