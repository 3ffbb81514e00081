import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KService, Configuration, Route } from '../../api/types/knative.ts';
import { getCondition } from '../../api/conditions.ts';
import { isPermanentError } from '../../controller/reconcile-result.ts';
import { newHarness, T0 } from '../testing/harness.ts';
import { R } from '../shared/resources.ts';
import { ServiceReconciler } from './reconciler.ts';
import { makeRoute } from './resources/make-route.ts';

const svc = (extra: Partial<KService['spec']> = {}, labels: Record<string, string> = {}): KService => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default', labels },
  spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } }, ...extra },
});
const ready = (gen: number, extra: Record<string, unknown> = {}, status = 'True', reason?: string, message?: string) => ({
  observedGeneration: gen, conditions: [{ type: 'Ready', status, reason, message, lastTransitionTime: T0 }], ...extra,
});

test('makeRoute: default traffic, latestRevision entries, pinned revisions and tags (table)', () => {
  const cases: { name: string; traffic?: NonNullable<KService['spec']>['traffic']; want: unknown }[] = [
    { name: 'no traffic block', want: [{ configurationName: 'hello', latestRevision: true, percent: 100 }] },
    { name: 'latest + pinned with tag', traffic: [{ latestRevision: true, percent: 80 }, { revisionName: 'hello-00001', percent: 20, tag: 'old' }],
      want: [{ configurationName: 'hello', latestRevision: true, percent: 80 }, { tag: 'old', revisionName: 'hello-00001', latestRevision: false, percent: 20 }] },
    { name: 'tag on latest without percent', traffic: [{ percent: 100, latestRevision: true }, { tag: 'next', latestRevision: true, percent: 0 }],
      want: [{ configurationName: 'hello', latestRevision: true, percent: 100 }, { tag: 'next', configurationName: 'hello', latestRevision: true, percent: 0 }] },
  ];
  for (const c of cases) assert.deepEqual(makeRoute(svc(c.traffic ? { traffic: c.traffic } : {})).spec?.traffic, c.want, c.name);
});

test('Service reconciler (table): children, status mirroring, ownership', async (t) => {
  const cases: {
    name: string;
    setup?: (h: Awaited<ReturnType<typeof newHarness>>, r: ServiceReconciler) => Promise<void>;
    check: (h: Awaited<ReturnType<typeof newHarness>>, s: KService, err: unknown) => Promise<void>;
  }[] = [
    {
      name: 'creates an owned Configuration and Route; Ready Unknown',
      check: async (h, s) => {
        const cfg = await h.get<Configuration>(R.configurations, 'hello');
        const rt = await h.get<Route>(R.routes, 'hello');
        assert.equal(cfg?.metadata.labels?.['serving.knative.dev/service'], 'hello');
        assert.equal(cfg?.metadata.ownerReferences?.[0].kind, 'Service');
        assert.equal(cfg?.metadata.ownerReferences?.[0].controller, true);
        assert.equal(rt?.metadata.ownerReferences?.[0].uid, s.metadata.uid);
        assert.equal(getCondition(s.status?.conditions, 'Ready')?.status, 'Unknown');
        assert.equal(s.status?.observedGeneration, 1);
        assert.ok(s.status!.conditions!.every((c) => c.lastTransitionTime));
        assert.deepEqual((await h.events()).map((e) => e.reason), ['Created', 'Created']);
      },
    },
    {
      name: 'mirrors ready children: Ready True with url, traffic and revision names',
      setup: async (h, r) => {
        await r.reconcile('default/hello');
        await h.setStatus(R.configurations, 'hello', ready(1, { latestCreatedRevisionName: 'hello-00001', latestReadyRevisionName: 'hello-00001' }));
        await h.setStatus(R.routes, 'hello', ready(1, { url: 'http://hello.default.example.test', traffic: [{ revisionName: 'hello-00001', latestRevision: true, percent: 100 }] }));
      },
      check: async (_h, s) => {
        assert.equal(getCondition(s.status?.conditions, 'Ready')?.status, 'True');
        assert.equal(getCondition(s.status?.conditions, 'ConfigurationsReady')?.status, 'True');
        assert.equal(getCondition(s.status?.conditions, 'RoutesReady')?.status, 'True');
        assert.equal(s.status?.url, 'http://hello.default.example.test');
        assert.equal(s.status?.latestReadyRevisionName, 'hello-00001');
        assert.deepEqual(s.status?.traffic, [{ revisionName: 'hello-00001', latestRevision: true, percent: 100 }]);
      },
    },
    {
      name: 'a failed Configuration fails the Service with its reason',
      setup: async (h, r) => {
        await r.reconcile('default/hello');
        await h.setStatus(R.configurations, 'hello', ready(1, {}, 'False', 'RevisionFailed', 'Revision "hello-00001" failed with message: image missing.'));
      },
      check: async (_h, s) => {
        const c = getCondition(s.status?.conditions, 'Ready')!;
        assert.equal(c.status, 'False');
        assert.equal(c.reason, 'RevisionFailed');
        assert.match(c.message!, /image missing/);
      },
    },
    {
      name: 'a same-named Configuration owned by someone else: NotOwned, permanent error',
      setup: async (h) => {
        await h.create(R.configurations, { apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name: 'hello' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } } });
      },
      check: async (_h, s, err) => {
        assert.ok(isPermanentError(err));
        const c = getCondition(s.status?.conditions, 'ConfigurationsReady')!;
        assert.equal(c.status, 'False');
        assert.equal(c.reason, 'NotOwned');
      },
    },
    {
      name: 'a template change updates the Configuration spec (new generation)',
      setup: async (h, r) => {
        await r.reconcile('default/hello');
        const cur = (await h.get<KService>(R.services, 'hello'))!;
        cur.spec!.template.spec.containers[0].env = [{ name: 'TARGET', value: 'two' }];
        await h.store.update(R.services, cur);
      },
      check: async (h) => {
        const cfg = (await h.get<Configuration>(R.configurations, 'hello'))!;
        assert.equal(cfg.metadata.generation, 2);
        assert.deepEqual(cfg.spec?.template.spec.containers[0].env, [{ name: 'TARGET', value: 'two' }]);
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const h = await newHarness();
      try {
        const r = new ServiceReconciler(h.ctx);
        await h.create(R.services, svc());
        await c.setup?.(h, r);
        let err: unknown;
        try { await r.reconcile('default/hello'); } catch (e) { err = e; }
        if (err && !isPermanentError(err)) throw err;
        await c.check(h, (await h.get<KService>(R.services, 'hello'))!, err);
      } finally { await h.close(); }
    });
  }
});
