import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.ts';
import { isSluiceError } from '../lib/errors.ts';
import { HPA_CLASS, parseAutoscalerConfig, revisionScalingSpec } from './config.ts';
import type { ScaleDecision } from './multiscaler.ts';
import { Multiscaler } from './multiscaler.ts';
import { ACTIVATOR_POD_ID, RevisionAutoscaler } from './revision-autoscaler.ts';

const S = 1000;
const cfg = parseAutoscalerConfig({ 'stable-window': '10s', 'scale-to-zero-grace-period': '4s' }, 'test.yaml');

describe('RevisionAutoscaler', () => {
  it('sums pods per second and averages repeated reports of one pod within a second', () => {
    const clock = new FakeClock();
    const ra = new RevisionAutoscaler(revisionScalingSpec({}, 0, cfg));
    ra.report('a', clock.now(), { concurrency: 4, rps: 0 });
    ra.report('b', clock.now(), { concurrency: 2, rps: 0 });
    ra.report('a', clock.now() + 500, { concurrency: 8, rps: 0 }); // same second: a counts (4+8)/2 = 6
    assert.deepEqual(ra.observe(clock.now() + 500), { stable: 8, panic: 8 });
    assert.throws(() => ra.report('a', clock.now(), { concurrency: -1, rps: 0 }), (e) => isSluiceError(e, 'SLUICE_E_POD_STAT'));
  });

  it('reads rps for the rps metric', () => {
    const ra = new RevisionAutoscaler(revisionScalingSpec({ 'autoscaling.knative.dev/metric': 'rps' }, 0, cfg));
    ra.report('a', 0, { concurrency: 1, rps: 300 });
    assert.equal(ra.observe(0)?.stable, 300);
  });
});

describe('Multiscaler', () => {
  function setup() {
    const clock = new FakeClock();
    const ready = new Map<string, number>([['ns/r1', 1]]);
    const decisions: [string, ScaleDecision][] = [];
    const ms = new Multiscaler(clock, {
      readyPods: (k) => ready.get(k) ?? 0,
      cpuInput: (k) => ({ currentReplicas: ready.get(k) ?? 0, pods: Array.from({ length: ready.get(k) ?? 0 }, (_, i) => ({ podId: `p${i}`, ready: true, readySince: 0, cpuUtilization: 400 })) }),
      onDecision: (k, d) => { decisions.push([k, d]); if (d.desiredScale !== ready.get(k)) ready.set(k, d.desiredScale); },
    });
    return { clock, ready, decisions, ms };
  }

  it('ticks every 2 s, scales an idle revision to zero, and a poke brings it back at once', () => {
    const { clock, ready, decisions, ms } = setup();
    ms.watch('ns/r1', revisionScalingSpec({}, 0, cfg));
    ms.start();
    for (let i = 0; i < 40; i++) { ms.report('ns/r1', 'pod-1', { concurrency: 0, rps: 0 }); clock.advance(S); }
    assert.equal(decisions.length, 20);
    assert.equal(ready.get('ns/r1'), 0);
    const zeroAt = decisions.findIndex(([, d]) => d.desiredScale === 0);
    assert.ok(zeroAt > 0 && (zeroAt + 1) * 2 >= 10 + 4, `zero after ${(zeroAt + 1) * 2} s`);
    ms.report('ns/r1', ACTIVATOR_POD_ID, { concurrency: 1, rps: 1 });
    const d = ms.poke('ns/r1');
    assert.equal(d?.desiredScale, 1);
    assert.equal(d?.kind === 'kpa' && d.activatorInPath, true);
    ms.stop();
    assert.equal(clock.pending(), 0);
  });

  it('a revision resumed at zero after a restart stays at zero (no initial scale again), and a request still brings it up', () => {
    const { clock, ready, decisions, ms } = setup();
    ready.set('ns/r1', 0);
    ms.watch('ns/r1', revisionScalingSpec({}, 0, cfg), 0);
    ms.start();
    clock.advance(20 * S);
    assert.ok(decisions.length >= 5, 'it was ticked');
    assert.deepEqual([...new Set(decisions.map(([, d]) => d.desiredScale))], [0], 'never scaled up without traffic');
    ms.report('ns/r1', ACTIVATOR_POD_ID, { concurrency: 1, rps: 1 });
    assert.equal(ms.poke('ns/r1')?.desiredScale, 1, 'the first request brings it back');
    ms.stop();
    // Without the resume hint a new revision starts at its initial scale (1).
    const fresh = setup();
    fresh.ready.set('ns/r1', 0);
    fresh.ms.watch('ns/r1', revisionScalingSpec({}, 0, cfg));
    fresh.ms.tick();
    assert.equal(fresh.decisions[0]?.[1].desiredScale, 1);
  });

  it('runs the CPU class on its sync period and never pokes it', () => {
    const { clock, decisions, ms } = setup();
    ms.watch('ns/r1', revisionScalingSpec({ 'autoscaling.knative.dev/class': HPA_CLASS }, 0, cfg));
    ms.start();
    clock.advance(31 * S);
    const hpa = decisions.filter(([, d]) => d.kind === 'hpa');
    assert.equal(hpa.length, 2); // at 2 s and at 18 s (15 s sync period)
    assert.equal(hpa[0]![1].desiredScale, 5); // 400 % on one pod, target 80 %
    assert.equal(ms.poke('ns/r1'), undefined);
    ms.stop();
  });

  it('keeps ticking other revisions when one fails', () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    const ms = new Multiscaler(clock, { readyPods: (k) => { if (k === 'bad') throw new Error('boom'); return 1; }, onDecision: (k) => seen.push(k) });
    ms.watch('bad', revisionScalingSpec({}, 0, cfg));
    ms.watch('good', revisionScalingSpec({}, 0, cfg));
    ms.tick();
    assert.deepEqual(seen, ['good']);
  });
});
