import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { assertConsistent, checkConsistency } from './consistency.ts';
import { emptyResourceSet } from './translate.ts';
import { toVhds } from './vhds.ts';
import * as f from './testing/fixtures.ts';
import { meshIn, run } from './testing/inspect.ts';
import type { ResourceSet } from './types.ts';

function validSet(): ResourceSet {
  const ing = f.knativeIngress('default', 'hello', [['hello-00001', 50], ['hello-00002', 50]]);
  ing.spec!.tls = [{ hosts: ['hello.default.example.com'], secretName: 'cert', secretNamespace: 'default' }];
  const dr = f.destinationRule('default', 'dr', { host: 'hello-00002', trafficPolicy: { tls: { mode: 'MUTUAL', credentialName: 'client' } } });
  return run({ ingresses: [ing], destinationRules: [dr], secrets: [f.tlsSecret('default', 'cert'), f.tlsSecret('default', 'client', { ca: true })] }).resources;
}

test('a translated set is consistent', () => {
  const set = validSet();
  assert.deepEqual(checkConsistency(set), []);
  assert.doesNotThrow(() => assertConsistent(set));
  assert.deepEqual(checkConsistency(run({ ingresses: [f.knativeIngress('a', 's', [['s-1', 100]])], pods: [f.pod('a', 'p', { port: 1, annotations: { 'sluice.dev/inbound-port': '2', 'sluice.dev/egress-port': '3' } })] }, meshIn('a'), { apiListeners: ['s.a.svc.cluster.local:80'] }).resources), []);
});

test('each kind of dangling reference is found and named', () => {
  const cases: [string, (s: ResourceSet) => void, object][] = [
    ['a cluster without its load assignment', (s) => s[TypeUrl.ClusterLoadAssignment].delete('outbound|80||hello-00001.default.svc.cluster.local'),
      { type: 'Cluster', name: 'outbound|80||hello-00001.default.svc.cluster.local', missing: { type: 'ClusterLoadAssignment', name: 'outbound|80||hello-00001.default.svc.cluster.local' } }],
    ['a route naming a missing cluster', (s) => s[TypeUrl.Cluster].delete('outbound|80||hello-00001.default.svc.cluster.local'),
      { type: 'RouteConfiguration', name: 'http.8080', missing: { type: 'Cluster', name: 'outbound|80||hello-00001.default.svc.cluster.local' } }],
    ['a listener naming a missing route configuration', (s) => s[TypeUrl.RouteConfiguration].delete('http.8080'),
      { type: 'Listener', name: 'gateway|http|8080', missing: { type: 'RouteConfiguration', name: 'http.8080' } }],
    ['a listener naming a missing secret', (s) => s[TypeUrl.Secret].delete('default/cert'),
      { type: 'Listener', name: 'gateway|https|8443', missing: { type: 'Secret', name: 'default/cert' } }],
    ['a cluster naming a missing secret', (s) => s[TypeUrl.Secret].delete('default/client'),
      { type: 'Cluster', name: 'outbound|80||hello-00002.default.svc.cluster.local', missing: { type: 'Secret', name: 'default/client' } }],
  ];
  for (const [what, breakIt, want] of cases) {
    const set = validSet();
    breakIt(set);
    const errs = checkConsistency(set);
    assert.equal(errs.length >= 1, true, what);
    assert.deepEqual({ type: errs[0].type, name: errs[0].name, missing: errs[0].missing }, want, what);
    assert.throws(() => assertConsistent(set, 'gateway snapshot'), (e: any) => e.code === 'SLUICE_E_TRANSLATE_INCONSISTENT' && /gateway snapshot is inconsistent/.test(e.message) && e.message.includes((want as any).missing.name), what);
  }
});

test('mirror clusters and API listeners are checked too', () => {
  const set = emptyResourceSet();
  set[TypeUrl.RouteConfiguration].set('r', { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', request_mirror_policies: [{ cluster: 'm' }] } }] }] });
  set[TypeUrl.Cluster].set('c', { name: 'c', type: 'STATIC' });
  set[TypeUrl.Listener].set('api', { name: 'api', api_listener: { api_listener: { '@type': TypeUrl.HttpConnectionManager, rds: { route_config_name: 'nope' } } } });
  assert.deepEqual(checkConsistency(set).map((e) => `${e.type}:${e.missing.type}:${e.missing.name}`), ['Listener:RouteConfiguration:nope', 'RouteConfiguration:Cluster:m']);
});

test('in VHDS form, a VirtualHost resource naming a missing cluster is found', () => {
  const set = toVhds(validSet());
  assert.deepEqual(checkConsistency(set), [], 'the VHDS form of a consistent set is consistent');
  set[TypeUrl.Cluster].delete('outbound|80||hello-00001.default.svc.cluster.local');
  const errs = checkConsistency(set);
  assert.ok(errs.some((e) => e.type === 'VirtualHost' && e.name.startsWith('http.8080/') && e.missing.name === 'outbound|80||hello-00001.default.svc.cluster.local'),
    `a VirtualHost's dangling cluster is reported: ${JSON.stringify(errs)}`);
});
