/**
 * Watch fan-out with a retained history window. Every committed change is published here in
 * resourceVersion order; the hub keeps the last `historyLimit` events so watchers can resume
 * from a resourceVersion, answers 410 Gone for anything older than the window (or compacted),
 * filters per watcher (resource, namespace, labels, fields), and sends bookmarks.
 *
 * Selector transitions follow the Kubernetes watch cache: a MODIFIED that makes an object start
 * matching is delivered as ADDED, one that makes it stop matching as DELETED (carrying the
 * previous state stamped with the event's resourceVersion).
 */
import type { KubeObject, WatchEvent } from '../api/meta.ts';
import { apiVersionOf, kindById } from '../api/registry.ts';
import type { Clock, Timer } from '../lib/clock.ts';
import { log } from '../lib/log.ts';
import type { Watch, WatchHandler, WatchOptions } from './store.ts';
import { parseLabelSelector, type LabelSelector } from './label-selector.ts';
import { parseFieldSelector, type FieldSelector } from './field-selector.ts';
import { badRequest, gone, parseResourceVersion } from './store-errors.ts';

export interface HubEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: string;
  namespace: string;
  /**
   * What selectors read of the new state (for DELETED: the last state): the store entry's view
   * (object-index.ts entryView), never handed out; once published, the hub keeps only its
   * selector view (see `selectorView`). Watchers get copies decoded from `json`.
   */
  obj: KubeObject;
  json: string;
  /** Previous state, for MODIFIED (selector transitions). */
  prev?: { obj: KubeObject; json: string };
}

export const DEFAULT_HISTORY_LIMIT = 10_000;

/**
 * What watch selectors read of an object: label selectors its labels, field selectors its name
 * and namespace (field-selector.ts supports no other field). Shares the labels object, which is
 * never mutated (store entries are immutable snapshots).
 */
export function selectorView(o: KubeObject): KubeObject {
  const m = o.metadata;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: m.name, namespace: m.namespace, ...(m.labels ? { labels: m.labels } : {}) } } as KubeObject;
}

class Watcher {
  private queue: WatchEvent[] | undefined = [];
  private timer: Timer | undefined;
  stopped = false;
  constructor(
    readonly resource: string,
    readonly namespace: string | undefined,
    readonly labels: LabelSelector,
    readonly fields: FieldSelector,
    public fromRv: number,
    private readonly handler: WatchHandler,
  ) {}

  private matches(obj: KubeObject): boolean {
    return (this.labels.empty || this.labels.matches(obj.metadata.labels)) && (this.fields.empty || this.fields.matches(obj));
  }

  /** Converts a hub event into what this watcher sees (or nothing). */
  convert(ev: HubEvent): WatchEvent | undefined {
    if (ev.rv <= this.fromRv) return undefined;
    if (this.resource !== '*' && ev.resource !== this.resource) return undefined;
    if (this.namespace !== undefined && ev.namespace !== this.namespace) return undefined;
    const cur = this.matches(ev.obj);
    if (ev.type !== 'MODIFIED' || !ev.prev) return cur ? { type: ev.type, object: JSON.parse(ev.json) } : undefined;
    const old = this.matches(ev.prev.obj);
    if (cur && old) return { type: 'MODIFIED', object: JSON.parse(ev.json) };
    if (cur) return { type: 'ADDED', object: JSON.parse(ev.json) };
    if (old) {
      const object = JSON.parse(ev.prev.json) as KubeObject;
      object.metadata.resourceVersion = String(ev.rv);
      return { type: 'DELETED', object };
    }
    return undefined;
  }

  deliver(ev: WatchEvent): void {
    if (this.stopped) return;
    if (this.queue) { this.queue.push(ev); return; }
    this.call(ev);
  }

  /** A throwing handler must not stop delivery to other watchers or the commit that publishes. */
  private call(ev: WatchEvent): void {
    try {
      this.handler(ev);
    } catch (err) {
      log.error({ err, resource: this.resource, type: ev.type, name: ev.object.metadata.name }, 'store watch handler threw; delivery continues');
    }
  }

  /** Delivers what was queued during replay, then switches to direct delivery. */
  drain(): void {
    const q = this.queue;
    if (!q) return;
    for (let i = 0; i < q.length && !this.stopped; i++) this.call(q[i]!);
    this.queue = undefined;
  }

  startBookmarks(clock: Clock, everyMs: number, bookmark: () => WatchEvent): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.deliver(bookmark());
      this.timer = clock.setTimeout(tick, everyMs);
    };
    this.timer = clock.setTimeout(tick, everyMs);
  }

  stop(clock: Clock): void {
    this.stopped = true;
    if (this.timer) clock.clearTimeout(this.timer);
    this.queue = undefined;
  }
}

export class WatchHub {
  /** Ring buffer of retained events, oldest at `head`. */
  private ring: (HubEvent | undefined)[];
  private head = 0;
  private count = 0;
  /** Watches from rv ≥ floor can be served: every event after it is retained. */
  private floor: number;
  /** rv of the last published event. */
  private last: number;
  private watchers = new Set<Watcher>();

  constructor(private readonly clock: Clock, startRv: number, private readonly limit = DEFAULT_HISTORY_LIMIT) {
    if (!Number.isInteger(limit) || limit < 1) throw badRequest(`historyLimit ${limit} is not valid: expected a positive integer`);
    this.ring = new Array(limit);
    this.floor = startRv;
    this.last = startRv;
  }

  lastRv(): number { return this.last; }
  oldestResumableRv(): number { return this.floor; }
  watcherCount(): number { return this.watchers.size; }

  publish(full: HubEvent): void {
    // The ring keeps what watchers read and nothing more: the JSON, and for selectors only the
    // name, namespace and labels, not the object trees of up to 10,000 past versions (a readiness
    // run of 400 services ends with ~4-5 MB less live heap after a full GC: 118-119 MB against
    // 123-125 MB). The number of major GCs did not change measurably: it varied 1-12 per run
    // either way.
    const ev: HubEvent = { ...full, obj: selectorView(full.obj), prev: full.prev && { obj: selectorView(full.prev.obj), json: full.prev.json } };
    if (this.count === this.limit) {
      this.floor = this.ring[this.head]!.rv;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.limit;
      this.count--;
    }
    this.ring[(this.head + this.count) % this.limit] = ev;
    this.count++;
    this.last = ev.rv;
    for (const w of this.watchers) {
      const out = w.convert(ev);
      if (out) w.deliver(out);
    }
  }

  /** Drops history up to and including rv. */
  compact(rv: number): void {
    const upTo = Math.min(rv, this.last);
    while (this.count > 0 && this.ring[this.head]!.rv <= upTo) {
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.limit;
      this.count--;
    }
    if (upTo > this.floor) this.floor = upTo;
  }

  watch(resource: string, opts: WatchOptions, handler: WatchHandler): Watch {
    if (resource !== '*' && !kindById(resource)) throw badRequest(`unknown resource "${resource}" to watch: expected a resource id such as "serving.knative.dev/services", or "*"`, resource);
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector);
    const rvText = opts.resourceVersion ?? '';
    // '' and '0' mean "from now" (list+watch is the caller's job, see store.ts).
    const from = rvText === '' || rvText === '0' ? this.last : parseResourceVersion(rvText, 'watch resourceVersion');
    if (from < this.floor) throw gone(rvText, this.floor);
    const interval = opts.bookmarkIntervalMs;
    if (interval !== undefined && !(interval > 0)) throw badRequest(`bookmarkIntervalMs ${interval} is not valid: expected a positive number of milliseconds`);
    const w = new Watcher(resource, opts.namespace || undefined, labels, fields, from, handler);
    this.watchers.add(w);
    // Replay retained events after `from` into the watcher's queue now (so nothing published
    // meanwhile can overtake them), and hand them to the handler in a microtask, after watch() returns.
    for (let i = 0; i < this.count; i++) {
      const ev = this.ring[(this.head + i) % this.limit]!;
      if (ev.rv <= from) continue;
      const out = w.convert(ev);
      if (out) w.deliver(out);
    }
    queueMicrotask(() => w.drain());
    if (interval !== undefined) {
      const kind = resource === '*' ? undefined : kindById(resource);
      w.startBookmarks(this.clock, interval, () => ({
        type: 'BOOKMARK',
        object: { apiVersion: kind ? apiVersionOf(kind) : 'v1', kind: kind ? kind.kind : 'Bookmark', metadata: { resourceVersion: String(Math.max(this.last, w.fromRv)) } },
      }));
    }
    return { stop: () => { w.stop(this.clock); this.watchers.delete(w); } };
  }

  /** Stops every watcher (store close). */
  stopAll(): void {
    for (const w of this.watchers) w.stop(this.clock);
    this.watchers.clear();
  }
}
