import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { KubeObject } from '../api/meta.ts';
import { SharedInformers } from './shared-informers.ts';

const CM = 'core/secrets';
const tick = async () => { for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); };
const secret = (name: string, v = '1'): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, stringData: { v } } as KubeObject);

test('shared informers: two scopes share one informer and one decoded object per event', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  await store.create(CM, secret('before'));
  const shared = new SharedInformers({ store, clock });
  const a = shared.scope();
  const b = shared.scope();
  const seenA: string[] = [];
  const seenB: string[] = [];
  const ia = a.get(CM);
  const ib = b.get(CM);
  ia.addHandler({ add: (o) => seenA.push(`add ${o.metadata.name}`), update: (_o, n) => seenA.push(`update ${n.metadata.name}`) });
  ib.addHandler({ add: (o) => seenB.push(`add ${o.metadata.name}`), delete: (o) => seenB.push(`delete ${o.metadata.name}`) });
  await Promise.all([a.start(), b.start()]);
  assert.ok(ia.hasSynced() && ib.hasSynced(), 'start resolves once synced');
  assert.deepEqual(shared.resources(), [CM], 'one informer for the resource');
  await store.create(CM, secret('x'));
  await tick();
  assert.equal(ia.lister.get('default', 'x'), ib.lister.get('default', 'x'), 'the same object in both views');
  assert.deepEqual(seenA, ['add before', 'add x']);
  assert.deepEqual(seenB, ['add before', 'add x']);

  // A scope that stops loses its handlers only; the informer keeps serving the others.
  a.stop();
  const x = ib.lister.get('default', 'x')!;
  await store.update(CM, { ...x, stringData: { v: '2' } } as KubeObject);
  await store.delete(CM, 'default', 'before');
  await tick();
  assert.deepEqual(seenA, ['add before', 'add x'], 'a stopped scope gets nothing');
  assert.deepEqual(seenB, ['add before', 'add x', 'delete before']);

  // A scope that comes later sees what is cached as adds, like client-go's late handlers.
  const c = shared.scope();
  const seenC: string[] = [];
  c.get(CM).addHandler({ add: (o) => seenC.push(o.metadata.name!) });
  await c.start();
  assert.deepEqual(seenC, ['x']);
  shared.stop();
  await store.create(CM, secret('after'));
  await tick();
  assert.deepEqual(seenB, ['add before', 'add x', 'delete before'], 'nothing after the informers stop');
});

test('shared informers: a handler removed while an event is dispatched does not make others miss it', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const shared = new SharedInformers({ store, clock });
  const a = shared.scope();
  const b = shared.scope();
  const seen: string[] = [];
  a.get(CM).addHandler({ add: () => { seen.push('a'); a.stop(); } });
  b.get(CM).addHandler({ add: () => seen.push('b') });
  await Promise.all([a.start(), b.start()]);
  await store.create(CM, secret('x'));
  await store.create(CM, secret('y'));
  await tick();
  assert.deepEqual(seen, ['a', 'b', 'b']);
  shared.stop();
});
