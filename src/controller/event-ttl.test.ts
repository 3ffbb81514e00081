import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { SluiceError } from '../lib/errors.ts';
import type { KubeObject } from '../api/meta.ts';
import type { DeleteOptions, Store } from '../store/store.ts';
import { EVENTS_RESOURCE } from './event-recorder.ts';
import { EventTtl, lastEventWrite } from './event-ttl.ts';

const HOUR = 3_600_000;
const tick = () => new Promise((r) => setImmediate(r));

function event(name: string, extra: Record<string, unknown> = {}, namespace = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'Event', metadata: { name, namespace }, reason: 'Test', message: name, involvedObject: { kind: 'Pod', name: 'p', namespace }, ...extra } as KubeObject;
}

async function names(store: Store): Promise<string[]> {
  return (await store.list(EVENTS_RESOURCE)).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
}

/** Advances the fake clock and lets the sweep's deletes (real promises) settle. */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  clock.advance(ms);
  for (let i = 0; i < 5; i++) await tick();
}

test('event TTL: an Event is deleted TTL after its last write; writing it again extends it', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const ttl = new EventTtl({ store, clock, ttlMs: HOUR });
  await ttl.start();
  await store.create(EVENTS_RESOURCE, event('a'));
  await advance(clock, 10 * 60_000);
  const b = await store.create(EVENTS_RESOURCE, event('b', {}, 'other'));
  await store.create(EVENTS_RESOURCE, event('c'));
  await advance(clock, 30 * 60_000);
  await store.update(EVENTS_RESOURCE, { ...b, count: 2 } as KubeObject); // b written again at 40 min
  await advance(clock, 20 * 60_000); // 60 min: a's hour is up
  assert.deepEqual(await names(store), ['default/c', 'other/b']);
  await advance(clock, 10 * 60_000 + 1000); // 70 min (+ the sweep's 1 s batching): c's hour is up, b's is not
  assert.deepEqual(await names(store), ['other/b']);
  await advance(clock, 30 * 60_000 + 1000); // 100 min: an hour after b's second write
  assert.deepEqual(await names(store), []);
  assert.equal(ttl.deleted, 3);
  assert.equal(ttl.size, 0, 'deleted Events are no longer tracked');
  ttl.stop();
  assert.equal(clock.pending(), 0, 'no timer left after stop');
});

test('event TTL: Events already in the store get their TTL from their newest timestamp', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  // Created three hours ago (the store stamps creationTimestamp), last written at various times since.
  const created = clock.now();
  const iso = (msAfterCreation: number) => new Date(created + msAfterCreation).toISOString();
  await store.create(EVENTS_RESOURCE, event('old', { firstTimestamp: iso(0), lastTimestamp: iso(HOUR) }));
  await store.create(EVENTS_RESOURCE, event('recent', { firstTimestamp: iso(0), lastTimestamp: iso(2.5 * HOUR) }));
  await store.create(EVENTS_RESOURCE, event('series', { eventTime: iso(0), series: { count: 4, lastObservedTime: iso(2 * HOUR + 50 * 60_000) } }));
  await store.create(EVENTS_RESOURCE, event('future', { lastTimestamp: iso(8 * HOUR) })); // a skewed stamp never extends past a fresh write
  clock.advance(3 * HOUR);
  const ttl = new EventTtl({ store, clock, ttlMs: HOUR });
  await ttl.start();
  await advance(clock, 1000);
  assert.deepEqual(await names(store), ['default/future', 'default/recent', 'default/series'], 'two hours old: deleted at the first sweep');
  await advance(clock, 30 * 60_000);
  assert.deepEqual(await names(store), ['default/future', 'default/series']);
  await advance(clock, 20 * 60_000);
  assert.deepEqual(await names(store), ['default/future']);
  await advance(clock, 10 * 60_000);
  assert.deepEqual(await names(store), [], 'the skewed one goes an hour after start');
  ttl.stop();
});

test('event TTL: newest timestamp of an Event, ignoring what does not parse', () => {
  assert.equal(lastEventWrite(event('x', { firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T01:00:00Z' })), Date.parse('2026-01-01T01:00:00Z'));
  assert.equal(lastEventWrite(event('x', { lastTimestamp: 'yesterday', eventTime: '2026-01-01T00:00:00.000000Z' })), Date.parse('2026-01-01T00:00:00Z'));
  assert.equal(lastEventWrite(event('x')), undefined);
});

test('event TTL: sweeps are bounded; a failed delete is retried; an Event written during its delete survives', async () => {
  const clock = new FakeClock();
  const mem = new MemoryStore({ clock });
  let failNext = 0;
  let beforeDelete: ((name: string) => Promise<void>) | undefined;
  const failingDelete = async (resource: string, ns: string, name: string, opts?: DeleteOptions) => {
    if (failNext > 0) { failNext--; throw new SluiceError('SLUICE_E_STORE', 'disk full'); }
    await beforeDelete?.(name);
    return mem.delete(resource, ns, name, opts);
  };
  // The memory store, with a delete that can fail or race a write.
  const store = new Proxy(mem, { get: (t, k) => (k === 'delete' ? failingDelete : typeof t[k as keyof Store] === 'function' ? (t[k as keyof Store] as Function).bind(t) : t[k as keyof Store]) }) as Store;
  const ttl = new EventTtl({ store, clock, ttlMs: 60_000, maxBatch: 3, retryMs: 5000 });
  await ttl.start();
  for (let i = 0; i < 7; i++) await store.create(EVENTS_RESOURCE, event(`e${i}`));
  failNext = 1;
  await advance(clock, 60_000);
  assert.equal((await names(store)).length, 5, 'three due, at most three per sweep, the first of them failed');
  await advance(clock, 1000);
  assert.equal((await names(store)).length, 2);
  await advance(clock, 1000);
  assert.deepEqual(await names(store), ['default/e0'], 'only the failed one is left');
  await advance(clock, 3000); // 5 s after it failed
  assert.deepEqual(await names(store), []);

  const keep = await store.create(EVENTS_RESOURCE, event('keep'));
  beforeDelete = async (name) => { if (name === 'keep') { beforeDelete = undefined; await mem.update(EVENTS_RESOURCE, { ...keep, count: 2 } as KubeObject); } };
  await advance(clock, 60_000);
  assert.deepEqual(await names(store), ['default/keep'], 'written again while its delete was on the way: the precondition kept it');
  await advance(clock, 60_000);
  assert.deepEqual(await names(store), [], 'and it goes a TTL after that write');
  ttl.stop();
});

test('event TTL: a compacted watch (410) relists and keeps expiring', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const ttl = new EventTtl({ store, clock, ttlMs: 60_000 });
  await ttl.start();
  await store.create(EVENTS_RESOURCE, event('a'));
  // Replace the watch with one that reports 410, as a watch behind a compaction does.
  const inner = ttl as unknown as { onEvent(ev: unknown): void };
  inner.onEvent({ type: 'ERROR', object: { code: 410, message: 'too old resource version' } });
  await tick(); await tick();
  await store.create(EVENTS_RESOURCE, event('b'));
  assert.equal(ttl.size, 2);
  await advance(clock, 61_000);
  assert.deepEqual(await names(store), []);
  ttl.stop();
});

test('event TTL: refuses a TTL that is not positive', () => {
  const clock = new FakeClock();
  assert.throws(() => new EventTtl({ store: new MemoryStore({ clock }), clock, ttlMs: 0 }), /event TTL must be positive/);
});
