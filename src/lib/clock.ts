/** Injected time. Production code takes a Clock; tests pass a FakeClock and advance it. */
export interface Clock {
  now(): number; // epoch milliseconds
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer): void;
}
/** A pending timer; opaque to callers, handed back to the clock that made it. */
export interface Timer { readonly __timer: unique symbol }

// The real clock's timer is node's own Timeout (unref'd), with no wrapper object and no id
// registration: the proxy sets one per forwarded request (the route timeout).
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    return setTimeout(fn, ms).unref() as unknown as Timer;
  },
  clearTimeout(t) {
    clearTimeout(t as unknown as NodeJS.Timeout);
  },
};

/** Deterministic clock: timers fire only when `advance` moves time past them, in order. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  constructor(start = Date.parse('2026-01-01T00:00:00Z')) { this.t = start; }
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { id } as unknown as Timer;
  }
  clearTimeout(t: Timer): void { this.timers.delete((t as unknown as { id: number }).id); }
  /** Moves time forward by `ms`, firing due timers in time order (timers set by timers fire too). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
  pending(): number { return this.timers.size; }
}

/**
 * RFC 3339 timestamp with millisecond precision (`2026-01-01T00:00:00.123Z`). Kubernetes writes
 * whole seconds, but RFC 3339 allows fractions and every client parses them; sluice keeps the
 * milliseconds so the readiness benchmark can measure sub-second stages from status timestamps.
 */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
