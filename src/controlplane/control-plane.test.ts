import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import type { Condition, KubeObject } from '../api/meta.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { decodeResource, TypeUrl } from '../xds/protos.ts';
import { classifyPodChange, createControlPlane, type ControlPlane } from './control-plane.ts';
import { AdsTestClient, type ReceivedResponse } from './xds/ads-test-client.ts';
import { startWhoBackend } from './xds/who-service.ts';
import { runGrpcXdsClient } from './xds/grpc-xds-runner.ts';

const ING = 'networking.internal.knative.dev/ingresses';
const TYPES = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration];

function endpoints(ns: string, name: string, port: number): KubeObject {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace: ns, name }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port }] }] };
}
function ingress(ns: string, svc: string, splits: [string, number][]): KubeObject {
  const paths = [{ splits: splits.map(([rev, percent]) => ({ serviceNamespace: ns, serviceName: rev, servicePort: 80, percent })) }];
  return {
    apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', metadata: { namespace: ns, name: svc },
    spec: { rules: [{ hosts: [`${svc}.${ns}.example.com`], visibility: 'ExternalIP', http: { paths } }] },
  };
}

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cond = (o: KubeObject | undefined, type: string): Condition | undefined => (o?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

/** A gateway that subscribes to everything (wildcard) and ACKs only when told to. */
function gateway(address: string, id: string, nackIf?: (r: ReceivedResponse) => string | undefined): { c: AdsTestClient; ackAll: () => Promise<void> } {
  const c = new AdsTestClient(address, 'delta', { id, metadata: { SLUICE_ROLE: 'gateway' } }, { autoAck: false });
  for (const t of TYPES) c.deltaRequest(t, []);
  let acked = 0;
  return {
    c,
    async ackAll() {
      // ACK (or NACK) every response so far, until none is outstanding.
      await new Promise((r) => setTimeout(r, 30));
      while (acked < c.all.length) {
        const r = c.all[acked++];
        const nack = nackIf?.(r);
        c.deltaRequest(r.type_url, [], [], { response_nonce: r.nonce, error_detail: nack ? { code: 3, message: nack } : undefined });
        await new Promise((res) => setTimeout(res, 30));
      }
    },
  };
}

async function setup(): Promise<{ store: MemoryStore; clock: FakeClock; cp: ControlPlane; address: string }> {
  const clock = new FakeClock();
  const store = new MemoryStore();
  await store.create('core/endpoints', endpoints('default', 'hello-00001', 8081));
  await store.create(ING, ingress('default', 'hello', [['hello-00001', 100]]));
  const cp = createControlPlane({ store, clock, ackTimeoutMs: 0 });
  const { xdsAddress } = await cp.start();
  return { store, clock, cp, address: xdsAddress };
}

test('control plane: an Ingress is NoGateway without gateways, Ready only once every connected gateway ACKed it', async () => {
  const { store, clock, cp, address } = await setup();
  const g1 = gateway(address, 'gw-1');
  let g2: ReturnType<typeof gateway> | undefined;
  try {
    // NoGateway before any gateway connects (gateways connect below, after this is written).
    const noGw = await waitFor(async () => { const o = await store.get(ING, 'default', 'hello'); return cond(o, 'LoadBalancerReady')?.reason === 'NoGateway' || cp.server.connections().length > 0 ? o : undefined; }, 'first status');
    void noGw;
    g2 = gateway(address, 'gw-2');
    await waitFor(() => cp.server.connections().length === 2 && g1.c.all.length >= 4 && g2!.c.all.length >= 4, 'both gateways configured');
    await g1.ackAll();
    const pending = await waitFor(async () => { const o = await store.get(ING, 'default', 'hello'); return cond(o, 'LoadBalancerReady')?.reason === 'WaitingForAcks' ? o : undefined; }, 'waiting for gw-2');
    assert.match(cond(pending, 'LoadBalancerReady')!.message!, /1 of 2 gateway proxies.*gw-2/);
    assert.notEqual(cond(pending, 'Ready')?.status, 'True');
    await g2.ackAll();
    const ready = await waitFor(async () => { const o = await store.get(ING, 'default', 'hello'); return cond(o, 'Ready')?.status === 'True' ? o : undefined; }, 'Ready');
    assert.equal(cond(ready, 'LoadBalancerReady')?.status, 'True');
    assert.equal(cond(ready, 'NetworkConfigured')?.status, 'True');
    assert.ok(cond(ready, 'Ready')?.lastTransitionTime);
    assert.equal(ready.status.observedGeneration, 1);
    assert.ok(ready.status.publicLoadBalancer.ingress[0].domainInternal);
    // The RouteConfiguration the gateways got carries the Ingress host.
    const rds = g1.c.all.find((r) => r.type_url === TypeUrl.RouteConfiguration && r.resources.length > 0);
    assert.ok(rds, 'gateway received routes');

    // A spec change: not ready again until both ACK the new generation.
    const cur = (await store.get(ING, 'default', 'hello'))!;
    await store.create('core/endpoints', endpoints('default', 'hello-00002', 8082));
    await store.update(ING, { ...cur, spec: ingress('default', 'hello', [['hello-00001', 50], ['hello-00002', 50]]).spec });
    await waitFor(() => cp.pipeline.connections().length === 2 && (clock.advance(100), true), 'flush');
    const before = g1.c.all.length;
    await waitFor(() => g1.c.all.length > before, 'new push');
    await g1.ackAll();
    await waitFor(async () => { const o = await store.get(ING, 'default', 'hello'); return o?.metadata.generation === 2 && cond(o, 'LoadBalancerReady')?.reason === 'WaitingForAcks' ? o : undefined; }, 'gen 2 waiting');
    await g2.ackAll();
    await waitFor(async () => { const o = await store.get(ING, 'default', 'hello'); return o?.status?.observedGeneration === 2 && cond(o, 'Ready')?.status === 'True' ? o : undefined; }, 'gen 2 Ready');
    const text = await cp.metrics.metrics();
    assert.match(text, /pilot_xds\{protocol="delta"\} 2/);
  } finally {
    g1.c.close(); g2?.c.close();
    await cp.stop(); await store.close();
  }
});

test('control plane: a gateway NACK shows on the Ingress with the proxy message', async () => {
  const { store, cp, address } = await setup();
  const g = gateway(address, 'gw-nack', (r) => (r.type_url === TypeUrl.RouteConfiguration ? 'route http.8080: unknown cluster' : undefined));
  try {
    await waitFor(() => g.c.all.length >= 4, 'configured');
    await g.ackAll();
    const o = await waitFor(async () => { const x = await store.get(ING, 'default', 'hello'); return cond(x, 'LoadBalancerReady')?.status === 'False' ? x : undefined; }, 'NACK condition');
    const c = cond(o, 'LoadBalancerReady')!;
    assert.equal(c.reason, 'ProxyRejected');
    assert.match(c.message!, /gw-nack rejected the RouteConfiguration.*unknown cluster/);
    assert.equal(cond(o, 'Ready')?.status, 'False');
    assert.match(await cp.metrics.metrics(), /pilot_total_xds_rejects\{type="rds"\} 1/);
  } finally { g.c.close(); await cp.stop(); await store.close(); }
});

test('control plane: an unsupported VirtualService field is reported on its status', async () => {
  const { store, clock, cp } = await setup();
  try {
    await store.create('networking.istio.io/virtualservices', {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { namespace: 'default', name: 'vs' },
      spec: { hosts: ['hello-00001'], http: [{ match: [{ port: 80 }], route: [{ destination: { host: 'hello-00001' } }] }] },
    });
    clock.advance(100); // debounce → flush
    clock.advance(250); // the stand-in problem pass (no proxy is connected)
    const o = await waitFor(async () => { const x = await store.get('networking.istio.io/virtualservices', 'default', 'vs'); return cond(x, 'ConfigurationSupported') ? x : undefined; }, 'problem condition');
    const c = cond(o, 'ConfigurationSupported')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'UnsupportedField');
    assert.match(c.message!, /spec\.http\[0\]\.match\[0\]\.port/);
  } finally { await cp.stop(); await store.close(); }
});

test('control plane: grpc-js-xds routes by a VirtualService weighted split (80/20 within ±5 % over 1,000 calls)', { timeout: 120_000 }, async () => {
  const blue = await startWhoBackend('blue');
  const green = await startWhoBackend('green');
  const store = new MemoryStore();
  const cp = createControlPlane({ store, ackTimeoutMs: 0, debounceAfterMs: 10 });
  try {
    // The backends are pods in a zone (grpc-js-xds NACKs endpoints without a locality; the
    // translation now always sets one, and takes region/zone from these labels).
    for (const [name, port] of [['who-blue', blue.port], ['who-green', green.port]] as const) {
      await store.create('core/pods', {
        apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', name: `${name}-pod`, labels: { 'topology.kubernetes.io/region': 'local', 'topology.kubernetes.io/zone': 'a' } },
        spec: { containers: [{ name: 'app', image: 'sluice/hello', ports: [{ containerPort: port }] }] }, status: { phase: 'Running' },
      });
      await store.create('core/endpoints', {
        apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace: 'default', name },
        subsets: [{ addresses: [{ ip: '127.0.0.1', targetRef: { kind: 'Pod', namespace: 'default', name: `${name}-pod` } }], ports: [{ name: 'http', port }] }],
      });
    }
    await store.create('networking.istio.io/virtualservices', {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { namespace: 'default', name: 'who' },
      spec: { hosts: ['who.default.svc.cluster.local'], http: [{ route: [
        { destination: { host: 'who-blue' }, weight: 80 },
        { destination: { host: 'who-green' }, weight: 20 },
      ] }] },
    });
    const { xdsAddress } = await cp.start();
    const r = await runGrpcXdsClient(xdsAddress, 'who.default.svc.cluster.local', 1000, { id: 'grpc-client', metadata: { SLUICE_ROLE: 'mesh', NAMESPACE: 'default' } });
    assert.equal(r.fatal, undefined);
    assert.equal(r.errors, 0, `calls failed: ${r.lastError}`);
    const share = (r.counts.blue ?? 0) / 1000;
    assert.ok(Math.abs(share - 0.8) <= 0.05, `blue got ${(share * 100).toFixed(1)} %: ${JSON.stringify(r.counts)}`);
  } finally {
    await cp.stop(); await store.close();
    await blue.stop(); await green.stop();
  }
});

test('control plane: pod status writes cause no push; a pod change without the mesh is endpoint-only; with mesh ports or mesh security it is full', async () => {
  const pod = (over: { labels?: Record<string, string>; annotations?: Record<string, string>; phase?: string; ready?: boolean; deletion?: string } = {}): KubeObject => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { namespace: 'default', name: 'hello-00001-a', labels: over.labels ?? { 'serving.knative.dev/revision': 'hello-00001' }, annotations: over.annotations, ...(over.deletion ? { deletionTimestamp: over.deletion } : {}) },
    spec: { containers: [{ name: 'user-container', image: 'sluice/hello' }] },
    status: { phase: over.phase ?? 'Running', conditions: [{ type: 'Ready', status: over.ready ? 'True' : 'False' }] },
  });
  // The table: what translation reads decides.
  assert.equal(classifyPodChange(pod(), pod({ ready: true }), false), 'ignore', 'a readiness condition flip is not read by translation');
  assert.equal(classifyPodChange(pod(), pod({ phase: 'Pending' }), false), 'ignore', 'a non-terminal phase change is not read');
  assert.equal(classifyPodChange(pod(), pod({ phase: 'Failed' }), false), 'endpoints', 'a terminal phase drops the pod');
  assert.equal(classifyPodChange(pod(), pod({ labels: { version: 'v2' } }), false), 'endpoints', 'labels move subset membership (load assignments only)');
  assert.equal(classifyPodChange(pod(), pod({ deletion: '2026-01-01T00:00:00Z' }), false), 'endpoints', 'deletion drops the pod');
  assert.equal(classifyPodChange(undefined, pod(), false), 'endpoints', 'a new pod without the mesh');
  assert.equal(classifyPodChange(undefined, pod({ annotations: { 'sluice.dev/inbound-port': '30001' } }), false), 'full', 'a pod with a mesh inbound port gets a listener');
  assert.equal(classifyPodChange(pod({ annotations: { 'sluice.dev/egress-port': '30002' } }), pod({ labels: { a: 'b' }, annotations: { 'sluice.dev/egress-port': '30002' } }), false), 'full', 'a mesh pod changing labels');
  assert.equal(classifyPodChange(undefined, pod(), true), 'full', 'mesh security: pods decide cluster identities (SANs)');
  assert.equal(classifyPodChange(pod(), pod({ ready: true }), true), 'ignore', 'status writes are ignored with mesh security too');

  // Wired: a status-only pod write moves no generation; a label change flushes endpoint-only.
  const { store, clock, cp } = await setup();
  try {
    const created = await store.create('core/pods', pod());
    clock.advance(1_000);
    await waitFor(() => cp.pipeline.lastFlush?.generation === 2 || undefined, 'first pod of the namespace flushed');
    assert.equal(cp.pipeline.lastFlush?.edsOnly, true, 'without a mesh proxy the first pod of a namespace is endpoint-only too');
    const g = cp.pipeline.generation;
    const running = await store.update('core/pods', { ...created, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
    clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(1_000);
    assert.equal(cp.pipeline.generation, g, 'a status-only pod write flushed nothing');
    await store.update('core/pods', { ...running, metadata: { ...running.metadata, labels: { version: 'v2' } } });
    await waitFor(() => (clock.advance(1_000), cp.pipeline.generation > g) || undefined, 'label change flushed');
    assert.equal(cp.pipeline.lastFlush?.edsOnly, true, 'a label change without the mesh recomputes load assignments only');
  } finally { await cp.stop(); await store.close(); }
});

test('control plane: a restart keeps Ingresses that were reported ready (no flip, no write); one not yet ready is reported', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  try {
    await store.create('core/endpoints', endpoints('default', 'hello-00001', 8081));
    const created = await store.create(ING, ingress('default', 'hello', [['hello-00001', 100]]));
    const readyAt = '2026-01-01T00:00:00.000Z';
    const conds = ['NetworkConfigured', 'LoadBalancerReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: readyAt }));
    await store.update(ING, { ...created, status: { observedGeneration: 1, conditions: conds } }, { subresource: 'status' });
    await store.create(ING, ingress('default', 'fresh', [['hello-00001', 100]]));
    // The control process starts again; its gateway has not reconnected yet.
    const cp = createControlPlane({ store, clock, ackTimeoutMs: 0 });
    await cp.start();
    try {
      const fresh = await waitFor(async () => { const o = await store.get(ING, 'default', 'fresh'); return cond(o, 'LoadBalancerReady')?.reason === 'NoGateway' ? o : undefined; }, 'the new Ingress reported');
      assert.ok(fresh, 'the Ingress that never was ready says why');
      clock.advance(1_000);
      await cp.status.idle();
      const kept = await store.get(ING, 'default', 'hello');
      assert.deepEqual(kept?.status?.conditions, conds, 'the ready Ingress kept its conditions and their times');
      assert.equal(cp.status.writes, 1, 'one status write: the new Ingress only');
    } finally { await cp.stop(); }
  } finally { await store.close(); }
});

test('control plane: a gateway that asks for VHDS gets one VirtualHost per host; a new Ingress sends only its own host; Ready after that ACK', async () => {
  const { store, clock, cp, address } = await setup();
  const c = new AdsTestClient(address, 'delta', { id: 'gw-vhds', metadata: { SLUICE_ROLE: 'gateway' }, clientFeatures: ['dev.sluice.vhds'] });
  try {
    for (const t of [...TYPES, TypeUrl.VirtualHost]) c.deltaRequest(t, []);
    await waitFor(() => c.all.some((r) => r.type_url === TypeUrl.VirtualHost && r.resources.length > 0) || undefined, 'VHDS response');
    const rds = c.all.filter((r) => r.type_url === TypeUrl.RouteConfiguration).flatMap((r) => r.resources.map((x) => decodeResource(TypeUrl.RouteConfiguration, x.resource!.value)));
    assert.ok(rds.length > 0 && rds.every((r) => (r.virtual_hosts ?? []).length === 0 && r.vhds?.config_source?.ads), `route configurations carry no hosts and name VHDS: ${JSON.stringify(rds).slice(0, 300)}`);
    const hosts = c.all.filter((r) => r.type_url === TypeUrl.VirtualHost).flatMap((r) => r.resources.map((x: any) => x.name as string));
    assert.ok(hosts.some((n) => n.includes('hello')), `the Ingress host is a VirtualHost resource: ${hosts.join(', ')}`);
    await waitFor(async () => cond(await store.get(ING, 'default', 'hello'), 'Ready')?.status === 'True' || undefined, 'first Ingress Ready');

    const seen = c.all.length;
    await store.create('core/endpoints', endpoints('default', 'other-00001', 8083));
    await store.create(ING, ingress('default', 'other', [['other-00001', 100]]));
    await waitFor(() => (clock.advance(200), c.all.slice(seen).some((r) => r.type_url === TypeUrl.VirtualHost)) || undefined, 'VHDS push for the new Ingress');
    await waitFor(async () => cond(await store.get(ING, 'default', 'other'), 'Ready')?.status === 'True' || undefined, 'new Ingress Ready');
    const after = c.all.slice(seen);
    assert.ok(!after.some((r) => r.type_url === TypeUrl.RouteConfiguration), 'no RouteConfiguration re-sent');
    const sentHosts = after.filter((r) => r.type_url === TypeUrl.VirtualHost).flatMap((r) => r.resources.map((x: any) => x.name as string));
    assert.ok(sentHosts.length > 0 && sentHosts.every((n) => n.includes('other')), `only the new Ingress's hosts were sent: ${sentHosts.join(', ')}`);
  } finally { c.close(); await cp.stop(); await store.close(); }
});

test('control plane: with a mesh proxy connected, the first pod of a namespace is a full pass (its policies get reported), later ones endpoint-only', async () => {
  const { store, clock, cp, address } = await setup();
  const mesh = new AdsTestClient(address, 'delta', { id: 'mesh-1', metadata: { SLUICE_ROLE: 'mesh' } });
  const pod = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'fresh', name, labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'sluice/hello' }] }, status: { phase: 'Running' } });
  try {
    for (const t of TYPES) mesh.deltaRequest(t, []);
    await waitFor(() => cp.pipeline.connections().some((c) => c.proxy.role === 'mesh') || undefined, 'mesh proxy connected');
    const g0 = cp.pipeline.generation;
    await store.create('core/pods', pod('a'));
    await waitFor(() => (clock.advance(200), cp.pipeline.generation > g0) || undefined, 'first pod flushed');
    assert.equal(cp.pipeline.lastFlush?.edsOnly, false, 'first pod of the namespace: full');
    const g1 = cp.pipeline.generation;
    await store.create('core/pods', pod('b'));
    await waitFor(() => (clock.advance(200), cp.pipeline.generation > g1) || undefined, 'second pod flushed');
    assert.equal(cp.pipeline.lastFlush?.edsOnly, true, 'second pod: endpoint-only');
  } finally { mesh.close(); await cp.stop(); await store.close(); }
});
