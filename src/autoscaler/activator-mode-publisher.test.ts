import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints } from '../api/types/core.ts';
import { Informer } from '../controller/informer.ts';
import { FakeClock } from '../lib/clock.ts';
import { R } from '../reconcilers/shared/resources.ts';
import { applyChild } from '../reconcilers/shared/apply-child.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { ACTIVATOR_MODE_ANNOTATION, type ActivatorMode } from './activator-mode.ts';
import { ActivatorModePublisher } from './activator-mode-publisher.ts';

const KEY = 'default/hello-00001';
const owner = { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { namespace: 'default', name: 'hello-00001', uid: 'rev-uid' } };
const ep = (port: number): Endpoints => ({
  apiVersion: 'v1', kind: 'Endpoints',
  metadata: { namespace: 'default', name: 'hello-00001', ownerReferences: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', name: 'hello-00001', uid: 'rev-uid', controller: true }] },
  subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port, protocol: 'TCP' }] }],
});

async function until(what: string, fn: () => boolean | Promise<boolean>, tick?: () => void): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await fn()) return;
    tick?.();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function setup() {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const endpoints = new Informer<Endpoints>({ store, resource: R.endpoints, clock });
  const modes = new Map<string, ActivatorMode>();
  const written: string[] = [];
  const pub = new ActivatorModePublisher({ store, endpoints, clock, mode: (k) => modes.get(k), onWritten: (k, m) => written.push(`${k}=${m}`) });
  await endpoints.start();
  void pub.start();
  const annotation = async () => ((await store.get(R.endpoints, 'default', 'hello-00001')) as Endpoints | undefined)?.metadata.annotations?.[ACTIVATOR_MODE_ANNOTATION];
  return {
    clock, store, endpoints, modes, written, pub, annotation,
    close: async () => { await pub.stop(); endpoints.stop(); await store.close(); },
  };
}

test('a mode change is written onto the revision\'s Endpoints; no opinion writes nothing', async () => {
  const h = await setup();
  try {
    await h.store.create(R.endpoints, ep(30001));
    h.pub.changed(KEY);
    await h.pub.controller.idle();
    assert.equal(await h.annotation(), undefined, 'no opinion: annotation untouched');
    h.modes.set(KEY, 'proxy');
    h.pub.changed(KEY);
    await until('proxy written', async () => (await h.annotation()) === 'proxy');
    h.modes.set(KEY, 'serve');
    h.pub.changed(KEY);
    await until('serve written', async () => (await h.annotation()) === 'serve');
    h.pub.changed(KEY);
    await h.pub.controller.idle();
    assert.deepEqual(h.written, [`${KEY}=proxy`, `${KEY}=serve`], 'one write per change, none when already right');
  } finally { await h.close(); }
});

test('Endpoints created after the decision get the mode; the revision reconciler\'s rewrites keep it', async () => {
  const h = await setup();
  try {
    h.modes.set(KEY, 'proxy');
    h.pub.changed(KEY);
    await h.pub.controller.idle();
    assert.deepEqual(h.written, [], 'nothing to annotate before the Endpoints exist');
    await h.store.create(R.endpoints, ep(30001));
    await until('annotated on add', async () => (await h.annotation()) === 'proxy');
    // The revision reconciler writes new addresses the way it always does (applyChild merges annotations).
    const actual = (await h.store.get(R.endpoints, 'default', 'hello-00001')) as Endpoints;
    await applyChild<Endpoints>(h.store, R.endpoints, owner as never, ep(30002), actual);
    const after = (await h.store.get(R.endpoints, 'default', 'hello-00001')) as Endpoints;
    assert.equal(after.subsets?.[0]?.ports?.[0]?.port, 30002, 'the new address is written');
    assert.equal(after.metadata.annotations?.[ACTIVATOR_MODE_ANNOTATION], 'proxy', 'the mode survives the rewrite');
  } finally { await h.close(); }
});

test('a conflicting concurrent write is retried until the annotation is right', async () => {
  const h = await setup();
  try {
    await h.store.create(R.endpoints, ep(30001));
    await until('cache has the Endpoints', () => h.endpoints.lister.get('default', 'hello-00001') !== undefined);
    // Stop the cache from seeing the next write, so the publisher writes with a stale resourceVersion once.
    const cached = h.endpoints.lister.get('default', 'hello-00001')!;
    const cur = (await h.store.get(R.endpoints, 'default', 'hello-00001')) as Endpoints;
    await h.store.update(R.endpoints, { ...cur, subsets: ep(30003).subsets });
    const realGet = h.endpoints.lister.get.bind(h.endpoints.lister);
    let stale = 1;
    h.endpoints.lister.get = ((ns: string, name: string) => (stale-- > 0 ? cached : realGet(ns, name))) as typeof h.endpoints.lister.get;
    h.modes.set(KEY, 'proxy');
    h.pub.changed(KEY);
    await until('annotated after the retry', async () => (await h.annotation()) === 'proxy', () => h.clock.advance(50));
    const final = (await h.store.get(R.endpoints, 'default', 'hello-00001')) as Endpoints;
    assert.equal(final.subsets?.[0]?.ports?.[0]?.port, 30003, 'the concurrent write was not undone');
  } finally { await h.close(); }
});
