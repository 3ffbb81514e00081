/** Store contract, deletion: finalizers with deletionTimestamp, and ownerReference cascades. */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/meta.ts';
import type { Store } from './store.ts';
import { KCFG, KREV, KSVC, child, collector, ksvc, rejectsWith, turns, type MakeStore } from './testing/contract-helpers.ts';

export function runDeleteContract(name: string, makeStore: MakeStore): void {
  describe(`store contract, deletion: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => { ({ store, cleanup } = await makeStore()); });
    afterEach(async () => { await cleanup(); });

    const exists = async (resource: string, n: string): Promise<boolean> => (await store.get(resource, 'default', n)) !== undefined;

    it('marks an object with finalizers and removes it once they are emptied', async () => {
      const c = collector();
      const w = store.watch(KSVC, {}, c.handler);
      const a = await store.create(KSVC, ksvc('fin', { finalizers: ['example.com/keep'] }));
      const marked = await store.delete(KSVC, 'default', 'fin');
      assert.ok(marked.metadata.deletionTimestamp, 'delete sets deletionTimestamp');
      assert.deepEqual(marked.metadata.finalizers, ['example.com/keep']);
      assert.ok(Number(marked.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
      const again = await store.delete(KSVC, 'default', 'fin');
      assert.equal(again.metadata.resourceVersion, marked.metadata.resourceVersion, 'a second delete changes nothing');
      await rejectsWith(store.update(KSVC, { ...marked, metadata: { ...marked.metadata, finalizers: ['example.com/keep', 'example.com/new'] } }),
        'SLUICE_E_INVALID', 422, /metadata\.finalizers: Forbidden: no new finalizers/);
      // Other updates while deleting are fine and keep deletionTimestamp.
      const relabelled = await store.update(KSVC, { ...marked, metadata: { ...marked.metadata, labels: { x: 'y' }, deletionTimestamp: undefined } });
      assert.equal(relabelled.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);
      const gone = await store.update(KSVC, { ...relabelled, metadata: { ...relabelled.metadata, finalizers: [] } });
      assert.equal(await exists(KSVC, 'fin'), false);
      assert.equal(gone.metadata.finalizers, undefined);
      await turns();
      assert.deepEqual(c.lines(), ['ADDED fin', 'MODIFIED fin', 'MODIFIED fin', 'DELETED fin']);
      assert.equal(c.events[3]!.object.metadata.resourceVersion, gone.metadata.resourceVersion);
      w.stop();
    });

    it('cascades deletion to dependents whose owners are all gone (background)', async () => {
      const svc = await store.create(KSVC, ksvc('svc'));
      const other = await store.create(KSVC, ksvc('other'));
      const cfg = await store.create(KCFG, child('Configuration', 'svc', [svc]));
      await store.create(KREV, child('Revision', 'svc-00001', [cfg]));
      await store.create(KREV, child('Revision', 'shared', [cfg, other]));
      await store.create(KREV, child('Revision', 'unrelated', []));
      await store.delete(KSVC, 'default', 'svc');
      await turns();
      assert.equal(await exists(KCFG, 'svc'), false);
      assert.equal(await exists(KREV, 'svc-00001'), false, 'grandchildren go too');
      assert.equal(await exists(KREV, 'shared'), true, 'a dependent with a live owner stays');
      assert.equal(await exists(KREV, 'unrelated'), true);
      await store.delete(KSVC, 'default', 'other');
      await turns();
      assert.equal(await exists(KREV, 'shared'), false, 'and goes with its last owner');
    });

    it('deletes each object of an ownership diamond exactly once', async () => {
      const col = collector();
      const w = store.watch('*', {}, col.handler);
      const svc = await store.create(KSVC, ksvc('svc'));
      const cfg = await store.create(KCFG, child('Configuration', 'svc', [svc]));
      await store.create(KREV, child('Revision', 'svc-00001', [svc, cfg]));
      await store.create(KREV, child('Revision', 'svc-00002', [cfg, svc]));
      await store.delete(KSVC, 'default', 'svc');
      await turns();
      const deletes = col.events.filter((e) => e.type === 'DELETED').map((e) => `${e.object.kind}/${e.object.metadata.name}`).sort();
      assert.deepEqual(deletes, ['Configuration/svc', 'Revision/svc-00001', 'Revision/svc-00002', 'Service/svc']);
      w.stop();
    });

    it('cascades to dependents with finalizers by marking them', async () => {
      const svc = await store.create(KSVC, ksvc('svc'));
      await store.create(KCFG, child('Configuration', 'svc', [svc], ['example.com/hold']));
      await store.delete(KSVC, 'default', 'svc');
      await turns();
      const cfg = await store.get(KCFG, 'default', 'svc');
      assert.ok(cfg?.metadata.deletionTimestamp);
      await store.update(KCFG, { ...cfg!, metadata: { ...cfg!.metadata, finalizers: [] } });
      assert.equal(await exists(KCFG, 'svc'), false);
    });

    it('orphans dependents with propagationPolicy Orphan', async () => {
      const svc = await store.create(KSVC, ksvc('svc'));
      const keep = await store.create(KSVC, ksvc('keep'));
      await store.create(KCFG, child('Configuration', 'svc', [svc, keep]));
      await store.delete(KSVC, 'default', 'svc', { propagationPolicy: 'Orphan' });
      await turns();
      const cfg = await store.get(KCFG, 'default', 'svc');
      assert.ok(cfg, 'the dependent survives');
      assert.deepEqual(cfg.metadata.ownerReferences!.map((r) => r.name), ['keep'], 'and loses its reference to the deleted owner');
      assert.equal(cfg.metadata.generation, 1);
      await store.delete(KSVC, 'default', 'keep');
      await turns();
      assert.equal(await exists(KCFG, 'svc'), false);
    });

    it('holds a Foreground-deleted owner until its dependents are gone', async () => {
      const svc = await store.create(KSVC, ksvc('svc'));
      await store.create(KCFG, child('Configuration', 'svc', [svc], ['example.com/hold']));
      const owner = await store.delete(KSVC, 'default', 'svc', { propagationPolicy: 'Foreground' });
      assert.ok(owner.metadata.deletionTimestamp);
      assert.deepEqual(owner.metadata.finalizers, ['foregroundDeletion']);
      await turns();
      const cfg = (await store.get(KCFG, 'default', 'svc')) as KubeObject;
      assert.ok(cfg.metadata.deletionTimestamp);
      assert.equal(await exists(KSVC, 'svc'), true, 'owner waits for its dependent');
      await store.update(KCFG, { ...cfg, metadata: { ...cfg.metadata, finalizers: [] } });
      await turns();
      assert.equal(await exists(KCFG, 'svc'), false);
      assert.equal(await exists(KSVC, 'svc'), false, 'owner goes once the last dependent is gone');
      // Without dependents, Foreground deletes at once.
      await store.create(KSVC, ksvc('lonely'));
      await store.delete(KSVC, 'default', 'lonely', { propagationPolicy: 'Foreground' });
      assert.equal(await exists(KSVC, 'lonely'), false);
    });

    it('refuses an unknown propagationPolicy', async () => {
      await store.create(KSVC, ksvc('p'));
      await rejectsWith(store.delete(KSVC, 'default', 'p', { propagationPolicy: 'Sideways' as 'Orphan' }), 'SLUICE_E_BAD_REQUEST', 400, /propagationPolicy "Sideways"/);
      assert.equal(await exists(KSVC, 'p'), true);
    });
  });
}
