/** @kubernetes/client-node@1 against `sluice up`: the generic object API and Watch on Knative Services. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
// Not re-exported from the package index; the module object.ts itself uses (same instance).
import { ObjectSerializer, defaultSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { ksvc, startSluice, type SluiceProc } from './api-harness.ts';

let s: SluiceProc;
let kc: k8s.KubeConfig;
// client-node picks its serializer from the version and kind alone ("V1Service"), so a Knative
// Service would go out as a core Service with spec.template stripped. Its remedy for custom resources
// is a registered model (ObjectSerializer.registerModel); the default serializer passes objects through.
ObjectSerializer.registerModel({ group: 'serving.knative.dev', version: 'v1', kind: 'Service' }, defaultSerializer);
before(async () => {
  s = await startSluice({ store: 'memory' });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('KubernetesObjectApi creates, reads, lists and patches a Knative Service', async () => {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const created = await api.create({ ...ksvc('objapi'), metadata: { name: 'objapi', namespace: 'default' } } as k8s.KubernetesObject);
  assert.equal(created.metadata?.name, 'objapi');
  assert.ok(created.metadata?.uid, 'uid filled');
  assert.ok(created.metadata?.resourceVersion, 'resourceVersion filled');
  const read = await api.read({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'objapi', namespace: 'default' } });
  assert.equal(read.metadata?.uid, created.metadata?.uid);
  const list = await api.list('serving.knative.dev/v1', 'Service', 'default');
  assert.deepEqual(list.items.map((o) => o.metadata?.name), ['objapi']);
  const patched = await api.patch({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'objapi', namespace: 'default', labels: { team: 'a' } } },
    undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
  assert.equal(patched.metadata?.labels?.team, 'a');
  await api.delete({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'objapi', namespace: 'default' } });
  const after = await api.list('serving.knative.dev/v1', 'Service', 'default');
  assert.equal(after.items.length, 0);
});

test('Watch sees ADDED, MODIFIED and DELETED', async () => {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const events: { type: string; name?: string; rv?: string }[] = [];
  let wake: (() => void) | undefined;
  const watch = new k8s.Watch(kc);
  let ended: unknown = 'open';
  const ctl = await watch.watch('/apis/serving.knative.dev/v1/namespaces/default/services', {}, (type, obj) => {
    events.push({ type, name: obj?.metadata?.name, rv: obj?.metadata?.resourceVersion });
    wake?.();
  }, (err) => { ended = err; });
  const waitFor = async (pred: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!pred()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`);
      await new Promise<void>((r) => { wake = r; setTimeout(r, 200); });
    }
  };
  const spec = { ...ksvc('watched'), metadata: { name: 'watched', namespace: 'default' } } as k8s.KubernetesObject;
  await api.create(spec);
  await waitFor(() => events.some((e) => e.type === 'ADDED' && e.name === 'watched'), 'ADDED');
  await api.patch({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'watched', namespace: 'default', labels: { v: '2' } } },
    undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
  await waitFor(() => events.some((e) => e.type === 'MODIFIED' && e.name === 'watched'), 'MODIFIED');
  await api.delete(spec);
  await waitFor(() => events.some((e) => e.type === 'DELETED' && e.name === 'watched'), 'DELETED');
  const rvs = events.filter((e) => e.name === 'watched').map((e) => Number(e.rv));
  assert.deepEqual([...rvs].sort((a, b) => a - b), rvs, 'resourceVersions increase along the stream');
  ctl.abort();
  assert.ok(ended === 'open' || ended === null || ended instanceof Error);
});
