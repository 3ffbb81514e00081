import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.ts';
import { buildMeshState } from '../controlplane/translate/mesh-state.ts';
import { translateEndpoints } from '../controlplane/translate/translate.ts';
import * as f from '../controlplane/translate/testing/fixtures.ts';
import { GATEWAY } from '../controlplane/translate/testing/inspect.ts';
import { ACTIVATOR_MODE_ANNOTATION, activatorMode, endpointsActivatorMode, excessBurstCapacity } from './activator-mode.ts';
import { parseAutoscalerConfig, revisionScalingSpec } from './config.ts';
import { decide, initialKpaState, type KpaDecision, type KpaState } from './kpa-decider.ts';
import { StablePanicWindows } from './metric-window.ts';
import type { ScalingSpec } from './scaling-spec.ts';

const S = 1000;
function spec(ann: Record<string, string> = {}, cfg: Record<string, unknown> = {}, cc = 0): ScalingSpec {
  const a = Object.fromEntries(Object.entries(ann).map(([k, v]) => [`autoscaling.knative.dev/${k}`, v]));
  return revisionScalingSpec(a, cc, parseAutoscalerConfig(cfg, 'test.yaml'));
}
const mode = (d: KpaDecision) => (d.activatorInPath ? 'proxy' : 'serve');

describe('excess burst capacity and the activator mode (Knative SKS proxy/serve)', () => {
  it('EBC = floor(ready × total − TBC − panic); TBC −1 → −1, TBC 0 → 0', () => {
    assert.equal(excessBurstCapacity({ targetBurstCapacity: 200, totalValue: 100 }, 3, 50), 50);
    assert.equal(excessBurstCapacity({ targetBurstCapacity: 200, totalValue: 100 }, 2, 0.5), -1, 'floor(−0.5)');
    assert.equal(excessBurstCapacity({ targetBurstCapacity: 200, totalValue: 100 }, 2, 0), 0, 'exactly enough headroom serves');
    assert.equal(excessBurstCapacity({ targetBurstCapacity: -1, totalValue: 100 }, 50, 0), -1);
    assert.equal(excessBurstCapacity({ targetBurstCapacity: 0, totalValue: 100 }, 0, 1000), 0);
  });

  it('proxy at zero, with no ready pod, while inactive, or with negative EBC; serve otherwise', () => {
    const base = { readyPods: 3, desiredScale: 3, inactive: false, excessBurstCapacity: 0 };
    assert.equal(activatorMode(base), 'serve');
    assert.equal(activatorMode({ ...base, readyPods: 0 }), 'proxy');
    assert.equal(activatorMode({ ...base, desiredScale: 0 }), 'proxy');
    assert.equal(activatorMode({ ...base, inactive: true }), 'proxy');
    assert.equal(activatorMode({ ...base, excessBurstCapacity: -1 }), 'proxy');
  });

  it('reads the mode from an Endpoints annotation; anything but proxy is serve', () => {
    assert.equal(endpointsActivatorMode({ [ACTIVATOR_MODE_ANNOTATION]: 'proxy' }), 'proxy');
    assert.equal(endpointsActivatorMode({ [ACTIVATOR_MODE_ANNOTATION]: 'serve' }), 'serve');
    assert.equal(endpointsActivatorMode(undefined), 'serve');
  });
});

/** The decider ticked every 2 s over windows fed every second, pods following the desired scale after `lagTicks`. */
class Run {
  clock = new FakeClock();
  state: KpaState = { ...initialKpaState(), initialScaleReached: true };
  windows: StablePanicWindows;
  modes: string[] = [];
  last!: KpaDecision;
  private pending: number[] = [];
  constructor(readonly spec: ScalingSpec, public ready: number, readonly lagTicks = 1) {
    this.windows = new StablePanicWindows(spec.stableWindowMs, spec.panicWindowMs);
  }
  run(seconds: number, load: number): KpaDecision {
    for (let i = 0; i < seconds; i++) {
      this.clock.advance(S);
      this.windows.record(this.clock.now(), load);
      if (i % 2 === 1) {
        const now = this.clock.now();
        this.last = decide(this.spec, this.state, { readyPods: this.ready, observed: this.windows.observe(now) }, now);
        this.state = this.last.state;
        if (this.modes.at(-1) !== mode(this.last)) this.modes.push(mode(this.last));
        this.pending.push(this.last.desiredScale);
        if (this.pending.length > this.lagTicks) this.ready = this.pending.shift()!;
      }
    }
    return this.last;
  }
}

describe('KPA decider: the activator moves in and out of the path with the burst capacity', () => {
  it('default TBC 200 and target 100: the activator stays in the path below 3 pods of capacity', () => {
    const r = new Run(spec(), 1);
    r.run(10, 0);
    assert.equal(r.last.desiredScale, 1);
    assert.equal(r.last.excessBurstCapacity, -100, '1 × 100 − 200 − 0');
    assert.equal(mode(r.last), 'proxy');
    const three = new Run(spec({ 'min-scale': '3' }), 3);
    three.run(10, 0);
    assert.equal(three.last.excessBurstCapacity, 100, '3 × 100 − 200 − 0');
    assert.equal(mode(three.last), 'serve');
  });

  it('a burst puts the activator in the path, the scale-up takes it out again, the quiet after keeps serving until pods go', () => {
    // target 10 per pod (70 % → 7), TBC 15, two pods idle: 2 × 10 − 15 − 0 = 5 → serve.
    const r = new Run(spec({ target: '10', 'target-burst-capacity': '15', 'min-scale': '2', window: '6s' }), 2);
    r.run(10, 0);
    assert.equal(mode(r.last), 'serve', `idle with headroom: EBC ${r.last.excessBurstCapacity}`);
    // A burst of 40 concurrent requests: 2 × 10 − 15 − 40 < 0 → proxy; the decider asks for ceil(40 / 7) = 6 pods.
    r.run(2, 40);
    assert.equal(mode(r.last), 'proxy', `burst: EBC ${r.last.excessBurstCapacity}`);
    assert.equal(r.last.desiredScale, 6);
    // The pods arrive (one tick later) and the capacity covers load + TBC: 6 × 10 − 15 − 40 = 5 → serve.
    r.run(6, 40);
    assert.equal(r.ready, 6);
    assert.equal(mode(r.last), 'serve', `scaled up: EBC ${r.last.excessBurstCapacity}`);
    // Load ends: still serve while the pods stay; when the decider shrinks to min-scale (2) it serves with EBC 5 again.
    r.run(40, 0);
    assert.equal(r.last.desiredScale, 2);
    assert.equal(mode(r.last), 'serve');
    assert.deepEqual(r.modes, ['serve', 'proxy', 'serve'], 'one round trip through the activator, no flapping');
  });

  it('TBC −1 keeps the activator in the path at every scale; TBC 0 only at zero', () => {
    const always = new Run(spec({ 'target-burst-capacity': '-1', 'min-scale': '5' }), 5);
    always.run(10, 10);
    assert.equal(mode(always.last), 'proxy');
    const never = new Run(spec({ 'target-burst-capacity': '0' }), 1);
    never.run(10, 500);
    assert.equal(mode(never.last), 'serve', 'overloaded but TBC 0: pods direct');
    assert.deepEqual(never.modes, ['serve']);
  });

  it('an idle revision goes to proxy when it turns inactive, before the last pod is removed', () => {
    const r = new Run(spec({ 'target-burst-capacity': '0', window: '6s' }, { 'scale-to-zero-grace-period': '4s' }), 1);
    r.run(4, 1);
    assert.equal(mode(r.last), 'serve');
    r.run(8, 0);
    assert.equal(r.last.desiredScale, 1, 'still inside the grace period');
    assert.equal(mode(r.last), 'proxy', 'inactive: the activator is in the path while the last pod still runs');
    r.run(8, 0);
    assert.equal(r.last.desiredScale, 0);
    assert.equal(mode(r.last), 'proxy');
  });

  it('without data the mode is computed from the ready capacity alone', () => {
    const s = spec({ target: '10', 'target-burst-capacity': '15' });
    const d = (ready: number) => decide(s, { ...initialKpaState(), initialScaleReached: true, lastDesired: ready }, { readyPods: ready, observed: undefined }, 0);
    assert.equal(d(1).valid, false);
    assert.equal(mode(d(1)), 'proxy', '10 − 15 < 0');
    assert.equal(mode(d(2)), 'serve', '20 − 15 ≥ 0');
    assert.equal(mode(d(0)), 'proxy', 'no pod');
  });
});

describe('translation: proxy mode on the Endpoints sends the revision to the activator', () => {
  const REV = 'outbound|80||hello-00001.default.svc.cluster.local';
  const ing = f.knativeIngress('default', 'hello', [['hello-00001', 100]]);
  const addrs = (cla: any): string[] => cla.endpoints.flatMap((l: any) => l.lb_endpoints.map((e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`));
  const act = { address: '127.0.0.1', port: 8012 };
  const withMode = (m?: string) => {
    const ep = f.endpoints('default', 'hello-00001', [{ port: 30001, pod: 'a' }, { port: 30002, pod: 'b' }]);
    return m ? { ...ep, metadata: { ...ep.metadata, annotations: { [ACTIVATOR_MODE_ANNOTATION]: m } } } : ep;
  };
  const cla = (m: string | undefined, activator: typeof act | null = act) =>
    translateEndpoints(buildMeshState({ ingresses: [ing], endpoints: [withMode(m)], ...(activator ? { activator } : {}) }), GATEWAY, [REV]).get(REV);

  it('proxy → only the activator; serve or no annotation → the ready pods', () => {
    assert.deepEqual(addrs(cla('proxy')), ['127.0.0.1:8012']);
    assert.deepEqual(addrs(cla('serve')), ['127.0.0.1:30001', '127.0.0.1:30002']);
    assert.deepEqual(addrs(cla(undefined)), ['127.0.0.1:30001', '127.0.0.1:30002']);
  });

  it('without an activator, proxy mode cannot apply: the pods keep their traffic', () => {
    assert.deepEqual(addrs(cla('proxy', null)), ['127.0.0.1:30001', '127.0.0.1:30002']);
  });
});
