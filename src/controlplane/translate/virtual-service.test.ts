import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HTTPRoute } from '../../api/types/istio.ts';
import * as f from './testing/fixtures.ts';
import { clusters, GATEWAY, hasProblem, meshIn, routesOf, run, vhost } from './testing/inspect.ts';
import { ok } from './testing/inspect.ts';

const GW = f.gateway('istio-system', 'public', { servers: [{ port: { number: 80, protocol: 'HTTP' }, hosts: ['*'] }] });
const dr = f.destinationRule('default', 'reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] });

/** Translates one HTTPRoute of a mesh VirtualService for host `reviews` and returns its Envoy routes. */
function meshRoutes(http: HTTPRoute[], more: object = {}) {
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], http, ...more });
  const r = run({ virtualServices: [vs], destinationRules: [dr] }, meshIn('default'));
  return { r, routes: routesOf(r, 'egress|default', 'reviews.default.svc.cluster.local') };
}
const to = (host = 'reviews', extra: object = {}) => ({ destination: { host, ...extra } });

test('match table: uri exact/prefix/regex, ignoreUriCase, headers, withoutHeaders, queryParams, method, authority, scheme', () => {
  const cases: [object, object][] = [
    [{ uri: { exact: '/a' } }, { path: '/a' }],
    [{ uri: { prefix: '/b' } }, { prefix: '/b' }],
    [{ uri: { regex: '/c/[0-9]+' } }, { safe_regex: { regex: '/c/[0-9]+' } }],
    [{ uri: { prefix: '/D' }, ignoreUriCase: true }, { prefix: '/D', case_sensitive: { value: false } }],
    [{ headers: { 'X-User': { exact: 'jason' }, 'x-any': {} } }, { prefix: '/', headers: [{ name: 'x-user', string_match: { exact: 'jason' } }, { name: 'x-any', present_match: true }] }],
    [{ headers: { a: { prefix: 'p' } } }, { prefix: '/', headers: [{ name: 'a', string_match: { prefix: 'p' } }] }],
    [{ headers: { a: { regex: 'r.*' } } }, { prefix: '/', headers: [{ name: 'a', string_match: { safe_regex: { regex: 'r.*' } } }] }],
    [{ withoutHeaders: { 'x-debug': { exact: '1' } } }, { prefix: '/', headers: [{ name: 'x-debug', string_match: { exact: '1' }, invert_match: true }] }],
    [{ queryParams: { v: { exact: '2' }, q: { regex: 'x+' } } }, { prefix: '/', query_parameters: [{ name: 'q', string_match: { safe_regex: { regex: 'x+' } } }, { name: 'v', string_match: { exact: '2' } }] }],
    [{ method: { exact: 'POST' } }, { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'POST' } }] }],
    [{ authority: { prefix: 'api.' } }, { prefix: '/', headers: [{ name: ':authority', string_match: { prefix: 'api.' } }] }],
    [{ scheme: { exact: 'https' } }, { prefix: '/', headers: [{ name: ':scheme', string_match: { exact: 'https' } }] }],
  ];
  for (const [match, want] of cases) {
    const { routes } = meshRoutes([{ match: [match], route: [to()] }]);
    assert.deepEqual(routes[0].match, want, JSON.stringify(match));
  }
});

test('several match conditions give one route each, in order; no match is a catch-all prefix /', () => {
  const { routes } = meshRoutes([{ name: 'r', match: [{ uri: { prefix: '/x' }, name: 'm1' }, { uri: { prefix: '/y' } }], route: [to()] }, { route: [to()] }]);
  assert.deepEqual(routes.map((r: any) => r.match), [{ prefix: '/x' }, { prefix: '/y' }, { prefix: '/' }]);
  assert.equal(routes[0].name, 'r.m1');
  assert.equal(routes[1].name, 'r');
});

test('destinations with weights and subsets → weighted clusters outbound|PORT|SUBSET|HOST; per-destination headers', () => {
  const { r, routes } = meshRoutes([{ route: [
    { ...to('reviews', { subset: 'v1' }), weight: 75 },
    { ...to('reviews', { subset: 'v2', port: { number: 9080 } }), weight: 25, headers: { request: { set: { 'x-v': '2' } }, response: { remove: ['server'] } } },
  ] }]);
  const wc = routes[0].route.weighted_clusters.clusters;
  assert.deepEqual(wc.map((c: any) => [c.name, c.weight.value]), [['outbound|80|v1|reviews.default.svc.cluster.local', 75], ['outbound|9080|v2|reviews.default.svc.cluster.local', 25]]);
  assert.deepEqual(wc[1].request_headers_to_add, [{ header: { key: 'x-v', value: '2' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
  assert.deepEqual(wc[1].response_headers_to_remove, ['server']);
  ok(clusters(r).has('outbound|9080|v2|reviews.default.svc.cluster.local'));
});

test('a single destination routes to its cluster; other-namespace hosts are qualified', () => {
  const { routes } = meshRoutes([{ route: [to('ratings.prod.svc.cluster.local')] }]);
  assert.equal(routes[0].route.cluster, 'outbound|80||ratings.prod.svc.cluster.local');
});

test('an unknown subset is an error and the destination is dropped (503 when none is left)', () => {
  const { r, routes } = meshRoutes([{ route: [to('reviews', { subset: 'v9' })] }]);
  assert.equal(routes[0].direct_response.status, 503);
  ok(hasProblem(r, 'VirtualService', 'spec.http[0].route[0].destination.subset', /subset "v9" is not defined/, 'error'));
  assert.equal(clusters(r).size, 0);
});

test('rewrite uri / authority / uriRegexRewrite', () => {
  let { routes } = meshRoutes([{ rewrite: { uri: '/v2/', authority: 'new.host' }, route: [to()] }]);
  assert.equal(routes[0].route.prefix_rewrite, '/v2/');
  assert.equal(routes[0].route.host_rewrite_literal, 'new.host');
  ({ routes } = meshRoutes([{ rewrite: { uriRegexRewrite: { match: '^/old/(.*)', rewrite: '/new/\\1' } }, route: [to()] }]));
  assert.deepEqual(routes[0].route.regex_rewrite, { pattern: { regex: '^/old/(.*)' }, substitution: '/new/\\1' });
});

test('redirect and directResponse', () => {
  let { routes } = meshRoutes([{ redirect: { uri: '/new', authority: 'b.example', port: 8443, scheme: 'https', redirectCode: 302 } }]);
  assert.deepEqual(routes[0].redirect, { path_redirect: '/new', host_redirect: 'b.example', port_redirect: 8443, scheme_redirect: 'https', response_code: 'FOUND' });
  ({ routes } = meshRoutes([{ redirect: { uri: '/moved' } }]));
  assert.equal(routes[0].redirect.response_code, 'MOVED_PERMANENTLY');
  ({ routes } = meshRoutes([{ directResponse: { status: 418, body: { string: 'teapot' } } }]));
  assert.deepEqual(routes[0].direct_response, { status: 418, body: { inline_string: 'teapot' } });
});

test('timeout: the route asks → set; not asked → 0 (none); a bad duration is an error', () => {
  let { routes } = meshRoutes([{ timeout: '2.5s', route: [to()] }]);
  assert.deepEqual(routes[0].route.timeout, { seconds: 2, nanos: 500_000_000 });
  ({ routes } = meshRoutes([{ route: [to()] }]));
  assert.deepEqual(routes[0].route.timeout, { seconds: 0, nanos: 0 });
  const bad = meshRoutes([{ timeout: 'soon', route: [to()] }]);
  ok(hasProblem(bad.r, 'VirtualService', 'spec.http[0].timeout', /not a duration/, 'error'));
});

test('retries only when the route asks: attempts, perTryTimeout, retryOn (status codes split out), backoff', () => {
  let { routes } = meshRoutes([{ route: [to()] }]);
  assert.equal(routes[0].route.retry_policy, undefined);
  ({ routes } = meshRoutes([{ retries: { attempts: 3, perTryTimeout: '500ms', retryOn: '5xx,503,connect-failure', backoff: '50ms' }, route: [to()] }]));
  const rp = routes[0].route.retry_policy;
  assert.equal(rp.num_retries.value, 3);
  assert.deepEqual(rp.per_try_timeout, { seconds: 0, nanos: 500_000_000 });
  assert.equal(rp.retry_on, '5xx,connect-failure,retriable-status-codes');
  assert.deepEqual(rp.retriable_status_codes, [503]);
  assert.deepEqual(rp.retry_back_off, { base_interval: { seconds: 0, nanos: 50_000_000 } });
  assert.equal(rp.retry_host_predicate[0].name, 'envoy.retry_host_predicates.previous_hosts');
  ({ routes } = meshRoutes([{ retries: { attempts: 2 }, route: [to()] }]));
  assert.equal(routes[0].route.retry_policy.retry_on, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
  ({ routes } = meshRoutes([{ retries: { attempts: 0 }, route: [to()] }]));
  assert.equal(routes[0].route.retry_policy, undefined, 'attempts 0 disables retries');
});

test('headers set/add/remove on request and response', () => {
  const { routes } = meshRoutes([{ headers: { request: { set: { a: '1' }, add: { b: '2' }, remove: ['c'] }, response: { set: { d: '4' } } }, route: [to()] }]);
  assert.deepEqual(routes[0].request_headers_to_add, [
    { header: { key: 'a', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    { header: { key: 'b', value: '2' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
  ]);
  assert.deepEqual(routes[0].request_headers_to_remove, ['c']);
  assert.deepEqual(routes[0].response_headers_to_add, [{ header: { key: 'd', value: '4' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
});

test('fault delay and abort → HTTPFault in typed_per_filter_config (percent in millionths)', () => {
  const { routes } = meshRoutes([{ fault: { delay: { fixedDelay: '5s', percentage: { value: 12.5 } }, abort: { httpStatus: 503, percentage: { value: 1 } } }, route: [to()] }]);
  const fc = routes[0].typed_per_filter_config['envoy.filters.http.fault'];
  assert.deepEqual(fc.delay, { fixed_delay: { seconds: 5, nanos: 0 }, percentage: { numerator: 125_000, denominator: 'MILLION' } });
  assert.deepEqual(fc.abort, { http_status: 503, percentage: { numerator: 10_000, denominator: 'MILLION' } });
  const g = meshRoutes([{ fault: { abort: { grpcStatus: 'UNAVAILABLE' } }, route: [to()] }]);
  assert.equal(g.routes[0].typed_per_filter_config['envoy.filters.http.fault'].abort.grpc_status, 14);
});

test('mirror and mirrors → request_mirror_policies with their clusters', () => {
  const { r, routes } = meshRoutes([{ route: [to()], mirror: { host: 'shadow' }, mirrorPercentage: { value: 50 }, mirrors: [{ destination: { host: 'audit' } }] }]);
  assert.deepEqual(routes[0].route.request_mirror_policies, [
    { cluster: 'outbound|80||shadow.default.svc.cluster.local', runtime_fraction: { default_value: { numerator: 500_000, denominator: 'MILLION' } } },
    { cluster: 'outbound|80||audit.default.svc.cluster.local', runtime_fraction: { default_value: { numerator: 1_000_000, denominator: 'MILLION' } } },
  ]);
  ok(clusters(r).has('outbound|80||shadow.default.svc.cluster.local'));
});

test('unsupported fields show up as problems with their path, and the rest still translates', () => {
  const { r, routes } = meshRoutes([
    { corsPolicy: { allowOrigins: [{ exact: 'x' }] }, match: [{ sourceLabels: { app: 'a' }, port: 80 }], route: [to()] },
    { delegate: { name: 'other' } },
  ], { tcp: [{ route: [{ destination: { host: 'db' } }] }], tls: [{ match: [{ sniHosts: ['a'] }] }] });
  for (const field of ['spec.tcp', 'spec.tls', 'spec.http[0].corsPolicy', 'spec.http[0].match[0].sourceLabels', 'spec.http[0].match[0].port', 'spec.http[1].delegate']) {
    ok(hasProblem(r, 'VirtualService', field, /not supported/), field);
  }
  assert.equal(routes.length, 1);
  assert.equal(routes[0].route.cluster, 'outbound|80||reviews.default.svc.cluster.local');
});

test('match-level sourceNamespace and gateways are decided per route table', () => {
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], gateways: ['mesh', 'istio-system/public'], http: [
    { match: [{ sourceNamespace: 'other' }], route: [to('reviews', { subset: 'v2' })] },
    { match: [{ gateways: ['istio-system/public'], uri: { prefix: '/gw' } }], route: [to('reviews', { subset: 'v1' })] },
    { route: [to()] },
  ] });
  const mesh = run({ virtualServices: [vs], destinationRules: [dr] }, meshIn('default'));
  assert.deepEqual(routesOf(mesh, 'egress|default', 'reviews').map((r: any) => r.match), [{ prefix: '/' }]);
});

test('a VirtualService bound to a Gateway: hosts intersected with server hosts, only its clusters sent', () => {
  const gw = f.gateway('istio-system', 'public', { servers: [{ port: { number: 80, protocol: 'HTTP' }, hosts: ['*.example.com'] }] });
  const vs = f.virtualService('default', 'web', { hosts: ['web.example.com', 'other.org'], gateways: ['istio-system/public'], http: [{ route: [to('web')] }] });
  const meshOnly = f.virtualService('default', 'internal', { hosts: ['internal'], http: [{ route: [to('internal')] }] });
  const r = run({ gateways: [gw], virtualServices: [vs, meshOnly] }, GATEWAY);
  assert.equal(routesOf(r, 'http.8080', 'web.example.com')[0].route.cluster, 'outbound|80||web.default.svc.cluster.local');
  assert.equal(vhost(r, 'http.8080', 'other.org'), undefined);
  assert.deepEqual([...clusters(r).keys()], ['outbound|80||web.default.svc.cluster.local']);
});

test('a VirtualService naming a Gateway by short name binds to the Gateway of its own namespace', () => {
  const gw = f.gateway('default', 'gw', { servers: [{ port: { number: 80, protocol: 'HTTP' }, hosts: ['./*'] }] });
  const vs = f.virtualService('default', 'web', { hosts: ['web.example.com'], gateways: ['gw'], http: [{ route: [to('web')] }] });
  const foreign = f.virtualService('other', 'web', { hosts: ['x.example.com'], gateways: ['default/gw'], http: [{ route: [to('web')] }] });
  const r = run({ gateways: [gw, GW], virtualServices: [vs, foreign] }, GATEWAY);
  ok(vhost(r, 'http.8080', 'web.example.com'));
  assert.equal(vhost(r, 'http.8080', 'x.example.com'), undefined, 'server hosts ./* admit only the Gateway namespace');
  ok(hasProblem(r, 'VirtualService', 'spec.hosts', /none of the hosts matches/));
});

test('several destinations without weights share evenly; zero-weight destinations get nothing', () => {
  let { routes } = meshRoutes([{ route: [to('a'), to('b')] }]);
  assert.deepEqual(routes[0].route.weighted_clusters.clusters.map((c: any) => c.weight.value), [1, 1]);
  ({ routes } = meshRoutes([{ route: [{ ...to('a'), weight: 100 }, { ...to('b'), weight: 0 }] }]));
  assert.equal(routes[0].route.cluster, 'outbound|80||a.default.svc.cluster.local');
});

test('a mesh VirtualService overrides the default route of a service of the same name, without a report', () => {
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] });
  const r = run({ virtualServices: [vs], destinationRules: [dr], endpoints: [f.endpoints('default', 'reviews', [{ port: 1 }])] }, meshIn('default'));
  assert.equal(routesOf(r, 'egress|default', 'reviews.default')[0].route.cluster, 'outbound|80|v1|reviews.default.svc.cluster.local');
  assert.deepEqual(r.problems, []);
});

test('a destination that is a Knative revision service carries the revision headers (the activator may serve it); others do not', () => {
  const rev = f.endpoints('default', 'hello-00001', [{ port: 30001 }]);
  rev.metadata.labels = { 'serving.knative.dev/revision': 'hello-00001' };
  const plain = f.endpoints('default', 'reviews', [{ port: 30002 }]);
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'hello-00001' }, weight: 90 }, { destination: { host: 'reviews' }, weight: 10 }] }] });
  const r = run({ virtualServices: [vs], endpoints: [rev, plain] }, meshIn('default'));
  const wc = routesOf(r, 'egress|default', 'reviews.default.svc.cluster.local')[0].route.weighted_clusters.clusters;
  assert.deepEqual(wc[0].request_headers_to_add, [
    { header: { key: 'Knative-Serving-Namespace', value: 'default' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    { header: { key: 'Knative-Serving-Revision', value: 'hello-00001' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
  ], 'the revision destination names its revision');
  assert.equal(wc[1].request_headers_to_add, undefined, 'a plain service gets no revision headers');
  // The mesh egress route to the revision's own service names it too.
  const direct = routesOf(r, 'egress|default', 'hello-00001.default.svc.cluster.local')[0];
  assert.equal(direct.request_headers_to_add?.length, 2, 'egress route to a revision service names the revision');
});
