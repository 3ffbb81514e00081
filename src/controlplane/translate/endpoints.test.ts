import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { buildMeshState } from './mesh-state.ts';
import { translateEndpoints, translateForProxy } from './translate.ts';
import * as f from './testing/fixtures.ts';
import { assertEncodes } from './testing/proto-check.ts';
import { clas, clusters, GATEWAY, meshIn, ok, run } from './testing/inspect.ts';

const REV = 'outbound|80||hello-00001.default.svc.cluster.local';
const ing = f.knativeIngress('default', 'hello', [['hello-00001', 100]]);
const addrs = (cla: any) => cla.endpoints.flatMap((l: any) => l.lb_endpoints.map((e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`));

test('ready addresses only, sorted, with weight 1 and HEALTHY', () => {
  const ep = f.endpoints('default', 'hello-00001', [{ port: 30002, pod: 'b' }, { port: 30001, pod: 'a' }, { port: 30003, pod: 'c', ready: false }]);
  const cla = clas(run({ ingresses: [ing], endpoints: [ep] })).get(REV)!;
  assert.deepEqual(addrs(cla), ['127.0.0.1:30001', '127.0.0.1:30002']);
  assert.equal(cla.endpoints[0].lb_endpoints[0].health_status, 'HEALTHY');
  assert.equal(cla.endpoints[0].lb_endpoints[0].load_balancing_weight.value, 1);
});

test('localities from pod zone/region labels, weights from the pod annotation, locality weight = sum', () => {
  const ep = f.endpoints('default', 'hello-00001', [{ port: 1, pod: 'a' }, { port: 2, pod: 'b' }, { port: 3, pod: 'c' }]);
  const pods = [
    f.pod('default', 'a', { labels: { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r' } }),
    f.pod('default', 'b', { labels: { 'topology.kubernetes.io/zone': 'z2', 'topology.kubernetes.io/region': 'r' }, annotations: { 'sluice.dev/endpoint-weight': '3' } }),
    f.pod('default', 'c', { labels: { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r' } }),
  ];
  const cla = clas(run({ ingresses: [ing], endpoints: [ep], pods })).get(REV)!;
  assert.deepEqual(cla.endpoints.map((l: any) => [l.locality, l.load_balancing_weight.value, l.lb_endpoints.length]), [
    [{ region: 'r', zone: 'z1' }, 2, 2], [{ region: 'r', zone: 'z2' }, 3, 1],
  ]);
});

test('the port the cluster names is picked by name or number, else the only one', () => {
  const ep = { ...f.endpoints('default', 'hello-00001', []), subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'metrics', port: 9090 }, { name: 'http', port: 8081 }] }] };
  const byName = f.ingress('default', 'n', [{ hosts: ['n.example.com'], http: { paths: [{ splits: [{ serviceNamespace: 'default', serviceName: 'hello-00001', servicePort: 'http', percent: 100 }] }] } }]);
  const r = run({ ingresses: [byName], endpoints: [ep] });
  assert.deepEqual(addrs(clas(r).get('outbound|http||hello-00001.default.svc.cluster.local')), ['127.0.0.1:8081']);
  const byNum = f.ingress('default', 'm', [{ hosts: ['m.example.com'], http: { paths: [{ splits: [{ serviceNamespace: 'default', serviceName: 'hello-00001', servicePort: 9090, percent: 100 }] }] } }]);
  assert.deepEqual(addrs(clas(run({ ingresses: [byNum], endpoints: [ep] })).get('outbound|9090||hello-00001.default.svc.cluster.local')), ['127.0.0.1:9090']);
});

test('a revision with no ready pod goes to the activator when one is configured; otherwise it has no endpoints', () => {
  const ep = f.endpoints('default', 'hello-00001', [{ port: 30001, ready: false }]);
  assert.deepEqual(clas(run({ ingresses: [ing], endpoints: [ep] })).get(REV)!.endpoints, []);
  const withAct = clas(run({ ingresses: [ing], endpoints: [ep], activator: { address: '127.0.0.1', port: 8012 } })).get(REV)!;
  assert.deepEqual(addrs(withAct), ['127.0.0.1:8012']);
  const ready = f.endpoints('default', 'hello-00001', [{ port: 30001 }]);
  assert.deepEqual(addrs(clas(run({ ingresses: [ing], endpoints: [ready], activator: { address: '127.0.0.1', port: 8012 } })).get(REV)!), ['127.0.0.1:30001']);
});

test('translateEndpoints gives the same load assignments as the full translation, for the named clusters only', () => {
  const dr = f.destinationRule('default', 'reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] });
  const vs = f.virtualService('default', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] });
  const input = {
    ingresses: [ing], virtualServices: [vs], destinationRules: [dr],
    endpoints: [f.endpoints('default', 'hello-00001', [{ port: 30001 }]), f.endpoints('default', 'reviews', [{ port: 31001, pod: 'r1' }, { port: 31002, pod: 'r2' }])],
    pods: [f.pod('default', 'r1', { labels: { version: 'v1' } }), f.pod('default', 'r2', { labels: { version: 'v2' } })],
  };
  const state = buildMeshState(input);
  const proxy = meshIn('default');
  const full = translateForProxy(state, proxy).resources[TypeUrl.ClusterLoadAssignment];
  const names = [...full.keys()];
  ok(names.includes('outbound|80|v1|reviews.default.svc.cluster.local'), 'subset cluster present');
  const only = translateEndpoints(state, proxy, names);
  assert.deepEqual([...only.entries()], [...full.entries()]);
  for (const [, cla] of only) assertEncodes(TypeUrl.ClusterLoadAssignment, cla);
  assert.deepEqual([...translateEndpoints(state, proxy, [REV]).keys()], [REV]);
  assert.throws(() => translateEndpoints(state, proxy, ['not-a-cluster']), { code: 'SLUICE_E_TRANSLATE_CLUSTER_NAME' });
});

test('gateway and mesh agree on a revision cluster; the mesh sees revision services by name', () => {
  const input = { ingresses: [ing], endpoints: [f.endpoints('default', 'hello-00001', [{ port: 30001 }])] };
  const gw = run(input, GATEWAY);
  const mesh = run(input, meshIn('default'));
  assert.deepEqual(clusters(gw).get(REV), clusters(mesh).get(REV));
  assert.deepEqual(clas(gw).get(REV), clas(mesh).get(REV));
});
