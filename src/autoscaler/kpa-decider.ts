/**
 * Knative's KPA, as a pure function: `decide(spec, state, stats, now)` returns the desired
 * scale, the excess burst capacity, whether the revision is panicking, and the next state.
 * It merges Knative's autoscaler.Scale (metric → desired pods, panic mode, rate limits,
 * scale-down delay, excess burst capacity) with the KPA scaler's post-processing (initial
 * scale, min/max bounds, scale to zero after the grace period).
 *
 * Per tick (Knative ticks every 2 s):
 *  1. readyPods' = max(1, readyPods); maxUp = ceil(maxScaleUpRate × readyPods');
 *     maxDown = reachable ? floor(readyPods' / maxScaleDownRate) : 0.
 *  2. dspc = ceil(observedStable / target), dppc = ceil(observedPanic / target), each clamped to
 *     [maxDown, maxUp] (and raised to activation-scale when non-zero).
 *  3. Panic starts when dppc / readyPods' ≥ panicThreshold, is extended every tick that is still
 *     over it, and ends one stable window after the last such tick. While panicking the desired
 *     scale is max(stable, panic) and never goes below the highest value seen in this panic.
 *  4. scale-down-delay: the desired scale is the maximum over the last `scaleDownDelay`.
 *  5. Excess burst capacity = floor(readyPods × totalValue − targetBurstCapacity − observedPanic)
 *     (TBC 0 → 0, TBC −1 → −1); negative keeps the activator in the request path (proxy mode,
 *     see activator-mode.ts).
 *  6. Until the revision first reaches its initial scale, desired ≥ initial-scale.
 *  7. min-scale (only while reachable) and max-scale bounds.
 *  8. Desired 0 is held at 1 until the revision has been active for a stable window and then
 *     idle for max(scale-to-zero-grace-period, pod retention); never 0 when scale to zero is off.
 * Without data in the stable window (Knative's ErrNoData) the previous decision stands; the
 * activator mode is then computed with no observed load (ready pods' capacity against TBC).
 */
import type { ScalingSpec } from './scaling-spec.ts';
import { activatorMode, excessBurstCapacity } from './activator-mode.ts';

export interface KpaStats {
  /** Pods ready to serve now. */
  readyPods: number;
  /** Observed stable- and panic-window averages of the spec's metric; undefined = no data. */
  observed: { stable: number; panic: number } | undefined;
}

export interface KpaState {
  /** Last tick over the panic threshold while panicking; undefined = not panicking. */
  readonly panicTime?: number;
  readonly maxPanicPods: number;
  readonly delayWindow: readonly { t: number; v: number }[];
  readonly lastDesired?: number;
  /** When the revision last became active (non-zero desired); the stable-window clock for going inactive. */
  readonly activeSince?: number;
  /** When the desired scale first went to 0 after the revision had been active long enough. */
  readonly inactiveSince?: number;
  readonly initialScaleReached: boolean;
}

export interface KpaDecision {
  desiredScale: number;
  excessBurstCapacity: number;
  panicking: boolean;
  /** True when the activator should be in the request path (no pods, idle, or not enough spare capacity). */
  activatorInPath: boolean;
  /** False when there was no data and the previous decision was kept. */
  valid: boolean;
  observedStable: number;
  observedPanic: number;
  state: KpaState;
}

export function initialKpaState(): KpaState {
  return { maxPanicPods: 0, delayWindow: [], initialScaleReached: false };
}

export function applyBounds(spec: Pick<ScalingSpec, 'minScale' | 'maxScale' | 'reachable'>, x: number): number {
  let v = x;
  if (spec.reachable && v < spec.minScale) v = spec.minScale;
  if (spec.maxScale > 0 && v > spec.maxScale) v = spec.maxScale;
  return v;
}

export function decide(spec: ScalingSpec, state: KpaState, stats: KpaStats, now: number): KpaDecision {
  const readyCount = Math.max(0, stats.readyPods);
  const initialReached = state.initialScaleReached || spec.initialScale === 0 || readyCount >= spec.initialScale;

  if (stats.observed === undefined) {
    const kept = state.lastDesired ?? Math.max(spec.initialScale, spec.reachable ? spec.minScale : 0);
    const desired = applyBounds(spec, state.initialScaleReached ? kept : Math.max(kept, spec.initialScale));
    const ebc = excessBurstCapacity(spec, readyCount, 0);
    return {
      desiredScale: desired,
      excessBurstCapacity: ebc,
      panicking: state.panicTime !== undefined,
      activatorInPath: activatorMode({ readyPods: readyCount, desiredScale: desired, inactive: state.inactiveSince !== undefined, excessBurstCapacity: ebc }) === 'proxy',
      valid: false,
      observedStable: 0,
      observedPanic: 0,
      state: { ...state, lastDesired: desired, activeSince: state.activeSince ?? now, initialScaleReached: initialReached },
    };
  }

  const { stable, panic } = stats.observed;
  const readyPods = Math.max(1, readyCount);
  const maxScaleUp = Math.ceil(spec.maxScaleUpRate * readyPods);
  const maxScaleDown = spec.reachable ? Math.floor(readyPods / spec.maxScaleDownRate) : 0;

  const dspc = Math.ceil(stable / spec.targetValue);
  const dppc = Math.ceil(panic / spec.targetValue);
  let desiredStable = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
  let desiredPanic = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);
  if (spec.activationScale > 1) {
    if (dspc > 0 && desiredStable < spec.activationScale) desiredStable = spec.activationScale;
    if (dppc > 0 && desiredPanic < spec.activationScale) desiredPanic = spec.activationScale;
  }

  // Panic mode.
  const overThreshold = dppc / readyPods >= spec.panicThreshold;
  let panicTime = state.panicTime;
  let maxPanicPods = state.maxPanicPods;
  if (overThreshold) panicTime = now;
  else if (panicTime !== undefined && panicTime + spec.stableWindowMs < now) {
    panicTime = undefined;
    maxPanicPods = 0;
  }
  let desired = desiredStable;
  if (panicTime !== undefined) {
    desired = Math.max(desired, desiredPanic);
    maxPanicPods = Math.max(maxPanicPods, desired); // never scale down while panicking
    desired = maxPanicPods;
  }

  // Scale-down delay: the maximum over the delay window.
  let delayWindow = state.delayWindow;
  if (spec.scaleDownDelayMs > 0) {
    delayWindow = [...delayWindow.filter((e) => e.t > now - spec.scaleDownDelayMs), { t: now, v: desired }];
    desired = Math.max(...delayWindow.map((e) => e.v));
  } else if (delayWindow.length) delayWindow = [];

  // Excess burst capacity (from the panic value: no knee-jerk decisions on the activator).
  const ebc = excessBurstCapacity(spec, readyCount, panic);

  // KPA scaler: initial scale, bounds, scale to zero.
  if (!state.initialScaleReached) desired = Math.max(desired, spec.initialScale);
  desired = applyBounds(spec, desired);

  let activeSince = state.activeSince ?? now;
  let inactiveSince = state.inactiveSince;
  if (desired > 0) {
    if ((state.lastDesired ?? 1) === 0) activeSince = now;
    inactiveSince = undefined;
  } else if (!spec.enableScaleToZero) {
    desired = 1;
    inactiveSince = undefined;
  } else {
    // Knative: mark inactive only after the revision was active for a stable window, then wait
    // max(grace period, pod retention) with the activator in path before removing the last pod.
    if (inactiveSince === undefined && now - activeSince >= spec.stableWindowMs) inactiveSince = now;
    const wait = Math.max(spec.scaleToZeroGracePeriodMs, spec.scaleToZeroPodRetentionPeriodMs);
    const wasZero = state.lastDesired === 0;
    if (!wasZero && (inactiveSince === undefined || now - inactiveSince < wait)) desired = 1;
  }

  const inactive = inactiveSince !== undefined;
  return {
    desiredScale: desired,
    excessBurstCapacity: ebc,
    panicking: panicTime !== undefined,
    activatorInPath: activatorMode({ readyPods: readyCount, desiredScale: desired, inactive, excessBurstCapacity: ebc }) === 'proxy',
    valid: true,
    observedStable: stable,
    observedPanic: panic,
    state: { panicTime, maxPanicPods, delayWindow, lastDesired: desired, activeSince, inactiveSince, initialScaleReached: initialReached },
  };
}
