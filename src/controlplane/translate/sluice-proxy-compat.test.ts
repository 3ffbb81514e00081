/**
 * The contract with sluice's own proxy: every resource the translation emits, after a protobuf
 * round trip, is accepted by the proxy's resource translators (src/proxy/config), and a request
 * is routed the way the input says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResource, encodeResource, PUSH_ORDER, TypeUrl } from '../../xds/protos.ts';
import { translateCluster } from '../../proxy/config/cluster.ts';
import { translateLoadAssignment, translateSecret } from '../../proxy/config/endpoints.ts';
import { translateListener } from '../../proxy/config/listener.ts';
import { translateRouteConfiguration } from '../../proxy/config/route-config.ts';
import { routeRequest } from '../../proxy/config/route-matcher.ts';
import type { RouteTable, TranslateDefaults } from '../../proxy/config/model.ts';
import * as f from './testing/fixtures.ts';
import { GATEWAY, meshIn, ok, run } from './testing/inspect.ts';
import type { TranslateResult } from './types.ts';

const D: TranslateDefaults = { upstreamIdleTimeoutMs: 30_000, connectTimeoutMs: 1000, routeTimeoutMs: 0, streamIdleTimeoutMs: 300_000 };
type Obj = Record<string, any>;

function inputs() {
  const ing = f.knativeIngress('default', 'hello', [['hello-00001', 90], ['hello-00002', 10]]);
  ing.spec!.tls = [{ hosts: ['hello.default.example.com'], secretName: 'hello-cert', secretNamespace: 'default' }];
  return {
    ingresses: [ing],
    endpoints: [f.endpoints('default', 'hello-00001', [{ port: 30001, pod: 'h1' }]), f.endpoints('default', 'hello-00002', [{ port: 30002, pod: 'h2' }])],
    pods: [f.pod('default', 'h1', { port: 30001, labels: { version: 'v1' }, annotations: { 'sluice.dev/inbound-port': '41001', 'sluice.dev/egress-port': '42001' } }), f.pod('default', 'h2', { port: 30002, labels: { version: 'v2' } })],
    virtualServices: [f.virtualService('default', 'api', { hosts: ['api'], http: [
      { match: [{ uri: { prefix: '/v2' }, headers: { 'x-user': { regex: 'a.*' } } }], rewrite: { uri: '/' }, route: [{ destination: { host: 'hello-00002' } }], retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx' }, fault: { delay: { fixedDelay: '10ms', percentage: { value: 5 } } } },
      { route: [{ destination: { host: 'hello-00001', subset: 'v1' }, weight: 70 }, { destination: { host: 'hello-00002' }, weight: 30 }], headers: { request: { set: { 'x-a': '1' } } }, mirror: { host: 'hello-00002' } },
    ] })],
    destinationRules: [f.destinationRule('default', 'h1', { host: 'hello-00001', subsets: [{ name: 'v1', labels: { version: 'v1' } }], trafficPolicy: {
      loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } }, outlierDetection: { consecutive5xxErrors: 3 }, connectionPool: { http: { maxRequestsPerConnection: 10, idleTimeout: '5s' } },
    } })],
    secrets: [f.tlsSecret('default', 'hello-cert')],
  };
}

/** Runs each resource through the proxy's translators after a protobuf round trip; returns the route tables. */
function acceptedByProxy(r: TranslateResult): Map<string, RouteTable> {
  const tables = new Map<string, RouteTable>();
  for (const t of PUSH_ORDER) {
    for (const [name, obj] of r.resources[t]) {
      const back = decodeResource<Obj>(t, encodeResource(t, obj));
      try {
        if (t === TypeUrl.Cluster) translateCluster(back, D);
        else if (t === TypeUrl.ClusterLoadAssignment) translateLoadAssignment(back);
        else if (t === TypeUrl.Listener) translateListener(back, D);
        else if (t === TypeUrl.RouteConfiguration) tables.set(name, translateRouteConfiguration(back, D));
        else translateSecret(back);
      } catch (e) {
        assert.fail(`sluice's proxy refused ${t.split('.').pop()} ${name}: ${(e as Error).message}`);
      }
    }
  }
  return tables;
}

test('the gateway set is accepted by sluice\'s proxy and routes the public host by the split', () => {
  const tables = acceptedByProxy(run(inputs(), GATEWAY));
  const { route } = routeRequest(tables.get('http.8080')!, 'hello.default.example.com:8080', '/', {} as never);
  ok(route, 'a route for the public host');
  const action = route.action as unknown as { kind: string; clusters: { name: string; weight: number }[] };
  assert.equal(action.kind, 'route');
  assert.deepEqual(action.clusters.map((c) => [c.name, c.weight]), [['outbound|80||hello-00001.default.svc.cluster.local', 90], ['outbound|80||hello-00002.default.svc.cluster.local', 10]]);
  ok(tables.get('https.8443'), 'https routes');
});

test('the mesh set is accepted by sluice\'s proxy; the VirtualService routes by path and header', () => {
  const tables = acceptedByProxy(run(inputs(), meshIn('default')));
  const egress = tables.get('egress|default')!;
  const hit = routeRequest(egress, 'api', '/v2/x', { 'x-user': 'alice' } as never).route;
  ok(hit, 'header route');
  assert.deepEqual((hit.action as unknown as { clusters: { name: string }[] }).clusters.map((c) => c.name), ['outbound|80||hello-00002.default.svc.cluster.local']);
  const dflt = routeRequest(egress, 'api.default.svc.cluster.local', '/v2/x', { 'x-user': 'bob' } as never).route;
  ok(dflt, 'default route');
  assert.deepEqual((dflt.action as unknown as { clusters: { name: string; weight: number }[] }).clusters.map((c) => [c.name, c.weight]), [['outbound|80|v1|hello-00001.default.svc.cluster.local', 70], ['outbound|80||hello-00002.default.svc.cluster.local', 30]]);
});
