/**
 * The multiscaler: one RevisionAutoscaler per watched revision, ticked on an injected Clock —
 * KPA revisions every `tickIntervalMs` (Knative: 2 s), CPU-class revisions every HPA sync
 * period — with each decision handed to `onDecision` (the actuator scales the revision's pods
 * and the proxies' activator routing follows `activatorInPath`). `poke(key)` runs a KPA tick at
 * once: the activator calls it when a request arrives for a revision with no ready pods, so
 * scale-from-zero does not wait for the next tick.
 */
import type { Clock, Timer } from '../lib/clock.ts';
import { SluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import type { HpaDecision, HpaInput } from './hpa-decider.ts';
import type { KpaDecision } from './kpa-decider.ts';
import type { PodStat } from './revision-autoscaler.ts';
import { RevisionAutoscaler } from './revision-autoscaler.ts';
import type { ScalingSpec } from './scaling-spec.ts';

export type ScaleDecision = ({ kind: 'kpa' } & KpaDecision) | ({ kind: 'hpa' } & HpaDecision);
export interface MultiscalerOptions {
  tickIntervalMs?: number; // default 2000 (config tick-interval)
  /** Ready pods of a revision now (KPA input). */
  readyPods: (key: string) => number;
  /** Per-pod CPU samples of a revision now (CPU class input). */
  cpuInput?: (key: string) => HpaInput;
  onDecision: (key: string, d: ScaleDecision) => void;
}

interface Entry { scaler: RevisionAutoscaler; nextHpaAt: number }

export class Multiscaler {
  private readonly entries = new Map<string, Entry>();
  private timer: Timer | undefined;
  private readonly tickMs: number;

  constructor(private readonly clock: Clock, private readonly opts: MultiscalerOptions) {
    this.tickMs = opts.tickIntervalMs ?? 2000;
    if (!(this.tickMs > 0)) throw new SluiceError('SLUICE_E_AUTOSCALER_CONFIG', `multiscaler: tick interval must be positive, got ${this.tickMs} ms`);
  }

  /** Starts or updates the autoscaler of revision `key` (e.g. "namespace/revision"). */
  /** Starts (or updates) autoscaling `key`; `resumeAt`: the scale a revision that already ran had (see RevisionAutoscaler). */
  watch(key: string, spec: ScalingSpec, resumeAt?: number): void {
    const e = this.entries.get(key);
    if (e) e.scaler.updateSpec(spec);
    else this.entries.set(key, { scaler: new RevisionAutoscaler(spec, resumeAt), nextHpaAt: this.clock.now() });
  }

  unwatch(key: string): void { this.entries.delete(key); }
  has(key: string): boolean { return this.entries.has(key); }
  get(key: string): RevisionAutoscaler | undefined { return this.entries.get(key)?.scaler; }
  keys(): string[] { return [...this.entries.keys()]; }

  /** Stats from a pod's queue-proxy role or the activator; unknown revisions are ignored (it may be gone). */
  report(key: string, podId: string, stat: PodStat, now = this.clock.now()): void {
    this.entries.get(key)?.scaler.report(podId, now, stat);
  }

  /** Runs a KPA tick for `key` now (a request reached the activator); returns the decision. */
  poke(key: string): ScaleDecision | undefined {
    const e = this.entries.get(key);
    if (!e || e.scaler.spec.class !== 'kpa.autoscaling.knative.dev') return undefined;
    return this.run(key, e, this.clock.now(), true);
  }

  /** One pass over all revisions (what each timer tick does). */
  tick(): void {
    const now = this.clock.now();
    for (const [key, e] of this.entries) this.run(key, e, now, false);
  }

  start(): void {
    if (this.timer) return;
    const loop = () => { this.timer = this.clock.setTimeout(loop, this.tickMs); this.tick(); };
    this.timer = this.clock.setTimeout(loop, this.tickMs);
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(key: string, e: Entry, now: number, forced: boolean): ScaleDecision | undefined {
    try {
      let d: ScaleDecision;
      if (e.scaler.spec.class === 'hpa.autoscaling.knative.dev') {
        if (forced || now < e.nextHpaAt || !this.opts.cpuInput) return undefined;
        e.nextHpaAt = now + e.scaler.spec.hpa.syncPeriodMs;
        d = { kind: 'hpa', ...e.scaler.decideCpu(now, this.opts.cpuInput(key)) };
      } else {
        d = { kind: 'kpa', ...e.scaler.decideKpa(now, this.opts.readyPods(key)) };
      }
      this.opts.onDecision(key, d);
      return d;
    } catch (err) {
      // One revision's failure must not stop the others' scaling.
      log.error({ err, revision: key }, 'autoscaler tick failed');
      return undefined;
    }
  }
}
