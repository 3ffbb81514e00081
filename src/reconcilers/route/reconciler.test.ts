import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Route, TrafficTarget } from '../../api/types/knative.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import { getCondition } from '../../api/conditions.ts';
import { isPermanentError } from '../../controller/reconcile-result.ts';
import { newHarness, T0 } from '../testing/harness.ts';
import { R } from '../shared/resources.ts';
import type { NetworkSettings } from '../shared/context.ts';
import { RouteReconciler } from './reconciler.ts';
import { makeIngress } from './resources/make-ingress.ts';

type H = Awaited<ReturnType<typeof newHarness>>;
const READY = [{ type: 'Ready', status: 'True', lastTransitionTime: T0 }];

const route = (traffic: TrafficTarget[], labels: Record<string, string> = {}): Route => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { name: 'hello', namespace: 'default', labels: { 'serving.knative.dev/service': 'hello', ...labels } }, spec: { traffic },
});
async function configWithReady(h: H, latestReady?: string): Promise<void> {
  await h.create(R.configurations, { apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name: 'hello' }, spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } } });
  if (latestReady) await h.setStatus(R.configurations, 'hello', { observedGeneration: 1, latestReadyRevisionName: latestReady, latestCreatedRevisionName: latestReady, conditions: READY });
}
async function readyRevision(h: H, name: string): Promise<void> {
  await h.create(R.revisions, { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name }, spec: { containers: [{ image: 'sluice/hello' }] } });
  await h.setStatus(R.revisions, name, { observedGeneration: 1, conditions: READY });
}
const latest100: TrafficTarget[] = [{ configurationName: 'hello', latestRevision: true, percent: 100 }];

test('makeIngress: hosts per visibility, merged splits, tag rules (table)', () => {
  const cases: { name: string; r: Route; targets: Parameters<typeof makeIngress>[1]; want: [string[], string, [string, number][]][] }[] = [
    {
      name: 'external route, one revision',
      r: route(latest100), targets: [{ revisionName: 'hello-00001', latestRevision: true, percent: 100 }],
      want: [
        [['hello.default', 'hello.default.svc', 'hello.default.svc.cluster.local'], 'ClusterLocal', [['hello-00001', 100]]],
        [['hello.default.example.test'], 'ExternalIP', [['hello-00001', 100]]],
      ],
    },
    {
      name: 'cluster-local with a tag; two entries to one revision merge; 0% dropped',
      r: route([], { 'networking.knative.dev/visibility': 'cluster-local' }),
      targets: [
        { revisionName: 'a', latestRevision: false, percent: 60 }, { revisionName: 'a', latestRevision: false, percent: 40 },
        { revisionName: 'b', latestRevision: false, percent: 0, tag: 'next' },
      ],
      want: [
        [['hello.default', 'hello.default.svc', 'hello.default.svc.cluster.local'], 'ClusterLocal', [['a', 100]]],
        [['next-hello.default', 'next-hello.default.svc', 'next-hello.default.svc.cluster.local'], 'ClusterLocal', [['b', 100]]],
      ],
    },
  ];
  for (const c of cases) {
    const local = c.r.metadata.labels?.['networking.knative.dev/visibility'] === 'cluster-local';
    const ing = makeIngress(c.r, c.targets, 'example.test', local);
    assert.deepEqual(ing.spec!.rules.map((r) => [r.hosts, r.visibility, r.http.paths[0].splits.map((s) => [s.serviceName, s.percent])]), c.want, c.name);
  }
});

test('Route reconciler (table)', async (t) => {
  const cases: {
    name: string; traffic: TrafficTarget[]; labels?: Record<string, string>; network?: Partial<NetworkSettings>;
    setup: (h: H) => Promise<void>;
    check: (h: H, r: Route, err: unknown, rec: RouteReconciler) => Promise<void>;
  }[] = [
    {
      name: 'configuration without a ready revision: AllTrafficAssigned Unknown, no Ingress',
      traffic: latest100, setup: (h) => configWithReady(h),
      check: async (h, r) => {
        assert.equal(getCondition(r.status?.conditions, 'AllTrafficAssigned')?.status, 'Unknown');
        assert.equal(await h.get(R.ingresses, 'hello'), undefined);
        assert.equal(r.status?.url, 'http://hello.default.example.test');
      },
    },
    {
      name: 'latest ready revision: Ingress written and (immediate) ready; Route Ready True',
      traffic: latest100, setup: (h) => configWithReady(h, 'hello-00001'),
      check: async (h, r) => {
        for (const c of ['AllTrafficAssigned', 'IngressReady', 'CertificateProvisioned', 'Ready']) assert.equal(getCondition(r.status?.conditions, c)?.status, 'True', c);
        assert.deepEqual(r.status?.traffic, [{ revisionName: 'hello-00001', configurationName: 'hello', latestRevision: true, percent: 100 }]);
        assert.equal(r.status?.address?.url, 'http://hello.default.svc.cluster.local');
        const ing = (await h.get<KIngress>(R.ingresses, 'hello'))!;
        assert.equal(ing.metadata.ownerReferences?.[0].kind, 'Route');
        assert.equal(getCondition(ing.status?.conditions, 'Ready')?.status, 'True');
      },
    },
    {
      name: "controlplane readiness: IngressReady waits for the control plane's status",
      traffic: latest100, network: { ingressReadiness: 'controlplane' }, setup: (h) => configWithReady(h, 'hello-00001'),
      check: async (h, r, _e, rec) => {
        assert.equal(getCondition(r.status?.conditions, 'IngressReady')?.reason, 'IngressNotConfigured');
        assert.equal(getCondition(r.status?.conditions, 'Ready')?.status, 'Unknown');
        h.clock.advance(1500);
        await h.setStatus(R.ingresses, 'hello', { observedGeneration: 1, conditions: READY });
        await rec.reconcile('default/hello');
        const after = (await h.get<Route>(R.routes, 'hello'))!;
        const ir = getCondition(after.status?.conditions, 'IngressReady')!;
        assert.equal(ir.status, 'True');
        assert.equal(ir.lastTransitionTime, new Date(Date.parse('2026-01-01T00:00:00Z') + 1500).toISOString());
        assert.equal(getCondition(after.status?.conditions, 'Ready')?.status, 'True');
      },
    },
    {
      name: '90/10 split with a tag: status traffic with the tag URL, Ingress splits and tag host',
      traffic: [{ revisionName: 'hello-00001', percent: 90, latestRevision: false }, { revisionName: 'hello-00002', percent: 10, tag: 'canary', latestRevision: false }],
      setup: async (h) => { await readyRevision(h, 'hello-00001'); await readyRevision(h, 'hello-00002'); },
      check: async (h, r) => {
        assert.deepEqual(r.status?.traffic, [
          { revisionName: 'hello-00001', latestRevision: false, percent: 90 },
          { tag: 'canary', revisionName: 'hello-00002', latestRevision: false, percent: 10, url: 'http://canary-hello.default.example.test' },
        ]);
        const ing = (await h.get<KIngress>(R.ingresses, 'hello'))!;
        assert.ok(ing.spec!.rules.some((x) => x.hosts.includes('canary-hello.default.example.test') && x.http.paths[0].splits[0].serviceName === 'hello-00002'));
      },
    },
    {
      name: 'a pinned revision that does not exist: AllTrafficAssigned False RevisionMissing',
      traffic: [{ revisionName: 'hello-00009', percent: 100, latestRevision: false }], setup: async () => {},
      check: async (_h, r) => {
        const c = getCondition(r.status?.conditions, 'AllTrafficAssigned')!;
        assert.equal(c.status, 'False');
        assert.equal(c.reason, 'RevisionMissing');
        assert.match(c.message!, /hello-00009/);
      },
    },
    {
      name: 'percentages not summing to 100: InvalidTraffic, permanent',
      traffic: [{ configurationName: 'hello', latestRevision: true, percent: 90 }], setup: (h) => configWithReady(h, 'hello-00001'),
      check: async (_h, r, err) => {
        assert.ok(isPermanentError(err));
        const c = getCondition(r.status?.conditions, 'AllTrafficAssigned')!;
        assert.equal(c.reason, 'InvalidTraffic');
        assert.match(c.message!, /sum to 90/);
      },
    },
    {
      name: 'cluster-local visibility: cluster-local URL and no external rule',
      traffic: latest100, labels: { 'networking.knative.dev/visibility': 'cluster-local' }, setup: (h) => configWithReady(h, 'hello-00001'),
      check: async (h, r) => {
        assert.equal(r.status?.url, 'http://hello.default.svc.cluster.local');
        const ing = (await h.get<KIngress>(R.ingresses, 'hello'))!;
        assert.deepEqual(ing.spec!.rules.map((x) => x.visibility), ['ClusterLocal']);
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const h = await newHarness(c.network);
      try {
        await c.setup(h);
        const rec = new RouteReconciler(h.ctx);
        await h.create(R.routes, route(c.traffic, c.labels));
        let err: unknown;
        try { await rec.reconcile('default/hello'); } catch (e) { err = e; }
        if (err && !isPermanentError(err)) throw err;
        await c.check(h, (await h.get<Route>(R.routes, 'hello'))!, err, rec);
      } finally { await h.close(); }
    });
  }
});
