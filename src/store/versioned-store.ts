/**
 * The store engine both backends share: Kubernetes object semantics over an in-memory index,
 * with a pluggable Journal for durability. Writes are staged synchronously (so a later write in
 * the same tick sees an earlier one), committed in batches (group commit for durable journals),
 * and only then acknowledged and published to watchers, in resourceVersion order. A failed
 * commit rolls the index back and rejects every write of the batch.
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../api/meta.ts';
import type { KindInfo } from '../api/registry.ts';
import { realClock, type Clock } from '../lib/clock.ts';
import { mathRng, type Rng } from '../lib/rng.ts';
import type { DeleteOptions, ListOptions, ListResult, Store, UpdateOptions, Watch, WatchHandler, WatchOptions } from './store.ts';
import { ObjectIndex, entryFrom, type Entry } from './object-index.ts';
import { WatchHub, DEFAULT_HISTORY_LIMIT, type HubEvent } from './watch-hub.ts';
import type { Journal, JournalChange } from './journal.ts';
import { listPage } from './pagination.ts';
import {
  FOREGROUND_FINALIZER, checkDeletePreconditions, checkName, copyJson, dropFinalizer, dropOwnerRef,
  namespaceOf, prepareCreate, prepareDelete, prepareUpdate,
} from './object-lifecycle.ts';
import { alreadyExists, badRequest, invalid, notFound, parseResourceVersion, requireKind, storeFailure } from './store-errors.ts';

export interface StoreOptions {
  clock?: Clock;
  /** Watch events retained for resuming watches (default 10,000). */
  historyLimit?: number;
  /** Randomness for generateName suffixes. */
  rng?: Rng;
}

interface Staged { change: JournalChange; prev: Entry | undefined; event: HubEvent }
interface Waiter { resolve(): void; reject(e: unknown): void }

const POLICIES = new Set(['Background', 'Foreground', 'Orphan']);
const GENERATE_NAME_ATTEMPTS = 8;

export class VersionedStore implements Store {
  protected readonly clock: Clock;
  private readonly rng: Rng;
  private readonly index = new ObjectIndex();
  private readonly hub: WatchHub;
  private rv: number;
  private pending: Staged[] = [];
  private waiters: Waiter[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private microtaskQueued = false;
  private closed = false;
  /** The last committed batch waiting for the journal's sync (syncs resolve in order: when it is done, all are). */
  private syncing: Promise<void> | undefined;

  constructor(private readonly journal: Journal, opts: StoreOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.rng = opts.rng ?? mathRng;
    const state = journal.load();
    let rv = state.rv;
    for (const row of state.objects) {
      const obj = JSON.parse(row.json) as KubeObject;
      const e = entryFrom(row.resource, obj, Number(obj.metadata.resourceVersion ?? 0), row.json);
      this.index.put(e);
      if (e.rv > rv) rv = e.rv;
    }
    this.rv = rv;
    this.hub = new WatchHub(this.clock, rv, opts.historyLimit ?? DEFAULT_HISTORY_LIMIT);
  }

  // ---- reads ---------------------------------------------------------------------------------

  async get(resource: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    const kind = this.open(resource);
    await this.settle();
    const e = this.index.get(resource, kind.namespaced ? namespace : '', name);
    return e ? JSON.parse(e.json) : undefined;
  }

  async list(resource: string, opts?: ListOptions): Promise<ListResult> {
    const kind = this.open(resource);
    await this.settle();
    // Cluster-scoped kinds live outside namespaces: a namespace option does not narrow them.
    const page = listPage(this.index, resource, kind.namespaced ? opts : { ...opts, namespace: undefined }, this.rv);
    const out: ListResult = { items: page.entries.map((e) => JSON.parse(e.json) as KubeObject), resourceVersion: String(this.rv) };
    if (page.continue !== undefined) out.continue = page.continue;
    if (page.remainingItemCount !== undefined) out.remainingItemCount = page.remainingItemCount;
    return out;
  }

  async currentResourceVersion(): Promise<string> {
    if (this.closed) throw storeFailure('the store is closed', undefined);
    await this.settle();
    return String(this.rv);
  }

  watch(resource: string, opts: WatchOptions, handler: WatchHandler): Watch {
    if (this.closed) throw storeFailure('the store is closed', undefined);
    const kind = resource === '*' ? undefined : requireKind(resource);
    return this.hub.watch(resource, kind && !kind.namespaced ? { ...opts, namespace: undefined } : opts, handler);
  }

  async compact(rv: string): Promise<void> {
    if (this.closed) throw storeFailure('the store is closed', undefined);
    await this.settle();
    this.hub.compact(parseResourceVersion(rv, 'compaction resourceVersion'));
  }

  /** Watch-history facts for diagnostics and the API server's 410 messages. */
  historyWindow(): { oldestResumable: string; current: string; watchers: number } {
    return { oldestResumable: String(this.hub.oldestResumableRv()), current: String(this.hub.lastRv()), watchers: this.hub.watcherCount() };
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(resource: string, input: KubeObject): Promise<KubeObject> {
    const kind = this.open(resource);
    let obj: KubeObject | undefined;
    for (let attempt = 0; attempt < GENERATE_NAME_ATTEMPTS; attempt++) {
      const candidate = prepareCreate(kind, input, { now: this.clock.now(), uid: randomUUID(), rng: this.rng });
      const exists = this.index.get(resource, candidate.metadata.namespace ?? '', candidate.metadata.name!);
      if (!exists) { obj = candidate; break; }
      if (!input.metadata.generateName || input.metadata.name) throw alreadyExists(kind, candidate.metadata.name!);
    }
    if (!obj) throw alreadyExists(kind, `${input.metadata.generateName}*`);
    const e = this.stagePut(resource, obj, undefined);
    return this.ack(JSON.parse(e.json) as KubeObject);
  }

  async update(resource: string, input: KubeObject, opts?: UpdateOptions): Promise<KubeObject> {
    const kind = this.open(resource);
    if (input === null || typeof input !== 'object' || typeof input.metadata !== 'object' || input.metadata === null) {
      throw invalid(kind, '', 'metadata', 'Required value: an object needs metadata');
    }
    const name = checkName(kind, input.metadata.name);
    const ns = namespaceOf(kind, input.metadata, name);
    const stored = this.index.get(resource, ns, name);
    if (!stored) throw notFound(kind, name);
    const r = prepareUpdate(kind, stored.obj, input, opts);
    if (r.noop) return this.ack(JSON.parse(stored.json) as KubeObject);
    if (r.remove) return this.ack(this.removeEntry(stored, r.obj));
    const e = this.stagePut(resource, r.obj, stored);
    return this.ack(JSON.parse(e.json) as KubeObject);
  }

  async delete(resource: string, namespace: string, name: string, opts?: DeleteOptions): Promise<KubeObject> {
    const kind = this.open(resource);
    const policy = opts?.propagationPolicy ?? 'Background';
    if (!POLICIES.has(policy)) throw badRequest(`propagationPolicy "${policy}" is not valid: expected Background, Foreground or Orphan`, name);
    const stored = this.index.get(resource, kind.namespaced ? namespace : '', name);
    if (!stored) throw notFound(kind, name);
    checkDeletePreconditions(kind, stored.obj, opts);
    return this.ack(this.deleteEntry(stored, policy));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushHandle) { clearImmediate(this.flushHandle); this.flushHandle = undefined; }
    if (this.pending.length > 0) this.flush();
    this.closed = true;
    while (this.syncing) await this.syncing;
    this.hub.stopAll();
    this.journal.close();
  }

  // ---- lifecycle steps (synchronous; every change goes through stage*) -------------------------

  /** Deletes one stored entry under a propagation policy; returns the object as the caller sees it. */
  private deleteEntry(target: Entry, policy: string): KubeObject {
    // Cascades hold entries gathered before earlier steps ran: act on the current state only.
    const e = this.index.get(target.resource, target.namespace, target.name);
    if (!e || e.view.metadata.uid !== target.view.metadata.uid) return JSON.parse(target.json) as KubeObject;
    const uid = e.view.metadata.uid ?? '';
    if (policy === 'Orphan') {
      for (const dep of this.index.dependentsOf(uid)) this.stagePut(dep.resource, dropOwnerRef(dep.obj, uid), dep);
    }
    const waitForDependents = policy === 'Foreground' && this.index.dependentsOf(uid).length > 0;
    const d = prepareDelete(e.obj, this.clock.now(), waitForDependents ? FOREGROUND_FINALIZER : undefined);
    if (d.action === 'noop') return JSON.parse(e.json) as KubeObject;
    if (d.action === 'remove') return this.removeEntry(e, undefined);
    const marked = this.stagePut(e.resource, d.obj, e);
    if (waitForDependents) {
      for (const dep of this.index.dependentsOf(uid)) this.deleteEntry(dep, 'Foreground');
    }
    const now = this.index.get(e.resource, e.namespace, e.name);
    return JSON.parse((now ?? marked).json) as KubeObject;
  }

  /** Removes an entry (final state `last`, or its stored state), then garbage-collects: cascades to dependents left without owners, releases foreground owners. */
  private removeEntry(e: Entry, last: KubeObject | undefined): KubeObject {
    const final = last === undefined ? e.obj : copyJson(last);
    const rv = ++this.rv;
    final.metadata.resourceVersion = String(rv);
    const fe = entryFrom(e.resource, final, rv);
    this.index.remove(e.resource, e.namespace, e.name);
    this.stage({ op: 'delete', resource: e.resource, namespace: e.namespace, name: e.name, rv }, e, { rv, type: 'DELETED', resource: e.resource, namespace: e.namespace, obj: fe.view, json: fe.json });
    const uid = e.view.metadata.uid ?? '';
    // Background cascade: dependents none of whose owners exist any more.
    for (const dep of this.index.dependentsOf(uid)) {
      const owners = dep.view.metadata.ownerReferences ?? [];
      if (owners.every((r) => this.index.getByUid(r.uid) === undefined)) this.deleteEntry(dep, 'Background');
    }
    // Foreground owners waiting for this dependent.
    for (const ref of e.view.metadata.ownerReferences ?? []) {
      const owner = this.index.getByUid(ref.uid);
      if (!owner || owner.view.metadata.deletionTimestamp === undefined) continue;
      if (!(owner.view.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER)) continue;
      if (this.index.dependentsOf(ref.uid).length > 0) continue;
      const d = dropFinalizer(owner.obj, FOREGROUND_FINALIZER);
      if (d.remove) this.removeEntry(owner, d.obj); else this.stagePut(owner.resource, d.obj, owner);
    }
    return JSON.parse(fe.json) as KubeObject;
  }

  private stagePut(resource: string, obj: KubeObject, prev: Entry | undefined): Entry {
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    const e = entryFrom(resource, obj, rv);
    this.index.put(e);
    this.stage(
      { op: 'put', resource, namespace: e.namespace, name: e.name, rv, json: e.json },
      prev,
      { rv, type: prev ? 'MODIFIED' : 'ADDED', resource, namespace: e.namespace, obj: e.view, json: e.json, prev: prev ? { obj: prev.view, json: prev.json } : undefined },
    );
    return e;
  }

  private stage(change: JournalChange, prev: Entry | undefined, event: HubEvent): void {
    this.pending.push({ change, prev, event });
    this.scheduleFlush();
  }

  // ---- commit ----------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.journal.groupCommit) {
      this.flushHandle ??= setImmediate(() => { this.flushHandle = undefined; this.flush(); });
    } else if (!this.microtaskQueued) {
      this.microtaskQueued = true;
      queueMicrotask(() => { this.microtaskQueued = false; this.flush(); });
    }
  }

  /** Resolves with `value` once everything staged so far is committed. */
  private ack<T>(value: T): Promise<T> {
    if (this.pending.length === 0) return Promise.resolve(value);
    return new Promise<T>((resolve, reject) => this.waiters.push({ resolve: () => resolve(value), reject }));
  }

  /** Waits until nothing is staged or waiting for its sync, so reads never see an unacknowledged write. */
  private async settle(): Promise<void> {
    while (this.pending.length > 0 || this.syncing) {
      if (this.pending.length > 0) await this.ack(undefined).catch(() => undefined);
      else await this.syncing;
    }
  }

  private flush(): void {
    const batch = this.pending, waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    if (batch.length === 0) { for (const w of waiters) w.resolve(); return; }
    try {
      if (this.closed) throw new Error('the store is closed');
      this.journal.write(batch.map((s) => s.change), batch[batch.length - 1]!.change.rv);
    } catch (err) {
      this.rollback(batch);
      const e = storeFailure(`commit of ${batch.length} change(s) failed, nothing was written: ${(err as Error).message}`, err);
      for (const w of waiters) w.reject(e);
      return;
    }
    const publish = (): void => {
      for (const s of batch) this.hub.publish(s.event);
      for (const w of waiters) w.resolve();
    };
    if (!this.journal.sync) { publish(); return; }
    // Durable once the journal's sync resolves (off the event loop); syncs resolve in call order,
    // so batches are still acknowledged and published in resourceVersion order.
    const done: Promise<void> = this.journal.sync().then(
      publish,
      (err: unknown) => {
        // The batch is in the database but not known to be durable: its writers hear so. (The
        // index keeps it: a later successful sync makes it durable with what follows.)
        const e = storeFailure(`commit of ${batch.length} change(s) was not made durable: ${(err as Error).message}`, err);
        for (const w of waiters) w.reject(e);
      },
    ).catch((err: unknown) => {
      // A watcher's handler threw while publishing: that is its bug, not the commit's.
      queueMicrotask(() => { throw err; });
    }).finally(() => {
      if (this.syncing === done) this.syncing = undefined;
    });
    this.syncing = done;
  }

  private rollback(batch: Staged[]): void {
    for (let i = batch.length - 1; i >= 0; i--) {
      const { change, prev } = batch[i]!;
      if (prev) this.index.put(prev); else this.index.remove(change.resource, change.namespace, change.name);
    }
    this.rv = batch[0]!.change.rv - 1;
  }

  private open(resource: string): KindInfo {
    if (this.closed) throw storeFailure('the store is closed', undefined);
    return requireKind(resource);
  }
}
