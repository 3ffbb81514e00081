/**
 * Namespaces: creates the built-in ones at start, refuses objects in a namespace that does not
 * exist (404 `namespaces "x" not found`, as Kubernetes' NamespaceLifecycle admission does), and
 * removes a deleted namespace's contents. Existence is answered from a set kept current by a
 * store watch, so the create hot path does not read the store.
 */
import type { KubeObject } from '../api/meta.ts';
import { KINDS, resourceId } from '../api/registry.ts';
import { isSluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { StoreErrors, type Store, type Watch } from '../store/store.ts';
import { ApiServerErrors, notFoundError } from './status.ts';

export const BUILTIN_NAMESPACES = ['default', 'sluice-system'];
const NS = 'core/namespaces';

export class NamespaceGuard {
  private readonly known = new Set<string>();
  private watch?: Watch;

  constructor(private readonly store: Store) {}

  /** Creates missing built-in namespaces and starts following namespace changes. */
  async start(): Promise<void> {
    const listed = await this.store.list(NS);
    for (const o of listed.items) if (o.metadata.name) this.known.add(o.metadata.name);
    this.watch = this.store.watch(NS, { resourceVersion: listed.resourceVersion }, (ev) => {
      const name = ev.object?.metadata?.name;
      if (!name) return;
      if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.known.add(name);
      else if (ev.type === 'DELETED') this.known.delete(name);
    });
    for (const name of BUILTIN_NAMESPACES) {
      if (this.known.has(name)) continue;
      try {
        await this.store.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
      } catch (e) {
        if (!isSluiceError(e, StoreErrors.AlreadyExists)) throw e;
      }
      this.known.add(name);
    }
  }

  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
  }

  /** Throws 404 unless the namespace exists. */
  async require(namespace: string): Promise<void> {
    if (!namespace || this.known.has(namespace)) return;
    const ns = await this.store.get(NS, '', namespace);
    if (ns) {
      this.known.add(namespace);
      return;
    }
    throw notFoundError(`namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }, ApiServerErrors.NamespaceNotFound);
  }

  /** Deletes every namespaced object in a deleted namespace (Kubernetes' namespace controller, done at once). */
  async purge(namespace: string): Promise<number> {
    let n = 0;
    for (const k of KINDS) {
      if (!k.namespaced) continue;
      const id = resourceId(k);
      const { items } = await this.store.list(id, { namespace });
      for (const o of items as KubeObject[]) {
        try {
          await this.store.delete(id, namespace, o.metadata.name ?? '');
          n++;
        } catch (e) {
          if (!isSluiceError(e, StoreErrors.NotFound)) log.warn({ err: e, namespace, resource: id }, 'namespace purge: delete failed');
        }
      }
    }
    this.known.delete(namespace);
    return n;
  }
}
