/**
 * Knative autoscaling annotations (serving/pkg/apis/autoscaling/annotation_validation.go):
 * class known, metric valid for the class, integer scale bounds with min ≤ max, targets and
 * windows in range. Defaults follow Knative's config-autoscaler (allow-zero-initial-scale false,
 * no max-scale-limit).
 */
import { Annotations, autoscalingAnnotationKey, UNKNOWN_AUTOSCALING_ANNOTATION } from '../types/knative.ts';
import { child, FieldErrors, isPlainObject } from './field-errors.ts';
import { parseDuration } from './duration.ts';

export const AutoscalingClasses = {
  kpa: 'kpa.autoscaling.knative.dev',
  hpa: 'hpa.autoscaling.knative.dev',
} as const;
export const KPAMetrics = ['concurrency', 'rps'] as const;
export const HPAMetrics = ['cpu', 'memory', 'concurrency', 'rps'] as const;

const panicWindow = 'autoscaling.knative.dev/panic-window-percentage';
const panicThreshold = 'autoscaling.knative.dev/panic-threshold-percentage';
const activationScale = 'autoscaling.knative.dev/activation-scale';
const int32Max = 2 ** 31 - 1;

export interface AutoscalingLimits {
  /** 0 means no limit (Knative's default max-scale-limit). */
  maxScaleLimit: number;
  allowZeroInitialScale: boolean;
}
const defaultLimits: AutoscalingLimits = { maxScaleLimit: 0, allowZeroInitialScale: false };

function parseInt32(v: string): number | undefined {
  if (!/^[+-]?\d+$/.test(v.trim())) return undefined;
  const n = Number(v);
  return n >= -int32Max - 1 && n <= int32Max ? n : undefined;
}
function parseFloatStrict(v: string): number | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return undefined;
  return Number(v);
}

/** Validates the autoscaling annotations in `annotations`, reporting under `path` (an annotations map path). */
export function validateAutoscalingAnnotations(annotations: unknown, path: string, errs: FieldErrors, limits: AutoscalingLimits = defaultLimits): void {
  if (!isPlainObject(annotations)) return;
  const a = annotations as Record<string, unknown>;
  const at = (key: string) => child(path, key, true);
  const get = (key: string): string | undefined => (typeof a[key] === 'string' ? (a[key] as string) : undefined);

  // An autoscaling annotation sluice does not read is refused here, naming it: accepted, it would
  // leave the revision without an autoscaler (no scale to zero) and only a log line saying why.
  for (const [key, value] of Object.entries(a)) {
    if (autoscalingAnnotationKey(key) === null) errs.invalid(at(key), String(value), UNKNOWN_AUTOSCALING_ANNOTATION);
  }

  const cls = get(Annotations.class);
  const klass = cls ?? AutoscalingClasses.kpa;
  if (cls !== undefined && cls !== AutoscalingClasses.kpa && cls !== AutoscalingClasses.hpa) {
    errs.notSupported(at(Annotations.class), cls, [AutoscalingClasses.kpa, AutoscalingClasses.hpa]);
  }

  const metric = get(Annotations.metric);
  if (metric !== undefined && klass === AutoscalingClasses.kpa && !(KPAMetrics as readonly string[]).includes(metric)) {
    errs.notSupported(at(Annotations.metric), metric, KPAMetrics);
  }
  // The HPA class also accepts custom metrics, as Knative does.

  const ints: Record<string, number> = {};
  for (const key of [Annotations.minScale, Annotations.maxScale, Annotations.initialScale, activationScale]) {
    const raw = get(key);
    if (raw === undefined) continue;
    const n = parseInt32(raw);
    if (n === undefined || n < 0) { errs.invalid(at(key), raw, 'must be a non-negative integer'); continue; }
    ints[key] = n;
  }
  const min = ints[Annotations.minScale];
  const max = ints[Annotations.maxScale];
  if (min !== undefined && max !== undefined && max !== 0 && max < min) {
    errs.invalid(at(Annotations.maxScale), String(max), `max-scale=${max} is less than min-scale=${min}`);
  }
  if (limits.maxScaleLimit > 0 && max !== undefined) {
    if (max === 0 || max > limits.maxScaleLimit) errs.invalid(at(Annotations.maxScale), String(max), `expected 1 <= ${max} <= ${limits.maxScaleLimit}`);
  }
  const initial = ints[Annotations.initialScale];
  if (initial === 0 && !limits.allowZeroInitialScale) {
    errs.invalid(at(Annotations.initialScale), '0', 'initial-scale=0 not allowed by cluster (allow-zero-initial-scale is false)');
  }
  if (ints[activationScale] !== undefined && ints[activationScale]! < 1) {
    errs.invalid(at(activationScale), String(ints[activationScale]), 'must be at least 1');
  }

  const floatIn = (key: string, lo: number, hi: number, detail: string) => {
    const raw = get(key);
    if (raw === undefined) return;
    const f = parseFloatStrict(raw);
    if (f === undefined || f < lo || f > hi) errs.invalid(at(key), raw, detail);
  };
  floatIn(Annotations.target, 0.01, Number.MAX_VALUE, 'target must be a number of at least 0.01');
  floatIn(Annotations.targetUtilization, 1, 100, 'expected 1 <= value <= 100');
  floatIn(Annotations.targetBurstCapacity, -1, Number.MAX_VALUE, 'must be a number of at least -1 (-1 means unlimited)');
  floatIn(panicWindow, 1, 100, 'expected 1 <= value <= 100');
  floatIn(panicThreshold, 110, 1000, 'expected 110 <= value <= 1000');

  const durationIn = (key: string, lo: number, hi: number, detail: string, wholeSeconds: boolean) => {
    const raw = get(key);
    if (raw === undefined) return;
    const ms = parseDuration(raw);
    if (ms === undefined) { errs.invalid(at(key), raw, 'must be a duration such as 60s or 1m'); return; }
    if (ms < lo || ms > hi) errs.invalid(at(key), raw, detail);
    else if (wholeSeconds && ms % 1000 !== 0) errs.invalid(at(key), raw, 'must be specified with at most second precision');
  };
  durationIn(Annotations.window, 6_000, 3_600_000, 'window must be between 6s and 1h', true);
  durationIn(Annotations.scaleDownDelay, 0, 3_600_000, 'scale-down-delay must be between 0s and 1h', true);
  durationIn(Annotations.scaleToZeroPodRetentionPeriod, 0, 3_600_000, 'scale-to-zero-pod-retention-period must be between 0s and 1h', false);
  if (klass === AutoscalingClasses.hpa && get(Annotations.window) !== undefined) {
    errs.invalid(at(Annotations.window), get(Annotations.window), 'window is not supported for the HPA class');
  }
}
