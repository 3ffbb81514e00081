/**
 * A real xDS client nobody here wrote accepts what the translation emits: each resource of a
 * mesh proxy's set (API listener, routes, clusters, load assignments) passes @grpc/grpc-js-xds's
 * own resource validation — the same code a proxyless gRPC client runs before it ACKs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { encodeResource, TypeUrl } from '../../xds/protos.ts';
import * as f from './testing/fixtures.ts';
import { meshIn, run } from './testing/inspect.ts';

const require = createRequire(import.meta.url);
// Registers the xDS LB policies (round_robin, ring_hash, ...) the cluster validation consults.
(require('@grpc/grpc-js-xds') as { register: () => void }).register();
const base = '@grpc/grpc-js-xds/build/src/xds-resource-type/';
interface ResourceType { decode(context: object, resource: { type_url: string; value: Buffer }): { name: string; value?: unknown; error?: string } }
const types: Record<string, ResourceType> = {
  [TypeUrl.Listener]: require(base + 'listener-resource-type.js').ListenerResourceType.get(),
  [TypeUrl.RouteConfiguration]: require(base + 'route-config-resource-type.js').RouteConfigurationResourceType.get(),
  [TypeUrl.Cluster]: require(base + 'cluster-resource-type.js').ClusterResourceType.get(),
  [TypeUrl.ClusterLoadAssignment]: require(base + 'endpoint-resource-type.js').EndpointResourceType.get(),
};
const context = { bootstrap: { certificateProviders: {}, servers: [], node: { id: 'test' } }, server: {} };

test('grpc-js-xds accepts the API listener, routes, clusters and endpoints of a weighted VirtualService split', () => {
  const vs = f.virtualService('default', 'greeter', {
    hosts: ['greeter'],
    http: [
      { match: [{ headers: { 'x-canary': { exact: '1' } } }], route: [{ destination: { host: 'greeter', subset: 'v2' } }], fault: { abort: { httpStatus: 503, percentage: { value: 1 } } } },
      { route: [{ destination: { host: 'greeter', subset: 'v1' }, weight: 80 }, { destination: { host: 'greeter', subset: 'v2' }, weight: 20 }], retries: { attempts: 2, perTryTimeout: '1s' }, timeout: '5s' },
    ],
  });
  const dr = f.destinationRule('default', 'greeter', { host: 'greeter', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } }] });
  const r = run({
    virtualServices: [vs], destinationRules: [dr],
    endpoints: [f.endpoints('default', 'greeter', [{ port: 50051, pod: 'g1' }, { port: 50052, pod: 'g2' }])],
    pods: [f.pod('default', 'g1', { labels: { version: 'v1', 'topology.kubernetes.io/zone': 'z1' } }), f.pod('default', 'g2', { labels: { version: 'v2' } })],
  }, meshIn('default'), { apiListeners: ['greeter.default.svc.cluster.local:80'] });
  let checked = 0;
  for (const [typeUrl, rt] of Object.entries(types)) {
    for (const [name, obj] of r.resources[typeUrl as keyof typeof r.resources]) {
      const out = rt.decode(context, { type_url: typeUrl, value: encodeResource(typeUrl, obj) });
      assert.equal(out.error, undefined, `${typeUrl.split('.').pop()} ${name}: ${out.error}`);
      checked++;
    }
  }
  assert.equal(checked >= 6, true, `checked ${checked} resources`);
});

test('the validation is real: grpc-js-xds refuses what it cannot do (control case)', () => {
  const bad = { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'MAGLEV' };
  const out = types[TypeUrl.Cluster].decode(context, { type_url: TypeUrl.Cluster, value: encodeResource(TypeUrl.Cluster, bad) });
  assert.match(out.error ?? '', /lb_policy|LB policy/);
});
