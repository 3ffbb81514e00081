import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { KubeObject } from '../api/meta.ts';
import { Informer } from './informer.ts';
import { enqueueControllerOf, controllerOwnerRef } from './owner.ts';

const RES = 'serving.knative.dev/configurations';
const cfg = (name: string, ns = 'default'): KubeObject => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name, namespace: ns, labels: { app: name } }, spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } } });

test('informer lists, then watches: cache updated before handlers run; lister filters', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  await store.create(RES, cfg('a'));
  const inf = new Informer({ store, resource: RES, clock });
  const seen: string[] = [];
  inf.addHandler({
    add: (o) => seen.push(`add:${o.metadata.name}:${inf.lister.get('default', o.metadata.name!) ? 'cached' : 'missing'}`),
    update: (_a, b) => seen.push(`update:${b.metadata.name}`),
    delete: (o) => seen.push(`delete:${o.metadata.name}:${inf.lister.get('default', o.metadata.name!) ? 'cached' : 'gone'}`),
  });
  assert.equal(inf.hasSynced(), false);
  await inf.start();
  assert.equal(inf.hasSynced(), true);
  await store.create(RES, cfg('b', 'other'));
  const a = (await store.get(RES, 'default', 'a'))!;
  await store.update(RES, { ...a, metadata: { ...a.metadata, labels: { app: 'changed' } } });
  await store.delete(RES, 'default', 'a');
  assert.deepEqual(seen, ['add:a:cached', 'add:b:missing', 'update:a', 'delete:a:gone']);
  assert.deepEqual(inf.lister.list('other').map((o) => o.metadata.name), ['b']);
  assert.deepEqual(inf.lister.list(undefined, { app: 'b' }).map((o) => o.metadata.name), ['b']);
  inf.stop();
  await store.close();
});

test('after the store compacts past its version the informer relists and emits the difference', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  await store.create(RES, cfg('keep'));
  await store.create(RES, cfg('gone'));
  const inf = new Informer({ store, resource: RES, clock });
  await inf.start();
  inf.stop();
  // While the informer is not watching: one delete, one create, then compaction.
  await store.delete(RES, 'default', 'gone');
  await store.create(RES, cfg('new'));
  await store.compact(await store.currentResourceVersion());
  const seen: string[] = [];
  inf.addHandler({ add: (o) => seen.push(`add:${o.metadata.name}`), delete: (o) => seen.push(`delete:${o.metadata.name}`) });
  seen.length = 0; // late registration replays the cache as adds
  await inf.start(); // lists afresh (a restart), which is what a 410 relist also does
  assert.deepEqual(seen.sort(), ['add:new', 'delete:gone']);
  inf.stop();

  // A watch from a compacted version: the informer gets 410 and relists by itself.
  const inf2 = new Informer({ store, resource: RES, clock });
  await inf2.start();
  const before = inf2.relists;
  (inf2 as unknown as { lastRv: string }).lastRv = '1';
  (inf2 as unknown as { startWatch(): void }).startWatch();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(inf2.relists, before + 1);
  assert.equal(inf2.hasSynced(), true);
  assert.deepEqual(inf2.lister.list().map((o) => o.metadata.name).sort(), ['keep', 'new']);
  inf2.stop();
  await store.close();
});

test('enqueueControllerOf maps a dependent to its controlling owner', () => {
  const keys: string[] = [];
  const h = enqueueControllerOf('Service', (k) => keys.push(k));
  const owner = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'svc', namespace: 'ns', uid: 'u' } };
  h.add!({ ...cfg('svc', 'ns'), metadata: { ...cfg('svc', 'ns').metadata, ownerReferences: [controllerOwnerRef(owner)] } });
  h.add!(cfg('orphan', 'ns'));
  assert.deepEqual(keys, ['ns/svc']);
});
