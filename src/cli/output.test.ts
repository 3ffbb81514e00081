import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KINDS } from '../api/registry.ts';
import { parseManifests } from './manifests.ts';
import { formatObjects, formatTable, resourceLabel } from './output.ts';
import { isSluiceError } from '../lib/errors.ts';

test('resourceLabel names kinds as kubectl does', () => {
  assert.equal(resourceLabel(KINDS.find((k) => k.kind === 'Service')!), 'service.serving.knative.dev');
  assert.equal(resourceLabel(KINDS.find((k) => k.kind === 'Namespace')!), 'namespace');
});

test('formatTable: upper-case headers, 3-space gaps, wide columns, namespace column, empty nulls', () => {
  const t = {
    columnDefinitions: [{ name: 'Name' }, { name: 'Url' }, { name: 'Extra', priority: 1 }],
    rows: [{ cells: ['a', null, 'x'], object: { metadata: { namespace: 'ns1' } } }, { cells: ['bbbb', 'http://b', 'y'], object: { metadata: { namespace: 'ns2' } } }],
  };
  assert.equal(formatTable(t, { wide: false, withNamespace: false }), 'NAME   URL\na\nbbbb   http://b\n');
  assert.equal(formatTable(t, { wide: true, withNamespace: true }), 'NAMESPACE   NAME   URL        EXTRA\nns1         a                 x\nns2         bbbb   http://b   y\n');
});

test('formatObjects prints one object or a List, without managedFields', () => {
  const o = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', managedFields: [{}] } };
  assert.equal(formatObjects([structuredClone(o)], true, 'yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n');
  assert.equal(JSON.parse(formatObjects([structuredClone(o)], false, 'json')).kind, 'List');
});

test('parseManifests: several documents, Lists, lines in errors', () => {
  const ms = parseManifests('---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: b\n', 'f.yaml');
  assert.deepEqual(ms.map((m) => [m.object.metadata.name, m.where]), [['a', 'f.yaml:2'], ['b', 'f.yaml:9 (items[0])']]);
  assert.throws(() => parseManifests('apiVersion: v1\nkind: Namespace\nmetadata: {}\n', 'g.yaml'), (e: unknown) => isSluiceError(e) && e.message === 'g.yaml:1: metadata.name: Required value');
  assert.throws(() => parseManifests('a: 1\n---\nkind: Nope\napiVersion: x/v1\nmetadata:\n  name: n\n', 'h.yaml'), (e: unknown) => isSluiceError(e) && e.message.startsWith('h.yaml:1: apiVersion: Required'));
  assert.throws(() => parseManifests('apiVersion: x/v1\nkind: Nope\nmetadata:\n  name: n\n', 'i.yaml'), /i\.yaml:1: unknown kind "Nope"/);
});
