import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../lib/errors.ts';
import { DEFAULT_AUTOSCALER_CONFIG, DEFAULT_HPA_BEHAVIOR, HPA_CLASS, parseAutoscalerConfig, revisionScalingSpec } from './config.ts';
import { formatDuration, parseGoDuration } from './duration.ts';

const A = 'autoscaling.knative.dev/';
const rejects = (fn: () => unknown, code: string, re: RegExp) => assert.throws(fn, (e) => isSluiceError(e, code) && re.test(e.message));

describe('Go durations', () => {
  it('parses and formats', () => {
    assert.equal(parseGoDuration('60s'), 60_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('1.5s'), 1500);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('1h'), 3_600_000);
    assert.equal(parseGoDuration('0'), 0);
    for (const bad of ['', '60', '1 minute', '-5s', 's', '5x']) assert.equal(parseGoDuration(bad), undefined, bad);
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(500), '500ms');
  });
});

describe('parseAutoscalerConfig', () => {
  it("has Knative's defaults", () => {
    const c = parseAutoscalerConfig(undefined, 'sluice.yaml');
    assert.deepEqual(c, DEFAULT_AUTOSCALER_CONFIG);
    assert.equal(c.stableWindowMs, 60_000);
    assert.equal(c.panicWindowPercentage, 10);
    assert.equal(c.panicThresholdPercentage, 200);
    assert.equal(c.containerConcurrencyTargetDefault, 100);
    assert.equal(c.containerConcurrencyTargetPercentage, 70);
    assert.equal(c.requestsPerSecondTargetDefault, 200);
    assert.equal(c.targetBurstCapacity, 200);
    assert.equal(c.maxScaleUpRate, 1000);
    assert.equal(c.maxScaleDownRate, 2);
    assert.equal(c.scaleToZeroGracePeriodMs, 30_000);
    assert.equal(c.enableScaleToZero, true);
    assert.equal(c.initialScale, 1);
    assert.equal(c.activatorCapacity, 100);
    assert.equal(c.cpuInitializationPeriodMs, 30_000);
  });

  it('reads Knative ConfigMap strings and YAML scalars alike', () => {
    const c = parseAutoscalerConfig({
      'stable-window': '2m', 'panic-window-percentage': '20', 'enable-scale-to-zero': 'false', 'max-scale-up-rate': 10,
      'scale-to-zero-grace-period': '5s', 'initial-scale': '0', 'allow-zero-initial-scale': true, 'target-burst-capacity': '-1',
      'cpu-initialization-period': '45s', 'exclude-warming-pods': false, _example: 'ignored',
      'hpa-behavior': { scaleUp: { stabilizationWindowSeconds: 10, policies: [{ type: 'Pods', value: 2, periodSeconds: 30 }] } },
    }, 'sluice.yaml');
    assert.equal(c.stableWindowMs, 120_000);
    assert.equal(c.panicWindowPercentage, 20);
    assert.equal(c.enableScaleToZero, false);
    assert.equal(c.maxScaleUpRate, 10);
    assert.equal(c.scaleToZeroGracePeriodMs, 5000);
    assert.equal(c.initialScale, 0);
    assert.equal(c.targetBurstCapacity, -1);
    assert.equal(c.cpuInitializationPeriodMs, 45_000);
    assert.equal(c.excludeWarmingPods, false);
    assert.deepEqual(c.hpaBehavior.scaleUp, { stabilizationWindowSeconds: 10, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 2, periodSeconds: 30 }] });
    assert.deepEqual(c.hpaBehavior.scaleDown, DEFAULT_HPA_BEHAVIOR.scaleDown);
    assert.equal(parseAutoscalerConfig({ 'container-concurrency-target-percentage': '0.8' }, 'f').containerConcurrencyTargetPercentage, 80);
    assert.equal(parseAutoscalerConfig({ 'tick-interval': '1s' }, 'f').tickIntervalMs, 1000);
  });

  it('names the key and the source in every error', () => {
    const E = 'SLUICE_E_AUTOSCALER_CONFIG';
    rejects(() => parseAutoscalerConfig({ 'stable-windw': '60s' }, '/etc/sluice.yaml'), E, /\/etc\/sluice\.yaml: autoscaler\.stable-windw: unknown key/);
    rejects(() => parseAutoscalerConfig({ 'stable-window': 60 }, 'f.yaml'), E, /autoscaler\.stable-window: must be a duration/);
    rejects(() => parseAutoscalerConfig({ 'stable-window': '2h' }, 'f.yaml'), E, /stable-window: must be whole seconds/);
    rejects(() => parseAutoscalerConfig({ 'panic-threshold-percentage': '100' }, 'f.yaml'), E, /panic-threshold-percentage: must be between 110 and 1000/);
    rejects(() => parseAutoscalerConfig({ 'max-scale-down-rate': '1' }, 'f.yaml'), E, /max-scale-down-rate/);
    rejects(() => parseAutoscalerConfig({ 'enable-scale-to-zero': 'yes' }, 'f.yaml'), E, /enable-scale-to-zero: must be true or false/);
    rejects(() => parseAutoscalerConfig({ 'initial-scale': '0' }, 'f.yaml'), E, /initial-scale: may be 0 only when allow-zero-initial-scale/);
    rejects(() => parseAutoscalerConfig({ 'target-burst-capacity': '-2' }, 'f.yaml'), E, /target-burst-capacity/);
    rejects(() => parseAutoscalerConfig({ 'container-concurrency-target-percentage': '0' }, 'f.yaml'), E, /container-concurrency-target-percentage/);
    rejects(() => parseAutoscalerConfig({ 'min-scale': '5', 'max-scale': '2' }, 'f.yaml'), E, /min-scale: must not exceed max-scale/);
    rejects(() => parseAutoscalerConfig({ 'pod-autoscaler-class': 'foo' }, 'f.yaml'), E, /pod-autoscaler-class/);
    rejects(() => parseAutoscalerConfig({ 'hpa-behavior': { scaleUp: { policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } } }, 'f.yaml'), E, /hpa-behavior\.scaleUp\.policies\[0\]\.value/);
    rejects(() => parseAutoscalerConfig({ 'hpa-behavior': { scaleSideways: {} } }, 'f.yaml'), E, /hpa-behavior\.scaleSideways/);
    rejects(() => parseAutoscalerConfig(['x'], 'f.yaml'), E, /f\.yaml: autoscaler must be a mapping/);
  });
});

describe('revisionScalingSpec', () => {
  const cfg = parseAutoscalerConfig(undefined, 'test');
  it('resolves defaults: concurrency class KPA, 100 × 70 %', () => {
    const s = revisionScalingSpec({}, 0, cfg);
    assert.equal(s.class, 'kpa.autoscaling.knative.dev');
    assert.equal(s.metric, 'concurrency');
    assert.equal(s.targetValue, 70);
    assert.equal(s.totalValue, 100);
    assert.equal(s.panicThreshold, 2);
    assert.equal(s.panicWindowMs, 6000);
    assert.equal(s.initialScale, 1);
  });

  it('reads every annotation, also the older camelCase names', () => {
    const s = revisionScalingSpec({
      [`${A}metric`]: 'rps', [`${A}target`]: '50', [`${A}target-utilization-percentage`]: '80', [`${A}minScale`]: '2', [`${A}max-scale`]: '9',
      [`${A}initial-scale`]: '3', [`${A}scale-down-delay`]: '15s', [`${A}window`]: '40s', [`${A}panic-window-percentage`]: '25',
      [`${A}panic-threshold-percentage`]: '150', [`${A}target-burst-capacity`]: '0', 'other.io/x': 'ignored',
    }, 0, cfg);
    assert.equal(s.metric, 'rps');
    assert.equal(s.totalValue, 50);
    assert.equal(s.targetValue, 40);
    assert.deepEqual([s.minScale, s.maxScale, s.initialScale], [2, 9, 3]);
    assert.equal(s.scaleDownDelayMs, 15_000);
    assert.equal(s.stableWindowMs, 40_000);
    assert.equal(s.panicWindowMs, 10_000);
    assert.equal(s.panicThreshold, 1.5);
    assert.equal(s.targetBurstCapacity, 0);
    assert.equal(s.scaleToZeroPodRetentionPeriodMs, 0, 'the config default');
    assert.equal(revisionScalingSpec({ [`${A}scale-to-zero-pod-retention-period`]: '45s' }, 0, cfg).scaleToZeroPodRetentionPeriodMs, 45_000);
    rejects(() => revisionScalingSpec({ [`${A}scale-to-zero-pod-retention-period`]: '2h' }, 0, cfg), 'SLUICE_E_AUTOSCALING_ANNOTATION', /scale-to-zero-pod-retention-period.*between 0s and 1h/);
  });

  it('selects the CPU class with its defaults', () => {
    const s = revisionScalingSpec({ [`${A}class`]: HPA_CLASS, [`${A}target`]: '60' }, 0, cfg);
    assert.equal(s.metric, 'cpu');
    assert.equal(s.targetValue, 60);
    assert.equal(s.hpa.cpuInitializationPeriodMs, 30_000);
    assert.equal(s.hpa.excludeWarmingPods, true);
    assert.equal(revisionScalingSpec({ [`${A}class`]: HPA_CLASS }, 0, cfg).targetValue, 80);
  });

  it('names the annotation in every error', () => {
    const E = 'SLUICE_E_AUTOSCALING_ANNOTATION';
    rejects(() => revisionScalingSpec({ [`${A}min-scale`]: 'two' }, 0, cfg), E, /annotations\["autoscaling\.knative\.dev\/min-scale"\]: must be a number/);
    rejects(() => revisionScalingSpec({ [`${A}min-scale`]: '1.5' }, 0, cfg), E, /min-scale.*whole number/);
    rejects(() => revisionScalingSpec({ [`${A}min-scale`]: '5', [`${A}max-scale`]: '2' }, 0, cfg), E, /min-scale \(5\) must not exceed max-scale \(2\)/);
    rejects(() => revisionScalingSpec({ [`${A}metric`]: 'cpu' }, 0, cfg), E, /metric.*concurrency or rps/);
    rejects(() => revisionScalingSpec({ [`${A}class`]: 'custom.io' }, 0, cfg), E, /class/);
    rejects(() => revisionScalingSpec({ [`${A}target`]: '0' }, 0, cfg), E, /target.*at least 0\.01/);
    rejects(() => revisionScalingSpec({ [`${A}window`]: '2h' }, 0, cfg), E, /window/);
    rejects(() => revisionScalingSpec({ [`${A}scale-down-delay`]: 'soon' }, 0, cfg), E, /scale-down-delay.*duration/);
    rejects(() => revisionScalingSpec({ [`${A}initial-scale`]: '0' }, 0, cfg), E, /initial-scale.*allow-zero-initial-scale/);
    rejects(() => revisionScalingSpec({ [`${A}panic-threshold-percentage`]: '50' }, 0, cfg), E, /panic-threshold-percentage/);
    rejects(() => revisionScalingSpec({ [`${A}targetx`]: '1' }, 0, cfg), E, /unknown autoscaling annotation/);
    rejects(() => revisionScalingSpec({}, -1, cfg), E, /containerConcurrency/);
  });
});
