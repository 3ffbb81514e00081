/**
 * An informer's cache, indexed like client-go's Indexer so that a lister's reads cost what they
 * return rather than the size of the whole cache: objects by key (`namespace/name`), by
 * namespace, and by the value of each label key a lister has filtered on (an index per label
 * key is built on its first use and kept up to date from then on).
 *
 * Without the indexes every `list(namespace, labels)` scanned every object of the resource: the
 * revision reconciler's "pods of this revision" and the routing state's "routes of this
 * namespace" grew with the number of services and pods in the whole platform (a readiness run
 * of 400 services spent ~5 ms a second in those scans by its end, and more with every service).
 *
 * Order: a namespace's or a label value's objects come in the order they joined that bucket
 * (an update that keeps the bucket keeps the position), as the whole cache keeps insertion order.
 */
import type { KubeObject } from '../api/meta.ts';

type Bucket<T> = Map<string, T>;

function add<T>(buckets: Map<string, Bucket<T>>, b: string, key: string, o: T): void {
  let m = buckets.get(b);
  if (!m) buckets.set(b, (m = new Map()));
  m.set(key, o);
}

function remove<T>(buckets: Map<string, Bucket<T>>, b: string, key: string): void {
  const m = buckets.get(b);
  if (!m) return;
  m.delete(key);
  if (m.size === 0) buckets.delete(b);
}

const nsOf = (o: KubeObject): string => o.metadata.namespace ?? '';

/**
 * A named index over a cache, like client-go's Indexers: `values` gives the index values an object
 * files under (e.g. `ns/revision:NAME` for each revision a Route's traffic names). Defined once,
 * as a constant, next to the code that reads it; the cache builds it on first use.
 */
export interface Indexer<T extends KubeObject = KubeObject> {
  readonly name: string;
  values(o: T): readonly string[];
}

export class ObjectCache<T extends KubeObject = KubeObject> {
  private readonly all = new Map<string, T>();
  private readonly byNamespace = new Map<string, Bucket<T>>();
  /** label key → label value → objects carrying that value. */
  private readonly byLabel = new Map<string, Map<string, Bucket<T>>>();
  /** Indexer name → its indexer and index value → objects. */
  private readonly byIndexer = new Map<string, { indexer: Indexer<T>; buckets: Map<string, Bucket<T>> }>();

  get size(): number { return this.all.size; }
  get(key: string): T | undefined { return this.all.get(key); }
  has(key: string): boolean { return this.all.has(key); }
  values(): IterableIterator<T> { return this.all.values(); }
  entries(): IterableIterator<[string, T]> { return this.all.entries(); }
  [Symbol.iterator](): IterableIterator<[string, T]> { return this.all.entries(); }

  set(key: string, o: T): void {
    const old = this.all.get(key);
    this.all.set(key, o);
    const ns = nsOf(o);
    if (old && nsOf(old) !== ns) remove(this.byNamespace, nsOf(old), key);
    add(this.byNamespace, ns, key, o);
    for (const [label, buckets] of this.byLabel) {
      const before = old?.metadata.labels?.[label];
      const after = o.metadata.labels?.[label];
      if (before !== undefined && before !== after) remove(buckets, before, key);
      if (after !== undefined) add(buckets, after, key, o);
    }
    for (const { indexer, buckets } of this.byIndexer.values()) {
      const after = indexer.values(o);
      if (old) for (const v of indexer.values(old)) if (!after.includes(v)) remove(buckets, v, key);
      for (const v of after) add(buckets, v, key, o);
    }
  }

  delete(key: string): boolean {
    const old = this.all.get(key);
    if (!old) return false;
    this.all.delete(key);
    remove(this.byNamespace, nsOf(old), key);
    for (const [label, buckets] of this.byLabel) {
      const v = old.metadata.labels?.[label];
      if (v !== undefined) remove(buckets, v, key);
    }
    for (const { indexer, buckets } of this.byIndexer.values()) for (const v of indexer.values(old)) remove(buckets, v, key);
    return true;
  }

  /** Objects filed under `value` by `indexer` (built on first use, kept up to date from then on). */
  byIndex(indexer: Indexer<T>, value: string): T[] {
    let ix = this.byIndexer.get(indexer.name);
    if (!ix) {
      ix = { indexer, buckets: new Map() };
      for (const [key, o] of this.all) for (const v of indexer.values(o)) add(ix.buckets, v, key, o);
      this.byIndexer.set(indexer.name, ix);
    } else if (ix.indexer !== indexer) {
      throw new Error(`two indexers named "${indexer.name}" on one cache`);
    }
    const b = ix.buckets.get(value);
    return b ? [...b.values()] : [];
  }

  /** Objects in `namespace` (all when omitted or '') that carry every given label and pass `filter`. */
  list(namespace?: string, labels?: Record<string, string>, filter?: (o: T) => boolean): T[] {
    const wanted = labels ? Object.entries(labels) : [];
    let source: Iterable<T>;
    if (wanted.length > 0) {
      // The first label narrows through its index; the namespace and the other labels filter.
      const [label, value] = wanted[0]!;
      source = this.labelIndex(label).get(value)?.values() ?? [];
    } else if (namespace) {
      source = this.byNamespace.get(namespace)?.values() ?? [];
    } else {
      source = this.all.values();
    }
    const out: T[] = [];
    for (const o of source) {
      if (namespace && nsOf(o) !== namespace) continue;
      if (wanted.length > 1 && !matchesAll(o, wanted)) continue;
      if (filter && !filter(o)) continue;
      out.push(o);
    }
    return out;
  }

  private labelIndex(label: string): Map<string, Bucket<T>> {
    let buckets = this.byLabel.get(label);
    if (buckets) return buckets;
    buckets = new Map();
    for (const [key, o] of this.all) {
      const v = o.metadata.labels?.[label];
      if (v !== undefined) add(buckets, v, key, o);
    }
    this.byLabel.set(label, buckets);
    return buckets;
  }
}

function matchesAll(o: KubeObject, wanted: [string, string][]): boolean {
  const l = o.metadata.labels ?? {};
  for (const [k, v] of wanted) if (l[k] !== v) return false;
  return true;
}
