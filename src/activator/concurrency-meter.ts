/**
 * What Knative's queue-proxy measures for the autoscaler: the time-weighted average number of
 * requests in flight over a reporting interval (1 s) and the requests that arrived in it.
 * Pure: every call takes `now`, so tests drive it with plain numbers.
 *
 * Average concurrency over [t0, t1] = ∫ inFlight(t) dt / (t1 − t0): a request in flight for
 * half of the second counts 0.5, ten requests each in flight for the whole second count 10.
 */
import type { PodStat } from '../autoscaler/revision-autoscaler.ts';

export class ConcurrencyMeter {
  private inFlight = 0;
  private since: number;
  private area = 0; // request·ms accumulated since the last report
  private arrivals = 0;
  private lastChange: number;

  constructor(now: number) {
    this.since = now;
    this.lastChange = now;
  }

  /** Requests in flight right now. */
  get current(): number { return this.inFlight; }

  private advance(now: number): void {
    const t = Math.max(now, this.lastChange);
    this.area += this.inFlight * (t - this.lastChange);
    this.lastChange = t;
  }

  /** A request arrived (it counts from now until `end`). */
  start(now: number): void {
    this.advance(now);
    this.inFlight++;
    this.arrivals++;
  }

  /** A request finished (answered, failed or abandoned). */
  end(now: number): void {
    this.advance(now);
    if (this.inFlight > 0) this.inFlight--;
  }

  /**
   * The interval since the last report: average concurrency and requests per second; starts a
   * new interval. An empty interval (now ≤ last report) reports the current in-flight count.
   */
  report(now: number): PodStat {
    this.advance(now);
    const span = now - this.since;
    const stat: PodStat = span > 0
      ? { concurrency: this.area / span, rps: (this.arrivals * 1000) / span }
      : { concurrency: this.inFlight, rps: 0 };
    this.since = Math.max(now, this.since);
    this.area = 0;
    this.arrivals = 0;
    return stat;
  }
}
