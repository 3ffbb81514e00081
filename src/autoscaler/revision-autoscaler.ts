/**
 * One revision's autoscaler: it takes the per-pod stats the queue-proxy role streams (and the
 * activator's stats while it buffers requests), keeps the stable/panic windows for the
 * revision's metric, and runs the decider with its state. Knative's per-revision "decider" in
 * the multiscaler.
 *
 * Stats contract: each pod reports once a second (zeros included) its average concurrency over
 * the last second and its requests in the last second. A second report from the same pod in
 * the same one-second bucket replaces its share by the mean of the two, so jitter in the
 * reporting does not double-count. The activator reports like a pod, under ACTIVATOR_POD_ID.
 */
import { SluiceError } from '../lib/errors.ts';
import type { HpaDecision, HpaInput, HpaState } from './hpa-decider.ts';
import { decideHpa, initialHpaState } from './hpa-decider.ts';
import type { KpaDecision, KpaState } from './kpa-decider.ts';
import { decide, initialKpaState } from './kpa-decider.ts';
import { StablePanicWindows } from './metric-window.ts';
import type { ScalingSpec } from './scaling-spec.ts';

export const ACTIVATOR_POD_ID = '__activator__';
export interface PodStat { concurrency: number; rps: number }

const BUCKET_MS = 1000;

export class RevisionAutoscaler {
  private windows: StablePanicWindows;
  private kpaState: KpaState = initialKpaState();
  private hpaState: HpaState = initialHpaState();
  private readonly lastReport = new Map<string, { bucket: number; sum: number; n: number }>();
  private lastDecision: KpaDecision | HpaDecision | undefined;

  /**
   * `resumeAt`: the scale of a revision that already reached its initial scale (a control-process
   * restart): the KPA keeps it until metrics say otherwise, and initial-scale does not apply again.
   */
  constructor(private specValue: ScalingSpec, resumeAt?: number) {
    this.windows = new StablePanicWindows(specValue.stableWindowMs, specValue.panicWindowMs, BUCKET_MS);
    if (resumeAt !== undefined) this.kpaState = { ...initialKpaState(), initialScaleReached: true, lastDesired: resumeAt };
  }

  get spec(): ScalingSpec { return this.specValue; }
  get decision(): KpaDecision | HpaDecision | undefined { return this.lastDecision; }

  /** Annotations or config changed. Windows restart only when their sizes or the metric change. */
  updateSpec(spec: ScalingSpec): void {
    const old = this.specValue;
    this.specValue = spec;
    if (old.stableWindowMs !== spec.stableWindowMs || old.panicWindowMs !== spec.panicWindowMs || old.metric !== spec.metric) {
      this.windows = new StablePanicWindows(spec.stableWindowMs, spec.panicWindowMs, BUCKET_MS);
      this.lastReport.clear();
    }
    if (old.class !== spec.class) { this.kpaState = initialKpaState(); this.hpaState = initialHpaState(); }
  }

  /** A pod's (or the activator's) last second. */
  report(podId: string, now: number, stat: PodStat): void {
    const v = this.specValue.metric === 'rps' ? stat.rps : stat.concurrency;
    if (!Number.isFinite(v) || v < 0) throw new SluiceError('SLUICE_E_POD_STAT', `autoscaler: pod "${podId}" reported ${this.specValue.metric} ${v}; expected a number ≥ 0`);
    const bucket = Math.floor(now / BUCKET_MS);
    const prev = this.lastReport.get(podId);
    if (prev && prev.bucket === bucket) {
      this.windows.record(now, -prev.sum / prev.n);
      prev.sum += v;
      prev.n++;
      this.windows.record(now, prev.sum / prev.n);
    } else {
      this.lastReport.set(podId, { bucket, sum: v, n: 1 });
      this.windows.record(now, v);
    }
  }

  /** A pod went away: forget its dedupe entry (its past samples stay in the windows, as in Knative). */
  forgetPod(podId: string): void { this.lastReport.delete(podId); }

  /** Observed stable and panic values now, or undefined without data. */
  observe(now: number): { stable: number; panic: number } | undefined { return this.windows.observe(now); }

  /** KPA class: one decider tick. */
  decideKpa(now: number, readyPods: number): KpaDecision {
    const d = decide(this.specValue, this.kpaState, { readyPods, observed: this.windows.observe(now) }, now);
    this.kpaState = d.state;
    this.lastDecision = d;
    return d;
  }

  /** CPU class: one HPA sync. */
  decideCpu(now: number, input: HpaInput): HpaDecision {
    const d = decideHpa(this.specValue, this.hpaState, input, now);
    this.hpaState = d.state;
    this.lastDecision = d;
    return d;
  }
}
