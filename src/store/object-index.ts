/**
 * The in-memory object index both backends read from: objects by resource and namespace/name,
 * by uid, and dependents by owner uid (for cascading deletion). Entries are immutable snapshots:
 * the index never hands out anything of an entry but copies decoded from `json`.
 */
import type { KubeObject } from '../api/meta.ts';

/**
 * One stored object: its serialized form, and a small view of what the indexes, selectors and
 * lifecycle checks read (name, namespace, uid, labels, owner references, deletion timestamp,
 * finalizers). The full decoded object is not kept: it was about two thirds of the store's
 * memory (at 10,000 Knative Services, ~200 of the 315 MB the index held), and the engine only
 * needs it to apply an update or a delete, where `obj` decodes a fresh copy from `json`.
 */
export class Entry {
  constructor(
    readonly resource: string,
    /** '' for cluster-scoped. */
    readonly namespace: string,
    readonly name: string,
    readonly rv: number,
    /** The persisted form and the source of every copy handed out. */
    readonly json: string,
    /** What indexes, selectors and lifecycle checks read; never mutated. */
    readonly view: KubeObject,
  ) {}

  /** A fresh copy of the stored object (callers may change it). */
  get obj(): KubeObject {
    return JSON.parse(this.json) as KubeObject;
  }
}

/** The part of an object an Entry keeps decoded (shares the labels, owner references and finalizers arrays of `o`). */
export function entryView(o: KubeObject): KubeObject {
  const m = o.metadata;
  const md: KubeObject['metadata'] = { name: m.name, namespace: m.namespace };
  if (m.uid !== undefined) md.uid = m.uid;
  if (m.labels) md.labels = m.labels;
  if (m.ownerReferences) md.ownerReferences = m.ownerReferences;
  if (m.deletionTimestamp !== undefined) md.deletionTimestamp = m.deletionTimestamp;
  if (m.finalizers) md.finalizers = m.finalizers;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: md };
}

/** An entry for `obj` (whose metadata.resourceVersion is `rv`); `json` when the caller has it already. */
export function entryFrom(resource: string, obj: KubeObject, rv: number, json = JSON.stringify(obj)): Entry {
  return new Entry(resource, obj.metadata.namespace ?? '', obj.metadata.name!, rv, json, entryView(obj));
}

/** Stable list order: namespace, then name (code-unit order, as etcd's byte-ordered keys give). */
export function compareKeys(ans: string, aname: string, bns: string, bname: string): number {
  if (ans !== bns) return ans < bns ? -1 : 1;
  return aname < bname ? -1 : aname > bname ? 1 : 0;
}

interface ResourceTable { byKey: Map<string, Entry>; sorted?: Entry[] }

const keyOf = (ns: string, name: string): string => `${ns}/${name}`; // namespaces never contain '/'
const depKey = (e: { resource: string; namespace: string; name: string }): string => `${e.resource}|${keyOf(e.namespace, e.name)}`;

export class ObjectIndex {
  private tables = new Map<string, ResourceTable>();
  private byUid = new Map<string, Entry>();
  /** owner uid → dependents (by resource|ns/name). */
  private deps = new Map<string, Map<string, { resource: string; namespace: string; name: string }>>();

  private table(resource: string): ResourceTable {
    let t = this.tables.get(resource);
    if (!t) { t = { byKey: new Map() }; this.tables.set(resource, t); }
    return t;
  }

  get(resource: string, namespace: string, name: string): Entry | undefined {
    return this.tables.get(resource)?.byKey.get(keyOf(namespace, name));
  }

  getByUid(uid: string): Entry | undefined { return this.byUid.get(uid); }

  /** Inserts or replaces an entry; returns the entry it replaced. */
  put(e: Entry): Entry | undefined {
    const t = this.table(e.resource);
    const k = keyOf(e.namespace, e.name);
    const prev = t.byKey.get(k);
    if (prev) this.unlink(prev); else t.sorted = undefined;
    t.byKey.set(k, e);
    if (t.sorted && prev) {
      // Same key, same position: replace in place instead of re-sorting.
      const i = this.lowerBound(t.sorted, e.namespace, e.name);
      t.sorted[i] = e;
    }
    this.link(e);
    return prev;
  }

  /** Removes an entry; returns it. */
  remove(resource: string, namespace: string, name: string): Entry | undefined {
    const t = this.tables.get(resource);
    const k = keyOf(namespace, name);
    const prev = t?.byKey.get(k);
    if (!t || !prev) return undefined;
    t.byKey.delete(k);
    t.sorted = undefined;
    this.unlink(prev);
    return prev;
  }

  /** Live dependents of an owner uid. */
  dependentsOf(ownerUid: string): Entry[] {
    const d = this.deps.get(ownerUid);
    if (!d) return [];
    const out: Entry[] = [];
    for (const ref of d.values()) {
      const e = this.get(ref.resource, ref.namespace, ref.name);
      if (e) out.push(e);
    }
    return out;
  }

  /** Entries of a resource sorted by namespace/name (cached until a key is added or removed). */
  sorted(resource: string): readonly Entry[] {
    const t = this.tables.get(resource);
    if (!t) return [];
    if (!t.sorted) t.sorted = [...t.byKey.values()].sort((a, b) => compareKeys(a.namespace, a.name, b.namespace, b.name));
    return t.sorted;
  }

  /** Index of the first entry whose key is ≥ (ns, name). */
  lowerBound(arr: readonly Entry[], ns: string, name: string): number {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(arr[mid]!.namespace, arr[mid]!.name, ns, name) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  size(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.byKey.size;
    return n;
  }

  private link(e: Entry): void {
    const uid = e.view.metadata.uid;
    if (uid) this.byUid.set(uid, e);
    for (const ref of e.view.metadata.ownerReferences ?? []) {
      let d = this.deps.get(ref.uid);
      if (!d) { d = new Map(); this.deps.set(ref.uid, d); }
      d.set(depKey(e), { resource: e.resource, namespace: e.namespace, name: e.name });
    }
  }

  private unlink(e: Entry): void {
    const uid = e.view.metadata.uid;
    if (uid && this.byUid.get(uid) === e) this.byUid.delete(uid);
    for (const ref of e.view.metadata.ownerReferences ?? []) {
      const d = this.deps.get(ref.uid);
      if (!d) continue;
      d.delete(depKey(e));
      if (d.size === 0) this.deps.delete(ref.uid);
    }
  }
}
