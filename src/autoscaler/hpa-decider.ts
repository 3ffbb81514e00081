/**
 * The CPU class (`hpa.autoscaling.knative.dev`, metric cpu), as a pure function with the
 * Kubernetes HorizontalPodAutoscaler's algorithm:
 *
 * 1. Pods are sorted into counted (ready, with a CPU sample, past the CPU initialization period
 *    after readiness), ignored (not ready; in the initialization period with a sample that began
 *    before readiness, as Kubernetes always does; or still warming — when `excludeWarmingPods`,
 *    the switch that fixes the cascade) and missing (ready but without a sample).
 * 2. usageRatio = mean(counted CPU %) / target %. Without ignored or missing pods: within the
 *    tolerance (0.1) → keep, else ceil(usageRatio × counted). Otherwise Kubernetes' rebalance:
 *    on a scale-up ignored pods count as 0 %, missing pods as 0 % (scale-up) or 100 % of target
 *    (scale-down), and the result is dropped if it is within tolerance or flips direction.
 * 3. Behavior: the recommendation is stabilized (scale-up: minimum over the scaleUp window,
 *    default 0 s; scale-down: maximum over the scaleDown window, default 300 s), then limited by
 *    the rate policies counted from the replicas at the start of each policy's period
 *    (default up: max(+100 %, +4 pods) per 15 s; down: −100 % per 15 s), then min/max scale.
 *
 * Warming pods show high CPU (JIT, caches). Counting them makes each scale-up raise the average
 * and ask for more pods: the cascade of the source material. Excluding them (the default)
 * breaks the loop. The HPA class never scales to zero (at least one pod, as Kubernetes' HPA).
 */
import type { HpaScalingRules } from './config.ts';
import type { ScalingSpec } from './scaling-spec.ts';

export interface PodCpuSample {
  podId: string;
  ready: boolean;
  /** When the pod last became ready (epoch ms). */
  readySince?: number;
  /** CPU use as a percentage of the pod's CPU request (100 = one full request); undefined = no sample. */
  cpuUtilization?: number;
  /** Start of the interval the sample covers (epoch ms); a first sample covers the process start. */
  sampledFrom?: number;
}
export interface HpaInput { currentReplicas: number; pods: readonly PodCpuSample[] }
export interface HpaState {
  readonly recommendations: readonly { t: number; v: number }[];
  readonly scaleUpEvents: readonly { t: number; n: number }[];
  readonly scaleDownEvents: readonly { t: number; n: number }[];
}
export interface HpaDecision {
  desiredScale: number;
  /** The metric's recommendation before stabilization and rate limits. */
  recommendation: number;
  usageRatio: number | undefined;
  counted: number;
  ignored: number;
  missing: number;
  reason: string;
  state: HpaState;
}

export function initialHpaState(): HpaState {
  return { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
}

/** True while a ready pod is within the CPU initialization period after it became ready. */
export function isWarming(p: PodCpuSample, initPeriodMs: number, now: number): boolean {
  return p.ready && p.readySince !== undefined && now - p.readySince < initPeriodMs;
}

/**
 * True when the pod must be left out whatever `exclude-warming-pods` says: not ready, or still in
 * the initialization period with a sample whose interval began before the pod became ready (it
 * measures process start-up, not requests). Kubernetes' HPA always applies this rule; the switch
 * only adds the warm-up after readiness.
 */
export function sampleBeforeReady(p: PodCpuSample, initPeriodMs: number, now: number): boolean {
  return isWarming(p, initPeriodMs, now) && p.sampledFrom !== undefined && p.readySince !== undefined && p.sampledFrom < p.readySince;
}

/** Step 2: the replica count the CPU metric asks for (Kubernetes' GetResourceReplicas). */
export function metricRecommendation(spec: ScalingSpec, input: HpaInput, now: number): { replicas: number; usageRatio?: number; counted: number; ignored: number; missing: number; reason: string } {
  const { currentReplicas: current } = input;
  const target = spec.targetValue;
  const tol = spec.hpa.tolerance;
  const counted: number[] = [];
  let ignored = 0, missing = 0;
  for (const p of input.pods) {
    const init = spec.hpa.cpuInitializationPeriodMs;
    if (!p.ready || sampleBeforeReady(p, init, now) || (spec.hpa.excludeWarmingPods && isWarming(p, init, now))) ignored++;
    else if (p.cpuUtilization === undefined) missing++;
    else counted.push(p.cpuUtilization);
  }
  const base = { counted: counted.length, ignored, missing };
  if (counted.length === 0) return { ...base, replicas: current, reason: 'no CPU samples from ready pods' };
  const sum = counted.reduce((a, b) => a + b, 0);
  const usageRatio = sum / counted.length / target;
  const rebalanceIgnored = ignored > 0 && usageRatio > 1;
  if (!rebalanceIgnored && missing === 0) {
    if (Math.abs(1 - usageRatio) <= tol) return { ...base, replicas: current, usageRatio, reason: 'within tolerance' };
    return { ...base, replicas: Math.ceil(usageRatio * counted.length), usageRatio, reason: 'cpu' };
  }
  let total = sum, n = counted.length;
  if (missing > 0) { total += usageRatio < 1 ? missing * target : 0; n += missing; }
  if (rebalanceIgnored) n += ignored; // ignored pods count as 0 %
  const newRatio = total / n / target;
  if (Math.abs(1 - newRatio) <= tol || (usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1)) {
    return { ...base, replicas: current, usageRatio, reason: 'rebalanced ratio within tolerance or reversed' };
  }
  const replicas = Math.ceil(newRatio * n);
  if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return { ...base, replicas: current, usageRatio, reason: 'rebalanced change reversed' };
  return { ...base, replicas, usageRatio, reason: 'cpu (rebalanced)' };
}

function changeInPeriod(events: readonly { t: number; n: number }[], periodMs: number, now: number): number {
  let s = 0;
  for (const e of events) if (e.t > now - periodMs) s += e.n;
  return s;
}

function scaleUpLimit(current: number, state: HpaState, rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  let result = rules.selectPolicy === 'Min' ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const periodMs = p.periodSeconds * 1000;
    const start = current - changeInPeriod(state.scaleUpEvents, periodMs, now) + changeInPeriod(state.scaleDownEvents, periodMs, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = rules.selectPolicy === 'Min' ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

function scaleDownLimit(current: number, state: HpaState, rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  let result = rules.selectPolicy === 'Min' ? -Infinity : Infinity;
  for (const p of rules.policies) {
    const periodMs = p.periodSeconds * 1000;
    const start = current + changeInPeriod(state.scaleDownEvents, periodMs, now) - changeInPeriod(state.scaleUpEvents, periodMs, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = rules.selectPolicy === 'Min' ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

export function decideHpa(spec: ScalingSpec, state: HpaState, input: HpaInput, now: number): HpaDecision {
  const current = input.currentReplicas;
  const b = spec.hpa.behavior;
  const minR = Math.max(1, spec.reachable ? spec.minScale : 0);
  const maxR = spec.maxScale > 0 ? spec.maxScale : Infinity;
  const m = metricRecommendation(spec, input, now);

  // Stabilization (Kubernetes' stabilizeRecommendationWithBehaviors).
  const upCut = now - b.scaleUp.stabilizationWindowSeconds * 1000;
  const downCut = now - b.scaleDown.stabilizationWindowSeconds * 1000;
  const keepFrom = Math.min(upCut, downCut);
  const recommendations = [...state.recommendations.filter((r) => r.t > keepFrom), { t: now, v: m.replicas }];
  let up = m.replicas, down = m.replicas;
  for (const r of recommendations) {
    if (r.t > upCut) up = Math.min(up, r.v);
    if (r.t > downCut) down = Math.max(down, r.v);
  }
  let desired = current;
  if (desired < up) desired = up;
  if (desired > down) desired = down;
  let reason = m.reason;
  if (desired !== m.replicas) reason = 'stabilized';

  // Rate limits and bounds (convertDesiredReplicasWithBehaviorRate).
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, state, b.scaleUp, now));
    const allowed = Math.min(maxR, limit);
    if (desired > allowed) { desired = allowed; reason = allowed === maxR ? 'max-scale' : 'scale-up limit'; }
  } else if (desired < current) {
    const limit = Math.min(current, scaleDownLimit(current, state, b.scaleDown, now));
    const allowed = Math.max(minR, limit);
    if (desired < allowed) { desired = allowed; reason = allowed === minR ? 'min-scale' : 'scale-down limit'; }
  }
  if (desired < minR) { desired = minR; reason = 'min-scale'; }
  if (desired > maxR) { desired = maxR; reason = 'max-scale'; }

  const maxPeriod = Math.max(0, ...b.scaleUp.policies.map((p) => p.periodSeconds), ...b.scaleDown.policies.map((p) => p.periodSeconds)) * 1000;
  const recent = (e: { t: number }) => e.t > now - maxPeriod;
  const scaleUpEvents = state.scaleUpEvents.filter(recent);
  const scaleDownEvents = state.scaleDownEvents.filter(recent);
  if (desired > current) scaleUpEvents.push({ t: now, n: desired - current });
  if (desired < current) scaleDownEvents.push({ t: now, n: current - desired });

  return {
    desiredScale: desired,
    recommendation: m.replicas,
    usageRatio: m.usageRatio,
    counted: m.counted,
    ignored: m.ignored,
    missing: m.missing,
    reason,
    state: { recommendations, scaleUpEvents, scaleDownEvents },
  };
}
