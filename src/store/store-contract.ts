/**
 * The store contract: every backend runs this suite (memory-store.test.ts, sqlite-store.test.ts).
 * Objects, versions, conflicts, lifecycle rules, selectors and pagination live here; finalizers
 * and cascading deletion in store-contract-delete.ts, watch in store-contract-watch.ts.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from './store.ts';
import { runWatchContract } from './store-contract-watch.ts';
import { runDeleteContract } from './store-contract-delete.ts';
import { KSVC, NAMESPACES, SECRETS, ksvc, rejectsWith, rvNum, type MakeStore } from './testing/contract-helpers.ts';

export type { MakeStore, ContractStoreOptions } from './testing/contract-helpers.ts';

export function runStoreContract(name: string, makeStore: MakeStore): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => { ({ store, cleanup } = await makeStore()); });
    afterEach(async () => { await cleanup(); });

    it('creates, gets, lists, updates and deletes', async () => {
      const created = await store.create(KSVC, ksvc('hello'));
      assert.equal(created.metadata.name, 'hello');
      assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(created.metadata.creationTimestamp!)));
      assert.equal(created.metadata.generation, 1);
      assert.deepEqual(await store.get(KSVC, 'default', 'hello'), created);
      assert.equal(await store.get(KSVC, 'default', 'missing'), undefined);
      assert.equal(await store.get(KSVC, 'other', 'hello'), undefined);
      assert.deepEqual((await store.list(KSVC)).items.map((o) => o.metadata.name), ['hello']);
      const updated = await store.update(KSVC, { ...created, spec: { template: { spec: { containers: [{ image: 'sluice/echo' }] } } } });
      assert.equal(updated.spec.template.spec.containers[0].image, 'sluice/echo');
      assert.deepEqual((await store.list(KSVC)).items, [updated], 'a list after an update shows the new state');
      const deleted = await store.delete(KSVC, 'default', 'hello');
      assert.equal(deleted.metadata.uid, created.metadata.uid);
      assert.equal(await store.get(KSVC, 'default', 'hello'), undefined);
      await rejectsWith(store.delete(KSVC, 'default', 'hello'), 'SLUICE_E_NOT_FOUND', 404, /^services\.serving\.knative\.dev "hello" not found$/);
      await rejectsWith(store.update(KSVC, created), 'SLUICE_E_NOT_FOUND', 404);
    });

    it('hands out copies: mutating inputs or results does not change the store', async () => {
      const input = ksvc('copy');
      const created = await store.create(KSVC, input);
      input.metadata.labels = { changed: 'input' };
      created.metadata.labels = { changed: 'result' };
      const got = await store.get(KSVC, 'default', 'copy');
      assert.equal(got!.metadata.labels, undefined);
      got!.spec.template = 'mutated';
      assert.notEqual((await store.get(KSVC, 'default', 'copy'))!.spec.template, 'mutated');
      const listed = (await store.list(KSVC)).items[0]!;
      listed.metadata.name = 'renamed';
      assert.ok(await store.get(KSVC, 'default', 'copy'));
    });

    it('refuses unknown resources, missing names and missing namespaces', async () => {
      await rejectsWith(store.create('example.com/widgets', ksvc('x')), 'SLUICE_E_BAD_REQUEST', 400, /unknown resource "example\.com\/widgets"/);
      await rejectsWith(store.list('nope'), 'SLUICE_E_BAD_REQUEST', 400);
      const noName = ksvc('x');
      delete noName.metadata.name;
      await rejectsWith(store.create(KSVC, noName), 'SLUICE_E_INVALID', 422, /metadata\.name: Required value/);
      const noNs = ksvc('x');
      delete noNs.metadata.namespace;
      await rejectsWith(store.create(KSVC, noNs), 'SLUICE_E_INVALID', 422, /metadata\.namespace: Required value/);
      await rejectsWith(store.create(KSVC, ksvc('a/b')), 'SLUICE_E_INVALID', 422, /metadata\.name: Invalid value/);
    });

    it('stores cluster-scoped kinds without a namespace', async () => {
      const ns = await store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', namespace: 'ignored' } });
      assert.equal(ns.metadata.namespace, undefined);
      assert.ok(await store.get(NAMESPACES, '', 'team-a'));
      assert.deepEqual((await store.list(NAMESPACES, { namespace: 'default' })).items.map((o) => o.metadata.name), ['team-a']);
    });

    it('fills generateName with a random suffix', async () => {
      const a = await store.create(KSVC, { ...ksvc(''), metadata: { generateName: 'job-', namespace: 'default' } });
      const b = await store.create(KSVC, { ...ksvc(''), metadata: { generateName: 'job-', namespace: 'default' } });
      assert.match(a.metadata.name!, /^job-[a-z0-9]{5}$/);
      assert.notEqual(a.metadata.name, b.metadata.name);
    });

    it('keeps resourceVersion strictly increasing across writes of every resource', async () => {
      const rvs: number[] = [];
      const a = await store.create(KSVC, ksvc('a'));
      rvs.push(rvNum(a));
      rvs.push(rvNum(await store.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: {} })));
      rvs.push(rvNum(await store.update(KSVC, { ...a, metadata: { ...a.metadata, labels: { x: '1' } } })));
      rvs.push(rvNum(await store.delete(SECRETS, 'default', 's')));
      rvs.push(rvNum(await store.create(KSVC, ksvc('b'))));
      for (let i = 1; i < rvs.length; i++) assert.ok(rvs[i]! > rvs[i - 1]!, `rv ${rvs[i]} after ${rvs[i - 1]}`);
      assert.equal(await store.currentResourceVersion(), String(rvs[rvs.length - 1]));
      assert.equal((await store.list(KSVC)).resourceVersion, String(rvs[rvs.length - 1]));
    });

    it('answers 409 for an existing name and for a stale resourceVersion', async () => {
      const a = await store.create(KSVC, ksvc('hello'));
      await rejectsWith(store.create(KSVC, ksvc('hello')), 'SLUICE_E_ALREADY_EXISTS', 409, /^services\.serving\.knative\.dev "hello" already exists$/);
      const b = await store.update(KSVC, { ...a, metadata: { ...a.metadata, labels: { v: '2' } } });
      await rejectsWith(store.update(KSVC, { ...a, metadata: { ...a.metadata, labels: { v: 'stale' } } }), 'SLUICE_E_CONFLICT', 409,
        /^Operation cannot be fulfilled on services\.serving\.knative\.dev "hello": the object has been modified; please apply your changes to the latest version and try again$/);
      // Without a resourceVersion the write is unconditional.
      const c = await store.update(KSVC, { ...b, metadata: { ...b.metadata, resourceVersion: undefined, labels: { v: '3' } } });
      assert.equal(c.metadata.labels!.v, '3');
      await rejectsWith(store.delete(KSVC, 'default', 'hello', { preconditions: { resourceVersion: b.metadata.resourceVersion } }), 'SLUICE_E_CONFLICT', 409, /Precondition failed/);
      await rejectsWith(store.delete(KSVC, 'default', 'hello', { preconditions: { uid: 'not-the-uid' } }), 'SLUICE_E_CONFLICT', 409, /UID in precondition/);
      await store.delete(KSVC, 'default', 'hello', { preconditions: { uid: a.metadata.uid, resourceVersion: c.metadata.resourceVersion } });
    });

    it('keeps uid and creationTimestamp immutable', async () => {
      const a = await store.create(KSVC, ksvc('imm'));
      const b = await store.update(KSVC, { ...a, metadata: { ...a.metadata, creationTimestamp: '2000-01-01T00:00:00Z', labels: { x: 'y' } } });
      assert.equal(b.metadata.creationTimestamp, a.metadata.creationTimestamp);
      await rejectsWith(store.update(KSVC, { ...b, metadata: { ...b.metadata, uid: 'other' } }), 'SLUICE_E_INVALID', 422, /metadata\.uid: Invalid value: "other": field is immutable/);
    });

    it('bumps generation on spec changes only', async () => {
      const a = await store.create(KSVC, ksvc('gen'));
      const labelled = await store.update(KSVC, { ...a, metadata: { ...a.metadata, labels: { a: 'b' }, annotations: { n: 'o' } } });
      assert.equal(labelled.metadata.generation, 1);
      const withStatus = await store.update(KSVC, { ...labelled, status: { observedGeneration: 1 } }, { subresource: 'status' });
      assert.equal(withStatus.metadata.generation, 1);
      const respec = await store.update(KSVC, { ...withStatus, spec: { template: { spec: { containers: [{ image: 'sluice/work' }] } } } });
      assert.equal(respec.metadata.generation, 2);
      // Same spec with keys in another order is not a change.
      const same = await store.update(KSVC, { metadata: respec.metadata, spec: JSON.parse(JSON.stringify(respec.spec)), kind: 'Service', apiVersion: 'serving.knative.dev/v1' });
      assert.equal(same.metadata.generation, 2);
      // Spec-less kinds: any top-level field besides metadata/status counts.
      const s = await store.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { k: 'dg==' } });
      const s2 = await store.update(SECRETS, { ...s, data: { k: 'dw==' } });
      assert.equal(s2.metadata.generation, 2);
      const s3 = await store.update(SECRETS, { ...s2, metadata: { ...s2.metadata, labels: { l: '1' } } });
      assert.equal(s3.metadata.generation, 2);
    });

    it('splits writes at the status subresource', async () => {
      const withStatus = { ...ksvc('st'), status: { url: 'http://ignored' } };
      const a = await store.create(KSVC, withStatus);
      assert.equal(a.status, undefined, 'create ignores status for custom-resource kinds with a status subresource');
      const b = await store.update(KSVC, { ...a, spec: { template: { spec: { containers: [{ image: 'sluice/echo' }] } } }, status: { url: 'http://x' } }, { subresource: 'status' });
      assert.deepEqual(b.status, { url: 'http://x' });
      assert.equal(b.spec.template.spec.containers[0].image, 'sluice/hello', 'a status write ignores spec');
      const c = await store.update(KSVC, { ...b, status: { url: 'http://overwritten' }, metadata: { ...b.metadata, labels: { k: 'v' } } });
      assert.deepEqual(c.status, { url: 'http://x' }, 'a main-resource write keeps the stored status');
      assert.equal(c.metadata.labels!.k, 'v');
      await rejectsWith(store.update(KSVC, { ...b, status: { url: 'http://stale' } }, { subresource: 'status' }), 'SLUICE_E_CONFLICT', 409);
      const ns = await store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'with-status' }, status: { phase: 'Active' } });
      assert.deepEqual(ns.status, { phase: 'Active' }, 'core kinds keep the status given at create');
      const sec = await store.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } });
      await rejectsWith(store.update(SECRETS, sec, { subresource: 'status' }), 'SLUICE_E_BAD_REQUEST', 400, /no status subresource/);
    });

    it('skips no-op updates: same resourceVersion, nothing new', async () => {
      const a = await store.create(KSVC, ksvc('same'));
      const b = await store.update(KSVC, JSON.parse(JSON.stringify(a)));
      assert.equal(b.metadata.resourceVersion, a.metadata.resourceVersion);
      assert.equal(await store.currentResourceVersion(), a.metadata.resourceVersion);
    });

    it('filters lists by namespace, labels and fields', async () => {
      await store.create(KSVC, ksvc('a', { labels: { app: 'web', tier: 'front' } }));
      await store.create(KSVC, ksvc('b', { labels: { app: 'web', tier: 'back' } }));
      await store.create(KSVC, ksvc('c', { labels: { app: 'db' } }));
      await store.create(KSVC, ksvc('d', { ns: 'other', labels: { app: 'web' } }));
      await store.create(KSVC, ksvc('e'));
      const names = async (opts: Parameters<Store['list']>[1]) => (await store.list(KSVC, opts)).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
      assert.deepEqual(await names({ namespace: 'default' }), ['default/a', 'default/b', 'default/c', 'default/e']);
      assert.deepEqual(await names({ labelSelector: 'app=web' }), ['default/a', 'default/b', 'other/d']);
      assert.deepEqual(await names({ labelSelector: 'app==web,tier!=back' }), ['default/a', 'other/d']);
      assert.deepEqual(await names({ labelSelector: 'app in (db, web),tier' }), ['default/a', 'default/b']);
      assert.deepEqual(await names({ labelSelector: 'app notin (web)' }), ['default/c', 'default/e']);
      assert.deepEqual(await names({ labelSelector: '!app' }), ['default/e']);
      assert.deepEqual(await names({ labelSelector: '!tier,app' }), ['default/c', 'other/d']);
      assert.deepEqual(await names({ fieldSelector: 'metadata.name=b' }), ['default/b']);
      assert.deepEqual(await names({ fieldSelector: 'metadata.namespace==other' }), ['other/d']);
      assert.deepEqual(await names({ fieldSelector: 'metadata.namespace!=default,metadata.name!=x' }), ['other/d']);
      assert.deepEqual(await names({ namespace: 'default', fieldSelector: 'metadata.namespace=other' }), []);
      assert.deepEqual(await names({ namespace: 'default', labelSelector: 'app=web', fieldSelector: 'metadata.name!=a' }), ['default/b']);
      await rejectsWith(store.list(KSVC, { labelSelector: 'app in (web' }), 'SLUICE_E_BAD_REQUEST', 400, /found end of string at position 11/);
      await rejectsWith(store.list(KSVC, { labelSelector: 'app=web,=x' }), 'SLUICE_E_BAD_REQUEST', 400, /found "=" at position 8, expected a label key/);
      await rejectsWith(store.list(KSVC, { labelSelector: 'app=we b' }), 'SLUICE_E_BAD_REQUEST', 400, /found "b" at position 7/);
      await rejectsWith(store.list(KSVC, { labelSelector: 'bad key!=x' }), 'SLUICE_E_BAD_REQUEST', 400, /"key"/);
      await rejectsWith(store.list(KSVC, { labelSelector: 'app=-x' }), 'SLUICE_E_BAD_REQUEST', 400, /value "-x"/);
      await rejectsWith(store.list(KSVC, { fieldSelector: 'spec.image=x' }), 'SLUICE_E_BAD_REQUEST', 400, /field label "spec\.image" not supported/);
      await rejectsWith(store.list(KSVC, { fieldSelector: 'metadata.name' }), 'SLUICE_E_BAD_REQUEST', 400, /term "metadata\.name"/);
    });

    it('pages with limit and continue in namespace/name order', async () => {
      const want: string[] = [];
      for (const ns of ['default', 'a-team']) {
        for (let i = 0; i < 12; i++) {
          const name = `svc-${String(i).padStart(2, '0')}`;
          await store.create(KSVC, ksvc(name, { ns, labels: { even: String(i % 2 === 0) } }));
          want.push(`${ns}/${name}`);
        }
      }
      want.sort((x, y) => (x < y ? -1 : 1));
      const seen: string[] = [];
      let cont: string | undefined;
      let pages = 0;
      do {
        const page = await store.list(KSVC, { limit: 10, continue: cont });
        seen.push(...page.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
        if (page.continue) assert.equal(page.remainingItemCount, 24 - seen.length);
        cont = page.continue;
        pages++;
      } while (cont && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, want);
      // Selectors and namespace combine with paging; objects added behind the cursor are not repeated.
      const first = await store.list(KSVC, { namespace: 'default', labelSelector: 'even=true', limit: 4 });
      assert.deepEqual(first.items.map((o) => o.metadata.name), ['svc-00', 'svc-02', 'svc-04', 'svc-06']);
      await store.create(KSVC, ksvc('svc-01a', { labels: { even: 'true' } }));
      const second = await store.list(KSVC, { namespace: 'default', labelSelector: 'even=true', limit: 4, continue: first.continue });
      assert.deepEqual(second.items.map((o) => o.metadata.name), ['svc-08', 'svc-10']);
      assert.equal(second.continue, undefined);
      await rejectsWith(store.list(KSVC, { continue: 'not-a-token' }), 'SLUICE_E_BAD_REQUEST', 400, /continue token/);
      await rejectsWith(store.list(KSVC, { limit: -1 }), 'SLUICE_E_BAD_REQUEST', 400, /limit -1/);
    });

  });
  runDeleteContract(name, makeStore);
  runWatchContract(name, makeStore);
}
