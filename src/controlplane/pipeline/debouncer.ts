/**
 * Debounce, as Istio's pilot does it: changes are merged until none has arrived for
 * `afterMs` (quiet period), or until `maxMs` have passed since the first one, whichever comes
 * first; then the merged ChangeSet is flushed once. One timer at a time (it is re-armed for the
 * remaining time rather than cleared on every event, so a burst of 10,000 events costs 10,000
 * map inserts and a handful of timers).
 */
import type { Clock, Timer } from '../../lib/clock.ts';
import { SluiceError } from '../../lib/errors.ts';
import { addChange, newChangeSet, type Change, type ChangeSet } from './change-set.ts';

export interface DebounceOptions { afterMs: number; maxMs: number }
export const DEFAULT_DEBOUNCE: DebounceOptions = { afterMs: 100, maxMs: 1_000 };

export function validateDebounce(o: DebounceOptions): DebounceOptions {
  if (!Number.isFinite(o.afterMs) || o.afterMs < 0) throw new SluiceError('SLUICE_E_XDS_CONFIG', `debounceAfter must be a number of milliseconds ≥ 0, got ${o.afterMs}`, { httpStatus: 400 });
  if (!Number.isFinite(o.maxMs) || o.maxMs < o.afterMs) throw new SluiceError('SLUICE_E_XDS_CONFIG', `debounceMax (${o.maxMs} ms) must be ≥ debounceAfter (${o.afterMs} ms)`, { httpStatus: 400 });
  return o;
}

export class Debouncer {
  private readonly clock: Clock;
  private readonly opts: DebounceOptions;
  private readonly flush: (cs: ChangeSet, flushedAt: number) => void;
  private pending: ChangeSet | undefined;
  private timer: Timer | undefined;

  constructor(clock: Clock, opts: DebounceOptions, flush: (cs: ChangeSet, flushedAt: number) => void) {
    this.clock = clock;
    this.opts = validateDebounce(opts);
    this.flush = flush;
  }

  add(change: Change): void {
    const now = this.clock.now();
    if (!this.pending) this.pending = newChangeSet(now);
    addChange(this.pending, change, now);
    if (!this.timer) this.arm(this.opts.afterMs);
  }

  /** Changes merged and not yet flushed. */
  get pendingEvents(): number { return this.pending?.events ?? 0; }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    this.timer = undefined;
    const cs = this.pending;
    if (!cs) return;
    const now = this.clock.now();
    const quiet = now - cs.lastAt;
    const elapsed = now - cs.firstAt;
    if (quiet >= this.opts.afterMs || elapsed >= this.opts.maxMs) {
      this.pending = undefined;
      this.flush(cs, now);
      return;
    }
    this.arm(Math.min(this.opts.afterMs - quiet, this.opts.maxMs - elapsed));
  }

  /** Takes the pending changes without flushing them (another lane's flush carries them). */
  take(): ChangeSet | undefined {
    if (this.timer) { this.clock.clearTimeout(this.timer); this.timer = undefined; }
    const cs = this.pending;
    this.pending = undefined;
    return cs;
  }

  /** Flushes whatever is pending now (shutdown, tests). */
  flushNow(): void {
    if (this.timer) { this.clock.clearTimeout(this.timer); this.timer = undefined; }
    const cs = this.pending;
    this.pending = undefined;
    if (cs) this.flush(cs, this.clock.now());
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
