import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import { WorkQueue } from './work-queue.ts';

test('repeated adds of a queued key collapse into one entry', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('ns/a'); q.add('ns/b'); q.add('ns/a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'ns/a');
  assert.equal(await q.get(), 'ns/b');
  assert.equal(q.len(), 0);
});

test('a key added while processing is not handed out again until done', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('k');
  const k = await q.get();
  assert.equal(k, 'k');
  q.add('k');
  assert.equal(q.len(), 0, 'not re-queued while processing');
  assert.ok(q.isQueued('k'));
  q.done('k');
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'k');
  q.done('k');
  assert.equal(q.len(), 0);
});

test('a waiting worker receives a key added later', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  const p = q.get();
  q.add('x');
  assert.equal(await p, 'x');
  assert.ok(q.isProcessing('x'));
});

test('addAfter delays through the clock; the earlier of two delays wins', async () => {
  const c = new FakeClock();
  const q = new WorkQueue({ clock: c });
  q.addAfter('k', 1000);
  q.addAfter('k', 500);
  c.advance(499);
  assert.equal(q.len(), 0);
  c.advance(1);
  assert.equal(q.len(), 1);
  c.advance(1000);
  assert.equal(q.len(), 1, 'the cancelled later delay does not add again');
});

test('addRateLimited backs off exponentially per key and forget resets it', () => {
  const c = new FakeClock();
  const q = new WorkQueue({ clock: c, baseDelayMs: 10, maxDelayMs: 50 });
  assert.deepEqual([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')], [10, 20, 40, 50]);
  assert.equal(q.addRateLimited('b'), 10, 'other keys have their own backoff');
  q.forget('a');
  assert.equal(q.numRequeues('a'), 0);
  assert.equal(q.addRateLimited('a'), 10);
});

test('shutDown releases waiting workers and done() of an unknown key is an error', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  const p = q.get();
  q.shutDown();
  assert.equal(await p, undefined);
  assert.throws(() => q.done('nope'), /SLUICE_E_QUEUE_DONE_UNKNOWN|not being processed/);
});
