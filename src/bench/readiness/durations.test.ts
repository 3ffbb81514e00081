import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDurations } from './durations.ts';
import { buildReport, growthRatio, toCsv, toHtml, consoleTable } from './report.ts';
import { summarize } from './stats.ts';
import type { KubeObject } from '../../api/meta.ts';

// Shaped like objects read from a real Knative cluster: second-precision RFC 3339 stamps.
const knService: KubeObject = {
  apiVersion: 'serving.knative.dev/v1', kind: 'Service',
  metadata: { name: 'ktest-1', namespace: 'test-1', creationTimestamp: '2024-05-01T10:00:00Z' },
  status: {
    conditions: [
      { type: 'ConfigurationsReady', status: 'True', lastTransitionTime: '2024-05-01T10:00:04Z' },
      { type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:07Z' },
      { type: 'RoutesReady', status: 'True', lastTransitionTime: '2024-05-01T10:00:07Z' },
    ],
  },
};
const knRevision: KubeObject = {
  apiVersion: 'serving.knative.dev/v1', kind: 'Revision',
  metadata: { name: 'ktest-1-00001', namespace: 'test-1', creationTimestamp: '2024-05-01T10:00:01Z' },
  status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:04Z' }] },
};
const knIngress: KubeObject = {
  apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress',
  metadata: { name: 'ktest-1', namespace: 'test-1', creationTimestamp: '2024-05-01T10:00:01Z' },
  status: { conditions: [
    { type: 'LoadBalancerReady', status: 'True', lastTransitionTime: '2024-05-01T10:00:06Z' },
    { type: 'NetworkConfigured', status: 'True', lastTransitionTime: '2024-05-01T10:00:02Z' },
    { type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:06Z' },
  ] },
};
const knPod: KubeObject = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'ktest-1-00001-deployment-abc', namespace: 'test-1', creationTimestamp: '2024-05-01T10:00:01Z' },
  status: {
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: '2024-05-01T10:00:01Z' },
      { type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:04Z' },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: '2024-05-01T10:00:04Z' },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2024-05-01T10:00:01Z' },
    ],
    containerStatuses: [
      { name: 'queue-proxy', ready: true, restartCount: 0, state: { running: { startedAt: '2024-05-01T10:00:03Z' } } },
      { name: 'user-container', ready: true, restartCount: 0, state: { running: { startedAt: '2024-05-01T10:00:02Z' } } },
    ],
  },
};

test('Kperf metrics from a real-Knative-shaped service', () => {
  const d = computeDurations({ service: knService, revision: knRevision, ingress: knIngress, pods: [knPod] });
  assert.equal(d.ready, true);
  assert.deepEqual(d.durations, {
    service_ready: 7000, configuration_ready: 4000, route_ready: 7000, revision_ready: 3000,
    ingress_ready: 5000, xds_acked: 4000, ingress_after_revision: 2000,
    pod_scheduled: 0, containers_ready: 3000, pod_started: 1000, endpoints_ready: 3000,
  });
  assert.deepEqual(d.outOfOrder, []);
});

test('millisecond stamps (sluice) keep sub-second precision', () => {
  const svc = structuredClone(knService);
  svc.metadata.creationTimestamp = '2026-01-01T00:00:00.100Z';
  svc.status.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00.345Z' }];
  assert.equal(computeDurations({ service: svc }).durations.service_ready, 245);
});

test('missing stamps leave metrics out; a False condition is not readiness', () => {
  const svc = structuredClone(knService);
  svc.status.conditions = [
    { type: 'ConfigurationsReady', status: 'False', reason: 'RevisionFailed', message: 'image "nope" not found', lastTransitionTime: '2024-05-01T10:00:03Z' },
    { type: 'Ready', status: 'False', reason: 'RevisionFailed', lastTransitionTime: '2024-05-01T10:00:03Z' },
    { type: 'RoutesReady', status: 'Unknown' },
  ];
  const rev = structuredClone(knRevision);
  delete rev.metadata.creationTimestamp;
  const d = computeDurations({ service: svc, revision: rev, pods: [] });
  assert.equal(d.ready, false);
  assert.deepEqual(d.durations, {});
  assert.equal(d.notReadyConditions?.length, 3);
  assert.equal(d.notReadyConditions?.[0]?.reason, 'RevisionFailed');
});

test('out-of-order stamps clamp to zero and are reported', () => {
  const ing = structuredClone(knIngress);
  // LoadBalancerReady stamped before NetworkConfigured (second-precision rounding on a real cluster).
  ing.status.conditions[0].lastTransitionTime = '2024-05-01T10:00:01Z';
  const d = computeDurations({ service: knService, ingress: ing });
  assert.equal(d.durations.xds_acked, 0);
  assert.ok(d.outOfOrder.includes('xds_acked'));
  const garbage = structuredClone(knService);
  garbage.metadata.creationTimestamp = 'not a time';
  assert.equal(computeDurations({ service: garbage }).durations.service_ready, undefined);
});

test('the earliest ready pod is the one measured', () => {
  const late = structuredClone(knPod);
  late.metadata.name = 'later';
  late.metadata.creationTimestamp = '2024-05-01T10:00:30Z';
  late.status.conditions = late.status.conditions.map((c: any) => ({ ...c, lastTransitionTime: '2024-05-01T10:00:40Z' }));
  const d = computeDurations({ service: knService, pods: [late, knPod] });
  assert.equal(d.durations.containers_ready, 3000);
});

test('summaries, growth ratio and the three report formats', () => {
  const services = Array.from({ length: 300 }, (_, i) => {
    const s = structuredClone(knService);
    const t0 = Date.parse('2026-01-01T00:00:00.000Z') + i * 50;
    s.metadata.name = `s-${i}`;
    s.metadata.creationTimestamp = new Date(t0).toISOString();
    s.status.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(t0 + (i < 150 ? 100 : 200)).toISOString() }];
    return computeDurations({ service: s });
  });
  assert.equal(growthRatio(services), 2);
  const run = { target: 'http://127.0.0.1:1', services: 300, intervalMs: 50, batch: 1, namespaces: 1, image: 'sluice/hello', startedAt: 'a', finishedAt: 'b', machine: { cores: 2, memoryMb: 1, platform: 'linux', node: 'v20' } };
  const r = buildReport(run, services);
  assert.equal(r.headline.ready, 300);
  assert.equal(r.headline.service_ready_p50_ms, 100);
  assert.equal(r.headline.service_ready_p99_ms, 200);
  const csv = toCsv(r).trim().split('\n');
  assert.equal(csv.length, 301);
  assert.match(csv[0]!, /^namespace,name,created_at,ready,service_ready,/);
  assert.match(toHtml(r), /<svg[^>]*>.*<circle/s);
  assert.match(consoleTable(r), /service_ready\s+300\s+100/);
  assert.deepEqual(summarize([5, 1, 3]), { count: 3, min: 1, mean: 3, p50: 3, p90: 5, p95: 5, p99: 5, max: 5 });
});
