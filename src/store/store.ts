import type { KubeObject, WatchEvent } from '../api/meta.ts';

/**
 * The versioned store every part of sluice reads and writes. Backends (memory, sqlite, ...)
 * all pass the one contract suite in store-contract.ts (runStoreContract). Open one with
 * openStore() from open-store.ts; MemoryStore and SqliteStore share the engine in versioned-store.ts.
 *
 * Keys: `resource` is a resource id from api/registry.ts (`serving.knative.dev/services`,
 * `core/pods`); `namespace` is '' for cluster-scoped kinds.
 *
 * Semantics (Kubernetes'):
 * - resourceVersion is a decimal string of one store-wide counter, strictly increasing per write.
 * - create fills uid, creationTimestamp, resourceVersion and generation=1; refuses an existing
 *   name (SLUICE_E_ALREADY_EXISTS, 409); a `generateName` without name gets a random suffix.
 * - update: if the object carries metadata.resourceVersion and it differs from the stored one →
 *   SLUICE_E_CONFLICT (409). generation is bumped only when `spec` (or for spec-less kinds, any
 *   top-level field other than metadata/status) changes. With `subresource: 'status'` only
 *   `status` is taken from the input; otherwise, for kinds with a status subresource, the
 *   stored status is kept. uid/creationTimestamp are immutable.
 * - delete: with finalizers present → sets deletionTimestamp (an update) and returns the object;
 *   otherwise removes it. An update that empties finalizers of an object with a deletionTimestamp
 *   removes it. Dependents whose ownerReferences all point at deleted owners are deleted too
 *   (background cascading), unless propagationPolicy is 'Orphan'.
 * - watch from resourceVersion R delivers every change with rv > R, in order; R older than the
 *   retained window → SLUICE_E_GONE (410). Without R, the watch starts at "now" (callers list
 *   first). With `sendInitialEvents` semantics left out: list+watch is the caller's job.
 * - A write's promise resolves only once the write is durable (for durable backends).
 *
 * Details the implementation pins down (as Kubernetes does):
 * - create ignores `status` for custom-resource kinds (non-core groups) with a status subresource,
 *   like Kubernetes' CRD strategy (write it with subresource 'status'); core kinds keep it.
 * - an update that changes nothing is not written: same resourceVersion back, no watch event.
 * - Foreground deletion marks the owner (finalizer `foregroundDeletion`, deletionTimestamp) until
 *   its dependents are gone; Orphan strips the owner's ownerReferences from its dependents.
 * - delete returns the final object stamped with the deletion's resourceVersion (also what the
 *   DELETED watch event carries); for objects with finalizers, the marked object.
 * - watch resourceVersion '' or '0' = from now. A watch handler that throws is logged and skipped.
 * - list pages (`limit`/`continue`) are in namespace/name order; a continue page reads current
 *   state after the last key (no snapshot). remainingItemCount only when exact (no selectors).
 * - errors are SluiceErrors with `code` from StoreErrors and `httpStatus`; details.name names the object.
 */
export interface ListOptions {
  namespace?: string; // undefined or '' = all namespaces
  labelSelector?: string; // Kubernetes label selector syntax
  fieldSelector?: string; // metadata.name=, metadata.namespace= (and !=)
  limit?: number;
  continue?: string; // opaque token from a previous page
}
export interface ListResult { items: KubeObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number }

export interface UpdateOptions { subresource?: 'status' }
export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
}

export interface WatchOptions {
  namespace?: string;
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Send BOOKMARK events (object carries only metadata.resourceVersion) at this period. */
  bookmarkIntervalMs?: number;
}
export interface Watch { stop(): void }
export type WatchHandler = (ev: WatchEvent) => void;

export interface Store {
  create(resource: string, obj: KubeObject): Promise<KubeObject>;
  get(resource: string, namespace: string, name: string): Promise<KubeObject | undefined>;
  list(resource: string, opts?: ListOptions): Promise<ListResult>;
  update(resource: string, obj: KubeObject, opts?: UpdateOptions): Promise<KubeObject>;
  delete(resource: string, namespace: string, name: string, opts?: DeleteOptions): Promise<KubeObject>;
  /** Streams changes of one resource (or '*' for all). Handler calls are synchronous and in rv order. */
  watch(resource: string | '*', opts: WatchOptions, handler: WatchHandler): Watch;
  /** The current store-wide resourceVersion. */
  currentResourceVersion(): Promise<string>;
  /** Drops retained watch history up to (and including) rv: later watches from older rvs get 410. */
  compact(rv: string): Promise<void>;
  close(): Promise<void>;
}

/** Store error codes; api server maps them to Kubernetes Status reasons. */
export const StoreErrors = {
  NotFound: 'SLUICE_E_NOT_FOUND', // 404 NotFound
  AlreadyExists: 'SLUICE_E_ALREADY_EXISTS', // 409 AlreadyExists
  Conflict: 'SLUICE_E_CONFLICT', // 409 Conflict
  Gone: 'SLUICE_E_GONE', // 410 Expired
  Invalid: 'SLUICE_E_INVALID', // 422 Invalid
  BadRequest: 'SLUICE_E_BAD_REQUEST', // 400 BadRequest
  StoreFailure: 'SLUICE_E_STORE', // 500 InternalError
} as const;
