/** Read-only view of an informer's cache. Objects are shared: callers must copy before mutating. */
import type { KubeObject } from '../api/meta.ts';

export class Lister<T extends KubeObject = KubeObject> {
  constructor(private readonly cache: ReadonlyMap<string, T>) {}

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Objects in `namespace` (all namespaces when omitted) that match every given label. */
  list(namespace?: string, labels?: Record<string, string>, filter?: (o: T) => boolean): T[] {
    const out: T[] = [];
    for (const o of this.cache.values()) {
      if (namespace && o.metadata.namespace !== namespace) continue;
      if (labels && !matchesLabels(o, labels)) continue;
      if (filter && !filter(o)) continue;
      out.push(o);
    }
    return out;
  }

  size(): number { return this.cache.size; }
}

export function matchesLabels(o: KubeObject, labels: Record<string, string>): boolean {
  const l = o.metadata.labels ?? {};
  for (const [k, v] of Object.entries(labels)) if (l[k] !== v) return false;
  return true;
}
