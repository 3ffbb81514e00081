import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Configuration, Revision } from '../../api/types/knative.ts';
import { getCondition } from '../../api/conditions.ts';
import { isPermanentError } from '../../controller/reconcile-result.ts';
import { newHarness, T0 } from '../testing/harness.ts';
import { R } from '../shared/resources.ts';
import { ConfigurationReconciler } from './reconciler.ts';
import { revisionNameFor } from './resources/make-revision.ts';

type H = Awaited<ReturnType<typeof newHarness>>;
const config = (tmplName?: string): Configuration => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Configuration',
  metadata: { name: 'hello', namespace: 'default', labels: { 'serving.knative.dev/service': 'hello' } },
  spec: { template: { metadata: tmplName ? { name: tmplName } : undefined, spec: { containers: [{ image: 'sluice/hello' }] } } },
});
const revReady = (h: H, name: string, status: 'True' | 'False', message?: string) =>
  h.setStatus(R.revisions, name, { observedGeneration: 1, conditions: [{ type: 'Ready', status, reason: status === 'False' ? 'ImageNotFound' : undefined, message, lastTransitionTime: T0 }] });
async function bump(h: H, env: string): Promise<void> {
  const cur = (await h.get<Configuration>(R.configurations, 'hello'))!;
  cur.spec!.template.spec.containers[0].env = [{ name: 'V', value: env }];
  await h.store.update(R.configurations, cur);
}

test('revisionNameFor: generation-numbered or the template name (table)', () => {
  const cases: [Configuration, string][] = [
    [{ ...config(), metadata: { ...config().metadata, generation: 1 } }, 'hello-00001'],
    [{ ...config(), metadata: { ...config().metadata, generation: 12 } }, 'hello-00012'],
    [{ ...config('hello-blue'), metadata: { ...config().metadata, generation: 3 } }, 'hello-blue'],
  ];
  for (const [c, want] of cases) assert.equal(revisionNameFor(c), want);
});

test('Configuration reconciler (table)', async (t) => {
  const cases: { name: string; tmpl?: string; steps: (h: H, r: ConfigurationReconciler) => Promise<void>; check: (h: H, c: Configuration) => Promise<void> }[] = [
    {
      name: 'stamps out <config>-00001 with Knative labels; Ready Unknown',
      steps: async () => {},
      check: async (h, c) => {
        const rev = (await h.get<Revision>(R.revisions, 'hello-00001'))!;
        assert.deepEqual({ ...rev.metadata.labels, 'serving.knative.dev/configurationUID': 'x' }, {
          'serving.knative.dev/configuration': 'hello', 'serving.knative.dev/configurationGeneration': '1',
          'serving.knative.dev/configurationUID': 'x', 'serving.knative.dev/service': 'hello',
        });
        assert.equal(rev.metadata.ownerReferences?.[0].kind, 'Configuration');
        assert.deepEqual(rev.spec, c.spec?.template.spec);
        assert.equal(c.status?.latestCreatedRevisionName, 'hello-00001');
        assert.equal(c.status?.latestReadyRevisionName, undefined);
        assert.equal(getCondition(c.status?.conditions, 'Ready')?.status, 'Unknown');
      },
    },
    {
      name: 'latest revision ready → latestReadyRevisionName, Ready True',
      steps: async (h, r) => { await r.reconcile('default/hello'); await revReady(h, 'hello-00001', 'True'); },
      check: async (_h, c) => {
        assert.equal(c.status?.latestReadyRevisionName, 'hello-00001');
        assert.equal(getCondition(c.status?.conditions, 'Ready')?.status, 'True');
      },
    },
    {
      name: 'a template change makes 00002; 00001 stays latest ready until 00002 is ready',
      steps: async (h, r) => { await r.reconcile('default/hello'); await revReady(h, 'hello-00001', 'True'); await r.reconcile('default/hello'); await bump(h, '2'); },
      check: async (h, c) => {
        assert.ok(await h.get(R.revisions, 'hello-00001'));
        assert.ok(await h.get(R.revisions, 'hello-00002'));
        assert.equal(c.status?.latestCreatedRevisionName, 'hello-00002');
        assert.equal(c.status?.latestReadyRevisionName, 'hello-00001');
        assert.equal(getCondition(c.status?.conditions, 'Ready')?.status, 'Unknown');
      },
    },
    {
      name: 'the latest revision failing → Ready False RevisionFailed, previous stays latest ready',
      steps: async (h, r) => {
        await r.reconcile('default/hello'); await revReady(h, 'hello-00001', 'True'); await r.reconcile('default/hello');
        await bump(h, '2'); await r.reconcile('default/hello'); await revReady(h, 'hello-00002', 'False', 'Unable to fetch image "nope"');
      },
      check: async (_h, c) => {
        const rc = getCondition(c.status?.conditions, 'Ready')!;
        assert.equal(rc.status, 'False');
        assert.equal(rc.reason, 'RevisionFailed');
        assert.match(rc.message!, /hello-00002.*nope/);
        assert.equal(c.status?.latestReadyRevisionName, 'hello-00001');
      },
    },
    {
      name: 'spec.template.metadata.name names the revision',
      tmpl: 'hello-blue',
      steps: async () => {},
      check: async (h, c) => {
        assert.ok(await h.get(R.revisions, 'hello-blue'));
        assert.equal(c.status?.latestCreatedRevisionName, 'hello-blue');
      },
    },
    {
      name: 'a changed template under the same given name: Ready False RevisionNameConflict',
      tmpl: 'hello-blue',
      steps: async (h, r) => { await r.reconcile('default/hello'); await bump(h, 'changed'); },
      check: async (h, c) => {
        const rc = getCondition(c.status?.conditions, 'Ready')!;
        assert.equal(rc.status, 'False');
        assert.equal(rc.reason, 'RevisionNameConflict');
        assert.equal((await h.get<Revision>(R.revisions, 'hello-blue'))!.spec?.containers[0].env, undefined, 'the revision is not changed');
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const h = await newHarness();
      try {
        const r = new ConfigurationReconciler(h.ctx);
        await h.create(R.configurations, config(c.tmpl));
        await c.steps(h, r);
        try { await r.reconcile('default/hello'); } catch (e) { if (!isPermanentError(e)) throw e; }
        await c.check(h, (await h.get<Configuration>(R.configurations, 'hello'))!);
      } finally { await h.close(); }
    });
  }
});
