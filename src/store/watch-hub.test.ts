/** The hub's history holds JSON and selector views only, and replays from it stay complete. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import type { KubeObject, WatchEvent } from '../api/meta.ts';
import { WatchHub, selectorView, type HubEvent } from './watch-hub.ts';

const RES = 'serving.knative.dev/services';
const svc = (name: string, labels: Record<string, string> | undefined, rv: number): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service',
  metadata: { name, namespace: 'ns', resourceVersion: String(rv), ...(labels ? { labels } : {}) },
  spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
} as KubeObject);
const ev = (type: HubEvent['type'], obj: KubeObject, prev?: KubeObject): HubEvent => ({
  rv: Number(obj.metadata.resourceVersion), type, resource: RES, namespace: 'ns', obj, json: JSON.stringify(obj),
  ...(prev ? { prev: { obj: prev, json: JSON.stringify(prev) } } : {}),
});

test('selectorView keeps name, namespace and labels only', () => {
  const v = selectorView(svc('a', { app: 'x' }, 5));
  assert.deepEqual(v.metadata, { name: 'a', namespace: 'ns', labels: { app: 'x' } }, 'metadata is reduced to what selectors read');
  assert.equal((v as { spec?: unknown }).spec, undefined, 'no spec is kept');
  assert.equal((v as { status?: unknown }).status, undefined, 'no status is kept');
});

test('the history drops object trees; a replay still delivers whole objects and selector transitions', () => {
  const hub = new WatchHub(new FakeClock(), 1);
  const a2 = svc('a', { app: 'web' }, 2);
  const a3 = svc('a', { app: 'other' }, 3); // stops matching app=web
  const a4 = svc('a', { app: 'web' }, 4); // matches again
  const b5 = svc('b', undefined, 5);
  hub.publish(ev('ADDED', a2));
  hub.publish(ev('MODIFIED', a3, a2));
  hub.publish(ev('MODIFIED', a4, a3));
  hub.publish(ev('ADDED', b5));
  // Nothing a publisher handed in is kept beyond its selector view.
  const ring = (hub as unknown as { ring: (HubEvent | undefined)[] }).ring.filter((e): e is HubEvent => !!e);
  assert.equal(ring.length, 4, 'four events are retained');
  for (const e of ring) {
    assert.equal((e.obj as { spec?: unknown }).spec, undefined, `event ${e.rv} keeps no spec tree`);
    if (e.prev) assert.equal((e.prev.obj as { spec?: unknown }).spec, undefined, `event ${e.rv} keeps no previous spec tree`);
  }
  const got: WatchEvent[] = [];
  const w = hub.watch(RES, { resourceVersion: '1', labelSelector: 'app=web' }, (e) => got.push(e));
  const byName: WatchEvent[] = [];
  const w2 = hub.watch(RES, { resourceVersion: '1', fieldSelector: 'metadata.name=b' }, (e) => byName.push(e));
  return Promise.resolve().then(() => {
    assert.deepEqual(got.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`),
      ['ADDED a 2', 'DELETED a 3', 'ADDED a 4'], 'label selector transitions are replayed from the history');
    assert.deepEqual((got[2]!.object as { spec?: unknown }).spec, a4.spec, 'a replayed object is whole (parsed from its JSON)');
    assert.deepEqual(got[1]!.object.metadata.labels, { app: 'web' }, 'the DELETED of a transition carries the previous state');
    assert.deepEqual(byName.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED b'], 'field selectors match on the kept name');
    w.stop();
    w2.stop();
  });
});
