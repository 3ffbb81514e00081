import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/meta.ts';
import { ObjectCache, type Indexer } from './object-cache.ts';
import { seededRng } from '../lib/rng.ts';

const obj = (ns: string, name: string, labels?: Record<string, string>, v = 0): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name, labels, resourceVersion: String(v) } });
const key = (o: KubeObject): string => `${o.metadata.namespace}/${o.metadata.name}`;
const names = (l: KubeObject[]): string[] => l.map(key).sort();

test('list by namespace and labels follows label changes and deletes', () => {
  const c = new ObjectCache();
  c.set('a/p1', obj('a', 'p1', { rev: 'r1', app: 'x' }));
  c.set('a/p2', obj('a', 'p2', { rev: 'r2', app: 'x' }));
  c.set('b/p3', obj('b', 'p3', { rev: 'r1', app: 'y' }));
  assert.deepEqual(names(c.list('a')), ['a/p1', 'a/p2'], 'namespace a holds p1 and p2');
  assert.deepEqual(names(c.list('a', { rev: 'r1' })), ['a/p1'], 'rev=r1 in a is p1 only');
  assert.deepEqual(names(c.list(undefined, { rev: 'r1' })), ['a/p1', 'b/p3'], 'rev=r1 everywhere is p1 and p3');
  assert.deepEqual(names(c.list(undefined, { rev: 'r1', app: 'y' })), ['b/p3'], 'every given label must match');
  // The rev index exists now: a relabel moves p1 out of r1 and into r2.
  c.set('a/p1', obj('a', 'p1', { rev: 'r2', app: 'x' }, 1));
  assert.deepEqual(names(c.list('a', { rev: 'r1' })), [], 'p1 left rev=r1 when its label changed');
  assert.deepEqual(names(c.list('a', { rev: 'r2' })), ['a/p1', 'a/p2'], 'p1 joined rev=r2');
  // Dropping the label takes it out of the index.
  c.set('a/p2', obj('a', 'p2', undefined, 1));
  assert.deepEqual(names(c.list(undefined, { rev: 'r2' })), ['a/p1'], 'p2 without labels is in no label bucket');
  assert.equal(c.delete('a/p1'), true, 'delete reports an existing key');
  assert.equal(c.delete('a/p1'), false, 'delete reports a missing key');
  assert.deepEqual(names(c.list(undefined, { rev: 'r2' })), [], 'deleted p1 is gone from the label index');
  assert.deepEqual(names(c.list('a')), ['a/p2'], 'deleted p1 is gone from the namespace index');
  assert.deepEqual(names(c.list('')), ['a/p2', 'b/p3'], "namespace '' lists everything");
  assert.equal(c.size, 2, 'size counts objects');
  assert.deepEqual(c.list('a', { app: 'x' }, () => false), [], 'the filter applies after the indexes');
});

test('an update that keeps its namespace and label value keeps its place in the list order', () => {
  const c = new ObjectCache();
  for (const n of ['p1', 'p2', 'p3']) c.set(`a/${n}`, obj('a', n, { rev: 'r' }));
  assert.deepEqual(c.list('a', { rev: 'r' }).map(key), ['a/p1', 'a/p2', 'a/p3'], 'insertion order at first');
  c.set('a/p1', obj('a', 'p1', { rev: 'r' }, 2));
  assert.deepEqual(c.list('a', { rev: 'r' }).map(key), ['a/p1', 'a/p2', 'a/p3'], 'an in-place update keeps the order');
  assert.deepEqual(c.list('a').map(key), ['a/p1', 'a/p2', 'a/p3'], 'namespace order is kept too');
  assert.equal(c.list('a', { rev: 'r' })[0]!.metadata.resourceVersion, '2', 'the list returns the updated object');
});

test('indexed lists agree with a full scan over random changes', () => {
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  const c = new ObjectCache();
  const truth = new Map<string, KubeObject>();
  const scan = (ns?: string, labels?: Record<string, string>): string[] => [...truth.values()]
    .filter((o) => !ns || o.metadata.namespace === ns)
    .filter((o) => Object.entries(labels ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v))
    .map(key).sort();
  for (let i = 0; i < 2000; i++) {
    const ns = `n${rnd(3)}`, name = `o${rnd(20)}`, k = `${ns}/${name}`;
    if (rnd(5) === 0) { c.delete(k); truth.delete(k); } else {
      const labels: Record<string, string> = {};
      if (rnd(4)) labels.rev = `r${rnd(4)}`;
      if (rnd(2)) labels.app = `a${rnd(2)}`;
      const o = obj(ns, name, labels, i);
      c.set(k, o); truth.set(k, o);
    }
    const qns = rnd(2) ? `n${rnd(3)}` : undefined;
    const queries: (Record<string, string> | undefined)[] = [undefined, { rev: `r${rnd(4)}` }, { app: `a${rnd(2)}` }, { rev: `r${rnd(4)}`, app: `a${rnd(2)}` }];
    const q = queries[rnd(4)];
    assert.deepEqual(names(c.list(qns, q)), scan(qns, q), `step ${i}: list(${qns}, ${JSON.stringify(q)}) matches a scan`);
  }
});

test('a custom index (byIndex) agrees with a full scan over random changes, built before or after them', () => {
  const rng = seededRng(11);
  const rnd = (n: number): number => Math.floor(rng.next() * n);
  // Files each object under every value of its comma-separated `targets` annotation.
  const byTarget: Indexer = { name: 'targets', values: (o) => (o.metadata.annotations?.targets ?? '').split(',').filter(Boolean) };
  const early = new ObjectCache();
  const late = new ObjectCache();
  early.byIndex(byTarget, 't0'); // built empty, then kept up to date
  const truth = new Map<string, KubeObject>();
  const scan = (v: string): string[] => [...truth.values()].filter((o) => byTarget.values(o).includes(v)).map(key).sort();
  for (let i = 0; i < 2000; i++) {
    const ns = `n${rnd(3)}`, name = `o${rnd(20)}`, k = `${ns}/${name}`;
    if (rnd(5) === 0) { early.delete(k); late.delete(k); truth.delete(k); } else {
      const targets = [...new Set([...Array(rnd(4)).keys()].map(() => `t${rnd(5)}`))].join(',');
      const o = { ...obj(ns, name, {}, i), metadata: { ...obj(ns, name, {}, i).metadata, annotations: { targets } } };
      early.set(k, o); late.set(k, o); truth.set(k, o);
    }
    const v = `t${rnd(5)}`;
    assert.deepEqual(names(early.byIndex(byTarget, v)), scan(v), `step ${i}: byIndex(${v})`);
    if (i === 1000) assert.deepEqual(names(late.byIndex(byTarget, v)), scan(v), 'an index built over a full cache');
    if (i > 1000) assert.deepEqual(names(late.byIndex(byTarget, v)), scan(v), `step ${i}: late byIndex(${v})`);
  }
  assert.throws(() => early.byIndex({ name: 'targets', values: () => [] }, 't0'), /two indexers named "targets"/);
});
