/** Pure translation of Envoy resources, including the NACK texts for invalid ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { translateCluster } from './cluster.ts';
import { translateLoadAssignment, translateSecret } from './endpoints.ts';
import { translateListener } from './listener.ts';
import { re2ToJs, compileFullMatch } from './re2-regex.ts';
import { translateRouteConfiguration } from './route-config.ts';
import { hcmListener } from '../testing/resources.ts';

const D = { upstreamIdleTimeoutMs: 30_000, connectTimeoutMs: 5_000, routeTimeoutMs: 15_000, streamIdleTimeoutMs: 300_000 };

test('route actions: weighted clusters, rewrites, timeouts, retry policy, mirrors, hash policy, fault', () => {
  const t = translateRouteConfiguration({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{
    match: { prefix: '/a' },
    route: {
      weighted_clusters: { clusters: [{ name: 'x', weight: { value: 90 } }, { name: 'y', weight: { value: 10 } }] },
      prefix_rewrite: '/b', host_rewrite_literal: 'h', timeout: { seconds: 2 }, idle_timeout: { seconds: 9 },
      retry_policy: { retry_on: '5xx,connect-failure', num_retries: { value: 3 }, per_try_timeout: { nanos: 500_000_000 }, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] },
      request_mirror_policies: [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 5, denominator: 'HUNDRED' } } }],
      hash_policy: [{ header: { header_name: 'X-User' } }],
    },
    typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': TypeUrl.Fault, abort: { http_status: 503, percentage: { numerator: 10 } } } },
  }] }] }, D);
  const r = t.virtualHosts[0]!.routes[0]!;
  assert.equal(r.action.kind, 'route');
  if (r.action.kind !== 'route') return;
  assert.deepEqual(r.action.clusters, [{ name: 'x', weight: 90 }, { name: 'y', weight: 10 }]);
  assert.equal(r.action.totalWeight, 100);
  assert.equal(r.action.prefixRewrite, '/b');
  assert.equal(r.action.hostRewrite, 'h');
  assert.equal(r.action.timeoutMs, 2000);
  assert.equal(r.action.idleTimeoutMs, 9000);
  assert.deepEqual(r.action.retry?.retryOn, ['5xx', 'connect-failure']);
  assert.equal(r.action.retry?.numRetries, 3);
  assert.equal(r.action.retry?.perTryTimeoutMs, 500);
  assert.equal(r.action.retry?.previousHosts, true);
  assert.deepEqual(r.action.mirrors, [{ cluster: 'shadow', percent: 5 }]);
  assert.equal(r.action.hashHeader, 'x-user');
  assert.deepEqual(r.fault, { abortStatus: 503, abortPercent: 10, delayMs: undefined, delayPercent: 0 });
});

test('routes without a retry_policy get no retries and the default 15 s timeout', () => {
  const t = translateRouteConfiguration({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] }, D);
  const a = t.virtualHosts[0]!.routes[0]!.action;
  assert.equal(a.kind === 'route' && a.retry, undefined);
  assert.equal(a.kind === 'route' && a.timeoutMs, 15_000);
});

const nack: [string, object, RegExp][] = [
  ['no action', { match: { prefix: '/' } }, /routes\[0\]: route needs one of route, redirect, direct_response/],
  ['no match', { route: { cluster: 'c' } }, /routes\[0\]\.match: match is required/],
  ['lookahead', { match: { safe_regex: { regex: 'a(?!b)' } }, route: { cluster: 'c' } }, /routes\[0\]\.match\.safe_regex\.regex: .*lookaround/],
  ['backreference', { match: { safe_regex: { regex: '(a)\\1' } }, route: { cluster: 'c' } }, /backreference/],
  ['bad retry_on', { match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_on: '5xx,sometimes' } } }, /route\.retry_policy\.retry_on: unknown retry condition "sometimes"/],
  ['zero weights', { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } } }, /weighted_clusters: all weights are 0/],
  ['bad header', { match: { prefix: '/' }, route: { cluster: 'c' }, request_headers_to_add: [{ header: { key: 'bad key', value: 'v' } }] }, /request_headers_to_add\[0\]\.header\.key: invalid header name/],
  ['bad direct status', { match: { prefix: '/' }, direct_response: { status: 42 } }, /direct_response\.status: must be 200–599/],
];
for (const [what, route, re] of nack) {
  test(`invalid route (${what}) → error naming resource and field`, () => {
    assert.throws(() => translateRouteConfiguration({ name: 'rc1', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [route] }] }, D), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SLUICE_E_PROXY_CONFIG');
      assert.match(e.message, /^RouteConfiguration "rc1": virtual_hosts\[0\]\./);
      assert.match(e.message, re);
      return true;
    });
  });
}

test('RE2 → JS: named groups, \\A \\z, leading flags, and refusals', () => {
  assert.deepEqual(re2ToJs('(?P<id>[0-9]+)'), { source: '(?<id>[0-9]+)', flags: '' });
  assert.deepEqual(re2ToJs('\\Afoo\\z'), { source: '^foo$', flags: '' });
  assert.deepEqual(re2ToJs('(?i)abc'), { source: 'abc', flags: 'i' });
  assert.ok(compileFullMatch('a.c').test('abc'));
  assert.ok(!compileFullMatch('a.c').test('xabc'), 'full match, not search');
  assert.throws(() => re2ToJs('[[:alpha:]]'), /POSIX class/);
  assert.throws(() => re2ToJs('a(?m:b)'), /inline flag group/);
});

test('listener: address, RDS name, HCM timeouts and XFF settings', () => {
  const l = translateListener(hcmListener('l1', 8080, 'routes-1', {
    stream_idle_timeout: { seconds: 60 }, request_timeout: { seconds: 30 }, common_http_protocol_options: { idle_timeout: { seconds: 120 } },
    use_remote_address: { value: true }, xff_num_trusted_hops: 1,
    access_log: [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': TypeUrl.StdoutAccessLog } }],
  }), D);
  assert.equal(l.port, 8080);
  assert.equal(l.tls, false);
  const h = l.filterChains[0]!.hcm;
  assert.equal(h.rdsName, 'routes-1');
  assert.deepEqual([h.streamIdleTimeoutMs, h.requestTimeoutMs, h.idleTimeoutMs, h.useRemoteAddress, h.xffNumTrustedHops], [60_000, 30_000, 120_000, true, 1]);
  assert.deepEqual(h.accessLogs, [{ kind: 'stdout' }]);
});

test('listener: TLS filter chain by SDS names; unsupported filters are refused', () => {
  const base = hcmListener('tls', 8443, 'r') as any;
  base.filter_chains[0].transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.DownstreamTlsContext, common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'cert-a' }], alpn_protocols: ['h2', 'http/1.1'] } } };
  const l = translateListener(base, D);
  assert.equal(l.tls, true);
  assert.deepEqual(l.filterChains[0]!.tls?.certSecrets, ['cert-a']);
  const bad = hcmListener('l', 1, 'r') as any;
  bad.filter_chains[0].filters[0].typed_config.http_filters.unshift({ name: 'envoy.filters.http.lua' });
  assert.throws(() => translateListener(bad, D), /Listener "l": filter_chains\[0\]\.filters\.typed_config\.http_filters\[0\]\.name: unsupported http filter "envoy.filters.http.lua"/);
});

test('cluster: policies, circuit breakers with retry budget, outlier detection only when set, pool options, upstream TLS', () => {
  const c = translateCluster({
    name: 'c', type: 'EDS', eds_cluster_config: { service_name: 'c-eds' }, connect_timeout: { nanos: 250_000_000 }, lb_policy: 'LEAST_REQUEST',
    circuit_breakers: { thresholds: [{ max_connections: { value: 10 }, max_requests: { value: 20 }, retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: { value: 5 } } }] },
    outlier_detection: { consecutive_5xx: { value: 3 } },
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { common_http_protocol_options: { idle_timeout: { seconds: 5 }, max_requests_per_connection: { value: 100 } } } },
    transport_socket: { name: 'tls', typed_config: { '@type': TypeUrl.UpstreamTlsContext, sni: 'svc', common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'id' }], validation_context_sds_secret_config: { name: 'ca' } } } },
  }, D);
  assert.equal(c.edsServiceName, 'c-eds');
  assert.equal(c.connectTimeoutMs, 250);
  assert.equal(c.lbPolicy, 'LEAST_REQUEST');
  assert.deepEqual(c.circuitBreakers, { maxConnections: 10, maxPendingRequests: 1024, maxRequests: 20, maxRetries: 3, retryBudget: { budgetPercent: 25, minRetryConcurrency: 5 } });
  assert.equal(c.outlier?.consecutive5xx, 3);
  assert.equal(c.outlier?.maxEjectionPercent, 10);
  assert.equal(c.idleTimeoutMs, 5000);
  assert.equal(c.maxRequestsPerConnection, 100);
  assert.deepEqual(c.tls, { certSecret: 'id', validationSecret: 'ca', sni: 'svc', alpn: [] });
  const plain = translateCluster({ name: 'p', type: 'EDS' }, D);
  assert.equal(plain.outlier, undefined, 'outlier detection off unless asked');
  assert.equal(plain.idleTimeoutMs, 30_000);
  assert.deepEqual(plain.circuitBreakers.retryBudget, { budgetPercent: 20, minRetryConcurrency: 3 });
  assert.equal(translateCluster({ name: 'rr', type: 'EDS', load_balancing_policy: { policies: [{ typed_extension_config: { typed_config: { '@type': TypeUrl.WrrLocalityLb } } }] } }, D).lbPolicy, 'LOCALITY_WEIGHTED');
  assert.throws(() => translateCluster({ name: 'd', type: 'STRICT_DNS' }, D), /Cluster "d": type: unsupported discovery type "STRICT_DNS"/);
  assert.throws(() => translateCluster({ name: 'm', lb_policy: 'MAGLEV' }, D), /Cluster "m": lb_policy: unsupported policy "MAGLEV"/);
});

test('endpoints: localities, weights, health; secrets', () => {
  const e = translateLoadAssignment({ cluster_name: 'c', endpoints: [{ locality: { region: 'r', zone: 'z' }, priority: 1, load_balancing_weight: { value: 3 }, lb_endpoints: [
    { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: 2 }, health_status: 'HEALTHY' },
    { endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 80 } } }, health_status: 'DRAINING' },
  ] }] });
  assert.deepEqual(e.localities[0], { locality: 'r/z', priority: 1, weight: 3, endpoints: [
    { address: '10.0.0.1', port: 80, weight: 2, healthy: true }, { address: '10.0.0.2', port: 80, weight: 1, healthy: false },
  ] });
  assert.throws(() => translateLoadAssignment({ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'x', port_value: 0 } } } }] }] }),
    /ClusterLoadAssignment "c": endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.port_value: must be 1–65535/);
  assert.throws(() => translateSecret({ name: 's', tls_certificate: { certificate_chain: { inline_string: 'nope' }, private_key: { inline_string: 'x' } } }), /Secret "s": tls_certificate\.certificate_chain: is not PEM/);
  assert.deepEqual(translateSecret({ name: 'ca', validation_context: { trusted_ca: { inline_string: 'PEM' } } }), { name: 'ca', trustedCa: 'PEM' });
});

test('cluster: upstream HTTP/2 from explicit_http_config, the legacy field, or the downstream protocol', () => {
  const opts = (o: object) => ({ name: 'h', type: 'EDS', typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TypeUrl.HttpProtocolOptions, ...o } } });
  assert.equal(translateCluster(opts({ explicit_http_config: { http2_protocol_options: {} } }), D).http2, 'always');
  assert.equal(translateCluster(opts({ explicit_http_config: { http_protocol_options: {} } }), D).http2, undefined);
  assert.equal(translateCluster(opts({ use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } }), D).http2, 'downstream');
  assert.equal(translateCluster({ name: 'l', type: 'EDS', http2_protocol_options: {} }, D).http2, 'always');
  assert.equal(translateCluster({ name: 'p', type: 'EDS' }, D).http2, undefined);
});
