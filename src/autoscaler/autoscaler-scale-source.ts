/**
 * The autoscaler as the revision reconciler's ScaleSource: the Multiscaler decides, and every
 * change of a revision's desired scale re-enqueues the revision, which asks the runtime for
 * that many pods (the actuator). Stats come in through `podStats` (each pod's queue-proxy role,
 * once a second) and `demand` (the activator: its queue depth, then a poke so scale-from-zero
 * does not wait for the next tick). The KPA reads ready pods from the runtime; the CPU class
 * reads each pod process's CPU from /proc.
 *
 * Each decision also sets the revision's activator mode (activator-mode.ts): proxy while the
 * KPA says the activator belongs in the request path, serve otherwise (the CPU class always
 * serves, as Knative's HPA reconciler does); `onModeChange` tells the publisher that writes it
 * onto the revision's Endpoints.
 *
 * A revision is watched from its first reconcile on. Reserve revisions (no Route sends them
 * traffic and they are not their Configuration's newest) are not autoscaled: the reconciler's
 * default applies to them (zero pods), as Knative scales them to zero.
 */
import type { Revision } from '../api/types/knative.ts';
import type { Clock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import { resumedScale, type ScaleSource } from '../reconcilers/revision/scale-source.ts';
import type { RoutingState } from '../reconcilers/revision/routing-state.ts';
import type { PodState } from '../runtime/pod-process.ts';
import type { ActivatorMode } from './activator-mode.ts';
import type { AutoscalerConfig } from './config.ts';
import type { HpaInput } from './hpa-decider.ts';
import { Multiscaler, type ScaleDecision } from './multiscaler.ts';
import { PodCpuSampler, parseCpuQuantity } from './pod-cpu.ts';
import { ACTIVATOR_POD_ID, type PodStat } from './revision-autoscaler.ts';
import { revisionScalingSpec } from './scaling-spec.ts';

export interface AutoscalerScaleSourceOptions {
  config: AutoscalerConfig;
  clock: Clock;
  /** The revision's pods now (the runtime); read lazily because the runtime starts later. */
  pods: (revisionKey: string) => readonly PodState[];
  /**
   * Whether a pod counts as ready for the KPA (default: its process passed readiness). sluice
   * counts the pods the revision's Endpoints list as ready, as Knative counts the private
   * service's ready endpoints: a pod whose Ready is held back (e.g. until the mesh proxy listens
   * in front of it) is not yet capacity, and a revision is not scaled to zero before it served.
   */
  isReady?: (revisionKey: string, pod: PodState) => boolean;
  /** Knative's routing state of a revision (active / pending / reserve). */
  routingState: (rev: Revision) => RoutingState;
  cpu?: PodCpuSampler;
}

export class AutoscalerScaleSource implements ScaleSource {
  readonly multiscaler: Multiscaler;
  private readonly desired = new Map<string, number>();
  private readonly revisions = new Map<string, Revision>();
  private readonly badSpec = new Map<string, string>();
  private readonly listeners = new Set<(key: string) => void>();
  private readonly modes = new Map<string, ActivatorMode>();
  private readonly modeListeners = new Set<(key: string) => void>();
  private readonly cpu: PodCpuSampler;
  /** The last decision per revision (diagnostics, tests). */
  readonly decisions = new Map<string, ScaleDecision>();

  constructor(private readonly o: AutoscalerScaleSourceOptions) {
    this.cpu = o.cpu ?? new PodCpuSampler();
    this.multiscaler = new Multiscaler(o.clock, {
      tickIntervalMs: o.config.tickIntervalMs,
      readyPods: (key) => this.live(key).filter((p) => p.ready && (o.isReady?.(key, p) ?? true)).length,
      cpuInput: (key) => this.cpuInput(key),
      onDecision: (key, d) => this.decided(key, d),
    });
  }

  start(): void { this.multiscaler.start(); }
  stop(): void { this.multiscaler.stop(); }

  private live(key: string): PodState[] { return this.o.pods(key).filter((p) => !p.terminating && !p.finished); }

  desiredScale(key: string, rev: Revision): number | undefined {
    const state = this.o.routingState(rev);
    if (state === 'reserve') { this.forget(key); return undefined; }
    let spec;
    try {
      spec = revisionScalingSpec(rev.metadata.annotations, rev.spec?.containerConcurrency ?? 0, this.o.config, state === 'active');
      this.badSpec.delete(key);
    } catch (e) {
      // Admission rejects bad annotations; one that slipped through leaves the revision at its default scale.
      if (this.badSpec.get(key) !== errorMessage(e)) log.warn({ revision: key, err: errorMessage(e) }, 'autoscaler: revision not autoscaled');
      this.badSpec.set(key, errorMessage(e));
      this.forget(key);
      return undefined;
    }
    this.revisions.set(key, rev);
    const resume = resumedScale(rev);
    this.multiscaler.watch(key, spec, resume);
    // Until its first decision, a revision that already ran keeps the scale its status records
    // (after a restart: no pod for a revision at zero in the moment before the first tick).
    return this.desired.get(key) ?? resume;
  }

  /** The revision is gone (or no longer autoscaled). */
  forget(key: string): void {
    this.multiscaler.unwatch(key);
    this.desired.delete(key);
    this.revisions.delete(key);
    this.decisions.delete(key);
    if (this.modes.delete(key)) this.modeChanged(key);
  }

  /** The revision's activator mode from the last decision; undefined = no opinion (not watched or not decided yet). */
  activatorMode(key: string): ActivatorMode | undefined { return this.modes.get(key); }

  /** Called with a revision key whenever its activator mode changes. Returns an unsubscribe. */
  onModeChange(fn: (key: string) => void): () => void {
    this.modeListeners.add(fn);
    return () => this.modeListeners.delete(fn);
  }

  private modeChanged(key: string): void {
    for (const l of this.modeListeners) {
      try { l(key); } catch (e) { log.error({ err: errorMessage(e) }, 'autoscaler: mode listener threw'); }
    }
  }

  subscribe(fn: (key: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** containerConcurrency of a watched revision (0 = unlimited or unknown). */
  containerConcurrency(key: string): number { return this.revisions.get(key)?.spec?.containerConcurrency ?? 0; }

  /** A pod's last second, from its queue-proxy role. */
  podStats(key: string, podId: string, stat: PodStat): void {
    try { this.multiscaler.report(key, podId, stat); } catch (e) { log.warn({ revision: key, pod: podId, err: errorMessage(e) }, 'autoscaler: bad pod stat'); }
  }

  /** The activator buffers requests for `key`: count them and decide now. */
  demand(key: string, stat: PodStat): void {
    this.podStats(key, ACTIVATOR_POD_ID, stat);
    // Scale from zero: no pod runs or starts, so do not wait for the next tick.
    if (stat.concurrency > 0 && this.live(key).length === 0) this.multiscaler.poke(key);
  }

  private cpuInput(key: string): HpaInput {
    const rev = this.revisions.get(key);
    const req = rev?.spec?.containers?.[0]?.resources?.requests?.cpu;
    let cores = 1;
    if (req !== undefined) {
      try { cores = parseCpuQuantity(req, `Revision ${key}: spec.containers[0].resources.requests.cpu`); } catch (e) { log.warn({ revision: key, err: errorMessage(e) }, 'autoscaler: using 1 CPU as the request'); }
    }
    const pods = this.live(key);
    const samples = this.cpu.sample(pods.map((p) => ({
      podId: p.name, pid: p.pid, startedAt: p.startedAt, ready: p.ready, ...(p.ready ? { readySince: p.readyChangedAt } : {}),
    })), cores, this.o.clock.now());
    return { currentReplicas: pods.length, pods: samples };
  }

  private decided(key: string, d: ScaleDecision): void {
    this.decisions.set(key, d);
    const mode: ActivatorMode = d.kind === 'kpa' && d.activatorInPath ? 'proxy' : 'serve';
    if (this.modes.get(key) !== mode) {
      log.info({ revision: key, from: this.modes.get(key), to: mode, ...(d.kind === 'kpa' ? { excessBurstCapacity: d.excessBurstCapacity, desired: d.desiredScale } : {}) }, 'autoscaler: activator mode changed');
      this.modes.set(key, mode);
      this.modeChanged(key);
    }
    if (d.kind === 'hpa') log.debug({ revision: key, desired: d.desiredScale, recommendation: d.recommendation, usageRatio: d.usageRatio, counted: d.counted, ignored: d.ignored, missing: d.missing, reason: d.reason }, 'autoscaler: cpu decision');
    if (this.desired.get(key) === d.desiredScale) return;
    log.info({ revision: key, from: this.desired.get(key), to: d.desiredScale, class: d.kind }, 'autoscaler: desired scale changed');
    this.desired.set(key, d.desiredScale);
    for (const l of this.listeners) {
      try { l(key); } catch (e) { log.error({ err: errorMessage(e) }, 'autoscaler: scale listener threw'); }
    }
  }
}
