import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import type { Revision } from '../api/types/knative.ts';
import type { PodState } from '../runtime/pod-process.ts';
import type { RoutingState } from '../reconcilers/revision/routing-state.ts';
import { parseAutoscalerConfig } from './config.ts';
import { AutoscalerScaleSource } from './autoscaler-scale-source.ts';

const cfg = parseAutoscalerConfig({ 'stable-window': '6s', 'scale-to-zero-grace-period': '1s', 'tick-interval': '1s' }, 'test.yaml');
const rev = (annotations: Record<string, string> = {}): Revision => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { namespace: 'default', name: 'hello-00001', annotations },
  spec: { containerConcurrency: 4, containers: [{ image: 'sluice/hello' }] },
} as Revision);
const pod = (name: string, ready: boolean): PodState => ({ namespace: 'default', name, port: 1, createdAt: 0, container: 'running', ready, readyChangedAt: 0, restartCount: 0, terminating: false, finished: false });

function setup(state: RoutingState = 'active') {
  const clock = new FakeClock();
  let pods: PodState[] = [pod('a', true)];
  const src = new AutoscalerScaleSource({ config: cfg, clock, pods: () => pods, routingState: () => state });
  const changed: string[] = [];
  src.subscribe((k) => changed.push(k));
  return { clock, src, changed, setPods: (p: PodState[]) => { pods = p; } };
}

test('an idle routed revision goes to zero after a stable window and the grace period; each change is announced', () => {
  const { clock, src, changed } = setup();
  assert.equal(src.desiredScale('default/hello-00001', rev()), undefined, 'no decision yet: the reconciler applies initial scale');
  src.start();
  for (let s = 0; s < 12; s++) { src.podStats('default/hello-00001', 'a', { concurrency: 0, rps: 0 }); clock.advance(1000); }
  assert.equal(src.desiredScale('default/hello-00001', rev()), 0, 'scaled to zero');
  assert.deepEqual([...new Set(changed)], ['default/hello-00001'], 'the revision was re-enqueued on changes');
  assert.equal(src.containerConcurrency('default/hello-00001'), 4, 'containerConcurrency of the watched revision');
  src.stop();
});

test('the activator\'s demand for a revision with no pod decides at once (scale from zero)', () => {
  const { clock, src, setPods } = setup();
  src.desiredScale('default/hello-00001', rev());
  src.start();
  for (let s = 0; s < 12; s++) { src.podStats('default/hello-00001', 'a', { concurrency: 0, rps: 0 }); clock.advance(1000); }
  assert.equal(src.desiredScale('default/hello-00001', rev()), 0, 'at zero');
  setPods([]);
  src.demand('default/hello-00001', { concurrency: 1, rps: 0 });
  assert.equal(src.desiredScale('default/hello-00001', rev()), 1, 'one pod asked for without waiting for a tick');
  src.stop();
});

test('reserve revisions and revisions with bad annotations are left to the reconciler default', () => {
  const reserve = setup('reserve');
  assert.equal(reserve.src.desiredScale('default/hello-00001', rev()), undefined, 'reserve → no opinion');
  assert.equal(reserve.src.multiscaler.has('default/hello-00001'), false, 'not watched');
  const bad = setup();
  assert.equal(bad.src.desiredScale('default/hello-00001', rev({ 'autoscaling.knative.dev/min-scale': 'lots' })), undefined, 'bad annotation → no opinion');
  assert.equal(bad.src.multiscaler.has('default/hello-00001'), false, 'not watched');
});

test('each decision sets the activator mode; changes are announced once, and forgetting clears it', () => {
  const { clock, src } = setup();
  const modeChanges: string[] = [];
  src.onModeChange((k) => modeChanges.push(`${k}:${src.activatorMode(k) ?? '-'}`));
  // containerConcurrency 4 → 4 per pod; TBC 6: one pod (4 − 6 < 0) proxies, two idle pods (8 − 6 ≥ 0) serve.
  const r = rev({ 'autoscaling.knative.dev/target-burst-capacity': '6', 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/panic-window-percentage': '50' });
  src.desiredScale('default/hello-00001', r);
  assert.equal(src.activatorMode('default/hello-00001'), undefined, 'no opinion before the first decision');
  src.start();
  src.podStats('default/hello-00001', 'a', { concurrency: 0, rps: 0 });
  clock.advance(1000);
  assert.equal(src.activatorMode('default/hello-00001'), 'proxy', 'one pod: too little spare capacity');
  src.stop();
  const two = setup();
  two.setPods([pod('a', true), pod('b', true)]);
  two.src.desiredScale('default/hello-00001', r);
  two.src.start();
  for (let s = 0; s < 3; s++) { two.src.podStats('default/hello-00001', 'a', { concurrency: 0, rps: 0 }); two.clock.advance(1000); }
  assert.equal(two.src.activatorMode('default/hello-00001'), 'serve', 'two idle pods: 8 − 6 − 0 ≥ 0');
  // A burst the pods cannot absorb with TBC to spare: proxy.
  for (let s = 0; s < 2; s++) {
    two.src.podStats('default/hello-00001', 'a', { concurrency: 4, rps: 0 });
    two.src.podStats('default/hello-00001', 'b', { concurrency: 4, rps: 0 });
    two.clock.advance(1000);
  }
  assert.equal(two.src.activatorMode('default/hello-00001'), 'proxy', 'burst: 8 − 6 − panic < 0');
  two.src.stop();
  assert.deepEqual(modeChanges, ['default/hello-00001:proxy'], 'the first source announced its one change');
  src.forget('default/hello-00001');
  assert.deepEqual(modeChanges, ['default/hello-00001:proxy', 'default/hello-00001:-'], 'forgetting announces the cleared mode');
});

test('a pod not yet ready in the Endpoints is not capacity: the revision is not scaled to zero before it served', () => {
  const clock = new FakeClock();
  let inEndpoints = false;
  const src = new AutoscalerScaleSource({ config: cfg, clock, pods: () => [pod('a', true)], routingState: () => 'active', isReady: () => inEndpoints });
  src.desiredScale('default/hello-00001', rev());
  src.start();
  for (let s = 0; s < 20; s++) { src.podStats('default/hello-00001', 'a', { concurrency: 0, rps: 0 }); clock.advance(1000); }
  assert.equal(src.desiredScale('default/hello-00001', rev()), 1, 'held at the initial scale while the pod is not in the Endpoints');
  inEndpoints = true;
  for (let s = 0; s < 20; s++) { src.podStats('default/hello-00001', 'a', { concurrency: 0, rps: 0 }); clock.advance(1000); }
  assert.equal(src.desiredScale('default/hello-00001', rev()), 0, 'once it was ready, idle → zero');
  src.stop();
});
