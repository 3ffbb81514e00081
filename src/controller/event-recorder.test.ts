import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { EventObject } from '../api/types/core.ts';
import { EventRecorder, EVENTS_RESOURCE } from './event-recorder.ts';

const rev = { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001', namespace: 'default', uid: 'u1' } };

test('events are written in the background and repeats fold into one Event with a count', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const rec = new EventRecorder({ store, clock, component: 'test', delayMs: 100 });
  const p = rec.event(rev, 'Warning', 'ExitCode1', 'Container failed');
  await new Promise((r) => setImmediate(r));
  assert.equal((await store.list(EVENTS_RESOURCE, {})).items.length, 0, 'nothing written before the delay');
  clock.advance(100);
  await p;
  clock.advance(1000);
  const again = rec.event(rev, 'Warning', 'ExitCode1', 'Container failed');
  const ready = rec.event(rev, 'Normal', 'RevisionReady', 'ready');
  await rec.flush();
  await Promise.all([again, ready]);
  const evs = (await store.list(EVENTS_RESOURCE, {})).items as EventObject[];
  assert.equal(evs.length, 2);
  const crash = evs.find((e) => e.reason === 'ExitCode1')!;
  assert.equal(crash.count, 2);
  assert.equal(crash.type, 'Warning');
  assert.deepEqual(crash.involvedObject, { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', name: 'hello-00001', namespace: 'default', uid: 'u1' });
  assert.equal(crash.firstTimestamp, new Date(Date.parse('2026-01-01T00:00:00Z') + 100).toISOString());
  assert.equal(crash.lastTimestamp, new Date(Date.parse('2026-01-01T00:00:00Z') + 1100).toISOString());
  assert.equal(crash.source?.component, 'test');
  await store.close();
});
