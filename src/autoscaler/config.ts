/**
 * The `autoscaler:` section of sluice's configuration file: Knative's config-autoscaler
 * ConfigMap, with the same key names, defaults and validation rules, plus sluice's keys for the
 * CPU class (Kubernetes HPA semantics). Values may be given as Knative writes them (strings:
 * "60s", "200", "true") or as plain YAML numbers and booleans.
 *
 * Deliberate differences from Knative: stable-window and window accept down to 1s (Knative: 6s)
 * and scale-to-zero-grace-period down to 0s (Knative: 6s), so end-to-end tests can run short.
 */
import { SluiceError } from '../lib/errors.ts';
import { formatDuration, parseGoDuration } from './duration.ts';
export { revisionScalingSpec } from './scaling-spec.ts';
export type { ScalingSpec } from './scaling-spec.ts';

export const KPA_CLASS = 'kpa.autoscaling.knative.dev';
export const HPA_CLASS = 'hpa.autoscaling.knative.dev';
export type AutoscalerClass = typeof KPA_CLASS | typeof HPA_CLASS;

export interface HpaPolicy { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }
export interface HpaScalingRules { stabilizationWindowSeconds: number; selectPolicy: 'Max' | 'Min' | 'Disabled'; policies: HpaPolicy[] }
/** Kubernetes' HorizontalPodAutoscalerBehavior, same field names. */
export interface HpaBehavior { scaleUp: HpaScalingRules; scaleDown: HpaScalingRules }

export interface AutoscalerConfig {
  podAutoscalerClass: AutoscalerClass;
  stableWindowMs: number;
  panicWindowPercentage: number;
  panicThresholdPercentage: number;
  containerConcurrencyTargetDefault: number;
  containerConcurrencyTargetPercentage: number;
  requestsPerSecondTargetDefault: number;
  targetBurstCapacity: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  scaleToZeroGracePeriodMs: number;
  scaleToZeroPodRetentionPeriodMs: number;
  enableScaleToZero: boolean;
  initialScale: number;
  allowZeroInitialScale: boolean;
  activatorCapacity: number;
  minScale: number;
  maxScale: number; // 0 = unbounded
  maxScaleLimit: number; // 0 = no limit
  scaleDownDelayMs: number;
  tickIntervalMs: number;
  // sluice: the CPU class
  cpuInitializationPeriodMs: number;
  excludeWarmingPods: boolean;
  hpaTolerance: number;
  hpaSyncPeriodMs: number;
  hpaTargetUtilizationDefault: number;
  hpaBehavior: HpaBehavior;
}

/** Kubernetes' default HPA behavior. */
export const DEFAULT_HPA_BEHAVIOR: Readonly<HpaBehavior> = Object.freeze<HpaBehavior>({
  scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
});

export const DEFAULT_AUTOSCALER_CONFIG: Readonly<AutoscalerConfig> = Object.freeze({
  podAutoscalerClass: KPA_CLASS,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  containerConcurrencyTargetDefault: 100,
  containerConcurrencyTargetPercentage: 70,
  requestsPerSecondTargetDefault: 200,
  targetBurstCapacity: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGracePeriodMs: 30_000,
  scaleToZeroPodRetentionPeriodMs: 0,
  enableScaleToZero: true,
  initialScale: 1,
  allowZeroInitialScale: false,
  activatorCapacity: 100,
  minScale: 0,
  maxScale: 0,
  maxScaleLimit: 0,
  scaleDownDelayMs: 0,
  tickIntervalMs: 2000,
  cpuInitializationPeriodMs: 30_000,
  excludeWarmingPods: true,
  hpaTolerance: 0.1,
  hpaSyncPeriodMs: 15_000,
  hpaTargetUtilizationDefault: 80,
  hpaBehavior: DEFAULT_HPA_BEHAVIOR,
});

type Kind = 'duration' | 'number' | 'int' | 'bool' | 'class' | 'behavior';
/** ConfigMap key → field and kind. Ranges are checked afterwards, across keys. */
const KEYS: Readonly<Record<string, [keyof AutoscalerConfig, Kind]>> = Object.freeze({
  'pod-autoscaler-class': ['podAutoscalerClass', 'class'],
  'stable-window': ['stableWindowMs', 'duration'],
  'panic-window-percentage': ['panicWindowPercentage', 'number'],
  'panic-threshold-percentage': ['panicThresholdPercentage', 'number'],
  'container-concurrency-target-default': ['containerConcurrencyTargetDefault', 'number'],
  'container-concurrency-target-percentage': ['containerConcurrencyTargetPercentage', 'number'],
  'requests-per-second-target-default': ['requestsPerSecondTargetDefault', 'number'],
  'target-burst-capacity': ['targetBurstCapacity', 'number'],
  'max-scale-up-rate': ['maxScaleUpRate', 'number'],
  'max-scale-down-rate': ['maxScaleDownRate', 'number'],
  'scale-to-zero-grace-period': ['scaleToZeroGracePeriodMs', 'duration'],
  'scale-to-zero-pod-retention-period': ['scaleToZeroPodRetentionPeriodMs', 'duration'],
  'enable-scale-to-zero': ['enableScaleToZero', 'bool'],
  'initial-scale': ['initialScale', 'int'],
  'allow-zero-initial-scale': ['allowZeroInitialScale', 'bool'],
  'activator-capacity': ['activatorCapacity', 'number'],
  'min-scale': ['minScale', 'int'],
  'max-scale': ['maxScale', 'int'],
  'max-scale-limit': ['maxScaleLimit', 'int'],
  'scale-down-delay': ['scaleDownDelayMs', 'duration'],
  'tick-interval': ['tickIntervalMs', 'duration'],
  'cpu-initialization-period': ['cpuInitializationPeriodMs', 'duration'],
  'exclude-warming-pods': ['excludeWarmingPods', 'bool'],
  'hpa-tolerance': ['hpaTolerance', 'number'],
  'hpa-sync-period': ['hpaSyncPeriodMs', 'duration'],
  'hpa-target-utilization-default': ['hpaTargetUtilizationDefault', 'number'],
  'hpa-behavior': ['hpaBehavior', 'behavior'],
});
export const AUTOSCALER_CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(KEYS));

const MIN_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 3_600_000;
export const TARGET_MIN = 0.01;

function bad(source: string, key: string, value: unknown, want: string): SluiceError {
  return new SluiceError('SLUICE_E_AUTOSCALER_CONFIG', `${source}: autoscaler.${key}: ${want}, got ${JSON.stringify(value)}`, { httpStatus: 400, details: { key, source } });
}

/** Reads a scalar the way Knative does (strings) while also taking YAML numbers and booleans. */
export function readScalar(kind: 'duration' | 'number' | 'int' | 'bool', raw: unknown, fail: (want: string) => SluiceError): number | boolean {
  switch (kind) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw fail('must be true or false');
    case 'duration': {
      const ms = typeof raw === 'string' ? parseGoDuration(raw) : raw === 0 ? 0 : undefined;
      if (ms === undefined) throw fail('must be a duration such as "60s", "1m" or "500ms"');
      return ms;
    }
    case 'number':
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw fail('must be a number');
      if (kind === 'int' && !Number.isInteger(n)) throw fail('must be a whole number');
      return n;
    }
  }
}

/**
 * Parses and validates an `autoscaler:` section (undefined/null → defaults). Every error is a
 * SluiceError (SLUICE_E_AUTOSCALER_CONFIG) naming the key and `source` (e.g. the file path).
 */
export function parseAutoscalerConfig(section: unknown, source: string): AutoscalerConfig {
  const cfg: AutoscalerConfig = { ...DEFAULT_AUTOSCALER_CONFIG };
  if (section === undefined || section === null) return cfg;
  if (typeof section !== 'object' || Array.isArray(section)) {
    throw new SluiceError('SLUICE_E_AUTOSCALER_CONFIG', `${source}: autoscaler must be a mapping of config-autoscaler keys, got ${Array.isArray(section) ? 'a list' : typeof section}`, { httpStatus: 400 });
  }
  const out = cfg as unknown as Record<string, unknown>;
  for (const [key, raw] of Object.entries(section as Record<string, unknown>)) {
    if (key === '_example') continue; // Knative ConfigMaps carry their documentation under this key
    const entry = KEYS[key];
    if (!entry) {
      throw new SluiceError('SLUICE_E_AUTOSCALER_CONFIG', `${source}: autoscaler.${key}: unknown key; known keys: ${AUTOSCALER_CONFIG_KEYS.join(', ')}`, { httpStatus: 400, details: { key, source } });
    }
    const [field, kind] = entry;
    const fail = (want: string) => bad(source, key, raw, want);
    if (kind === 'class') {
      if (raw !== KPA_CLASS && raw !== HPA_CLASS) throw fail(`must be ${KPA_CLASS} or ${HPA_CLASS}`);
      out[field] = raw;
    } else if (kind === 'behavior') {
      out[field] = parseHpaBehavior(raw, (path, want, v) => bad(source, `${key}.${path}`, v, want));
    } else {
      out[field] = readScalar(kind, raw, fail);
    }
  }
  // Knative still accepts the legacy fraction form: values in (0, 1] mean 0–100 %.
  if (cfg.containerConcurrencyTargetPercentage > 0 && cfg.containerConcurrencyTargetPercentage <= 1) cfg.containerConcurrencyTargetPercentage *= 100;
  validate(cfg, (key, want) => bad(source, key, (section as Record<string, unknown>)[key], want));
  return cfg;
}

function validate(c: AutoscalerConfig, fail: (key: string, want: string) => SluiceError): void {
  const wholeSeconds = (ms: number) => ms % 1000 === 0;
  if (c.stableWindowMs < MIN_WINDOW_MS || c.stableWindowMs > MAX_WINDOW_MS || !wholeSeconds(c.stableWindowMs)) throw fail('stable-window', `must be whole seconds between ${formatDuration(MIN_WINDOW_MS)} and ${formatDuration(MAX_WINDOW_MS)}`);
  if (c.panicWindowPercentage < 1 || c.panicWindowPercentage > 100) throw fail('panic-window-percentage', 'must be between 1 and 100');
  if (c.panicThresholdPercentage < 110 || c.panicThresholdPercentage > 1000) throw fail('panic-threshold-percentage', 'must be between 110 and 1000');
  if (c.containerConcurrencyTargetDefault < TARGET_MIN) throw fail('container-concurrency-target-default', `must be at least ${TARGET_MIN}`);
  if (c.containerConcurrencyTargetPercentage <= 0 || c.containerConcurrencyTargetPercentage > 100) throw fail('container-concurrency-target-percentage', 'must be in (0, 100]');
  if (c.requestsPerSecondTargetDefault < TARGET_MIN) throw fail('requests-per-second-target-default', `must be at least ${TARGET_MIN}`);
  if (c.targetBurstCapacity < 0 && c.targetBurstCapacity !== -1) throw fail('target-burst-capacity', 'must be -1 (activator always in path), 0 (never) or positive');
  if (c.maxScaleUpRate <= 1) throw fail('max-scale-up-rate', 'must be greater than 1');
  if (c.maxScaleDownRate <= 1) throw fail('max-scale-down-rate', 'must be greater than 1');
  if (c.scaleToZeroGracePeriodMs < 0 || c.scaleToZeroGracePeriodMs > MAX_WINDOW_MS) throw fail('scale-to-zero-grace-period', 'must be between 0s and 1h');
  if (c.scaleToZeroPodRetentionPeriodMs < 0) throw fail('scale-to-zero-pod-retention-period', 'must be 0s or more');
  if (c.initialScale < 0) throw fail('initial-scale', 'must be 0 or more');
  if (c.initialScale === 0 && !c.allowZeroInitialScale) throw fail('initial-scale', 'may be 0 only when allow-zero-initial-scale is true');
  if (c.activatorCapacity < 1) throw fail('activator-capacity', 'must be at least 1');
  if (c.minScale < 0) throw fail('min-scale', 'must be 0 or more');
  if (c.maxScale < 0) throw fail('max-scale', 'must be 0 (unbounded) or more');
  if (c.maxScaleLimit < 0) throw fail('max-scale-limit', 'must be 0 (no limit) or more');
  if (c.maxScaleLimit > 0 && (c.maxScale === 0 || c.maxScale > c.maxScaleLimit)) throw fail('max-scale', `must be between 1 and max-scale-limit (${c.maxScaleLimit})`);
  if (c.maxScale > 0 && c.minScale > c.maxScale) throw fail('min-scale', `must not exceed max-scale (${c.maxScale})`);
  if (c.scaleDownDelayMs < 0 || c.scaleDownDelayMs > MAX_WINDOW_MS || !wholeSeconds(c.scaleDownDelayMs)) throw fail('scale-down-delay', 'must be whole seconds between 0s and 1h');
  if (c.tickIntervalMs < 100) throw fail('tick-interval', 'must be at least 100ms');
  if (c.cpuInitializationPeriodMs < 0) throw fail('cpu-initialization-period', 'must be 0s or more');
  if (c.hpaTolerance < 0 || c.hpaTolerance >= 1) throw fail('hpa-tolerance', 'must be in [0, 1)');
  if (c.hpaSyncPeriodMs < 1000) throw fail('hpa-sync-period', 'must be at least 1s');
  if (c.hpaTargetUtilizationDefault <= 0) throw fail('hpa-target-utilization-default', 'must be a positive CPU percentage');
}

/** Parses a Kubernetes HPA `behavior` object; missing parts take Kubernetes' defaults. */
export function parseHpaBehavior(raw: unknown, fail: (path: string, want: string, value: unknown) => SluiceError): HpaBehavior {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('', 'must be a mapping with scaleUp and/or scaleDown', raw);
  const out: HpaBehavior = { scaleUp: DEFAULT_HPA_BEHAVIOR.scaleUp, scaleDown: DEFAULT_HPA_BEHAVIOR.scaleDown };
  for (const [dir, v] of Object.entries(raw as Record<string, unknown>)) {
    if (dir !== 'scaleUp' && dir !== 'scaleDown') throw fail(dir, 'unknown field; expected scaleUp or scaleDown', v);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(dir, 'must be a mapping', v);
    const rules: HpaScalingRules = { ...DEFAULT_HPA_BEHAVIOR[dir] };
    for (const [f, fv] of Object.entries(v as Record<string, unknown>)) {
      const p = `${dir}.${f}`;
      if (f === 'stabilizationWindowSeconds') {
        if (typeof fv !== 'number' || !Number.isInteger(fv) || fv < 0 || fv > 3600) throw fail(p, 'must be a whole number of seconds between 0 and 3600', fv);
        rules.stabilizationWindowSeconds = fv;
      } else if (f === 'selectPolicy') {
        if (fv !== 'Max' && fv !== 'Min' && fv !== 'Disabled') throw fail(p, 'must be Max, Min or Disabled', fv);
        rules.selectPolicy = fv;
      } else if (f === 'policies') {
        if (!Array.isArray(fv) || fv.length === 0) throw fail(p, 'must be a non-empty list', fv);
        rules.policies = fv.map((pol: unknown, i) => {
          const q = pol as Record<string, unknown>;
          if (typeof pol !== 'object' || pol === null) throw fail(`${p}[${i}]`, 'must be a mapping with type, value and periodSeconds', pol);
          if (q.type !== 'Pods' && q.type !== 'Percent') throw fail(`${p}[${i}].type`, 'must be Pods or Percent', q.type);
          if (typeof q.value !== 'number' || !Number.isInteger(q.value) || q.value <= 0) throw fail(`${p}[${i}].value`, 'must be a positive whole number', q.value);
          if (typeof q.periodSeconds !== 'number' || !Number.isInteger(q.periodSeconds) || q.periodSeconds <= 0 || q.periodSeconds > 1800) throw fail(`${p}[${i}].periodSeconds`, 'must be a whole number between 1 and 1800', q.periodSeconds);
          return { type: q.type, value: q.value, periodSeconds: q.periodSeconds };
        });
      } else {
        throw fail(p, 'unknown field; expected stabilizationWindowSeconds, selectPolicy or policies', fv);
      }
    }
    out[dir] = rules;
  }
  return out;
}
