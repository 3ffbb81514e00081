import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import { Controller } from './controller.ts';
import { permanentError, requeueAfter } from './reconcile-result.ts';

function tick(): Promise<void> { return new Promise((r) => setImmediate(r)); }

test('a key is never reconciled by two workers at once, and repeats collapse', async () => {
  const clock = new FakeClock();
  let concurrent = 0, maxConcurrent = 0, calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const c = new Controller({
    name: 't', clock, workers: 4,
    reconcile: async () => { calls++; concurrent++; maxConcurrent = Math.max(maxConcurrent, concurrent); await gate; concurrent--; },
  });
  await c.start();
  c.enqueue('ns/a');
  await tick();
  c.enqueue('ns/a'); c.enqueue('ns/a'); c.enqueue('ns/a');
  await tick();
  release();
  await c.idle();
  assert.equal(maxConcurrent, 1);
  assert.equal(calls, 2, 'first run, then one collapsed rerun');
  await c.stop();
});

test('transient errors back off per key; success resets; permanent errors are dropped', async () => {
  const clock = new FakeClock();
  const outcomes: string[] = [];
  let failures = 2;
  const c = new Controller({
    name: 't', clock, workers: 1, retryBaseMs: 100,
    reconcile: async (key) => {
      if (key === 'perm') throw permanentError('bad spec');
      if (key === 'later') return requeueAfter(5000);
      if (failures-- > 0) throw new Error('flaky');
    },
    onResult: (k, o) => outcomes.push(`${k}:${o}`),
  });
  await c.start();
  c.enqueue('k');
  await c.idle();
  assert.deepEqual(outcomes, ['k:retry']);
  clock.advance(99); await c.idle();
  assert.deepEqual(outcomes, ['k:retry']);
  clock.advance(1); await tick(); await c.idle();
  assert.deepEqual(outcomes, ['k:retry', 'k:retry']);
  clock.advance(200); await tick(); await c.idle();
  assert.deepEqual(outcomes, ['k:retry', 'k:retry', 'k:ok']);
  assert.equal(c.queue.numRequeues('k'), 0);

  c.enqueue('perm'); await tick(); await c.idle();
  assert.equal(outcomes.at(-1), 'perm:permanent');
  clock.advance(600_000); await tick(); await c.idle();
  assert.equal(outcomes.filter((o) => o === 'perm:permanent').length, 1, 'permanent errors are not retried');

  c.enqueue('later'); await tick(); await c.idle();
  clock.advance(4999); await tick(); await c.idle();
  assert.equal(outcomes.filter((o) => o === 'later:requeue').length, 1);
  clock.advance(1); await tick(); await c.idle();
  assert.equal(outcomes.filter((o) => o === 'later:requeue').length, 2);
  await c.stop();
});
