import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Revision } from '../../api/types/knative.ts';
import type { Endpoints, Pod } from '../../api/types/core.ts';
import { getCondition } from '../../api/conditions.ts';
import { ImageTable } from '../../runtime/image-table.ts';
import { makePodMeta, makePodStatus } from '../../runtime/make-pod.ts';
import type { PodState } from '../../runtime/pod-process.ts';
import { newHarness } from '../testing/harness.ts';
import { R } from '../shared/resources.ts';
import { RevisionReconciler, type PodRuntime } from './reconciler.ts';
import type { ScaleSource } from './scale-source.ts';
import { initialScale } from './scale-source.ts';

type H = Awaited<ReturnType<typeof newHarness>>;

class FakeRuntime implements PodRuntime {
  readonly images = new ImageTable();
  ensured: [string, number][] = [];
  removed: string[] = [];
  resolve(rev: Revision) { return this.images.resolve(rev.spec!.containers[0]); }
  ensure(rev: Revision, n: number) { this.ensured.push([rev.metadata.name!, n]); }
  async remove(key: string) { this.removed.push(key); }
}

const revision = (container: Record<string, unknown> = {}, annotations: Record<string, string> = {}): Revision => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Revision',
  metadata: { name: 'hello-00001', namespace: 'default', annotations, labels: { 'serving.knative.dev/configuration': 'hello', 'serving.knative.dev/service': 'hello' } },
  spec: { containers: [{ image: 'sluice/hello', ...container }] },
});

/** Writes a Pod object as the runtime would, from a process state. */
async function pod(h: H, rev: Revision, name: string, port: number, s: Partial<PodState>): Promise<void> {
  const now = h.clock.now();
  const state: PodState = { namespace: 'default', name, port, createdAt: now, container: 'running', ready: false, readyChangedAt: now, restartCount: 0, terminating: false, finished: false, ...s };
  const meta = makePodMeta(rev, { namespace: 'default', name, port, templateHash: 'abc', nodeName: 'n' });
  await h.store.create(R.pods, meta);
  await h.store.update(R.pods, { ...meta, status: makePodStatus(state, 'sluice/hello') }, { subresource: 'status' });
}

test('initialScale honours initial-scale, min-scale and max-scale (table)', () => {
  const a = (x: Record<string, string>) => revision({}, x);
  const cases: [Record<string, string>, number][] = [
    [{}, 1], [{ 'autoscaling.knative.dev/initial-scale': '3' }, 3], [{ 'autoscaling.knative.dev/initial-scale': '0' }, 0],
    [{ 'autoscaling.knative.dev/min-scale': '2' }, 2], [{ 'autoscaling.knative.dev/initial-scale': '5', 'autoscaling.knative.dev/max-scale': '4' }, 4],
  ];
  for (const [ann, want] of cases) assert.equal(initialScale(a(ann)), want, JSON.stringify(ann));
});

test('Revision reconciler (table)', async (t) => {
  const cases: {
    name: string; rev?: Revision; scale?: ScaleSource;
    steps?: (h: H, rev: Revision) => Promise<void>;
    check: (h: H, rev: Revision, rt: FakeRuntime) => Promise<void>;
  }[] = [
    {
      name: 'no pods yet: asks for one pod, empty Endpoints, Deploying',
      check: async (h, rev, rt) => {
        assert.deepEqual(rt.ensured, [['hello-00001', 1]]);
        const ep = (await h.get<Endpoints>(R.endpoints, 'hello-00001'))!;
        assert.deepEqual(ep.subsets, []);
        assert.equal(ep.metadata.ownerReferences?.[0].kind, 'Revision');
        assert.equal(getCondition(rev.status?.conditions, 'ResourcesAvailable')?.reason, 'Deploying');
        assert.equal(getCondition(rev.status?.conditions, 'Ready')?.status, 'Unknown');
        assert.equal(rev.status?.desiredReplicas, 1);
        assert.equal(rev.status?.actualReplicas, 0);
      },
    },
    {
      name: 'a ready pod: Endpoints address with its port, Ready True, Active True',
      steps: async (h, rev) => { await pod(h, rev, 'p-ready', 40001, { ready: true }); await pod(h, rev, 'p-starting', 40002, {}); },
      check: async (h, rev) => {
        const ep = (await h.get<Endpoints>(R.endpoints, 'hello-00001'))!;
        assert.deepEqual(ep.subsets!.map((s) => [s.addresses?.[0]?.targetRef?.name, s.notReadyAddresses?.[0]?.targetRef?.name, s.ports?.[0].port]), [
          ['p-ready', undefined, 40001], [undefined, 'p-starting', 40002],
        ]);
        assert.equal(ep.subsets![0].addresses![0].ip, '127.0.0.1');
        for (const c of ['Ready', 'ResourcesAvailable', 'ContainerHealthy', 'Active']) assert.equal(getCondition(rev.status?.conditions, c)?.status, 'True', c);
        assert.equal(rev.status?.actualReplicas, 1);
      },
    },
    {
      name: 'an image missing from the table: Ready False ImageNotFound naming the image; nothing started',
      rev: revision({ image: 'registry.example/missing:v2' }),
      check: async (h, rev, rt) => {
        assert.deepEqual(rt.ensured, [['hello-00001', 0]]);
        const c = getCondition(rev.status?.conditions, 'Ready')!;
        assert.equal(c.status, 'False');
        assert.equal(c.reason, 'ImageNotFound');
        assert.match(c.message!, /registry\.example\/missing:v2/);
        assert.deepEqual((await h.events()).map((e) => [e.type, e.reason]), [['Warning', 'ImageNotFound']]);
      },
    },
    {
      name: 'an env source sluice cannot resolve: Ready False UnsupportedEnvSource with the field path',
      rev: revision({ env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } }] }),
      check: async (_h, rev, rt) => {
        assert.deepEqual(rt.ensured, [['hello-00001', 0]]);
        const c = getCondition(rev.status?.conditions, 'Ready')!;
        assert.equal(c.reason, 'UnsupportedEnvSource');
        assert.match(c.message!, /spec\.containers\[0\]\.env\[0\]\.valueFrom\.secretKeyRef/);
      },
    },
    {
      name: 'a gRPC probe: Ready False UnsupportedProbe with the field path',
      rev: revision({ readinessProbe: { grpc: { port: 8080 } } }),
      check: async (_h, rev) => {
        const c = getCondition(rev.status?.conditions, 'Ready')!;
        assert.equal(c.reason, 'UnsupportedProbe');
        assert.match(c.message!, /spec\.containers\[0\]\.readinessProbe\.grpc/);
      },
    },
    {
      name: 'volume mounts: Ready False UnsupportedVolume',
      rev: revision({ volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] }),
      check: async (_h, rev, rt) => {
        assert.deepEqual(rt.ensured, [['hello-00001', 0]]);
        assert.equal(getCondition(rev.status?.conditions, 'Ready')?.reason, 'UnsupportedVolume');
      },
    },
    {
      name: 'a crash-looping container: ContainerHealthy False with exit code and log lines',
      steps: async (h, rev) => {
        const now = h.clock.now();
        await pod(h, rev, 'p-crash', 40003, { container: 'waiting', waitingReason: 'CrashLoopBackOff', restartCount: 2,
          lastTermination: { exitCode: 2, reason: 'Error', message: 'listen EADDRINUSE\nbye', startedAt: now, finishedAt: now } });
      },
      check: async (_h, rev) => {
        const c = getCondition(rev.status?.conditions, 'ContainerHealthy')!;
        assert.equal(c.status, 'False');
        assert.equal(c.reason, 'ExitCode2');
        assert.match(c.message!, /exit code 2[\s\S]*listen EADDRINUSE\nbye/);
        assert.equal(getCondition(rev.status?.conditions, 'Ready')?.status, 'False');
      },
    },
    {
      name: 'the scale source decides: 0 → Active False NoTraffic after having been available',
      scale: { desiredScale: () => 0 },
      steps: async (h) => {
        await h.setStatus(R.revisions, 'hello-00001', { conditions: [{ type: 'ResourcesAvailable', status: 'True', lastTransitionTime: '2026-01-01T00:00:00.000Z' }] });
      },
      check: async (_h, rev, rt) => {
        assert.deepEqual(rt.ensured, [['hello-00001', 0]]);
        assert.equal(getCondition(rev.status?.conditions, 'Active')?.reason, 'NoTraffic');
        assert.equal(getCondition(rev.status?.conditions, 'ResourcesAvailable')?.status, 'True');
        assert.equal(rev.status?.desiredReplicas, 0);
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const h = await newHarness();
      try {
        const rt = new FakeRuntime();
        const r = new RevisionReconciler(h.ctx, rt, c.scale ?? { desiredScale: () => undefined });
        const rev = await h.create(R.revisions, c.rev ?? revision());
        await c.steps?.(h, rev);
        await r.reconcile('default/hello-00001');
        await c.check(h, (await h.get<Revision>(R.revisions, 'hello-00001'))!, rt);
      } finally { await h.close(); }
    });
  }
});

test('a deleted revision has its pods removed from the runtime', async () => {
  const h = await newHarness();
  try {
    const rt = new FakeRuntime();
    await new RevisionReconciler(h.ctx, rt, { desiredScale: () => undefined }).reconcile('default/gone-00001');
    assert.deepEqual(rt.removed, ['default/gone-00001']);
  } finally { await h.close(); }
});
