/**
 * Event TTL: deletes each v1 Event `ttlMs` after its last write, as kube-apiserver's
 * `--event-ttl` (default 1 h) does with an etcd lease on every Event write. Without it Events
 * only ever accumulated: the store keeps every object in memory, so a platform that scales
 * revisions up and down all day grew its store and its control process without bound (a
 * 10,000-service readiness run alone left 60,000 Events, a third of the store's bytes).
 *
 * It keeps no Event bodies, only key → (expiry, resourceVersion), fed by a list and a watch of
 * `core/events`. Expiry is the time of the write the watch delivered plus the TTL, so the expiry
 * of watched writes only grows and a FIFO queue stays in expiry order: O(1) per write, no heap,
 * and a sweep touches only what is due. An entry whose Event was written again is left in the
 * queue and skipped when it comes up (its newer expiry is queued behind it). Events listed at
 * start get the TTL from their newest timestamp (lastTimestamp, eventTime, series, creation),
 * never later than a fresh write, and are queued first, sorted. A delete that failed is retried
 * after `retryMs` from a second FIFO queue (same reasoning: its expiries only grow).
 *
 * Deletes carry the resourceVersion the sweep saw as a precondition, so an Event written again
 * between the sweep and the delete survives (its write re-queued it). Deletes of one sweep are
 * issued together, so the store's group commit writes them in one transaction.
 */
import type { KubeObject, WatchEvent } from '../api/meta.ts';
import type { Store, Watch } from '../store/store.ts';
import { StoreErrors } from '../store/store.ts';
import type { Clock, Timer } from '../lib/clock.ts';
import { errorMessage, isSluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { EVENTS_RESOURCE } from './event-recorder.ts';

export interface EventTtlOptions {
  store: Store;
  clock: Clock;
  /** How long an Event lives after its last write. */
  ttlMs: number;
  /** Deletes issued per sweep; the rest wait for the next one (default 500). */
  maxBatch?: number;
  /** Delay before retrying a failed list or delete (default 5 s). */
  retryMs?: number;
}

interface Tracked { expiry: number; rv: string }
interface Due { key: string; expiry: number }

/** A queue of keys whose expiries are pushed in non-decreasing order. */
class ExpiryFifo {
  private items: Due[] = [];
  private head = 0;
  push(d: Due): void { this.items.push(d); }
  peek(): Due | undefined { return this.items[this.head]; }
  shift(): void {
    this.head++;
    if (this.head === this.items.length) { this.items = []; this.head = 0; } else if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
  }
  clear(): void { this.items = []; this.head = 0; }
}

/** The newest timestamp an Event carries (ms), or undefined when it has none that parses. */
export function lastEventWrite(ev: KubeObject): number | undefined {
  const o = ev as KubeObject & { lastTimestamp?: unknown; eventTime?: unknown; firstTimestamp?: unknown; series?: { lastObservedTime?: unknown } };
  let best: number | undefined;
  for (const v of [o.lastTimestamp, o.eventTime, o.series?.lastObservedTime, o.firstTimestamp, o.metadata.creationTimestamp]) {
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isFinite(t) && (best === undefined || t > best)) best = t;
  }
  return best;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class EventTtl {
  private readonly opts: Required<EventTtlOptions>;
  private readonly tracked = new Map<string, Tracked>();
  /** Listed and written Events, in expiry order. */
  private readonly writes = new ExpiryFifo();
  /** Failed deletes, due again `retryMs` after they failed. */
  private readonly retries = new ExpiryFifo();
  private watch: Watch | undefined;
  private timer: Timer | undefined;
  private timerAt = Infinity;
  /** A pending retry of a failed list/watch (no sweep is scheduled meanwhile). */
  private retryTimer: Timer | undefined;
  private sweeping = false;
  private stopped = true;
  private lastRv = '0';
  /** Events deleted since start (for tests and logs). */
  deleted = 0;

  constructor(opts: EventTtlOptions) {
    if (!(opts.ttlMs > 0)) throw new RangeError(`event TTL must be positive, got ${opts.ttlMs} ms`);
    this.opts = { maxBatch: 500, retryMs: 5000, ...opts };
  }

  /** Events it is tracking. */
  get size(): number { return this.tracked.size; }

  /** Lists the Events, watches them from there and schedules the first sweep. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.listAndWatch();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.watch = undefined;
    this.clearTimer();
    if (this.retryTimer) this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async listAndWatch(): Promise<void> {
    if (this.stopped) return;
    this.watch?.stop();
    this.watch = undefined;
    try {
      const res = await this.opts.store.list(EVENTS_RESOURCE);
      if (this.stopped) return;
      const now = this.opts.clock.now();
      const fresh = now + this.opts.ttlMs;
      const listed = res.items.map((o) => ({ key: keyOf(o), expiry: Math.min(fresh, (lastEventWrite(o) ?? now) + this.opts.ttlMs), rv: o.metadata.resourceVersion ?? '' }));
      listed.sort((a, b) => a.expiry - b.expiry);
      this.tracked.clear();
      this.writes.clear();
      this.retries.clear();
      for (const l of listed) { this.tracked.set(l.key, { expiry: l.expiry, rv: l.rv }); this.writes.push({ key: l.key, expiry: l.expiry }); }
      this.lastRv = res.resourceVersion;
      this.watch = this.opts.store.watch(EVENTS_RESOURCE, { resourceVersion: this.lastRv }, (ev) => this.onEvent(ev));
      this.schedule();
    } catch (e) {
      this.retryList(e);
    }
  }

  private retryList(e: unknown): void {
    if (this.stopped) return;
    log.warn({ err: errorMessage(e), retryMs: this.opts.retryMs }, 'event TTL: list/watch of Events failed, retrying');
    this.clearTimer();
    this.retryTimer = this.opts.clock.setTimeout(() => { this.retryTimer = undefined; void this.listAndWatch(); }, this.opts.retryMs);
  }

  private onEvent(ev: WatchEvent): void {
    if (this.stopped) return;
    if (ev.type === 'ERROR') {
      const st = ev.object as unknown as { code?: number; message?: string };
      this.watch?.stop();
      this.watch = undefined;
      // 410: the store compacted past our version. Relist (deferred: we may be inside its dispatch).
      if (st.code === 410) queueMicrotask(() => void this.listAndWatch());
      else this.retryList(new Error(st.message ?? 'watch error'));
      return;
    }
    const rv = ev.object.metadata?.resourceVersion;
    if (rv) this.lastRv = rv;
    if (ev.type === 'BOOKMARK') return;
    const key = keyOf(ev.object);
    if (ev.type === 'DELETED') { this.tracked.delete(key); return; }
    const expiry = this.opts.clock.now() + this.opts.ttlMs;
    this.tracked.set(key, { expiry, rv: rv ?? '' });
    this.writes.push({ key, expiry });
    this.schedule();
  }

  /** Arms the timer for the queue's head (no earlier than 1 s from now: sweeps batch what is due). */
  private schedule(): void {
    if (this.stopped || this.sweeping || this.retryTimer) return;
    const next = this.nextDue();
    if (!next) { this.clearTimer(); return; }
    const at = Math.max(next.due.expiry, this.opts.clock.now() + 1000);
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.opts.clock.setTimeout(() => { this.timer = undefined; this.timerAt = Infinity; void this.sweep(); }, at - this.opts.clock.now());
  }

  private clearTimer(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** The earlier of the two queue heads that is still current (stale heads — written again or deleted — are dropped). */
  private nextDue(): { due: Due; from: ExpiryFifo } | undefined {
    let best: { due: Due; from: ExpiryFifo } | undefined;
    for (const q of [this.writes, this.retries]) {
      for (let d = q.peek(); d; d = q.peek()) {
        const t = this.tracked.get(d.key);
        if (t && t.expiry === d.expiry) {
          if (!best || d.expiry < best.due.expiry) best = { due: d, from: q };
          break;
        }
        q.shift();
      }
    }
    return best;
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    this.sweeping = true;
    const now = this.opts.clock.now();
    const batch: { key: string; rv: string }[] = [];
    for (let n = this.nextDue(); n && n.due.expiry <= now && batch.length < this.opts.maxBatch; n = this.nextDue()) {
      const t = this.tracked.get(n.due.key)!;
      batch.push({ key: n.due.key, rv: t.rv });
      t.expiry = Infinity; // being deleted: not due again unless it is written or the delete fails
      n.from.shift();
    }
    const failed: string[] = [];
    await Promise.all(batch.map(async ({ key, rv }) => {
      const slash = key.indexOf('/');
      try {
        await this.opts.store.delete(EVENTS_RESOURCE, key.slice(0, slash), key.slice(slash + 1), { preconditions: { resourceVersion: rv } });
        this.deleted++;
      } catch (e) {
        // Gone already, or written again since (its write re-queued it): nothing to do.
        if (isSluiceError(e, StoreErrors.NotFound) || isSluiceError(e, StoreErrors.Conflict)) return;
        failed.push(`${key}: ${errorMessage(e)}`);
        const t = this.tracked.get(key);
        if (t && t.rv === rv) { t.expiry = this.opts.clock.now() + this.opts.retryMs; this.retries.push({ key, expiry: t.expiry }); }
      }
    }));
    if (failed.length) log.warn({ failed: failed.length, first: failed[0] }, 'event TTL: some expired Events could not be deleted; retrying');
    if (batch.length) log.debug({ deleted: batch.length - failed.length }, 'event TTL: expired Events deleted');
    this.sweeping = false;
    this.schedule();
  }
}
