/**
 * In-process integration: MemoryStore + the serving component (ingressReadiness 'immediate')
 * with real pod processes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../store/memory-store.ts';
import type { KubeObject } from '../api/meta.ts';
import type { KService, Revision, Route } from '../api/types/knative.ts';
import type { KIngress } from '../api/types/ingress.ts';
import type { Endpoints } from '../api/types/core.ts';
import { getCondition } from '../api/conditions.ts';
import { isAlive } from '../runtime/pid-registry.ts';
import { createServingComponent, type ServingComponent } from './serving-component.ts';
import { R } from './shared/resources.ts';

let store: MemoryStore;
let serving: ServingComponent;
let stateDir: string;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'sluice-serving-'));
  store = new MemoryStore();
  serving = createServingComponent({ ingressReadiness: 'immediate', runtime: { restartBaseMs: 100, restartMaxMs: 400 } });
  await serving.start({ store, stateDir, config: { domain: 'example.test' } });
});
after(async () => {
  await serving.stop();
  await store.close();
  rmSync(stateDir, { recursive: true, force: true });
});

/** Resolves with the first value `check` returns for the object, watching the store (no polling). */
function waitFor<T>(resource: string, ns: string, name: string, what: string, check: (o: KubeObject) => T | undefined, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let w: { stop(): void } | undefined;
    let done = false;
    const finish = (v: T): void => { if (done) return; done = true; clearTimeout(t); w?.stop(); resolve(v); };
    const t = setTimeout(async () => {
      done = true; w?.stop();
      const cur = await store.get(resource, ns, name);
      reject(new Error(`timed out waiting for ${what}; last ${resource} ${name}: ${JSON.stringify(cur?.status ?? cur, null, 1)}`));
    }, ms);
    w = store.watch(resource, { namespace: ns }, (ev) => {
      if (ev.object.metadata?.name !== name || ev.type === 'DELETED') return;
      const v = check(ev.object);
      if (v !== undefined && v !== false) finish(v);
    });
    void store.get(resource, ns, name).then((o) => {
      if (!o) return;
      const v = check(o);
      if (v !== undefined && v !== false) finish(v);
    });
  });
}
const readyIs = (s: string) => (o: KubeObject) => (getCondition(o.status?.conditions, 'Ready')?.status === s ? o : undefined);

function ksvc(name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}): KService {
  return { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: 'default', labels }, spec: spec as unknown as KService['spec'] };
}
function container(env: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { image: 'sluice/hello', env: Object.entries(env).map(([name, value]) => ({ name, value })), ...extra };
}

async function endpointPort(rev: string): Promise<number> {
  const ep = await waitFor(R.endpoints, 'default', rev, `endpoints of ${rev}`, (o) => ((o as Endpoints).subsets?.some((s) => s.addresses?.length) ? (o as Endpoints) : undefined));
  return ep.subsets!.find((s) => s.addresses?.length)!.ports![0].port;
}

test('hello Service becomes Ready with URL; env change makes 00002; 90/10 split with a tag; delete leaves no process', async () => {
  await store.create(R.services, ksvc('hello', { template: { spec: { containers: [container({ TARGET: 'one' })] } } }));
  const svc = (await waitFor(R.services, 'default', 'hello', 'Service Ready', readyIs('True'))) as KService;
  assert.equal(svc.status?.url, 'http://hello.default.example.test');
  assert.equal(svc.status?.latestReadyRevisionName, 'hello-00001');
  assert.equal(svc.status?.latestCreatedRevisionName, 'hello-00001');
  for (const c of svc.status!.conditions!) assert.ok(c.lastTransitionTime, `${c.type} has lastTransitionTime`);
  assert.deepEqual(svc.status?.traffic, [{ revisionName: 'hello-00001', configurationName: 'hello', latestRevision: true, percent: 100 }]);
  const port1 = await endpointPort('hello-00001');
  assert.equal(await (await fetch(`http://127.0.0.1:${port1}/`)).text(), 'Hello one!\n');
  const ing = (await store.get(R.ingresses, 'default', 'hello')) as KIngress;
  assert.ok(ing.spec!.rules.some((r) => r.hosts.includes('hello.default.example.test') && r.visibility === 'ExternalIP'));
  assert.equal(getCondition(ing.status?.conditions, 'Ready')?.status, 'True');

  // Change an env var → revision 00002, 00001 stays.
  const cur = (await store.get(R.services, 'default', 'hello')) as KService;
  cur.spec!.template.spec.containers[0].env = [{ name: 'TARGET', value: 'two' }];
  await store.update(R.services, cur);
  await waitFor(R.services, 'default', 'hello', 'latestReady 00002', (o) => ((o as KService).status?.latestReadyRevisionName === 'hello-00002' && readyIs('True')(o) ? o : undefined));
  assert.ok(await store.get(R.revisions, 'default', 'hello-00001'), 'revision 00001 stays');
  // No longer routed and not the newest: 00001 is in reserve and scales to zero (Knative's routingState).
  const reserve = (await waitFor(R.revisions, 'default', 'hello-00001', '00001 scaled to zero',
    (o) => (getCondition(o.status?.conditions, 'Active')?.reason === 'NoTraffic' ? o : undefined))) as Revision;
  assert.equal(reserve.status?.desiredReplicas, 0);
  assert.equal(getCondition(reserve.status?.conditions, 'Ready')?.status, 'True', 'a revision at zero stays Ready');
  const port2 = await endpointPort('hello-00002');
  assert.equal(await (await fetch(`http://127.0.0.1:${port2}/`)).text(), 'Hello two!\n');

  // 90/10 split with a tag.
  const c2 = (await store.get(R.services, 'default', 'hello')) as KService;
  c2.spec!.traffic = [{ revisionName: 'hello-00001', percent: 90 }, { revisionName: 'hello-00002', percent: 10, tag: 'canary' }];
  await store.update(R.services, c2);
  const route = (await waitFor(R.routes, 'default', 'hello', 'route split', (o) => ((o as Route).status?.traffic?.length === 2 && readyIs('True')(o) ? o : undefined))) as Route;
  assert.deepEqual(route.status!.traffic, [
    { revisionName: 'hello-00001', latestRevision: false, percent: 90 },
    { tag: 'canary', revisionName: 'hello-00002', latestRevision: false, percent: 10, url: 'http://canary-hello.default.example.test' },
  ]);
  const ing2 = (await store.get(R.ingresses, 'default', 'hello')) as KIngress;
  const main = ing2.spec!.rules.find((r) => r.hosts.includes('hello.default.example.test'))!;
  assert.deepEqual(main.http.paths[0].splits.map((s) => [s.serviceName, s.percent]), [['hello-00001', 90], ['hello-00002', 10]]);
  assert.ok(ing2.spec!.rules.some((r) => r.hosts.includes('canary-hello.default.example.test')));
  await waitFor(R.services, 'default', 'hello', 'service traffic', (o) => ((o as KService).status?.traffic?.length === 2 ? o : undefined));
  // Routed again, 00001 scales back up.
  const port1b = await endpointPort('hello-00001');
  assert.equal(await (await fetch(`http://127.0.0.1:${port1b}/`)).text(), 'Hello one!\n');

  // Delete → no pod process left.
  const pids = serving.runtime!.livePids();
  assert.equal(pids.length, 2);
  await store.delete(R.services, 'default', 'hello');
  const deadline = Date.now() + 15_000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(pids.filter(isAlive), [], 'every pod process is gone');
  assert.equal((await store.list(R.pods, { namespace: 'default', labelSelector: 'serving.knative.dev/service=hello' })).items.length, 0);
});

test('an image missing from the table fails the Revision with a message naming the image', async () => {
  await store.create(R.services, ksvc('ghost', { template: { spec: { containers: [{ image: 'example.com/nope:1.0' }] } } }));
  const rev = (await waitFor(R.revisions, 'default', 'ghost-00001', 'Revision failed', readyIs('False'))) as Revision;
  const ready = getCondition(rev.status?.conditions, 'Ready')!;
  assert.equal(ready.reason, 'ImageNotFound');
  assert.match(ready.message!, /example\.com\/nope:1\.0/);
  const svc = (await waitFor(R.services, 'default', 'ghost', 'Service failed', readyIs('False'))) as KService;
  assert.match(getCondition(svc.status?.conditions, 'Ready')!.message!, /example\.com\/nope:1\.0/);
  assert.equal(serving.runtime!.pods('default/ghost-00001').length, 0);
  await store.delete(R.services, 'default', 'ghost');
});

test('a crashing app gives ContainerHealthy=False with the exit code and its last log lines', async () => {
  const script = 'console.log("starting up"); console.error("panic: cannot open /data/db"); process.exit(7)';
  await store.create(R.services, ksvc('crashy', { template: { spec: { containers: [{ image: 'sluice/hello', command: [process.execPath, '-e', script] }] } } }));
  const rev = (await waitFor(R.revisions, 'default', 'crashy-00001', 'ContainerHealthy False', (o) => (getCondition(o.status?.conditions, 'ContainerHealthy')?.status === 'False' ? o : undefined))) as Revision;
  const ch = getCondition(rev.status?.conditions, 'ContainerHealthy')!;
  assert.equal(ch.reason, 'ExitCode7');
  assert.match(ch.message!, /exit code 7/);
  assert.match(ch.message!, /panic: cannot open \/data\/db/);
  assert.equal(getCondition(rev.status?.conditions, 'Ready')?.status, 'False');
  await store.delete(R.services, 'default', 'crashy');
});

test('a cluster-local Service gets a cluster-local URL and no external host', async () => {
  await store.create(R.services, ksvc('inside', { template: { spec: { containers: [container({})] } } }, { 'networking.knative.dev/visibility': 'cluster-local' }));
  const svc = (await waitFor(R.services, 'default', 'inside', 'Service Ready', readyIs('True'))) as KService;
  assert.equal(svc.status?.url, 'http://inside.default.svc.cluster.local');
  const ing = (await store.get(R.ingresses, 'default', 'inside')) as KIngress;
  assert.ok(ing.spec!.rules.every((r) => r.visibility === 'ClusterLocal'));
  await store.delete(R.services, 'default', 'inside');
});
