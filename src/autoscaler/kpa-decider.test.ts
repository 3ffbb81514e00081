import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.ts';
import { parseAutoscalerConfig, revisionScalingSpec } from './config.ts';
import type { KpaDecision, KpaState } from './kpa-decider.ts';
import { decide, initialKpaState } from './kpa-decider.ts';
import { StablePanicWindows } from './metric-window.ts';
import type { ScalingSpec } from './scaling-spec.ts';

const S = 1000;
function spec(cfg: Record<string, unknown> = {}, ann: Record<string, string> = {}, cc = 0): ScalingSpec {
  const a = Object.fromEntries(Object.entries(ann).map(([k, v]) => [`autoscaling.knative.dev/${k}`, v]));
  return revisionScalingSpec(a, cc, parseAutoscalerConfig(cfg, 'test.yaml'));
}

/** Drives the decider every 2 s (Knative's tick) over metric windows fed each second. */
class Harness {
  clock = new FakeClock();
  state: KpaState = initialKpaState();
  windows: StablePanicWindows;
  ready: number;
  last!: KpaDecision;
  history: KpaDecision[] = [];
  constructor(readonly spec: ScalingSpec, ready = 1) {
    this.windows = new StablePanicWindows(spec.stableWindowMs, spec.panicWindowMs);
    this.ready = ready;
  }
  /** Runs `seconds` of time with total concurrency `load`; pods become ready as desired (instantly). */
  run(seconds: number, load: number, o: { followDesired?: boolean } = {}): KpaDecision {
    for (let i = 0; i < seconds; i++) {
      this.clock.advance(S);
      if (load >= 0) this.windows.record(this.clock.now(), load);
      if (i % 2 === 1 || seconds === 1) this.tick(o.followDesired ?? true);
    }
    return this.last;
  }
  tick(follow: boolean): void {
    const now = this.clock.now();
    this.last = decide(this.spec, this.state, { readyPods: this.ready, observed: this.windows.observe(now) }, now);
    this.state = this.last.state;
    this.history.push(this.last);
    if (follow) this.ready = this.last.desiredScale;
  }
}

describe('KPA decider', () => {
  it('scales to ceil(observed / (target × utilization)): 100 × 70 % = 70 per pod', () => {
    const h = new Harness(spec(), 1);
    assert.equal(h.run(60, 700).desiredScale, 10);
    assert.equal(h.run(60, 701).desiredScale, 11);
    assert.equal(h.last.panicking, false);
  });

  it('uses containerConcurrency and the target annotation (capped by containerConcurrency)', () => {
    assert.equal(spec({}, {}, 10).targetValue, 7);
    assert.equal(spec({}, { target: '50' }, 10).targetValue, 7);
    assert.equal(spec({}, { target: '5' }, 10).targetValue, 3.5);
    assert.equal(spec({}, { target: '10', 'target-utilization-percentage': '100' }).targetValue, 10);
  });

  it('scales on requests per second with metric rps (default target 200 × 70 %)', () => {
    const h = new Harness(spec({}, { metric: 'rps' }), 1);
    assert.equal(h.run(60, 1400).desiredScale, 10);
    const h2 = new Harness(spec({}, { metric: 'rps', target: '50' }), 1);
    assert.equal(h2.run(60, 350).desiredScale, 10);
  });

  it('enters panic when the panic window needs ≥ 200 % of ready pods, and never scales down in panic', () => {
    const h = new Harness(spec(), 2);
    h.run(60, 140, { followDesired: false }); // steady at 2 pods
    assert.equal(h.last.desiredScale, 2);
    assert.equal(h.last.panicking, false);
    h.run(2, 700, { followDesired: false }); // the 6 s panic window sees the burst first
    assert.equal(h.last.panicking, true);
    assert.ok(h.last.desiredScale >= 4, `${h.last.desiredScale}`);
    const peak = h.run(6, 700, { followDesired: false }).desiredScale;
    assert.equal(peak, 10);
    // Load drops, but inside panic the scale holds.
    h.run(20, 70, { followDesired: false });
    assert.equal(h.last.panicking, true);
    assert.equal(h.last.desiredScale, peak);
  });

  it('exits panic one stable window after the last tick over the threshold', () => {
    const h = new Harness(spec(), 2);
    h.run(60, 140, { followDesired: false });
    h.run(8, 700, { followDesired: false });
    assert.equal(h.last.panicking, true);
    const lastOver = h.clock.now();
    h.ready = 10;
    h.run(58, 70, { followDesired: false });
    assert.equal(h.last.panicking, true, 'still within a stable window of the last panic tick');
    h.run(4, 70, { followDesired: false });
    assert.ok(h.clock.now() - lastOver > 60 * S);
    assert.equal(h.last.panicking, false);
    assert.ok(h.last.desiredScale < 10);
  });

  it('limits scale-up to max-scale-up-rate × ready pods', () => {
    const h = new Harness(spec({ 'max-scale-up-rate': '2' }), 3);
    h.run(2, 7000, { followDesired: false });
    assert.equal(h.last.desiredScale, 6);
    const d = decide(h.spec, initialKpaState(), { readyPods: 0, observed: { stable: 7000, panic: 7000 } }, h.clock.now());
    assert.equal(d.desiredScale, 2, 'zero ready pods count as one');
  });

  it('limits scale-down to ready pods / max-scale-down-rate', () => {
    const h = new Harness(spec(), 20);
    h.run(60, 70, { followDesired: false });
    assert.equal(h.last.desiredScale, 10);
    const fast = new Harness(spec({ 'max-scale-down-rate': '4' }), 20);
    assert.equal(fast.run(60, 70, { followDesired: false }).desiredScale, 5);
  });

  it('keeps within min-scale and max-scale; min-scale only while reachable', () => {
    const h = new Harness(spec({}, { 'min-scale': '3', 'max-scale': '5' }), 3);
    assert.equal(h.run(70, 0).desiredScale, 3);
    assert.equal(h.run(70, 7000).desiredScale, 5);
    const unreachable = { ...spec({}, { 'min-scale': '3' }), reachable: false };
    const d = decide(unreachable, initialKpaState(), { readyPods: 3, observed: { stable: 0, panic: 0 } }, 0);
    assert.ok(d.desiredScale < 3);
  });

  it('starts at initial-scale and holds it until reached, then follows the metric', () => {
    const h = new Harness(spec({}, { 'initial-scale': '4' }), 0);
    h.run(2, 0, { followDesired: false });
    assert.equal(h.last.desiredScale, 4);
    h.run(4, 0, { followDesired: false });
    assert.equal(h.last.desiredScale, 4, 'still held: no pod ready yet');
    h.ready = 4;
    h.run(60, 70, { followDesired: false });
    assert.equal(h.last.state.initialScaleReached, true);
    assert.equal(h.last.desiredScale, 2, 'then rate-limited scale down from 4 toward 1');
    const none = decide(spec(), initialKpaState(), { readyPods: 0, observed: undefined }, 0);
    assert.equal(none.desiredScale, 1, 'no data yet: the initial scale (default 1)');
    assert.equal(none.valid, false);
  });

  it('scales to zero only after a stable window idle plus the grace period', () => {
    const h = new Harness(spec({ 'stable-window': '60s', 'scale-to-zero-grace-period': '30s' }), 1);
    h.run(60, 10);
    const idleFrom = h.clock.now();
    // A stable window of zeros, read up to the last complete bucket as well (metric-window.ts): 62 s.
    h.run(62, 0);
    assert.equal(h.last.desiredScale, 1);
    assert.notEqual(h.last.state.inactiveSince, undefined);
    const inactiveAt = h.last.state.inactiveSince!;
    // Not before the grace period has passed...
    while (h.clock.now() - inactiveAt < 30 * S - 2 * S) { h.run(2, 0); assert.equal(h.last.desiredScale, 1); }
    // ...and at zero right after it.
    h.run(4, 0);
    assert.equal(h.last.desiredScale, 0);
    assert.equal(h.last.activatorInPath, true);
    assert.ok(h.clock.now() - idleFrom >= 60 * S + 30 * S);
    // Traffic through the activator brings it back to one pod at once.
    h.run(1, 1);
    assert.equal(h.last.desiredScale, 1);
  });

  it('waits for the pod retention period when it is longer than the grace period', () => {
    const h = new Harness(spec({ 'stable-window': '10s', 'scale-to-zero-grace-period': '5s', 'scale-to-zero-pod-retention-period': '40s' }), 1);
    h.run(10, 5);
    h.run(30, 0);
    assert.equal(h.last.desiredScale, 1);
    h.run(30, 0);
    assert.equal(h.last.desiredScale, 0);
  });

  it('never scales to zero when enable-scale-to-zero is false', () => {
    const h = new Harness(spec({ 'enable-scale-to-zero': false }), 1);
    h.run(10, 10);
    h.run(300, 0);
    assert.ok(h.history.every((d) => d.desiredScale >= 1));
  });

  it('holds the maximum over scale-down-delay before scaling down', () => {
    const h = new Harness(spec({}, { 'scale-down-delay': '30s', window: '6s' }), 10);
    h.run(10, 700, { followDesired: false });
    assert.equal(h.last.desiredScale, 10);
    h.run(20, 140, { followDesired: false });
    assert.equal(h.last.desiredScale, 10, 'inside the delay window');
    h.run(20, 140, { followDesired: false });
    assert.equal(h.last.desiredScale, 5, 'rate limit: 10 / 2');
  });

  it('computes excess burst capacity: ready × total − TBC − panic; -1 always, 0 never', () => {
    const d = (tbc: string, ready: number, panic: number) =>
      decide(spec({ 'target-burst-capacity': tbc }), { ...initialKpaState(), initialScaleReached: true }, { readyPods: ready, observed: { stable: panic, panic } }, 0);
    assert.equal(d('200', 3, 50).excessBurstCapacity, 50); // 300 − 200 − 50
    assert.equal(d('200', 3, 50).activatorInPath, false);
    assert.equal(d('200', 2, 50).excessBurstCapacity, -50);
    assert.equal(d('200', 2, 50).activatorInPath, true);
    assert.equal(d('-1', 10, 0).excessBurstCapacity, -1);
    assert.equal(d('-1', 10, 0).activatorInPath, true);
    assert.equal(d('0', 1, 500).excessBurstCapacity, 0);
    assert.equal(d('0', 1, 500).activatorInPath, false);
  });

  it('keeps the previous decision while there is no data', () => {
    const h = new Harness(spec(), 1);
    h.run(60, 700);
    const before = h.last.desiredScale;
    h.run(120, -1); // nothing recorded: the stable window empties
    assert.equal(h.last.valid, false);
    assert.equal(h.last.desiredScale, before);
  });

  it('scales from zero to activation-scale at least', () => {
    const d = decide(spec({}, { 'activation-scale': '3' }), { ...initialKpaState(), initialScaleReached: true, lastDesired: 0 }, { readyPods: 0, observed: { stable: 1, panic: 1 } }, 0);
    assert.equal(d.desiredScale, 3);
  });
});
