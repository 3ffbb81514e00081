import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/meta.ts';
import { encodeResource, PUSH_ORDER, TypeUrl } from '../../xds/protos.ts';
import { buildMeshState, updateMeshState } from './mesh-state.ts';
import { canonicalJson, resourceHash } from './resource-hash.ts';
import { edsClusterNames, translateForProxy } from './translate.ts';
import { parseDurationMs } from './istio-values.ts';
import { domainsFor, hostIntersection, hostMatches, parseClusterName, qualifyHost } from './hosts.ts';
import * as f from './testing/fixtures.ts';
import { clusters, GATEWAY, hasProblem, listeners, meshIn, ok, run, vhost } from './testing/inspect.ts';
import type { TranslateResult } from './types.ts';

function world(): KubeObject[] {
  return [
    f.knativeIngress('default', 'hello', [['hello-00001', 80], ['hello-00002', 20]]),
    f.knativeIngress('shop', 'cart', [['cart-00001', 100]]),
    f.endpoints('default', 'hello-00001', [{ port: 30001, pod: 'h1' }, { port: 30002, pod: 'h2' }]),
    f.endpoints('default', 'hello-00002', [{ port: 30003, pod: 'h3' }]),
    f.pod('default', 'h1', { port: 30001, labels: { version: 'v1', 'topology.kubernetes.io/zone': 'z1' }, annotations: { 'sluice.dev/inbound-port': '41001', 'sluice.dev/egress-port': '42001' } }),
    f.pod('default', 'h2', { port: 30002, labels: { version: 'v1' } }),
    f.pod('default', 'h3', { port: 30003, labels: { version: 'v2' } }),
    f.virtualService('default', 'hello-vs', { hosts: ['hello.example.org'], gateways: ['istio-system/gw', 'mesh'], http: [{ route: [{ destination: { host: 'hello-00001' }, weight: 90 }, { destination: { host: 'hello-00002' }, weight: 10 }], retries: { attempts: 2 } }] }),
    f.destinationRule('default', 'hello-dr', { host: 'hello-00001', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 5 } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
    f.gateway('istio-system', 'gw', { servers: [{ port: { number: 80, protocol: 'HTTP' }, hosts: ['*'] }, { port: { number: 443, protocol: 'HTTPS' }, hosts: ['hello.example.org'], tls: { mode: 'SIMPLE', credentialName: 'org-cert' } }] }),
    f.tlsSecret('istio-system', 'org-cert'),
  ];
}

function encodedAll(r: TranslateResult): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of PUSH_ORDER) for (const [n, o] of r.resources[t]) out.set(`${t}|${n}`, encodeResource(t, o).toString('base64'));
  return out;
}

/** Deterministic Fisher–Yates shuffle (seeded LCG) so the test is repeatable. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

test('determinism: the same inputs in any order give byte-equal resources in the same order, and equal hashes', () => {
  for (const proxy of [GATEWAY, meshIn('default')]) {
    const base = run(world(), proxy);
    const baseBytes = encodedAll(base);
    ok(baseBytes.size > 8, 'a non-trivial set');
    for (const seed of [1, 2, 3]) {
      const other = translateForProxy(buildMeshState(shuffled(world(), seed)), proxy);
      assert.deepEqual([...encodedAll(other).entries()], [...baseBytes.entries()], `seed ${seed}`);
      assert.deepEqual(other.problems, base.problems);
      for (const t of PUSH_ORDER) for (const [n, o] of base.resources[t]) assert.equal(resourceHash(other.resources[t].get(n)), resourceHash(o));
    }
  }
});

test('resourceHash and canonicalJson ignore key order and undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
  assert.equal(resourceHash({ x: 1, y: 2 }), resourceHash({ y: 2, x: 1 }));
  assert.notEqual(resourceHash({ x: 1 }), resourceHash({ x: 2 }));
  assert.match(resourceHash({}), /^[0-9a-f]{16}$/);
});

test('the whole world translates for both roles: every resource encodes and the sets are consistent', () => {
  const gw = run(world(), GATEWAY);
  ok(vhost(gw, 'http.8080', 'hello.example.org'), 'VS on gateway');
  ok(vhost(gw, 'https.8443', 'hello.example.org'), 'VS on https');
  ok(vhost(gw, 'http.8080', 'hello.default.example.com'), 'Knative public host');
  assert.deepEqual(edsClusterNames(gw.resources), [...clusters(gw).keys()]);
  const mesh = run(world(), meshIn('default'));
  ok(vhost(mesh, 'egress|default', 'hello.example.org'), 'mesh VS');
  assert.deepEqual(listeners(mesh).map((l) => l.name), ['egress|h1.default', 'inbound|h1.default']);
  const inbound = clusters(mesh).get('inbound|30001|h1.default')!;
  assert.equal(inbound.type, 'STATIC');
  assert.deepEqual(inbound.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.1', port_value: 30001 });
  assert.deepEqual(listeners(mesh)[1].address.socket_address, { address: '127.0.0.1', port_value: 41001 });
});

test('pods: a bad port annotation or no pod port is reported on the Pod; terminated pods get nothing', () => {
  const bad = f.pod('default', 'bad', { annotations: { 'sluice.dev/inbound-port': 'eighty' } });
  const noport = f.pod('default', 'noport', { annotations: { 'sluice.dev/inbound-port': '4000' } });
  const done = f.pod('default', 'done', { port: 1, annotations: { 'sluice.dev/inbound-port': '4001' } });
  done.status = { phase: 'Succeeded' };
  const r = run({ pods: [bad, noport, done] }, meshIn('default'));
  ok(hasProblem(r, 'Pod', 'metadata.annotations["sluice.dev/inbound-port"]', /not a port/, 'error'), 'bad port');
  ok(hasProblem(r, 'Pod', 'spec.containers[0].ports', /no port of its own/, 'error'), 'no port');
  assert.deepEqual(listeners(r), []);
});

test('proxyless gRPC: API listeners for the requested names use the namespace egress routes', () => {
  const r = run(world(), meshIn('default'), { apiListeners: ['hello.example.org'] });
  const api = listeners(r).find((l) => l.name === 'hello.example.org')!;
  assert.equal(api.api_listener.api_listener['@type'], TypeUrl.HttpConnectionManager);
  assert.equal(api.api_listener.api_listener.rds.route_config_name, 'egress|default');
  assert.equal(api.api_listener.api_listener.http_filters.at(-1).name, 'envoy.filters.http.router');
});

test('PeerAuthentication and AuthorizationPolicy in scope are reported as not yet enforced', () => {
  const pa = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { namespace: 'default', name: 'strict' }, spec: { mtls: { mode: 'STRICT' } } };
  const ap = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace: 'default', name: 'allow' }, spec: { action: 'ALLOW' } };
  const r = run([...world(), pa, ap] as KubeObject[], meshIn('default'));
  ok(hasProblem(r, 'PeerAuthentication', 'spec', /not enforced yet/), 'PA');
  ok(hasProblem(r, 'AuthorizationPolicy', 'spec', /not enforced yet/), 'AP');
});

test('updateMeshState equals a rebuild and shares the indexes of kinds that did not change', () => {
  const objs = world();
  const s0 = buildMeshState(objs);
  const newEp = f.endpoints('default', 'hello-00002', [{ port: 30009, pod: 'h3' }]);
  const newIng = f.knativeIngress('other', 'x', [['x-00001', 100]]);
  const s1 = updateMeshState(s0, [{ type: 'upsert', object: newEp }, { type: 'upsert', object: newIng }, { type: 'delete', object: objs[1] }]);
  const rebuilt = buildMeshState([...objs.filter((o) => o !== objs[1] && !(o.kind === 'Endpoints' && o.metadata.name === 'hello-00002')), newEp, newIng]);
  for (const proxy of [GATEWAY, meshIn('default'), meshIn('other')]) {
    assert.deepEqual(encodedAll(translateForProxy(s1, proxy)), encodedAll(translateForProxy(rebuilt, proxy)));
  }
  assert.equal(s1.virtualServices, s0.virtualServices, 'unchanged kind shares its map');
  assert.equal(s1.podsByNamespace, s0.podsByNamespace);
  assert.notEqual(s1.endpoints, s0.endpoints);
  assert.equal(s0.endpoints.get('default/hello-00002')!.subsets![0].ports![0].port, 30003, 'the old snapshot is unchanged');
  assert.deepEqual(s1.namespaces, ['default', 'istio-system', 'other']);
  const s2 = updateMeshState(s1, [], { activator: { address: '127.0.0.1', port: 8012 } });
  assert.deepEqual(s2.activator, { address: '127.0.0.1', port: 8012 });
});

test('buildMeshState takes mixed objects and ignores kinds it does not read', () => {
  const s = buildMeshState([...world(), { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { namespace: 'default', name: 'hello' } }]);
  assert.equal(s.ingresses.size, 2);
  assert.equal(s.publicIngresses.length, 2);
  ok(s.revisionBackends.has('default/hello-00002'), 'revision backends indexed');
  assert.deepEqual(s.virtualServicesByGateway.get('istio-system/gw')!.map((v) => v.metadata.name), ['hello-vs']);
  assert.deepEqual(s.meshVirtualServicesByNamespace.get('default')!.map((v) => v.metadata.name), ['hello-vs']);
  ok(Object.isFrozen(s), 'frozen');
});

test('scale: one namespace-scoped proxy among 10,000 Ingresses visits only its namespace', () => {
  const objs: KubeObject[] = [];
  for (let n = 0; n < 1000; n++) {
    for (let i = 0; i < 10; i++) {
      objs.push(f.knativeIngress(`ns-${n}`, `svc-${i}`, [[`svc-${i}-00001`, 100]]));
      objs.push(f.endpoints(`ns-${n}`, `svc-${i}-00001`, [{ port: 30000 + i }]));
    }
  }
  const state = buildMeshState(objs);
  assert.equal(state.ingresses.size, 10_000);
  const r = translateForProxy(state, meshIn('ns-500'));
  assert.equal(r.stats.ingressesVisited, 10, 'only ns-500 ingresses');
  ok(r.stats.endpointsVisited <= 20, `endpoints visited ${r.stats.endpointsVisited}`);
  assert.equal(r.resources[TypeUrl.Cluster].size, 10);
  for (const name of r.resources[TypeUrl.Cluster].keys()) ok(name.endsWith('.ns-500.svc.cluster.local'), name);
  // The gateway serves every public Ingress by design; it visits each exactly once.
  const g = translateForProxy(state, GATEWAY);
  assert.equal(g.stats.ingressesVisited, 10_000);
  assert.equal(g.resources[TypeUrl.Cluster].size, 10_000);
});

test('helpers: host qualification and matching, durations, cluster names', () => {
  const ns = new Set(['prod']);
  assert.equal(qualifyHost('reviews', 'default', 'cluster.local'), 'reviews.default.svc.cluster.local');
  assert.equal(qualifyHost('reviews.prod', 'default', 'cluster.local', ns), 'reviews.prod.svc.cluster.local');
  assert.equal(qualifyHost('example.com', 'default', 'cluster.local', ns), 'example.com');
  assert.equal(qualifyHost('r.prod.svc', 'default', 'cluster.local'), 'r.prod.svc.cluster.local');
  ok(hostMatches('*', 'a.b'), '*');
  ok(hostMatches('*.example.com', 'a.example.com'), 'suffix');
  ok(!hostMatches('*.example.com', 'example.com'), 'suffix needs a label');
  assert.equal(hostIntersection('*', 'a.example.com'), 'a.example.com');
  assert.equal(hostIntersection('a.example.com', '*.example.com'), 'a.example.com');
  assert.equal(hostIntersection('a.org', '*.example.com'), undefined);
  assert.deepEqual(domainsFor('*.x.com'), ['*.x.com']);
  for (const [text, ms] of [['1.5s', 1500], ['100ms', 100], ['1m30s', 90_000], ['2h', 7_200_000], ['0', 0], ['0s', 0], ['10', undefined], ['s', undefined], ['', undefined]] as const) {
    assert.equal(parseDurationMs(text), ms, text);
  }
  assert.deepEqual(parseClusterName('outbound|80|v1|a.b.svc.cluster.local'), { direction: 'outbound', port: '80', subset: 'v1', host: 'a.b.svc.cluster.local' });
  assert.deepEqual(parseClusterName('inbound|8080|p.ns'), { direction: 'inbound', port: '8080', pod: 'p.ns' });
  assert.throws(() => parseClusterName('foo'), { code: 'SLUICE_E_TRANSLATE_CLUSTER_NAME' });
});

test('validateMeshState reports problems of resources no proxy uses yet', async () => {
  const { validateMeshState } = await import('./validate.ts');
  const unusedDr = f.destinationRule('b', 'unused', { host: 'nothing-routes-here', trafficPolicy: { tunnel: { targetHost: 'x', targetPort: 1 } } });
  const corsVs = f.virtualService('b', 'cors', { hosts: ['cors'], http: [{ corsPolicy: {}, route: [{ destination: { host: 'cors' } }] }] });
  const tcpGw = f.gateway('c', 'tcp', { servers: [{ port: { number: 9000, protocol: 'TCP' }, hosts: ['*'] }] });
  const problems = validateMeshState(buildMeshState([...world(), unusedDr, corsVs, tcpGw]));
  const keys = problems.map((p) => `${p.resource.kind} ${p.resource.namespace}/${p.resource.name} ${p.field}`);
  for (const k of ['DestinationRule b/unused spec.trafficPolicy.tunnel', 'VirtualService b/cors spec.http[0].corsPolicy', 'Gateway c/tcp spec.servers[0].port.protocol']) {
    ok(keys.includes(k), `${k} in ${keys.join('; ')}`);
  }
  assert.deepEqual(validateMeshState(buildMeshState(world())), [], 'the well-formed world has no problems');
});
