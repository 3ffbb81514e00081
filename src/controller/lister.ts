/** Read-only view of an informer's cache. Objects are shared: callers must copy before mutating. */
import type { KubeObject } from '../api/meta.ts';
import type { Indexer, ObjectCache } from './object-cache.ts';

export class Lister<T extends KubeObject = KubeObject> {
  constructor(private readonly cache: ObjectCache<T>) {}

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /**
   * Objects in `namespace` (all namespaces when omitted) that match every given label. Served
   * from the cache's indexes (namespace, first label): costs what it returns, not the cache's size.
   */
  list(namespace?: string, labels?: Record<string, string>, filter?: (o: T) => boolean): T[] {
    return this.cache.list(namespace, labels, filter);
  }

  /** Objects `indexer` files under `value` (client-go's ByIndex): costs what it returns. */
  byIndex(indexer: Indexer<T>, value: string): T[] {
    return this.cache.byIndex(indexer, value);
  }

  size(): number { return this.cache.size; }
}

export function matchesLabels(o: KubeObject, labels: Record<string, string>): boolean {
  const l = o.metadata.labels ?? {};
  for (const [k, v] of Object.entries(labels)) if (l[k] !== v) return false;
  return true;
}
