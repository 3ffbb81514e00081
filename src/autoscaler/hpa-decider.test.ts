import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HPA_CLASS, parseAutoscalerConfig, revisionScalingSpec } from './config.ts';
import type { HpaState, PodCpuSample } from './hpa-decider.ts';
import { decideHpa, initialHpaState, metricRecommendation } from './hpa-decider.ts';
import type { ScalingSpec } from './scaling-spec.ts';
import { simulateCpuScaling, stepLoad } from './simulate.ts';

const S = 1000;
function spec(cfg: Record<string, unknown> = {}, ann: Record<string, string> = {}): ScalingSpec {
  const a = Object.fromEntries(Object.entries({ class: HPA_CLASS, target: '80', ...ann }).map(([k, v]) => [`autoscaling.knative.dev/${k}`, v]));
  return revisionScalingSpec(a, 0, parseAutoscalerConfig(cfg, 'test.yaml'));
}
const T0 = Date.parse('2026-01-01T00:00:00Z');
const pod = (i: number, cpu: number | undefined, readyAgoS = 600, ready = true): PodCpuSample => ({ podId: `p${i}`, ready, readySince: ready ? T0 - readyAgoS * S : undefined, cpuUtilization: cpu });

describe('HPA decider: the CPU metric', () => {
  it('desired = ceil(current × avg / target) with a 0.1 tolerance', () => {
    const s = spec();
    assert.equal(metricRecommendation(s, { currentReplicas: 4, pods: [1, 2, 3, 4].map((i) => pod(i, 160)) }, T0).replicas, 8);
    assert.equal(metricRecommendation(s, { currentReplicas: 4, pods: [1, 2, 3, 4].map((i) => pod(i, 40)) }, T0).replicas, 2);
    assert.equal(metricRecommendation(s, { currentReplicas: 4, pods: [1, 2, 3, 4].map((i) => pod(i, 86)) }, T0).reason, 'within tolerance');
  });

  it('leaves warming pods out of the average; counts them when exclusion is off', () => {
    const pods = [pod(1, 100), pod(2, 100), pod(3, 500, 10), pod(4, 500, 10)];
    const on = metricRecommendation(spec(), { currentReplicas: 4, pods }, T0);
    assert.deepEqual([on.counted, on.ignored], [2, 2]);
    // Ready pods at 125 % of target, but with warming pods at 0 % the rebalanced ratio flips below 1: no change.
    assert.equal(on.replicas, 4);
    const off = metricRecommendation(spec({ 'exclude-warming-pods': false }), { currentReplicas: 4, pods }, T0);
    assert.equal(off.counted, 4);
    assert.equal(off.replicas, 15); // (100+100+500+500)/80
    // Past the initialization period (30 s) the pod counts again.
    assert.equal(metricRecommendation(spec(), { currentReplicas: 4, pods: [pod(1, 100), pod(2, 100), pod(3, 500, 31)] }, T0).counted, 3);
    assert.equal(metricRecommendation(spec({ 'cpu-initialization-period': '60s' }), { currentReplicas: 4, pods: [pod(1, 100), pod(3, 500, 31)] }, T0).counted, 1);
  });

  it('always ignores a sample that began before readiness within the initialization period (start-up CPU), exclusion or not', () => {
    const startup = { podId: 'p9', ready: true, readySince: T0 - 2 * S, cpuUtilization: 900, sampledFrom: T0 - 5 * S };
    for (const exclude of [true, false]) {
      const r = metricRecommendation(spec({ 'exclude-warming-pods': exclude }), { currentReplicas: 2, pods: [pod(1, 80), startup] }, T0);
      assert.deepEqual([r.counted, r.ignored, r.replicas], [1, 1, 2], `exclude-warming-pods ${exclude}: the start-up sample is left out`);
    }
    // A sample taken wholly after readiness counts when exclusion is off (the cascade case).
    const after = { ...startup, sampledFrom: T0 - 1 * S };
    assert.equal(metricRecommendation(spec({ 'exclude-warming-pods': false }), { currentReplicas: 2, pods: [pod(1, 80), after] }, T0).counted, 2, 'post-readiness sample counts without exclusion');
    // Past the initialization period a pod counts whatever its sample covers.
    const old = { ...startup, readySince: T0 - 600 * S, sampledFrom: T0 - 700 * S };
    assert.equal(metricRecommendation(spec(), { currentReplicas: 2, pods: [pod(1, 80), old] }, T0).counted, 2, 'old pods count');
  });

  it('rebalances like Kubernetes: not-ready pods as 0 % on scale-up, missing as 100 % on scale-down', () => {
    const up = metricRecommendation(spec(), { currentReplicas: 4, pods: [pod(1, 240), pod(2, 240), pod(3, undefined, 0, false), pod(4, undefined, 0, false)] }, T0);
    assert.equal(up.replicas, 6); // 480 / 80
    const down = metricRecommendation(spec(), { currentReplicas: 3, pods: [pod(1, 20), pod(2, 20), pod(3, undefined)] }, T0);
    assert.equal(down.replicas, 2); // (20 + 20 + 80) / 80 = 1.5 → 2
    assert.equal(metricRecommendation(spec(), { currentReplicas: 2, pods: [pod(1, undefined, 0, false)] }, T0).reason, 'no CPU samples from ready pods');
  });
});

describe('HPA decider: behavior', () => {
  const run = (s: ScalingSpec, steps: { cpu: number; replicas?: number }[], periodS = 15) => {
    let state: HpaState = initialHpaState();
    let replicas = steps[0]!.replicas ?? 4;
    const out: number[] = [];
    steps.forEach((st, i) => {
      const now = T0 + i * periodS * S;
      const d = decideHpa(s, state, { currentReplicas: replicas, pods: Array.from({ length: replicas }, (_, k) => ({ podId: `p${k}`, ready: true, readySince: T0 - 3600 * S, cpuUtilization: st.cpu })) }, now);
      state = d.state;
      replicas = d.desiredScale;
      out.push(replicas);
    });
    return out;
  };

  it('limits scale-up to max(+100 %, +4 pods) per 15 s', () => {
    assert.deepEqual(run(spec(), [{ cpu: 2000, replicas: 2 }, { cpu: 2000 }, { cpu: 2000 }]), [6, 12, 24]);
    assert.deepEqual(run(spec(), [{ cpu: 2000, replicas: 10 }, { cpu: 2000 }]), [20, 40]);
  });

  it('honours custom policies and selectPolicy Min / Disabled', () => {
    const minPol = spec({ 'hpa-behavior': { scaleUp: { selectPolicy: 'Min' } } });
    assert.deepEqual(run(minPol, [{ cpu: 2000, replicas: 2 }, { cpu: 2000 }]), [4, 8]);
    const disabled = spec({ 'hpa-behavior': { scaleUp: { selectPolicy: 'Disabled' } } });
    assert.deepEqual(run(disabled, [{ cpu: 2000, replicas: 2 }]), [2]);
    const pods1 = spec({ 'hpa-behavior': { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } });
    assert.deepEqual(run(pods1, [{ cpu: 2000, replicas: 2 }, { cpu: 2000 }, { cpu: 2000 }, { cpu: 2000 }, { cpu: 2000 }]), [3, 3, 3, 3, 4]);
  });

  it('stabilizes scale-down over 300 s: the highest recommendation in the window wins', () => {
    const steps = [{ cpu: 80, replicas: 10 }, ...Array.from({ length: 21 }, () => ({ cpu: 20 }))];
    const out = run(spec(), steps);
    assert.ok(out.slice(0, 20).every((r) => r === 10), `${out}`);
    assert.equal(out[20], 3); // 300 s after the last high recommendation: ceil(10 × 20 / 80)
  });

  it('scales down at once with a 0 s scale-down window, limited by the down policy', () => {
    const fast = spec({ 'hpa-behavior': { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 15 }] } } });
    assert.deepEqual(run(fast, [{ cpu: 8, replicas: 10 }, { cpu: 8 }, { cpu: 8 }]), [8, 6, 4]);
  });

  it('keeps within min-scale and max-scale and never goes to zero', () => {
    assert.deepEqual(run(spec({}, { 'max-scale': '5' }), [{ cpu: 2000, replicas: 2 }, { cpu: 2000 }]), [5, 5]);
    const zeroWindow = { 'hpa-behavior': { scaleDown: { stabilizationWindowSeconds: 0 } } };
    assert.deepEqual(run(spec(zeroWindow, { 'min-scale': '3' }), [{ cpu: 1, replicas: 6 }]), [3]);
    assert.deepEqual(run(spec(zeroWindow), [{ cpu: 0, replicas: 6 }]), [1]);
  });
});

describe('HPA cascade simulation (sluice/work: 5× CPU for 20 s after start, step load)', () => {
  // 1 rps costs 1 % of a pod's CPU request once warm; target 80 %: 160 rps → 2 pods, 800 rps → 10 pods.
  const scenario = (exclude: boolean) => simulateCpuScaling({
    spec: spec({ 'exclude-warming-pods': exclude }, { 'max-scale': '60' }),
    load: stepLoad(160, 800, 30 * S),
    cpuPerRps: 1,
    warmupFactor: 5,
    warmupMs: 20 * S,
    podStartMs: 2 * S,
    initialPods: 2,
    durationMs: 300 * S,
  });

  it('with warm-up exclusion never runs more than 1.25× the steady-state pod count, and reaches it', () => {
    const r = scenario(true);
    assert.equal(r.steadyStatePods, 10);
    assert.ok(r.peakPods <= 1.25 * r.steadyStatePods, `peak ${r.peakPods}`);
    assert.equal(r.finalPods, 10);
    assert.ok(r.timeline.every((s) => s.pods <= 12));
  });

  it('without warm-up exclusion the same run overshoots (the measurement can see a cascade)', () => {
    const r = scenario(false);
    assert.ok(r.peakPods > 1.25 * r.steadyStatePods, `peak ${r.peakPods}`);
    assert.ok(r.peakPods >= 2 * r.steadyStatePods, `peak ${r.peakPods}`);
  });

  it('is deterministic', () => {
    assert.deepEqual(scenario(true).timeline.map((s) => s.pods), scenario(true).timeline.map((s) => s.pods));
  });
});
