/** Store contract, watch: resume, filters, selector transitions, bookmarks, 410 Gone. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import type { KubeObject } from '../api/meta.ts';
import type { Store } from './store.ts';
import { KCFG, KSVC, collector, ksvc, rejectsWith, rvNum, throwsWith, turns, type ContractStoreOptions, type MakeStore } from './testing/contract-helpers.ts';

export function runWatchContract(name: string, makeStore: MakeStore): void {
  describe(`store contract, watch: ${name}`, () => {
    /** Runs `fn` against a fresh store, always cleaning up. */
    async function withStore(fn: (store: Store) => Promise<void>, opts?: ContractStoreOptions): Promise<void> {
      const { store, cleanup } = await makeStore(opts);
      try { await fn(store); } finally { await cleanup(); }
    }

    it('resumes from a resourceVersion with every later change, in order', () => withStore(async (store) => {
      const a = await store.create(KSVC, ksvc('a'));
      await store.create(KSVC, ksvc('b'));
      await store.create(KCFG, { ...ksvc('ignored'), kind: 'Configuration' });
      const c = await store.create(KSVC, ksvc('c'));
      const col = collector();
      const w = store.watch(KSVC, { resourceVersion: a.metadata.resourceVersion }, col.handler);
      assert.deepEqual(col.lines(), [], 'replay is delivered after watch() returns');
      await turns();
      await store.update(KSVC, { ...a, metadata: { ...a.metadata, labels: { n: '1' } } });
      await store.delete(KSVC, 'default', 'c');
      await turns();
      assert.deepEqual(col.lines(), ['ADDED b', 'ADDED c', 'MODIFIED a', 'DELETED c']);
      const rvs = col.events.map((e) => rvNum(e.object));
      assert.deepEqual([...rvs].sort((x, y) => x - y), rvs);
      assert.ok(rvs[3]! > rvNum(c), 'a DELETED event carries the deletion resourceVersion');
      w.stop();
      await store.create(KSVC, ksvc('after-stop'));
      await turns();
      assert.equal(col.events.length, 4, 'a stopped watch gets nothing');
    }));

    it('starts at "now" without a resourceVersion (or with "0") and watches all resources with "*"', () => withStore(async (store) => {
      await store.create(KSVC, ksvc('before'));
      const one = collector(), zero = collector(), all = collector();
      const ws = [store.watch(KSVC, {}, one.handler), store.watch(KSVC, { resourceVersion: '0' }, zero.handler), store.watch('*', {}, all.handler)];
      await store.create(KSVC, ksvc('after'));
      await store.create(KCFG, { ...ksvc('cfg'), kind: 'Configuration' });
      await turns();
      assert.deepEqual(one.lines(), ['ADDED after']);
      assert.deepEqual(zero.lines(), ['ADDED after']);
      assert.deepEqual(all.events.map((e) => `${e.type} ${e.object.kind}/${e.object.metadata.name}`), ['ADDED Service/after', 'ADDED Configuration/cfg']);
      for (const w of ws) w.stop();
    }));

    it('filters by namespace and field selector', () => withStore(async (store) => {
      const byNs = collector(), byField = collector();
      const ws = [store.watch(KSVC, { namespace: 'team' }, byNs.handler), store.watch(KSVC, { fieldSelector: 'metadata.name=x' }, byField.handler)];
      await store.create(KSVC, ksvc('x'));
      await store.create(KSVC, ksvc('y', { ns: 'team' }));
      await store.create(KSVC, ksvc('x', { ns: 'team' }));
      await turns();
      assert.deepEqual(byNs.events.map((e) => `${e.object.metadata.namespace}/${e.object.metadata.name}`), ['team/y', 'team/x']);
      assert.deepEqual(byField.events.map((e) => `${e.object.metadata.namespace}/${e.object.metadata.name}`), ['default/x', 'team/x']);
      for (const w of ws) w.stop();
    }));

    it('turns label-selector transitions into ADDED and DELETED', () => withStore(async (store) => {
      const col = collector();
      const w = store.watch(KSVC, { labelSelector: 'app=web' }, col.handler);
      let o = await store.create(KSVC, ksvc('t', { labels: { app: 'db' } }));
      o = await store.update(KSVC, { ...o, metadata: { ...o.metadata, labels: { app: 'web' } } });
      o = await store.update(KSVC, { ...o, spec: { template: { spec: { containers: [{ image: 'sluice/echo' }] } } } });
      const leaving = await store.update(KSVC, { ...o, metadata: { ...o.metadata, labels: { app: 'cache' } } });
      await store.delete(KSVC, 'default', 't');
      await turns();
      assert.deepEqual(col.lines(), ['ADDED t', 'MODIFIED t', 'DELETED t']);
      const del = col.events[2]!.object;
      assert.equal(del.metadata.labels!.app, 'web', 'DELETED carries the last matching state');
      assert.equal(del.metadata.resourceVersion, leaving.metadata.resourceVersion, 'stamped with the event resourceVersion');
      w.stop();
    }));

    it('sends bookmarks at the requested interval', async () => {
      const clock = new FakeClock();
      await withStore(async (store) => {
        const col = collector();
        const w = store.watch(KSVC, { bookmarkIntervalMs: 1000, labelSelector: 'none=here' }, col.handler);
        const x = await store.create(KSVC, ksvc('x'));
        await turns();
        assert.equal(col.events.length, 0);
        clock.advance(1000);
        await turns();
        assert.equal(col.events.length, 1);
        const bm = col.events[0]!;
        assert.equal(bm.type, 'BOOKMARK');
        assert.equal(bm.object.kind, 'Service');
        assert.equal(bm.object.apiVersion, 'serving.knative.dev/v1');
        assert.equal(bm.object.metadata.resourceVersion, x.metadata.resourceVersion, 'a bookmark carries the latest resourceVersion, even of filtered-out events');
        clock.advance(2000);
        await turns();
        assert.equal(col.events.length, 3);
        w.stop();
        clock.advance(5000);
        assert.equal(col.events.length, 3, 'no bookmarks after stop');
        // A watch resumed from a bookmark's resourceVersion misses nothing.
        const resumed = collector();
        const w2 = store.watch(KSVC, { resourceVersion: bm.object.metadata.resourceVersion }, resumed.handler);
        await store.create(KSVC, ksvc('y'));
        await turns();
        assert.deepEqual(resumed.lines(), ['ADDED y']);
        w2.stop();
      }, { clock });
    });

    it('answers 410 Gone for a resourceVersion compacted away', () => withStore(async (store) => {
      const a = await store.create(KSVC, ksvc('a'));
      const b = await store.create(KSVC, ksvc('b'));
      await store.create(KSVC, ksvc('c'));
      await store.compact(b.metadata.resourceVersion!);
      throwsWith(() => store.watch(KSVC, { resourceVersion: a.metadata.resourceVersion }, () => undefined), 'SLUICE_E_GONE', 410, /too old resource version/);
      const col = collector();
      const w = store.watch(KSVC, { resourceVersion: b.metadata.resourceVersion }, col.handler);
      await turns();
      assert.deepEqual(col.lines(), ['ADDED c']);
      w.stop();
      await rejectsWith(store.compact('x'), 'SLUICE_E_BAD_REQUEST', 400);
    }));

    it('answers 410 Gone once the history window overflows', () => withStore(async (store) => {
      const created: KubeObject[] = [];
      for (let i = 0; i < 10; i++) created.push(await store.create(KSVC, ksvc(`o${i}`)));
      throwsWith(() => store.watch(KSVC, { resourceVersion: created[0]!.metadata.resourceVersion }, () => undefined), 'SLUICE_E_GONE', 410);
      throwsWith(() => store.watch(KSVC, { resourceVersion: created[3]!.metadata.resourceVersion }, () => undefined), 'SLUICE_E_GONE', 410);
      const col = collector();
      const w = store.watch(KSVC, { resourceVersion: created[4]!.metadata.resourceVersion }, col.handler);
      await turns();
      assert.deepEqual(col.lines(), ['ADDED o5', 'ADDED o6', 'ADDED o7', 'ADDED o8', 'ADDED o9']);
      w.stop();
    }, { historyLimit: 5 }));

    it('refuses bad watch arguments', () => withStore(async (store) => {
      throwsWith(() => store.watch(KSVC, { resourceVersion: 'abc' }, () => undefined), 'SLUICE_E_BAD_REQUEST', 400, /resourceVersion "abc"/);
      throwsWith(() => store.watch('nope/things', {}, () => undefined), 'SLUICE_E_BAD_REQUEST', 400, /unknown resource "nope\/things"/);
      throwsWith(() => store.watch(KSVC, { labelSelector: 'a in' }, () => undefined), 'SLUICE_E_BAD_REQUEST', 400, /labelSelector/);
      throwsWith(() => store.watch(KSVC, { bookmarkIntervalMs: 0 }, () => undefined), 'SLUICE_E_BAD_REQUEST', 400, /bookmarkIntervalMs/);
    }));

    it('keeps delivering when a handler throws', () => withStore(async (store) => {
      const col = collector();
      const bad = store.watch(KSVC, {}, () => { throw new Error('handler bug'); });
      const good = store.watch(KSVC, {}, col.handler);
      await store.create(KSVC, ksvc('one'));
      await store.create(KSVC, ksvc('two'));
      await turns();
      assert.deepEqual(col.lines(), ['ADDED one', 'ADDED two']);
      bad.stop();
      good.stop();
    }));

    it('keeps rv order when a handler writes from inside a watch callback', () => withStore(async (store) => {
      const col = collector();
      const writes: Promise<unknown>[] = [];
      const w1 = store.watch(KSVC, {}, (ev) => {
        if (ev.type === 'ADDED' && ev.object.metadata.name === 'first') writes.push(store.create(KSVC, ksvc('second')));
      });
      const w2 = store.watch(KSVC, {}, col.handler);
      await store.create(KSVC, ksvc('first'));
      await Promise.all(writes);
      await turns();
      assert.deepEqual(col.lines(), ['ADDED first', 'ADDED second']);
      w1.stop();
      w2.stop();
    }));
  });
}
