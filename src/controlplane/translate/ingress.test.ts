import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as f from './testing/fixtures.ts';
import { clusters, GATEWAY, hasProblem, listeners, meshIn, routesOf, run, vhost, secrets } from './testing/inspect.ts';
import { ok } from './testing/inspect.ts';

test('Ingress splits become weighted clusters by percent, with appendHeaders per split', () => {
  const r = run({ ingresses: [f.knativeIngress('default', 'hello', [['hello-00001', 90], ['hello-00002', 10]])] });
  const [route] = routesOf(r, 'http.8080', 'hello.default.example.com');
  assert.deepEqual(route.match, { prefix: '/' });
  const wc = route.route.weighted_clusters.clusters;
  assert.deepEqual(wc.map((c: any) => [c.name, c.weight.value]), [
    ['outbound|80||hello-00001.default.svc.cluster.local', 90],
    ['outbound|80||hello-00002.default.svc.cluster.local', 10],
  ]);
  assert.deepEqual(wc[0].request_headers_to_add.map((h: any) => [h.header.key, h.header.value, h.append_action]), [
    ['Knative-Serving-Namespace', 'default', 'OVERWRITE_IF_EXISTS_OR_ADD'], ['Knative-Serving-Revision', 'hello-00001', 'OVERWRITE_IF_EXISTS_OR_ADD'],
  ]);
  assert.equal(route.route.retry_policy, undefined, 'no retries unless asked (lessons table)');
  assert.deepEqual(route.route.timeout, { seconds: 0, nanos: 0 });
  assert.deepEqual(vhost(r, 'http.8080', 'hello.default.example.com')!.domains, ['hello.default.example.com', 'hello.default.example.com:*']);
  assert.deepEqual([...clusters(r).keys()], ['outbound|80||hello-00001.default.svc.cluster.local', 'outbound|80||hello-00002.default.svc.cluster.local']);
});

test('a single split routes to one cluster and keeps its headers on the route; zero-percent splits are dropped', () => {
  const r = run({ ingresses: [f.knativeIngress('default', 'hello', [['hello-00001', 100], ['hello-00002', 0]])] });
  const [route] = routesOf(r, 'http.8080', 'hello.default.example.com');
  assert.equal(route.route.cluster, 'outbound|80||hello-00001.default.svc.cluster.local');
  assert.equal(route.route.weighted_clusters, undefined);
  ok(route.request_headers_to_add.some((h: any) => h.header.key === 'Knative-Serving-Revision' && h.header.value === 'hello-00001'));
  ok(!clusters(r).has('outbound|80||hello-00002.default.svc.cluster.local'), 'a 0% revision is not sent');
});

test('tag routing: header-matched paths come first, path appendHeaders and rewriteHost apply', () => {
  const ing = f.ingress('default', 'hello', [{
    hosts: ['hello.default.example.com'], visibility: 'ExternalIP',
    http: { paths: [
      { headers: { 'Knative-Serving-Tag': { exact: 'canary' } }, splits: [{ serviceNamespace: 'default', serviceName: 'hello-00002', servicePort: 80, percent: 100 }], appendHeaders: { 'Knative-Serving-Tag': 'canary' } },
      { path: '/api', rewriteHost: 'internal.example', splits: [{ serviceNamespace: 'default', serviceName: 'hello-00001', servicePort: 80, percent: 100 }] },
    ] },
  }]);
  const routes = routesOf(run({ ingresses: [ing] }), 'http.8080', 'hello.default.example.com');
  assert.deepEqual(routes[0].match, { prefix: '/', headers: [{ name: 'knative-serving-tag', string_match: { exact: 'canary' } }] });
  assert.equal(routes[0].route.cluster, 'outbound|80||hello-00002.default.svc.cluster.local');
  assert.deepEqual(routes[0].request_headers_to_add, [{ header: { key: 'Knative-Serving-Tag', value: 'canary' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
  assert.deepEqual(routes[1].match, { prefix: '/api' });
  assert.equal(routes[1].route.host_rewrite_literal, 'internal.example');
});

test('visibility: ClusterLocal rules stay off the gateway; the mesh proxy gets both, with service-name domains', () => {
  const state = { ingresses: [f.knativeIngress('default', 'hello', [['hello-00001', 100]])] };
  const gw = run(state);
  assert.equal(vhost(gw, 'http.8080', 'hello.default.svc.cluster.local'), undefined);
  const mesh = run(state, meshIn('default'));
  for (const d of ['hello.default', 'hello.default.svc', 'hello.default.svc.cluster.local', 'hello.default.svc.cluster.local:*', 'hello.default.example.com']) {
    ok(vhost(mesh, 'egress|default', d), `mesh routes ${d}`);
  }
});

test('an Ingress with no positive split answers 503 and says so on its status', () => {
  const ing = f.ingress('default', 'broken', [{ hosts: ['b.example.com'], http: { paths: [{ splits: [{ serviceNamespace: 'default', serviceName: 'r', servicePort: 80, percent: 0 }] }] } }]);
  const r = run({ ingresses: [ing] });
  const [route] = routesOf(r, 'http.8080', 'b.example.com');
  assert.equal(route.direct_response.status, 503);
  ok(hasProblem(r, 'Ingress', 'spec.rules[0].http.paths[0].splits', /no split/, 'error'));
});

test('Ingress TLS: an HTTPS listener with the Secret over SDS, and httpOption Redirected requires TLS on HTTP', () => {
  const ing = f.knativeIngress('default', 'hello', [['hello-00001', 100]]);
  ing.spec!.tls = [{ hosts: ['hello.default.example.com'], secretName: 'hello-cert', secretNamespace: 'default' }];
  ing.spec!.httpOption = 'Redirected';
  const r = run({ ingresses: [ing], secrets: [f.tlsSecret('default', 'hello-cert')] });
  const https = listeners(r).find((l) => l.name === 'gateway|https|8443')!;
  ok(https, 'https listener exists');
  const chain = https.filter_chains[0];
  assert.deepEqual(chain.filter_chain_match.server_names, ['hello.default.example.com']);
  assert.equal(chain.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default/hello-cert');
  ok(secrets(r).get('default/hello-cert')!.tls_certificate.certificate_chain.inline_bytes);
  assert.equal(vhost(r, 'http.8080', 'hello.default.example.com')!.require_tls, 'ALL');
  ok(vhost(r, 'https.8443', 'hello.default.example.com'));
});

test('Ingress TLS with a missing Secret: no HTTPS chain, an error naming the Secret, HTTP keeps serving', () => {
  const ing = f.knativeIngress('default', 'hello', [['hello-00001', 100]]);
  ing.spec!.tls = [{ hosts: ['hello.default.example.com'], secretName: 'nope', secretNamespace: 'default' }];
  const r = run({ ingresses: [ing] });
  ok(!listeners(r).some((l) => l.name.startsWith('gateway|https')));
  ok(hasProblem(r, 'Ingress', 'spec.tls[0].secretName', /Secret default\/nope does not exist/, 'error'));
  ok(vhost(r, 'http.8080', 'hello.default.example.com'));
});

test('two Ingresses claiming one host: the older keeps it, the newer is told', () => {
  const a = f.ingress('default', 'a', [{ hosts: ['same.example.com'], http: { paths: [{ splits: [{ serviceNamespace: 'default', serviceName: 'a-1', servicePort: 80, percent: 100 }] }] } }]);
  const b = f.ingress('default', 'b', [{ hosts: ['same.example.com'], http: { paths: [{ splits: [{ serviceNamespace: 'default', serviceName: 'b-1', servicePort: 80, percent: 100 }] }] } }]);
  const r = run({ ingresses: [b, a] }, GATEWAY);
  assert.equal(routesOf(r, 'http.8080', 'same.example.com')[0].route.cluster, 'outbound|80||a-1.default.svc.cluster.local');
  ok(hasProblem(r, 'Ingress', 'spec.rules[0].hosts', /already routed by Ingress default\/a/));
  ok(!clusters(r).has('outbound|80||b-1.default.svc.cluster.local'), 'the shadowed rule adds no cluster');
});
