/**
 * Records v1 Events (`core/events`) about objects, like client-go's EventRecorder with its
 * correlator: the same (object, type, reason, message) within the dedup window bumps `count`
 * and `lastTimestamp` on the existing Event instead of creating a new one. Writing an event
 * never fails the caller: store errors are logged and dropped. Events are low priority: they are
 * written in the background `delayMs` after the first pending one (default 100 ms), so they never
 * sit on a reconcile's critical path (Service create → Ready); `flush()` writes them at once.
 */
import type { KubeObject } from '../api/meta.ts';
import type { EventObject } from '../api/types/core.ts';
import type { Store } from '../store/store.ts';
import type { Clock, Timer } from '../lib/clock.ts';
import { isoTime } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import { log } from '../lib/log.ts';

export const EVENTS_RESOURCE = 'core/events';
export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  store: Store;
  clock: Clock;
  component: string;
  /** Repeats within this window are folded into one Event (client-go: 10 min). */
  dedupWindowMs?: number;
  /** Bound on remembered event keys. */
  maxKeys?: number;
  /** Background write delay after the first pending event (0 = write at once). */
  delayMs?: number;
}

interface Seen { namespace: string; name: string; count: number; lastAt: number }

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly opts: Required<EventRecorderOptions>;
  private chain: Promise<void> = Promise.resolve();
  private pending: { obj: KubeObject; type: EventType; reason: string; message: string; done: () => void }[] = [];
  private timer: Timer | undefined;
  private seq = 0;

  constructor(opts: EventRecorderOptions) {
    this.opts = { dedupWindowMs: 600_000, maxKeys: 4096, delayMs: 100, ...opts };
  }

  /** Queues the event; resolves once it is written (callers usually do not await). */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const p = new Promise<void>((done) => this.pending.push({ obj, type, reason, message, done }));
    if (this.opts.delayMs <= 0) void this.flush();
    else if (!this.timer) this.timer = this.opts.clock.setTimeout(() => { this.timer = undefined; void this.flush(); }, this.opts.delayMs);
    return p;
  }

  eventf(obj: KubeObject, type: EventType, reason: string, fmt: string, ...args: unknown[]): Promise<void> {
    let i = 0;
    return this.event(obj, type, reason, fmt.replace(/%[sdv]/g, () => String(args[i++])));
  }

  /** Writes every pending event now; resolves when all queued writes are done. */
  flush(): Promise<void> {
    if (this.timer) { this.opts.clock.clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.pending;
    this.pending = [];
    for (const e of batch) {
      this.chain = this.chain.then(() => this.write(e.obj, e.type, e.reason, e.message)).catch((err) => {
        log.warn({ reason: e.reason, err: errorMessage(err) }, 'event recorder: could not write event');
      }).finally(e.done);
    }
    return this.chain;
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = this.opts.clock.now();
    const ns = obj.metadata.namespace || 'default';
    const key = [obj.kind, ns, obj.metadata.name, obj.metadata.uid ?? '', type, reason, message].join('\u0000');
    const prev = this.seen.get(key);
    if (prev && now - prev.lastAt <= this.opts.dedupWindowMs) {
      const cur = (await this.opts.store.get(EVENTS_RESOURCE, prev.namespace, prev.name)) as EventObject | undefined;
      if (cur) {
        prev.count = (cur.count ?? prev.count) + 1;
        prev.lastAt = now;
        await this.opts.store.update(EVENTS_RESOURCE, { ...cur, count: prev.count, lastTimestamp: isoTime(now) });
        return;
      }
    }
    const name = `${obj.metadata.name}.${(now * 1000 + (this.seq++ % 1000)).toString(16)}`;
    const ev: EventObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name ?? '', namespace: ns, uid: obj.metadata.uid },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: isoTime(now),
      lastTimestamp: isoTime(now),
      source: { component: this.opts.component },
    };
    await this.opts.store.create(EVENTS_RESOURCE, ev);
    if (this.seen.size >= this.opts.maxKeys) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(key, { namespace: ns, name, count: 1, lastAt: now });
  }
}
