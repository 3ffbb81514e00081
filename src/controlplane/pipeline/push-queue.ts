/**
 * The per-proxy push queue: each connection has at most one pending push; a newer snapshot
 * replaces a queued one (the proxy gets the latest state once, not every intermediate one), and
 * keeps its place and original enqueue time. At most `maxConcurrent` pushes are being written at
 * once (Istio's PILOT_PUSH_THROTTLE); a push ends when its responses were handed to the transport
 * (or held by flow control).
 */
import type { Clock } from '../../lib/clock.ts';
import { errorMessage } from '../../lib/errors.ts';
import { log } from '../../lib/log.ts';
import type { Snapshot } from '../xds/snapshot.ts';
import type { ProxyConnection } from '../xds/proxy-connection.ts';

interface Pending { snapshot: Snapshot; enqueuedAt: number }

export interface PushQueueOptions {
  clock: Clock;
  maxConcurrent: number;
  /** Called when a push leaves the queue, with the time it waited (ms). */
  onDequeue?: (conn: ProxyConnection, waitedMs: number) => void;
  /** Called when a push finished writing, with the time it took (ms). */
  onPushed?: (conn: ProxyConnection, tookMs: number) => void;
}

export class PushQueue {
  private readonly opts: PushQueueOptions;
  private readonly pending = new Map<ProxyConnection, Pending>(); // insertion order = FIFO
  private readonly running = new Set<ProxyConnection>();
  private idleWaiters: (() => void)[] = [];

  constructor(opts: PushQueueOptions) {
    this.opts = { ...opts, maxConcurrent: Math.max(1, Math.floor(opts.maxConcurrent)) };
  }

  /** Queues `snapshot` for `conn`, replacing a push still waiting for it. */
  enqueue(conn: ProxyConnection, snapshot: Snapshot): void {
    if (conn.closed) return;
    const cur = this.pending.get(conn);
    if (cur) cur.snapshot = snapshot;
    else this.pending.set(conn, { snapshot, enqueuedAt: this.opts.clock.now() });
    this.drain();
  }

  remove(conn: ProxyConnection): void {
    this.pending.delete(conn);
  }

  get queued(): number { return this.pending.size; }
  get active(): number { return this.running.size; }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending.size === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private drainScheduled = false;
  /**
   * The next pushes start on the next turn of the event loop, not in the same microtask run: a
   * push's bytes go out on the socket only once the event loop turns (http2 flushes its sessions
   * then), so writing all 1,000 pushes of a change in one run held every proxy's response back
   * until the last was written. Now each round of `maxConcurrent` pushes is on the wire while the
   * next round is written.
   */
  private drainSoon(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => { this.drainScheduled = false; this.drain(); });
  }

  private drain(): void {
    while (this.running.size < this.opts.maxConcurrent) {
      let next: [ProxyConnection, Pending] | undefined;
      // The first queued connection that is not being pushed right now (its newer push waits).
      for (const e of this.pending) if (!this.running.has(e[0])) { next = e; break; }
      if (!next) break;
      const [conn, p] = next;
      this.pending.delete(conn);
      this.running.add(conn);
      const start = this.opts.clock.now();
      this.opts.onDequeue?.(conn, start - p.enqueuedAt);
      conn.push(p.snapshot)
        .catch((e: unknown) => log.warn({ proxy: conn.proxy.id, err: errorMessage(e) }, 'xds: push failed'))
        .finally(() => {
          this.running.delete(conn);
          this.opts.onPushed?.(conn, this.opts.clock.now() - start);
          this.drainSoon();
        });
    }
    if (this.pending.size === 0 && this.running.size === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }
}
