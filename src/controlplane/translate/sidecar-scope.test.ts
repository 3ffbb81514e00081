import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import * as f from './testing/fixtures.ts';
import { clusters, expectNoResourceMentioning, hasProblem, meshIn, ok, run, vhost } from './testing/inspect.ts';
import type { MeshInput } from './types.ts';

/** Namespaces a, b, c, istio-system: each with a Knative service, a mesh VirtualService and revision Endpoints. */
function mesh(extra: Partial<MeshInput> = {}): MeshInput {
  const nss = ['a', 'b', 'c'];
  return {
    ingresses: nss.map((ns) => f.knativeIngress(ns, 'svc', [[`svc-0000${ns === 'a' ? 1 : 2}`, 100]])),
    virtualServices: nss.map((ns) => f.virtualService(ns, 'api', { hosts: ['api'], http: [{ route: [{ destination: { host: 'api' } }] }] })),
    endpoints: nss.map((ns) => f.endpoints(ns, 'api', [{ port: 20000 + ns.charCodeAt(0) }])),
    pods: nss.map((ns) => f.pod(ns, 'p', { annotations: { 'sluice.dev/egress-port': '4000' } })),
    ...extra,
  };
}

test('default scope without a Sidecar: a mesh proxy in a sees only namespace a', () => {
  const r = run(mesh(), meshIn('a'));
  ok(vhost(r, 'egress|a', 'svc.a.svc.cluster.local'), 'own Knative service');
  ok(vhost(r, 'egress|a', 'api'), 'own VirtualService by short name');
  assert.equal(vhost(r, 'egress|a', 'svc.b.svc.cluster.local'), undefined);
  assert.equal(vhost(r, 'egress|a', 'api.b.svc.cluster.local'), undefined);
  for (const name of clusters(r).keys()) ok(name.endsWith('.a.svc.cluster.local'), `cluster ${name} is in scope`);
  expectNoResourceMentioning(r, ['.b.svc', '.c.svc', '|b', '|c', 'p.b', 'p.c']);
  assert.deepEqual([...r.resources[TypeUrl.Listener].keys()], ['egress|p.a']);
});

test('Sidecar egress forms: ns/host, ./*, */*, ~/*, */*.suffix', () => {
  const cases: [string[], string[], string[]][] = [
    // [egress hosts, visible, hidden]
    [['./*', 'b/svc.b.svc.cluster.local'], ['svc.a.svc.cluster.local', 'svc.b.svc.cluster.local'], ['api.b.svc.cluster.local', 'svc.c.svc.cluster.local']],
    [['b/*'], ['svc.b.svc.cluster.local', 'api.b.svc.cluster.local'], ['svc.a.svc.cluster.local']],
    [['*/*'], ['svc.a.svc.cluster.local', 'svc.b.svc.cluster.local', 'api.c.svc.cluster.local'], []],
    [['~/*'], [], ['svc.a.svc.cluster.local', 'svc.b.svc.cluster.local']],
    [['*/*.example.com'], ['svc.a.example.com', 'svc.c.example.com'], ['svc.a.svc.cluster.local', 'api.b.svc.cluster.local']],
  ];
  for (const [hosts, visible, hidden] of cases) {
    const r = run(mesh({ sidecars: [f.sidecar('a', 'default', { egress: [{ hosts }] })] }), meshIn('a'));
    for (const h of visible) ok(vhost(r, 'egress|a', h), `${hosts} shows ${h}`);
    for (const h of hidden) assert.equal(vhost(r, 'egress|a', h), undefined, `${hosts} hides ${h}`);
  }
});

test('a root-namespace Sidecar is the default for namespaces without their own', () => {
  const root = f.sidecar('istio-system', 'default', { egress: [{ hosts: ['./*', 'c/*'] }] });
  const r = run(mesh({ sidecars: [root] }), meshIn('a'));
  ok(vhost(r, 'egress|a', 'svc.c.svc.cluster.local'), 'c visible via the root Sidecar');
  ok(vhost(r, 'egress|a', 'svc.a.svc.cluster.local'), '. means the proxy namespace');
  const own = f.sidecar('a', 'own', { egress: [{ hosts: ['./*'] }] });
  const r2 = run(mesh({ sidecars: [root, own] }), meshIn('a'));
  assert.equal(vhost(r2, 'egress|a', 'svc.c.svc.cluster.local'), undefined, 'the namespace Sidecar wins');
});

test('a VirtualService exported only to its namespace is invisible elsewhere', () => {
  const vs = f.virtualService('b', 'private', { hosts: ['private'], exportTo: ['.'], http: [{ route: [{ destination: { host: 'private' } }] }] });
  const r = run(mesh({ virtualServices: [vs], sidecars: [f.sidecar('a', 'default', { egress: [{ hosts: ['*/*'] }] })] }), meshIn('a'));
  assert.equal(vhost(r, 'egress|a', 'private.b.svc.cluster.local'), undefined);
});

test('unsupported Sidecar fields and malformed hosts are reported; a second selector-less Sidecar is an error', () => {
  const sc = f.sidecar('a', 'default', {
    workloadSelector: undefined,
    ingress: [{ port: { number: 9080 } }],
    egress: [{ port: { number: 80 }, bind: '127.0.0.2', hosts: ['./*', 'nohost'] }],
    outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
  });
  const second = f.sidecar('a', 'second', { egress: [{ hosts: ['*/*'] }] });
  const selected = f.sidecar('a', 'selected', { workloadSelector: { labels: { app: 'x' } }, egress: [{ hosts: ['*/*'] }] });
  const r = run(mesh({ sidecars: [sc, second, selected] }), meshIn('a'));
  for (const field of ['spec.ingress', 'spec.egress[0].port', 'spec.egress[0].bind', 'spec.outboundTrafficPolicy.mode']) ok(hasProblem(r, 'Sidecar', field, /not supported/), field);
  ok(hasProblem(r, 'Sidecar', 'spec.egress[0].hosts[1]', /not "namespace\/host"/, 'error'), 'bad host');
  ok(hasProblem(r, 'Sidecar', 'metadata.name', /already has Sidecar default/, 'error'), 'second sidecar');
  ok(hasProblem(r, 'Sidecar', 'spec.workloadSelector', /not supported/), 'selector');
  assert.equal(vhost(r, 'egress|a', 'svc.b.svc.cluster.local'), undefined, 'the first Sidecar applies');
});

test('a mesh proxy without a namespace serves every namespace with pods, each in its own scope', () => {
  const r = run(mesh(), { id: 'node', role: 'mesh' });
  assert.deepEqual([...r.resources[TypeUrl.Listener].keys()], ['egress|p.a', 'egress|p.b', 'egress|p.c']);
  ok(vhost(r, 'egress|b', 'svc.b.svc.cluster.local'), 'b scope');
  assert.equal(vhost(r, 'egress|b', 'svc.a.svc.cluster.local'), undefined, 'b does not see a');
});
