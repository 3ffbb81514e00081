import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../api/meta.ts';
import { PATCH_TYPES, applyPatch, mergePatch, patchNamesResourceVersion, strategicMergePatch } from './patch-apply.ts';
import { serverSideApply } from './server-side-apply.ts';
import { StatusError } from './status.ts';

test('merge patch: maps merge, null deletes, lists replace', () => {
  const out = mergePatch({ a: { b: 1, c: 2 }, l: [1, 2], k: 'v' }, { a: { b: null, d: 3 }, l: [3], k: null });
  assert.deepEqual(out, { a: { c: 2, d: 3 }, l: [3] });
});

test('strategic merge patch honours $patch and drops bookkeeping directives', () => {
  const target = { spec: { a: { x: 1 }, b: { y: 1 }, c: [1, 2, 3], keep: 1 } };
  const out = strategicMergePatch(target, {
    spec: { a: { $patch: 'replace', z: 2 }, b: { $patch: 'delete' }, '$setElementOrder/c': [1], '$deleteFromPrimitiveList/c': [2] },
  });
  assert.deepEqual(out, { spec: { a: { z: 2 }, c: [1, 3], keep: 1 } });
});

test('JSON patch applies operations; a failing test op is a 422 naming the operation', () => {
  const doc = { metadata: { labels: { a: '1' } } };
  assert.deepEqual(applyPatch(PATCH_TYPES.json, doc, [{ op: 'add', path: '/metadata/labels/b', value: '2' }]), { metadata: { labels: { a: '1', b: '2' } } });
  assert.deepEqual(doc, { metadata: { labels: { a: '1' } } }, 'input untouched');
  try {
    applyPatch(PATCH_TYPES.json, doc, [{ op: 'test', path: '/metadata/labels/a', value: 'nope' }]);
    assert.fail('expected failure');
  } catch (e) {
    assert.ok(e instanceof StatusError);
    assert.equal(e.status.code, 422);
    assert.match(e.status.message!, /operation 0 \(test \/metadata\/labels\/a\)/);
  }
});

test('patchNamesResourceVersion sees a resourceVersion in either patch form', () => {
  assert.equal(patchNamesResourceVersion(PATCH_TYPES.merge, { metadata: { resourceVersion: '5' } }), true);
  assert.equal(patchNamesResourceVersion(PATCH_TYPES.merge, { spec: {} }), false);
  assert.equal(patchNamesResourceVersion(PATCH_TYPES.json, [{ op: 'replace', path: '/metadata/resourceVersion', value: '5' }]), true);
});

test('server-side apply records the manager and removes fields it no longer applies', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const first = serverSideApply(undefined, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', labels: { a: '1', b: '2' } }, data: { k: 'dg==' } }, 'me', now);
  assert.equal(first.metadata.managedFields?.length, 1);
  const stored: KubeObject = { ...first, metadata: { ...first.metadata, resourceVersion: '7', labels: { ...first.metadata.labels, other: 'x' } } };
  const second = serverSideApply(stored, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', labels: { a: '1' } } }, 'me', now + 1000);
  assert.deepEqual(second.metadata.labels, { a: '1', other: 'x' }, 'b released, a kept, another writer\'s label kept');
  assert.equal(second.data, undefined, 'data no longer applied: removed');
  assert.equal(second.metadata.resourceVersion, '7');
  assert.equal(second.metadata.managedFields?.length, 1);
});
