import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ageSince, humanDuration } from './human-duration.ts';
import type { KubeObject } from './meta.ts';
import { kindByName } from './registry.ts';
import { toTable } from './table.ts';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const kind = (n: string) => kindByName(n)!;
const names = (t: { columnDefinitions: { name: string; priority: number }[] }) => t.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name.toUpperCase());

const ksvc: KubeObject = {
  apiVersion: 'serving.knative.dev/v1', kind: 'Service',
  metadata: { name: 'hello', namespace: 'default', creationTimestamp: ago(5000), resourceVersion: '7' },
  spec: {},
  status: {
    url: 'http://hello.default.127.0.0.1.sslip.io', latestCreatedRevisionName: 'hello-00002', latestReadyRevisionName: 'hello-00001',
    conditions: [{ type: 'ConfigurationsReady', status: 'Unknown' }, { type: 'Ready', status: 'Unknown', reason: 'RevisionMissing' }],
  },
};

test('ksvc columns and cells as Knative prints them', () => {
  const t = toTable(kind('ksvc'), [ksvc, { ...ksvc, metadata: { name: 'fresh' }, status: undefined }], { includeObject: 'None', now: NOW });
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(names(t), ['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']);
  assert.deepEqual(t.columnDefinitions[0], { name: 'Name', type: 'string', format: 'name', description: t.columnDefinitions[0]!.description, priority: 0 });
  assert.deepEqual(t.rows[0], { cells: ['hello', 'http://hello.default.127.0.0.1.sslip.io', 'hello-00002', 'hello-00001', 'Unknown', 'RevisionMissing'] });
  assert.deepEqual(t.rows[1]!.cells, ['fresh', null, null, null, null, null]);
});

test('includeObject: Object, Metadata, None', () => {
  const full = toTable(kind('ksvc'), [ksvc], { includeObject: 'Object', now: NOW });
  assert.equal(full.rows[0]!.object, ksvc);
  const meta = toTable(kind('ksvc'), [ksvc], { includeObject: 'Metadata', now: NOW });
  assert.deepEqual(meta.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: ksvc.metadata });
  assert.equal('object' in toTable(kind('ksvc'), [ksvc], { includeObject: 'None', now: NOW }).rows[0]!, false);
});

test('columns for each kind', () => {
  const cases: [string, string[]][] = [
    ['configurations', ['NAME', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']],
    ['revisions', ['NAME', 'CONFIG NAME', 'GENERATION', 'READY', 'REASON', 'ACTUAL REPLICAS', 'DESIRED REPLICAS']],
    ['routes', ['NAME', 'URL', 'READY', 'REASON']],
    ['pods', ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']],
    ['endpoints', ['NAME', 'ENDPOINTS', 'AGE']],
    ['namespaces', ['NAME', 'STATUS', 'AGE']],
    ['secrets', ['NAME', 'TYPE', 'DATA', 'AGE']],
    ['kingress', ['NAME', 'READY', 'REASON']],
    ['virtualservices', ['NAME', 'GATEWAYS', 'HOSTS', 'AGE']],
    ['destinationrules', ['NAME', 'HOST', 'AGE']],
    ['gateways', ['NAME', 'AGE']],
    ['sidecars', ['NAME', 'AGE']],
    ['peerauthentications', ['NAME', 'MODE', 'AGE']],
    ['authorizationpolicies', ['NAME', 'ACTION', 'AGE']],
    ['events', ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']],
  ];
  for (const [k, want] of cases) assert.deepEqual(names(toTable(kind(k), [], { includeObject: 'None', now: NOW })), want, k);
});

test('cells for revisions, pods, endpoints, secrets, namespaces and Istio kinds', () => {
  const rev: KubeObject = { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001', labels: { 'serving.knative.dev/configuration': 'hello', 'serving.knative.dev/configurationGeneration': '1' } }, status: { actualReplicas: 1, desiredReplicas: 2, conditions: [{ type: 'Ready', status: 'True' }] } };
  assert.deepEqual(toTable(kind('rev'), [rev], { includeObject: 'None', now: NOW }).rows[0]!.cells, ['hello-00001', 'hello', '1', 'True', null, 1, 2]);

  const pod: KubeObject = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', creationTimestamp: ago(3 * 60_000) },
    spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }], nodeName: 'local' },
    status: { phase: 'Running', podIP: '127.0.0.2', containerStatuses: [
      { name: 'a', image: 'x', ready: true, restartCount: 0, state: { running: {} } },
      { name: 'b', image: 'y', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(40_000) } } },
    ] },
  };
  assert.deepEqual(toTable(kind('pods'), [pod], { includeObject: 'None', now: NOW }).rows[0]!.cells, ['p', '1/2', 'CrashLoopBackOff', '2 (40s ago)', '3m', '127.0.0.2', 'local', '<none>', '<none>']);
  const terminating = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: ago(0) }, status: { phase: 'Running', containerStatuses: [] } };
  assert.equal(toTable(kind('pods'), [terminating], { includeObject: 'None', now: NOW }).rows[0]!.cells[2], 'Terminating');

  const ep = (n: number): KubeObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e', creationTimestamp: ago(90_000) }, subsets: [{ addresses: Array.from({ length: n }, (_, i) => ({ ip: `127.0.0.${i + 1}` })), ports: [{ port: 8080 }] }] });
  assert.deepEqual(toTable(kind('ep'), [ep(2), ep(5), { ...ep(0), subsets: [] }], { includeObject: 'None', now: NOW }).rows.map((r) => r.cells[1]), [
    '127.0.0.1:8080,127.0.0.2:8080', '127.0.0.1:8080,127.0.0.2:8080,127.0.0.3:8080 + 2 more...', '<none>',
  ]);
  const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', creationTimestamp: ago(2 * 86_400_000) }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==', 'tls.key': 'Yg==' } };
  assert.deepEqual(toTable(kind('secrets'), [secret], { includeObject: 'None', now: NOW }).rows[0]!.cells, ['s', 'kubernetes.io/tls', 2, '2d']);
  const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', creationTimestamp: ago(3_600_000) }, status: { phase: 'Active' } };
  assert.deepEqual(toTable(kind('ns'), [ns], { includeObject: 'None', now: NOW }).rows[0]!.cells, ['default', 'Active', '60m']);
  const vs: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v', creationTimestamp: ago(10_000) }, spec: { hosts: ['a', 'b'], gateways: ['mesh'] } };
  assert.deepEqual(toTable(kind('vs'), [vs], { includeObject: 'None', now: NOW }).rows[0]!.cells, ['v', '["mesh"]', '["a","b"]', '10s']);
});

test('AGE is formatted like kubectl', () => {
  const s = 1000; const m = 60 * s; const h = 60 * m; const d = 24 * h;
  const table: [number, string][] = [
    [-3 * s, '<invalid>'], [-1 * s, '0s'], [5 * s, '5s'], [119 * s, '119s'], [2 * m, '2m'], [3 * m + 20 * s, '3m20s'],
    [10 * m, '10m'], [179 * m, '179m'], [3 * h, '3h'], [5 * h + 10 * m, '5h10m'], [8 * h, '8h'], [47 * h, '47h'],
    [2 * d, '2d'], [2 * d + 3 * h, '2d3h'], [8 * d, '8d'], [400 * d, '400d'], [730 * d, '2y'], [800 * d, '2y70d'], [3000 * d, '8y'],
  ];
  for (const [ms, want] of table) assert.equal(humanDuration(ms), want, `${ms}`);
  assert.equal(ageSince(undefined, NOW), '<unknown>');
  assert.equal(ageSince('garbage', NOW), '<unknown>');
});
