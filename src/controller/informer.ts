/**
 * Informer: a list + watch cache of one resource, like client-go's SharedIndexInformer.
 * Lists, then watches from the list's resourceVersion; every watch event updates the cache
 * before handlers run, so a handler's lister read sees the event's object. When the watch
 * reports 410 (SLUICE_E_GONE: the store compacted past our version) the informer relists and
 * emits the difference (add / update / delete) against its cache, so handlers never miss a
 * change. Handlers run synchronously in store order.
 */
import type { KubeObject, WatchEvent } from '../api/meta.ts';
import type { Store, Watch } from '../store/store.ts';
import { StoreErrors } from '../store/store.ts';
import { isSluiceError, errorMessage } from '../lib/errors.ts';
import type { Clock, Timer } from '../lib/clock.ts';
import { log } from '../lib/log.ts';
import { Lister } from './lister.ts';
import { ObjectCache } from './object-cache.ts';

export interface InformerHandlers<T extends KubeObject = KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  store: Store;
  /** Resource id, e.g. `serving.knative.dev/services`. */
  resource: string;
  clock: Clock;
  namespace?: string;
  labelSelector?: string;
  /** Delay before retrying a failed list (doubles up to 30 s). */
  retryBaseMs?: number;
}

/**
 * What controllers use of an informer: its lister, handlers and sync state. An Informer is one;
 * so is a component's view of a shared one (shared-informers.ts), whose stop() removes only the
 * handlers added through it.
 */
export interface InformerHandle<T extends KubeObject = KubeObject> {
  readonly resource: string;
  readonly lister: Lister<T>;
  addHandler(h: InformerHandlers<T>): void;
  hasSynced(): boolean;
  waitForSync(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

export function cacheKey(o: { metadata: { namespace?: string; name?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata.name}`;
}

export class Informer<T extends KubeObject = KubeObject> implements InformerHandle<T> {
  readonly resource: string;
  readonly lister: Lister<T>;
  private readonly opts: InformerOptions;
  private readonly cache = new ObjectCache<T>();
  /** Replaced, never mutated: a handler added or removed during a dispatch does not disturb it. */
  private handlers: readonly InformerHandlers<T>[] = [];
  private watch: Watch | undefined;
  private synced = false;
  private stopped = true;
  private lastRv = '0';
  private retryTimer: Timer | undefined;
  private failures = 0;
  private syncWaiters: (() => void)[] = [];
  /** Counts relists after the first list (410 recoveries); tests and metrics read it. */
  relists = 0;

  constructor(opts: InformerOptions) {
    this.opts = opts;
    this.resource = opts.resource;
    this.lister = new Lister<T>(this.cache);
  }

  addHandler(h: InformerHandlers<T>): void {
    this.handlers = [...this.handlers, h];
    // Late registration sees the current cache as adds, like client-go.
    if (this.synced) for (const o of this.cache.values()) h.add?.(o);
  }

  /** Removes a handler added with addHandler (it gets no further events). */
  removeHandler(h: InformerHandlers<T>): void {
    this.handlers = this.handlers.filter((x) => x !== h);
  }

  hasSynced(): boolean { return this.synced; }
  /** Resolves once the first list has been applied. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.listAndWatch();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.watch = undefined;
    if (this.retryTimer) this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async listAndWatch(): Promise<void> {
    if (this.stopped) return;
    this.watch?.stop();
    this.watch = undefined;
    try {
      const res = await this.opts.store.list(this.opts.resource, { namespace: this.opts.namespace, labelSelector: this.opts.labelSelector });
      if (this.stopped) return;
      this.replace(res.items as T[]);
      this.lastRv = res.resourceVersion;
      this.failures = 0;
      this.startWatch();
      if (!this.synced) {
        this.synced = true;
        const ws = this.syncWaiters;
        this.syncWaiters = [];
        for (const w of ws) w();
      }
    } catch (e) {
      this.scheduleRetry(e);
    }
  }

  private scheduleRetry(e: unknown): void {
    if (this.stopped) return;
    const ms = Math.min(30_000, (this.opts.retryBaseMs ?? 100) * 2 ** this.failures++);
    log.warn({ resource: this.opts.resource, err: errorMessage(e), retryMs: ms }, 'informer: list/watch failed, retrying');
    this.retryTimer = this.opts.clock.setTimeout(() => { this.retryTimer = undefined; void this.listAndWatch(); }, ms);
  }

  private startWatch(): void {
    try {
      this.watch = this.opts.store.watch(this.opts.resource, {
        namespace: this.opts.namespace, labelSelector: this.opts.labelSelector, resourceVersion: this.lastRv,
      }, (ev) => this.onEvent(ev as WatchEvent<T>));
    } catch (e) {
      if (isSluiceError(e, StoreErrors.Gone)) { this.relist(); return; }
      this.scheduleRetry(e);
    }
  }

  private relist(): void {
    if (this.stopped) return;
    this.relists++;
    this.watch?.stop();
    this.watch = undefined;
    // Deferred: the store may be inside its watch dispatch loop.
    queueMicrotask(() => void this.listAndWatch());
  }

  private onEvent(ev: WatchEvent<T>): void {
    if (this.stopped) return;
    if (ev.type === 'ERROR') {
      const st = ev.object as unknown as { code?: number; message?: string };
      if (st.code === 410) { this.relist(); return; }
      this.scheduleRetry(new Error(st.message ?? 'watch error'));
      this.watch?.stop();
      this.watch = undefined;
      return;
    }
    const rv = ev.object.metadata?.resourceVersion;
    if (rv) this.lastRv = rv;
    if (ev.type === 'BOOKMARK') return;
    const key = cacheKey(ev.object);
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      this.dispatch((h) => h.delete?.(old ?? ev.object));
      return;
    }
    this.cache.set(key, ev.object);
    if (old) this.dispatch((h) => h.update?.(old, ev.object));
    else this.dispatch((h) => h.add?.(ev.object));
  }

  /** Applies a full list: emits adds/updates for what changed and deletes for what vanished. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const o of items) {
      const key = cacheKey(o);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, o);
      if (!old) this.dispatch((h) => h.add?.(o));
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.dispatch((h) => h.update?.(old, o));
    }
    for (const [key, old] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.dispatch((h) => h.delete?.(old));
    }
  }

  private dispatch(fn: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) {
      try { fn(h); } catch (e) { log.error({ resource: this.opts.resource, err: errorMessage(e) }, 'informer: handler threw'); }
    }
  }
}
