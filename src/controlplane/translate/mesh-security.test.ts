import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicy, PeerAuthentication } from '../../api/types/istio.ts';
import type { WorkloadIdentity } from '../../security/ca.ts';
import { buildMeshState } from './mesh-state.ts';
import { translateEndpoints } from './translate.ts';
import type { MeshSecurityInput } from './mesh-security.ts';
import * as f from './testing/fixtures.ts';
import { clas, clusters, GATEWAY, hasProblem, listeners, ok, routeConfig, run, secrets } from './testing/inspect.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const id = (ns: string, sa = 'default') => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

function security(identities: string[], o: { notAfter?: number; lastGood?: Map<string, any> } = {}): MeshSecurityInput & { wanted: WorkloadIdentity[] } {
  const wanted: WorkloadIdentity[] = [];
  const certs = new Map(identities.map((s) => [s, { chainPem: `CHAIN ${s}`, keyPem: `KEY ${s}`, notAfter: o.notAfter ?? NOW + 3600_000 }]));
  return { trustDomain: 'cluster.local', rootPem: 'ROOT', certs, wanted, want: (w) => wanted.push(w), ...(o.lastGood ? { lastGoodPolicies: o.lastGood } : {}) };
}

/** A pod the runtime made with mesh ports: app port 31000, queue-proxy 32000, mesh inbound 33000, egress 34000. */
function meshPod(ns: string, name: string, rev: string, extra: { labels?: Record<string, string>; n?: number } = {}) {
  const n = extra.n ?? 0;
  return f.pod(ns, name, {
    labels: { 'serving.knative.dev/revision': rev, 'serving.knative.dev/service': rev.replace(/-\d+$/, ''), ...(extra.labels ?? {}) },
    annotations: {
      'sluice.dev/port': String(31000 + n), 'sluice.dev/serving-port': String(32000 + n), 'sluice.dev/inbound-port': String(33000 + n),
      'sluice.dev/egress-port': String(34000 + n), 'sluice.dev/declared-port': '8080',
    },
  });
}
const pa = (ns: string, name: string, spec: PeerAuthentication['spec']): PeerAuthentication => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace: ns, resourceVersion: '1' }, spec });
const ap = (ns: string, name: string, spec: unknown, rv = '1'): AuthorizationPolicy => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: ns, resourceVersion: rv }, spec: spec as AuthorizationPolicy['spec'] });
const MESH = { id: 'mesh', role: 'mesh' as const };
const inbound = (r: ReturnType<typeof run>, pod: string): any => listeners(r).find((l) => l.name === `inbound|${pod}`);
const chains = (l: any) => l.filter_chains.map((c: any) => [c.filter_chain_match.transport_protocol, !!c.transport_socket]);
const httpFilters = (c: any) => c.filters[0].typed_config.http_filters.map((h: any) => h.name);

test('STRICT: one TLS chain requiring a client certificate, the workload certificate and ROOTCA over SDS, to the queue-proxy port', () => {
  const sec = security([id('a')]);
  const r = run({ pods: [meshPod('a', 'p1', 'target-00001')], peerAuthentications: [pa('a', 'default', { mtls: { mode: 'STRICT' } })] }, MESH, { meshSecurity: sec, now: NOW });
  const l = inbound(r, 'p1.a');
  ok(l, 'inbound listener');
  assert.deepEqual(chains(l), [['tls', true]]);
  const ts = l.filter_chains[0].transport_socket.typed_config;
  assert.equal(ts.require_client_certificate.value, true);
  assert.equal(ts.common_tls_context.tls_certificate_sds_secret_configs[0].name, id('a'));
  assert.equal(ts.common_tls_context.validation_context_sds_secret_config.name, 'ROOTCA');
  assert.equal(l.address.socket_address.port_value, 33000);
  assert.deepEqual([...secrets(r).keys()].sort(), ['ROOTCA', id('a')].sort());
  assert.equal(secrets(r).get(id('a'))!.tls_certificate.certificate_chain.inline_string, `CHAIN ${id('a')}`);
  const cl = clusters(r).get('inbound|32000|p1.a');
  ok(cl, `the inbound cluster goes to the queue-proxy port; have ${[...clusters(r).keys()]}`);
  assert.equal(cl.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 32000);
  assert.ok(!hasProblem(r, 'PeerAuthentication', 'spec'), 'no "not enforced" problem under mesh security');
});

test('PERMISSIVE (default) serves TLS and plaintext on one port; DISABLE plaintext only; port level wins over namespace', () => {
  const sec = security([id('a'), id('b')]);
  const r = run({ pods: [meshPod('a', 'p1', 'x-00001'), meshPod('b', 'p2', 'y-00001', { n: 1, labels: { app: 'legacy' } })], peerAuthentications: [
    pa('b', 'default', { mtls: { mode: 'STRICT' } }),
    pa('b', 'legacy', { selector: { matchLabels: { app: 'legacy' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 8080: { mode: 'DISABLE' } } }),
  ] }, MESH, { meshSecurity: sec, now: NOW });
  assert.deepEqual(chains(inbound(r, 'p1.a')), [['tls', true], ['raw_buffer', false]], 'PERMISSIVE: both, told apart by transport_protocol');
  assert.deepEqual(chains(inbound(r, 'p2.b')), [['raw_buffer', false]], 'port 8080 DISABLE overrides the namespace STRICT');
});

test('AuthorizationPolicy → RBAC filters before the router in every chain; an invalid one is reported and its last good version enforced', () => {
  const good = ap('a', 'allow-a', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['a'] } }] }] });
  const sec = security([id('a')], { lastGood: new Map() });
  const r = run({ pods: [meshPod('a', 'p1', 'x-00001')], authorizationPolicies: [good] }, MESH, { meshSecurity: sec, now: NOW });
  for (const c of inbound(r, 'p1.a').filter_chains) assert.deepEqual(httpFilters(c), ['envoy.filters.http.rbac', 'envoy.filters.http.fault', 'envoy.filters.http.router']);
  const rbac = inbound(r, 'p1.a').filter_chains[0].filters[0].typed_config.http_filters[0].typed_config;
  assert.deepEqual(Object.keys(rbac.rules.policies), ['ns[a]-policy[allow-a]-rule[0]']);
  // Updated with an unknown field: reported; the previous version stays enforced.
  const typo = ap('a', 'allow-a', { action: 'ALLOW', rules: [{ frm: [{ source: { namespaces: ['b'] } }] }] }, '2');
  const r2 = run({ pods: [meshPod('a', 'p1', 'x-00001')], authorizationPolicies: [typo] }, MESH, { meshSecurity: sec, now: NOW });
  assert.ok(hasProblem(r2, 'AuthorizationPolicy', 'spec.rules[0].frm', /unknown field "frm".*previous version \(resourceVersion 1\) stays enforced/, 'error'), `problems: ${JSON.stringify(r2.problems)}`);
  assert.deepEqual(inbound(r2, 'p1.a').filter_chains[0].filters[0].typed_config.http_filters[0].typed_config, rbac, 'the last good policy');
  // A new invalid policy without a good version is not enforced (and says so).
  const r3 = run({ pods: [meshPod('a', 'p1', 'x-00001')], authorizationPolicies: [ap('a', 'new', { action: 'DENY', rules: [{ to: [{ operation: { methds: ['GET'] } }] }] })] }, MESH, { meshSecurity: security([id('a')]), now: NOW });
  assert.ok(hasProblem(r3, 'AuthorizationPolicy', 'spec.rules[0].to[0].operation.methds', /not enforced until it is fixed/, 'error'), `problems: ${JSON.stringify(r3.problems)}`);
  assert.deepEqual(httpFilters(inbound(r3, 'p1.a').filter_chains[0]), ['envoy.filters.http.fault', 'envoy.filters.http.router']);
});

test('no certificate yet (or an expired one): the identity is wanted; STRICT serves nothing, PERMISSIVE plaintext only', () => {
  for (const sec of [security([]), security([id('a'), id('b')], { notAfter: NOW - 1 })]) {
    const r = run({ pods: [meshPod('a', 'p1', 'x-00001'), meshPod('b', 'p2', 'y-00001', { n: 1 })], peerAuthentications: [pa('a', 'default', { mtls: { mode: 'STRICT' } })] }, MESH, { meshSecurity: sec, now: NOW });
    assert.equal(inbound(r, 'p1.a'), undefined, 'STRICT without a certificate: no listener (fail closed)');
    assert.deepEqual(chains(inbound(r, 'p2.b')), [['raw_buffer', false]]);
    assert.deepEqual(sec.wanted.map((w) => `${w.namespace}/${w.serviceAccount}`).sort(), ['a/default', 'b/default']);
    assert.equal(secrets(r).size, 0, 'no expired or missing certificate is published');
  }
});

test('gateway: auto mTLS to mesh pods with the gateway identity and the pods\' SPIFFE ids; endpoints at the mesh inbound port; DISABLE pods and the activator stay plaintext', () => {
  const gwId = id('istio-system', 'istio-ingressgateway-service-account');
  const sec = security([gwId]);
  const ing = f.knativeIngress('a', 'hello', [['hello-00001', 100]]);
  const ep = f.endpoints('a', 'hello-00001', [{ port: 32000, pod: 'p1' }, { port: 32001, pod: 'p2' }]);
  const pods = [meshPod('a', 'p1', 'hello-00001'), meshPod('a', 'p2', 'hello-00001', { n: 1, labels: { legacy: 'y' } })];
  const pas = [pa('a', 'legacy', { selector: { matchLabels: { legacy: 'y' } }, mtls: { mode: 'DISABLE' } })];
  const r = run({ ingresses: [ing], endpoints: [ep], pods, peerAuthentications: pas }, GATEWAY, { meshSecurity: sec, now: NOW });
  const name = 'outbound|80||hello-00001.a.svc.cluster.local';
  const c = clusters(r).get(name);
  ok(c?.transport_socket_matches, 'auto mTLS matches');
  assert.deepEqual(c.transport_socket_matches.map((m: any) => m.name), ['tlsMode-istio', 'tlsMode-disabled']);
  const common = c.transport_socket_matches[0].transport_socket.typed_config.common_tls_context;
  assert.equal(common.tls_certificate_sds_secret_configs[0].name, gwId, 'the gateway presents its own identity');
  assert.deepEqual(common.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [{ san_type: 'URI', matcher: { exact: id('a') } }]);
  const lbs = clas(r).get(name)!.endpoints[0].lb_endpoints;
  assert.deepEqual(lbs.map((e: any) => [e.endpoint.address.socket_address.port_value, !!e.metadata]), [[33000, true], [33001, false]], 'mesh inbound ports; the DISABLE pod gets no tlsMode');
  // The endpoint-only path gives the same assignment.
  const eds = translateEndpoints(buildMeshState({ ingresses: [ing], endpoints: [ep], pods, peerAuthentications: pas }), GATEWAY, [name], { meshSecurity: sec, now: NOW });
  assert.deepEqual(eds.get(name), clas(r).get(name));
  // Without mesh security the clusters are plaintext.
  assert.equal(clusters(run({ ingresses: [ing], endpoints: [ep], pods }, GATEWAY, { now: NOW })).get(name)!.transport_socket_matches, undefined);
});

test('mesh egress: per caller identity, routes to clusters that present the caller\'s certificate and share the base assignment', () => {
  const sec = security([id('a'), id('b')]);
  const ep = f.endpoints('a', 'target-00001', [{ port: 32000, pod: 't' }]);
  const pods = [meshPod('a', 't', 'target-00001'), meshPod('a', 'c', 'caller-00001', { n: 1 }), meshPod('b', 'c2', 'caller-00001', { n: 2 })];
  const sidecars = [f.sidecar('b', 'default', { egress: [{ hosts: ['./*', 'a/*'] }] })];
  const r = run({ endpoints: [ep], pods, sidecars }, MESH, { meshSecurity: sec, now: NOW });
  const egress = listeners(r).find((l) => l.name === 'egress|c2.b');
  ok(egress, 'egress listener of b\'s pod');
  assert.equal(egress.filter_chains[0].filters[0].typed_config.rds.route_config_name, 'egress|b|sa=default');
  const rc = routeConfig(r, 'egress|b|sa=default');
  const vh = rc.virtual_hosts.find((v: any) => v.domains.includes('target-00001.a.svc.cluster.local'));
  ok(vh, 'b sees a\'s service');
  const variant = 'outbound|80||target-00001.a.svc.cluster.local|caller=b/default';
  assert.equal(vh.routes[0].route.cluster, variant);
  const c = clusters(r).get(variant)!;
  assert.equal(c.eds_cluster_config.service_name, 'outbound|80||target-00001.a.svc.cluster.local', 'shares the base assignment');
  assert.equal(c.transport_socket_matches[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name, id('b'), 'presents b\'s identity');
  assert.ok(clas(r).has('outbound|80||target-00001.a.svc.cluster.local'));
});

test('mesh security off: PeerAuthentication and AuthorizationPolicy are reported as not enforced, listeners are plaintext', () => {
  const r = run({ pods: [meshPod('a', 'p1', 'x-00001')], peerAuthentications: [pa('a', 'default', { mtls: { mode: 'STRICT' } })] }, MESH, { now: NOW });
  assert.ok(hasProblem(r, 'PeerAuthentication', 'spec', /not enforced/));
  assert.equal(inbound(r, 'p1.a').filter_chains[0].transport_socket, undefined);
});
