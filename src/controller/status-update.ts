/**
 * Writes a computed status through the status subresource, retrying on conflict: the status is
 * computed from the spec the reconciler read, so on 409 we fetch the latest object and, if its
 * generation is the one we reconciled, write the same status onto it. Skips no-op writes.
 */
import type { KubeObject } from '../api/meta.ts';
import type { Store } from '../store/store.ts';
import { StoreErrors } from '../store/store.ts';
import { isSluiceError } from '../lib/errors.ts';

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Sets `status` on `obj` in the store. Returns the stored object (or `obj` when nothing changed,
 * or undefined when the object is gone).
 */
export async function updateStatus<T extends KubeObject>(store: Store, resource: string, obj: T, status: T['status'], attempts = 5): Promise<T | undefined> {
  let cur: T = obj;
  for (let i = 0; ; i++) {
    if (deepEqual(cur.status, status)) return cur;
    try {
      return (await store.update(resource, { ...cur, status }, { subresource: 'status' })) as T;
    } catch (e) {
      if (isSluiceError(e, StoreErrors.NotFound)) return undefined;
      if (!isSluiceError(e, StoreErrors.Conflict) || i + 1 >= attempts) throw e;
      const latest = (await store.get(resource, obj.metadata.namespace ?? '', obj.metadata.name ?? '')) as T | undefined;
      if (!latest) return undefined;
      // A newer generation means our status describes an old spec: let the next reconcile redo it.
      if ((latest.metadata.generation ?? 0) !== (obj.metadata.generation ?? 0)) throw e;
      cur = latest;
    }
  }
}
