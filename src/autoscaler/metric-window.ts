/**
 * Time-bucketed averages, as Knative's TimedFloat64Buckets: values are summed into buckets of
 * `granularityMs` (1 s), and the average over a window is the sum of the buckets in it divided by
 * the number of buckets between the first and the last write that fall in the window. The stable
 * window (60 s) and the panic window (6 s) are read from the same buckets.
 *
 * The caller records one value per pod per bucket (a pod's average concurrency over the last
 * second, or its requests in the last second), so a bucket holds the revision's total and the
 * window average is the revision's average total — Knative's observed stable/panic value.
 *
 * "No data" is not zero: when nothing was written during a whole window `average` returns
 * undefined (Knative's ErrNoData) and the decider keeps its previous decision. Buckets between
 * the last write and `now` do not count (Knative excludes them), so a reporter that writes every
 * second (zeros included) is what makes the average fall to zero.
 */
import { SluiceError } from '../lib/errors.ts';

export class MetricWindow {
  private readonly buckets = new Map<number, number>();
  private firstWrite = -Infinity;
  private lastWrite = -Infinity;

  /** `maxWindowMs`: the longest window that will be read (buckets older than that are dropped). */
  constructor(readonly maxWindowMs: number, readonly granularityMs = 1000) {
    if (!(granularityMs > 0) || !(maxWindowMs >= granularityMs)) {
      throw new SluiceError('SLUICE_E_METRIC_WINDOW', `metric window: need 0 < granularity (${granularityMs} ms) ≤ window (${maxWindowMs} ms)`);
    }
  }

  private index(t: number): number { return Math.floor(t / this.granularityMs); }
  private buckets_(ms: number): number { return Math.max(1, Math.round(ms / this.granularityMs)); }

  /** Adds `value` to the bucket holding time `now` (epoch ms). */
  record(now: number, value: number): void {
    if (!Number.isFinite(value)) throw new SluiceError('SLUICE_E_METRIC_WINDOW', `metric window: value must be a finite number, got ${value}`);
    const i = this.index(now);
    const max = this.buckets_(this.maxWindowMs);
    if (i - this.lastWrite >= max) {
      // Silent for a whole window: start afresh (Knative resets firstWrite and the buckets).
      this.buckets.clear();
      this.firstWrite = i;
    }
    if (i < this.firstWrite) this.firstWrite = i;
    this.buckets.set(i, (this.buckets.get(i) ?? 0) + value);
    if (i > this.lastWrite) this.lastWrite = i;
    // One bucket beyond the window is kept: a window may be read ending one bucket back.
    for (const k of this.buckets.keys()) if (k < this.lastWrite - max) this.buckets.delete(k);
  }

  /** Average per bucket over the `windowMs` ending at `now`; undefined when nothing was written in it. */
  average(now: number, windowMs = this.maxWindowMs): number | undefined {
    const w = this.buckets_(Math.min(windowMs, this.maxWindowMs));
    const n = this.index(now);
    if (this.lastWrite === -Infinity || n - this.lastWrite >= w) return undefined;
    const from = Math.max(this.firstWrite, n - w + 1);
    const to = Math.min(n, this.lastWrite);
    if (to < from) return undefined;
    let total = 0;
    for (let i = from; i <= to; i++) total += this.buckets.get(i) ?? 0;
    return total / (to - from + 1);
  }

  /** True when nothing was written in the last `windowMs` (default: the max window). */
  isEmpty(now: number, windowMs = this.maxWindowMs): boolean { return this.average(now, windowMs) === undefined; }
}

/** A revision's stable and panic windows for one metric, read from one set of buckets. */
export class StablePanicWindows {
  private readonly window: MetricWindow;
  constructor(readonly stableWindowMs: number, readonly panicWindowMs: number, granularityMs = 1000) {
    if (!(panicWindowMs > 0) || panicWindowMs > stableWindowMs) {
      throw new SluiceError('SLUICE_E_METRIC_WINDOW', `metric window: panic window (${panicWindowMs} ms) must be positive and not longer than the stable window (${stableWindowMs} ms)`);
    }
    this.window = new MetricWindow(stableWindowMs, granularityMs);
  }
  record(now: number, value: number): void { this.window.record(now, value); }

  /**
   * Observed stable and panic values, or undefined when the stable window holds no data.
   *
   * Pods report once a second each at their own phase, so the bucket of `now` is still filling
   * up: read alone it under-counts (a 1-bucket panic window — 10 % of a 6 s stable window —
   * would often read 0 with every pod busy). Knative's scraper writes all pods in one instant,
   * so its buckets are complete when read. The equivalent here: each window is read ending at
   * the last complete bucket, and ending at `now` (so a request the activator just reported
   * counts at once, as scale-from-zero needs), and the larger of the two is the observation.
   */
  observe(now: number): { stable: number; panic: number } | undefined {
    const read = (w: number): number | undefined => {
      const current = this.window.average(now, w);
      const complete = this.window.average(now - this.window.granularityMs, w);
      if (current === undefined) return complete;
      return complete === undefined ? current : Math.max(current, complete);
    };
    const stable = read(this.stableWindowMs);
    if (stable === undefined) return undefined;
    return { stable, panic: read(this.panicWindowMs) ?? 0 };
  }
}
