/**
 * The per-revision scaling spec: the cluster-wide config-autoscaler values overridden by the
 * revision's `autoscaling.knative.dev/*` annotations, resolved the way Knative's
 * ResolveMetricTarget and the PodAutoscaler defaults do. The deciders take only this.
 */
import { SluiceError } from '../lib/errors.ts';
import type { AutoscalerClass, AutoscalerConfig, HpaBehavior } from './config.ts';
import { HPA_CLASS, KPA_CLASS, TARGET_MIN, readScalar } from './config.ts';
import { autoscalingAnnotationKey, UNKNOWN_AUTOSCALING_ANNOTATION } from '../api/types/knative.ts';
import { formatDuration } from './duration.ts';

export type ScalingMetric = 'concurrency' | 'rps' | 'cpu';

export interface ScalingSpec {
  class: AutoscalerClass;
  metric: ScalingMetric;
  /** What one pod should carry: target × utilization (concurrency, rps) or the CPU utilization percent (cpu). */
  targetValue: number;
  /** One pod's full capacity (containerConcurrency or the target): the excess-burst-capacity unit. */
  totalValue: number;
  targetBurstCapacity: number; // -1 = activator always in path, 0 = only at zero
  panicThreshold: number; // ratio: 2 = 200 %
  stableWindowMs: number;
  panicWindowMs: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  minScale: number;
  maxScale: number; // 0 = unbounded
  initialScale: number;
  /** Lowest non-zero scale when scaling up from zero (annotation activation-scale, default 1). */
  activationScale: number;
  scaleDownDelayMs: number;
  enableScaleToZero: boolean;
  scaleToZeroGracePeriodMs: number;
  scaleToZeroPodRetentionPeriodMs: number;
  activatorCapacity: number;
  /** False while the revision gets no traffic from any route: min-scale then does not apply (Knative). */
  reachable: boolean;
  hpa: { cpuInitializationPeriodMs: number; excludeWarmingPods: boolean; tolerance: number; syncPeriodMs: number; behavior: HpaBehavior };
}

/**
 * Builds a revision's ScalingSpec from its annotations (all of metadata.annotations may be
 * passed; only `autoscaling.knative.dev/*` are read), its containerConcurrency (0 = unlimited)
 * and the config. An unknown autoscaling annotation or a bad value is a SluiceError
 * (SLUICE_E_AUTOSCALING_ANNOTATION) naming the annotation.
 */
export function revisionScalingSpec(annotations: Readonly<Record<string, string>> | undefined, containerConcurrency: number, cfg: AutoscalerConfig, reachable = true): ScalingSpec {
  const ann = new Map<string, { name: string; value: string }>();
  for (const [name, value] of Object.entries(annotations ?? {})) {
    const key = autoscalingAnnotationKey(name);
    if (key === undefined) continue;
    if (key === null) throw annErr(name, value, UNKNOWN_AUTOSCALING_ANNOTATION);
    ann.set(key, { name, value });
  }
  const num = (key: string, kind: 'number' | 'int' | 'duration'): number | undefined => {
    const a = ann.get(key);
    if (!a) return undefined;
    return readScalar(kind, a.value, (want) => annErr(a.name, a.value, want)) as number;
  };
  const check = (key: string, ok: boolean, want: string) => {
    const a = ann.get(key);
    if (a && !ok) throw annErr(a.name, a.value, want);
  };
  if (!Number.isInteger(containerConcurrency) || containerConcurrency < 0) {
    throw new SluiceError('SLUICE_E_AUTOSCALING_ANNOTATION', `spec.containerConcurrency must be a whole number ≥ 0, got ${containerConcurrency}`, { httpStatus: 400 });
  }

  const classA = ann.get('class');
  const cls = (classA?.value ?? cfg.podAutoscalerClass) as AutoscalerClass;
  if (cls !== KPA_CLASS && cls !== HPA_CLASS) throw annErr(classA!.name, classA!.value, `must be ${KPA_CLASS} or ${HPA_CLASS}`);
  const metricA = ann.get('metric');
  const metric = (metricA?.value ?? (cls === HPA_CLASS ? 'cpu' : 'concurrency')) as ScalingMetric;
  const allowed: ScalingMetric[] = cls === HPA_CLASS ? ['cpu'] : ['concurrency', 'rps'];
  if (!allowed.includes(metric)) throw annErr(metricA!.name, metricA!.value, `must be ${allowed.join(' or ')} for class ${cls}`);

  const target = num('target', 'number');
  check('target', target === undefined || target >= TARGET_MIN, `must be at least ${TARGET_MIN}`);
  const tuPct = num('target-utilization-percentage', 'number');
  check('target-utilization-percentage', tuPct === undefined || (tuPct >= 1 && tuPct <= 100), 'must be between 1 and 100');

  let targetValue: number, totalValue: number;
  if (metric === 'cpu') {
    totalValue = target ?? cfg.hpaTargetUtilizationDefault;
    targetValue = totalValue;
  } else {
    const tu = (tuPct ?? cfg.containerConcurrencyTargetPercentage) / 100;
    if (metric === 'rps') totalValue = target ?? cfg.requestsPerSecondTargetDefault;
    else {
      totalValue = containerConcurrency > 0 ? containerConcurrency : cfg.containerConcurrencyTargetDefault;
      if (target !== undefined) totalValue = containerConcurrency > 0 ? Math.min(target, containerConcurrency) : target;
    }
    targetValue = Math.max(TARGET_MIN, totalValue * tu);
  }

  const minScale = num('min-scale', 'int') ?? cfg.minScale;
  const maxScale = num('max-scale', 'int') ?? cfg.maxScale;
  check('min-scale', minScale >= 0, 'must be a whole number ≥ 0');
  check('max-scale', maxScale >= 0, 'must be a whole number ≥ 0 (0 = unbounded)');
  check('max-scale', cfg.maxScaleLimit === 0 || (maxScale > 0 && maxScale <= cfg.maxScaleLimit), `must be between 1 and max-scale-limit (${cfg.maxScaleLimit})`);
  if (maxScale > 0 && minScale > maxScale) {
    const a = ann.get('min-scale') ?? ann.get('max-scale')!;
    throw annErr(a.name, a.value, `min-scale (${minScale}) must not exceed max-scale (${maxScale})`);
  }
  const initialScale = num('initial-scale', 'int') ?? cfg.initialScale;
  check('initial-scale', initialScale >= 0, 'must be a whole number ≥ 0');
  check('initial-scale', initialScale > 0 || cfg.allowZeroInitialScale, 'may be 0 only when the config sets allow-zero-initial-scale: true');

  const scaleDownDelayMs = num('scale-down-delay', 'duration') ?? cfg.scaleDownDelayMs;
  check('scale-down-delay', scaleDownDelayMs <= 3_600_000 && scaleDownDelayMs % 1000 === 0, 'must be whole seconds between 0s and 1h');
  const stableWindowMs = num('window', 'duration') ?? cfg.stableWindowMs;
  check('window', stableWindowMs >= 1000 && stableWindowMs <= 3_600_000 && stableWindowMs % 1000 === 0, `must be whole seconds between ${formatDuration(1000)} and 1h`);
  const panicPct = num('panic-window-percentage', 'number') ?? cfg.panicWindowPercentage;
  check('panic-window-percentage', panicPct >= 1 && panicPct <= 100, 'must be between 1 and 100');
  const thresholdPct = num('panic-threshold-percentage', 'number') ?? cfg.panicThresholdPercentage;
  check('panic-threshold-percentage', thresholdPct >= 110 && thresholdPct <= 1000, 'must be between 110 and 1000');
  const tbc = num('target-burst-capacity', 'number') ?? cfg.targetBurstCapacity;
  check('target-burst-capacity', tbc >= 0 || tbc === -1, 'must be -1 (activator always in path), 0 or positive');
  const retentionMs = num('scale-to-zero-pod-retention-period', 'duration') ?? cfg.scaleToZeroPodRetentionPeriodMs;
  check('scale-to-zero-pod-retention-period', retentionMs >= 0 && retentionMs <= 3_600_000, 'must be between 0s and 1h');
  const activationScale = num('activation-scale', 'int');
  check('activation-scale', activationScale === undefined || activationScale >= 1, 'must be a whole number ≥ 1');

  return {
    class: cls,
    metric,
    targetValue,
    totalValue,
    targetBurstCapacity: tbc,
    panicThreshold: thresholdPct / 100,
    stableWindowMs,
    // Knative: panic window = stable window × percentage, at least one 1 s bucket.
    panicWindowMs: Math.max(1000, Math.round((stableWindowMs * panicPct) / 100)),
    maxScaleUpRate: cfg.maxScaleUpRate,
    maxScaleDownRate: cfg.maxScaleDownRate,
    minScale,
    maxScale,
    initialScale,
    activationScale: activationScale ?? 1,
    scaleDownDelayMs,
    enableScaleToZero: cfg.enableScaleToZero,
    scaleToZeroGracePeriodMs: cfg.scaleToZeroGracePeriodMs,
    scaleToZeroPodRetentionPeriodMs: retentionMs,
    activatorCapacity: cfg.activatorCapacity,
    reachable,
    hpa: { cpuInitializationPeriodMs: cfg.cpuInitializationPeriodMs, excludeWarmingPods: cfg.excludeWarmingPods, tolerance: cfg.hpaTolerance, syncPeriodMs: cfg.hpaSyncPeriodMs, behavior: cfg.hpaBehavior },
  };
}

function annErr(name: string, value: string, want: string): SluiceError {
  return new SluiceError('SLUICE_E_AUTOSCALING_ANNOTATION', `metadata.annotations["${name}"]: ${want}, got ${JSON.stringify(value)}`, { httpStatus: 400, details: { annotation: name } });
}
