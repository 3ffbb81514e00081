/**
 * A deterministic simulation of CPU-class scaling: pods, their CPU and time, driven by a
 * FakeClock. Pods start (ready after `podStartMs`), share the load evenly while ready, and burn
 * `cpuPerRps` % of their CPU request per request/s — `warmupFactor` times that for `warmupMs`
 * after becoming ready (JIT, cold caches). Every `hpa.syncPeriodMs` the HPA decider sees each
 * pod's CPU and the simulation applies its decision at once (new pods start, surplus pods —
 * not-ready and newest first — stop).
 *
 * It shows the cascade: counting warming pods inflates the average, so each scale-up asks for
 * more pods. Tests use it to check that warm-up exclusion keeps the peak near the steady-state
 * count; benchmarks and docs can reuse it with other parameters.
 */
import { FakeClock } from '../lib/clock.ts';
import { SluiceError } from '../lib/errors.ts';
import type { HpaDecision, HpaState, PodCpuSample } from './hpa-decider.ts';
import { decideHpa, initialHpaState } from './hpa-decider.ts';
import type { ScalingSpec } from './scaling-spec.ts';

export interface CpuSimulationOptions {
  spec: ScalingSpec;
  /** Requests per second offered at `t` ms after the start. */
  load: (tMs: number) => number;
  /** CPU % of one pod's request per request/s once warm. */
  cpuPerRps: number;
  warmupFactor?: number; // default 5
  warmupMs?: number; // default 20 s
  podStartMs?: number; // default 2 s
  initialPods: number;
  durationMs: number;
  /** Granularity of the simulation; default 1 s. */
  stepMs?: number;
  clock?: FakeClock;
}

export interface SimulationSample { tMs: number; pods: number; readyPods: number; warmingPods: number; avgCpu: number; desired?: number; decision?: HpaDecision }
export interface CpuSimulationResult {
  timeline: SimulationSample[];
  /** Highest number of pods (running or starting) at any time. */
  peakPods: number;
  finalPods: number;
  /** Pods the final load needs once warm: ceil(load × cpuPerRps / target). */
  steadyStatePods: number;
}

interface SimPod { id: number; createdAt: number; readyAt: number }

/** Pods needed for `rps` when every pod is warm and runs at the target utilization. */
export function steadyStatePods(rps: number, cpuPerRps: number, targetUtilization: number): number {
  return Math.max(1, Math.ceil((rps * cpuPerRps) / targetUtilization));
}

export function simulateCpuScaling(o: CpuSimulationOptions): CpuSimulationResult {
  const step = o.stepMs ?? 1000;
  const warmupFactor = o.warmupFactor ?? 5;
  const warmupMs = o.warmupMs ?? 20_000;
  const podStartMs = o.podStartMs ?? 2000;
  if (!(o.durationMs > 0) || !(step > 0) || o.durationMs / step > 1e6) throw new SluiceError('SLUICE_E_SIMULATION', `simulation: need durationMs > 0 and at most 1e6 steps, got ${o.durationMs} ms in steps of ${step} ms`);
  if (!Number.isInteger(o.initialPods) || o.initialPods < 1) throw new SluiceError('SLUICE_E_SIMULATION', `simulation: initialPods must be a whole number ≥ 1, got ${o.initialPods}`);
  if (!(o.cpuPerRps > 0)) throw new SluiceError('SLUICE_E_SIMULATION', `simulation: cpuPerRps must be positive, got ${o.cpuPerRps}`);
  const clock = o.clock ?? new FakeClock();
  const t0 = clock.now();
  let nextId = 0;
  // Initial pods have been running long enough to be warm and past the initialization period.
  const longAgo = t0 - Math.max(warmupMs, o.spec.hpa.cpuInitializationPeriodMs) - podStartMs - 1000;
  let pods: SimPod[] = Array.from({ length: o.initialPods }, () => ({ id: nextId++, createdAt: longAgo, readyAt: longAgo + podStartMs }));
  let state: HpaState = initialHpaState();
  const timeline: SimulationSample[] = [];
  let peak = pods.length;
  let nextSync = t0;

  const cpuOf = (now: number): Map<number, number> => {
    const ready = pods.filter((p) => p.readyAt <= now);
    const perPod = ready.length ? o.load(now - t0) / ready.length : 0;
    return new Map(ready.map((p) => [p.id, perPod * o.cpuPerRps * (now - p.readyAt < warmupMs ? warmupFactor : 1)]));
  };

  for (let now = t0; now <= t0 + o.durationMs; now += step) {
    if (now > clock.now()) clock.advance(now - clock.now());
    const cpu = cpuOf(now);
    const sample: SimulationSample = {
      tMs: now - t0,
      pods: pods.length,
      readyPods: cpu.size,
      warmingPods: pods.filter((p) => p.readyAt <= now && now - p.readyAt < warmupMs).length,
      avgCpu: cpu.size ? [...cpu.values()].reduce((a, b) => a + b, 0) / cpu.size : 0,
    };
    if (now >= nextSync) {
      nextSync += o.spec.hpa.syncPeriodMs;
      const samples: PodCpuSample[] = pods.map((p) => ({ podId: String(p.id), ready: p.readyAt <= now, readySince: p.readyAt <= now ? p.readyAt : undefined, cpuUtilization: cpu.get(p.id) }));
      const d = decideHpa(o.spec, state, { currentReplicas: pods.length, pods: samples }, now);
      state = d.state;
      sample.desired = d.desiredScale;
      sample.decision = d;
      if (d.desiredScale > pods.length) {
        for (let i = pods.length; i < d.desiredScale; i++) pods.push({ id: nextId++, createdAt: now, readyAt: now + podStartMs });
      } else if (d.desiredScale < pods.length) {
        // Remove not-ready pods first, then the newest.
        const order = [...pods].sort((a, b) => Number(a.readyAt <= now) - Number(b.readyAt <= now) || b.createdAt - a.createdAt);
        const drop = new Set(order.slice(0, pods.length - d.desiredScale).map((p) => p.id));
        pods = pods.filter((p) => !drop.has(p.id));
      }
      peak = Math.max(peak, pods.length);
    }
    timeline.push(sample);
  }
  return {
    timeline,
    peakPods: peak,
    finalPods: pods.length,
    steadyStatePods: steadyStatePods(o.load(o.durationMs), o.cpuPerRps, o.spec.targetValue),
  };
}

/** The cascade scenario of the acceptance test: a step from `baseRps` to `stepRps` at `stepAtMs`. */
export function stepLoad(baseRps: number, stepRps: number, stepAtMs: number): (tMs: number) => number {
  return (t) => (t < stepAtMs ? baseRps : stepRps);
}
