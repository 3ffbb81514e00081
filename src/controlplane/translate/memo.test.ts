/**
 * Reuse across translations (route fragments per Ingress, clusters per rule, load assignments per
 * Endpoints) must never change the output: a translation with warm caches equals one of
 * structurally equal but fresh objects (which miss every cache), after each kind of change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/meta.ts';
import { encodeResource, PUSH_ORDER } from '../../xds/protos.ts';
import { buildMeshState, updateMeshState, type MeshChange } from './mesh-state.ts';
import { translateForProxy } from './translate.ts';
import * as f from './testing/fixtures.ts';
import { GATEWAY, meshIn, ok } from './testing/inspect.ts';
import type { MeshState, ProxyInfo, TranslateResult } from './types.ts';

function inputs(): KubeObject[] {
  return [
    f.knativeIngress('default', 'hello', [['hello-00001', 60], ['hello-00002', 40]]),
    f.ingress('default', 'broken', [{ hosts: ['broken.example.com'], http: { paths: [{ splits: [{ serviceNamespace: 'default', serviceName: 'x', servicePort: 80, percent: 0 }] }] } }]),
    f.endpoints('default', 'hello-00001', [{ port: 30001, pod: 'h1' }, { port: 30002, pod: 'h2' }]),
    f.endpoints('default', 'hello-00002', [{ port: 30003, pod: 'h3' }]),
    f.pod('default', 'h1', { labels: { version: 'v1' } }), f.pod('default', 'h2', { labels: { version: 'v2' } }), f.pod('default', 'h3', {}),
    f.virtualService('default', 'vs', { hosts: ['hello-00001'], http: [{ route: [{ destination: { host: 'hello-00001', subset: 'v1' } }] }] }),
    f.destinationRule('default', 'dr', { host: 'hello-00001', trafficPolicy: { proxyProtocol: { version: 'V1' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
  ];
}

const encoded = (r: TranslateResult) => PUSH_ORDER.flatMap((t) => [...r.resources[t]].map(([n, o]) => `${n}=${encodeResource(t, o).toString('base64')}`));

/** Compares with a translation of structurally equal but fresh objects (every cache misses). */
function check(state: MeshState, objs: KubeObject[], what: string): void {
  const cold = buildMeshState(structuredClone(objs));
  const coldWithAct = state.activator ? updateMeshState(cold, [], { activator: state.activator }) : cold;
  for (const proxy of [GATEWAY, meshIn('default'), { id: 'all', role: 'mesh' } as ProxyInfo]) {
    const warm = translateForProxy(state, proxy);
    const ref = translateForProxy(coldWithAct, proxy);
    assert.deepEqual(encoded(warm), encoded(ref), `${what}: ${proxy.id}`);
    assert.deepEqual(warm.problems, ref.problems, `${what}: problems for ${proxy.id}`);
  }
}

test('warm caches give the same output as cold ones, through every kind of change', () => {
  let objs = inputs();
  let state = buildMeshState(objs);
  for (const p of [GATEWAY, meshIn('default')]) translateForProxy(state, p); // warm up
  check(state, objs, 'initial');
  const apply = (what: string, changes: MeshChange[], act?: { address: string; port: number }) => {
    state = updateMeshState(state, changes, act ? { activator: act } : {});
    for (const c of changes) {
      objs = objs.filter((o) => !(o.kind === c.object.kind && o.metadata.namespace === c.object.metadata.namespace && o.metadata.name === c.object.metadata.name));
      if (c.type === 'upsert') objs.push(c.object);
    }
    check(state, objs, what);
  };
  apply('DestinationRule changes the load balancer and hash', [{ type: 'upsert', object: f.destinationRule('default', 'dr', { host: 'hello-00001', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-u' } } }, subsets: [{ name: 'v1', labels: { version: 'v2' } }] }) }]);
  apply('a pod changes its labels (subset membership)', [{ type: 'upsert', object: f.pod('default', 'h2', { labels: { version: 'v1', 'topology.kubernetes.io/zone': 'z9' } }) }]);
  apply('an Endpoints loses its ready pod; the activator appears', [{ type: 'upsert', object: f.endpoints('default', 'hello-00002', [{ port: 30003, pod: 'h3', ready: false }]) }], { address: '127.0.0.1', port: 8012 });
  apply('a route changes its split', [{ type: 'upsert', object: f.knativeIngress('default', 'hello', [['hello-00001', 10], ['hello-00002', 90]]) }]);
  apply('the DestinationRule goes away', [{ type: 'delete', object: f.destinationRule('default', 'dr', { host: 'hello-00001' }) }]);
});

test('an unchanged Ingress reuses its route objects and clusters across translations', () => {
  const objs = inputs();
  const s0 = buildMeshState(objs);
  const a = translateForProxy(s0, GATEWAY);
  const s1 = updateMeshState(s0, [{ type: 'upsert', object: f.knativeIngress('default', 'other', [['other-00001', 100]]) }]);
  const b = translateForProxy(s1, GATEWAY);
  const routesOf = (r: TranslateResult) => ((r.resources['type.googleapis.com/envoy.config.route.v3.RouteConfiguration'].get('http.8080') as any).virtual_hosts as any[]).find((v) => v.domains.includes('hello.default.example.com')).routes;
  assert.equal(routesOf(b), routesOf(a), 'same route array object');
  const c = 'outbound|80||hello-00001.default.svc.cluster.local';
  const clusters = (r: TranslateResult) => r.resources['type.googleapis.com/envoy.config.cluster.v3.Cluster'];
  assert.equal(clusters(b).get(c), clusters(a).get(c), 'same cluster object');
  assert.deepEqual(b.problems, a.problems, 'problems are replayed from the cache');
  ok(b.problems.some((p) => p.resource.name === 'broken'), 'the broken ingress is still reported');
});
