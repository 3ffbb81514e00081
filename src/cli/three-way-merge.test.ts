import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../api/meta.ts';
import { LAST_APPLIED, lastApplied, threeWayMergePatch, withLastApplied } from './three-way-merge.ts';

const svc = (image: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default' },
  spec: { template: { spec: { containers: [{ image }] } }, ...extra },
});

test('an unchanged manifest gives an empty patch even when the server added fields', () => {
  const modified = withLastApplied(svc('a'));
  const current = { ...structuredClone(modified), status: { url: 'http://x' }, metadata: { ...modified.metadata, uid: 'u', resourceVersion: '3', generation: 1 } };
  current.spec.traffic = [{ latestRevision: true, percent: 100 }];
  assert.deepEqual(threeWayMergePatch(lastApplied(current), modified, current), {});
});

test('a changed field and a dropped field both show up in the patch', () => {
  const before = withLastApplied(svc('a', { traffic: [{ percent: 100, latestRevision: true }] }));
  const after = withLastApplied(svc('b'));
  const patch = threeWayMergePatch(lastApplied(before), after, before);
  assert.deepEqual((patch.spec as Record<string, unknown>).traffic, null);
  assert.deepEqual((patch.spec as { template: unknown }).template, { spec: { containers: [{ image: 'b' }] } });
  assert.ok(typeof (patch.metadata as { annotations: Record<string, string> }).annotations[LAST_APPLIED] === 'string');
});

test('withLastApplied stores the manifest without its own annotation', () => {
  const m = withLastApplied(svc('a'));
  const inner = JSON.parse(m.metadata.annotations![LAST_APPLIED]);
  assert.equal(inner.metadata.annotations[LAST_APPLIED], undefined);
  assert.equal(inner.spec.template.spec.containers[0].image, 'a');
});
