/**
 * Debounce, as Istio's pilot does it: changes are merged until none has arrived for
 * `afterMs` (quiet period), or until `maxMs` have passed since the first one, whichever comes
 * first; then the merged ChangeSet is flushed once. One timer at a time (it is re-armed for the
 * remaining time rather than cleared on every event, so a burst of 10,000 events costs 10,000
 * map inserts and a handful of timers).
 *
 * Leading edge (`leading`, sluice's default): a change that finds the debouncer idle — nothing
 * pending and no flush within the last quiet period — is flushed on the next turn of the event
 * loop instead of after 100 ms of quiet. A lone change (one new Route) is then not delayed at all.
 * Changes that follow a leading flush within the quiet period get one follow-up flush, `afterMs`
 * after the leading one (a new Service's Ingress is written, then rewritten ~100 ms later when its
 * revision is ready: the rewrite used to wait a whole quiet period after itself). Everything after
 * the follow-up waits for the quiet period (or the maximum) as in Istio, so a burst costs at most
 * two extra flushes and flushes are never closer than `afterMs` after the leading one.
 * `leading: false` is Istio's PILOT_DEBOUNCE_AFTER behaviour exactly.
 *
 * Throttle (`throttle`, with `leading`): every change after a flush gets its flush `afterMs` after
 * that flush, quiet or not — changes that keep coming are flushed every `afterMs` instead of
 * waiting for a quiet period (up to `maxMs`). A change then waits at most `afterMs`, at the price
 * of up to 1,000/`afterMs` flushes a second under continuous churn: worth it when a flush costs
 * little (incremental translation), not when every flush recomputes the mesh.
 */
import type { Clock, Timer } from '../../lib/clock.ts';
import { SluiceError } from '../../lib/errors.ts';
import { addChange, newChangeSet, type Change, type ChangeSet } from './change-set.ts';

export interface DebounceOptions { afterMs: number; maxMs: number; leading?: boolean; throttle?: boolean }
export const DEFAULT_DEBOUNCE: Required<DebounceOptions> = { afterMs: 100, maxMs: 1_000, leading: true, throttle: false };

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
  /** When the last flush happened (leading edge: only after a whole quiet period without one). */
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  /** The pending set is flushed when its timer fires, quiet or not (leading edge or its follow-up). */
  private flushWhenDue = false;
  /** The last flush was a leading one: the next changes may have their follow-up flush. */
  private followUpAllowed = false;

  constructor(clock: Clock, opts: DebounceOptions, flush: (cs: ChangeSet, flushedAt: number) => void) {
    this.clock = clock;
    this.opts = validateDebounce(opts);
    this.flush = flush;
  }

  add(change: Change): void {
    const now = this.clock.now();
    const idle = !this.pending && !this.timer && now - this.lastFlushAt >= this.opts.afterMs;
    if (!this.pending) this.pending = newChangeSet(now);
    addChange(this.pending, change, now);
    if (idle && this.opts.leading) {
      // Next tick, so the changes of one store write (an object and what its handlers touch) go together.
      this.flushWhenDue = true;
      this.followUpAllowed = true;
      this.arm(0);
      return;
    }
    if (this.timer) return;
    if ((this.followUpAllowed || this.opts.throttle) && this.opts.leading) {
      // The first changes after a leading flush (throttle: after any flush): one flush a quiet
      // period after that flush.
      this.followUpAllowed = false;
      this.flushWhenDue = true;
      this.arm(Math.max(0, this.lastFlushAt + this.opts.afterMs - now));
      return;
    }
    this.arm(this.opts.afterMs);
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
    if (this.flushWhenDue || quiet >= this.opts.afterMs || elapsed >= this.opts.maxMs) {
      this.flushWhenDue = false;
      this.pending = undefined;
      this.lastFlushAt = now;
      this.flush(cs, now);
      return;
    }
    this.arm(Math.min(this.opts.afterMs - quiet, this.opts.maxMs - elapsed));
  }

  /** Takes the pending changes without flushing them (another lane's flush carries them). */
  take(): ChangeSet | undefined {
    if (this.timer) { this.clock.clearTimeout(this.timer); this.timer = undefined; }
    this.flushWhenDue = false;
    const cs = this.pending;
    this.pending = undefined;
    return cs;
  }

  /** Flushes whatever is pending now (shutdown, tests). */
  flushNow(): void {
    const cs = this.take();
    if (cs) { this.lastFlushAt = this.clock.now(); this.flush(cs, this.lastFlushAt); }
  }

  stop(): void { this.take(); }
}
