/** The API server in-process over a MemoryStore: discovery, CRUD, patches, apply, watch, tables. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { MemoryStore } from '../store/memory-store.ts';
import { createApiServer, type ApiServer } from './api-server.ts';

const SVC = '/apis/serving.knative.dev/v1/namespaces/default/services';
let store: MemoryStore;
let api: ApiServer;
let base: string;

before(async () => {
  store = new MemoryStore({ historyLimit: 50 });
  api = createApiServer({ store });
  api.addRoute('/extra', (_req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('mounted'); });
  const port = await api.listen(0);
  base = `http://127.0.0.1:${port}`;
});
after(async () => {
  await api.close();
  await store.close();
});

async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(base + p, init);
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* plain text */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

const ksvc = (name: string, labels: Record<string, string> = {}): Record<string, unknown> => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, labels },
  spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } },
});

/** Reads a watch stream until `done(events)` or the stream ends; returns the events. */
function watch(p: string, done: (evs: any[]) => boolean, onOpen?: () => void): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const evs: any[] = [];
    const req = http.get(base + p, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      onOpen?.();
      res.on('data', (c: string) => {
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          evs.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
        if (done(evs)) { req.destroy(); resolve(evs); }
      });
      res.on('end', () => resolve(evs));
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
    setTimeout(() => { req.destroy(); reject(new Error(`watch ${p} timed out with ${JSON.stringify(evs)}`)); }, 10_000).unref();
  });
}

test('health, version, extra routes', async () => {
  assert.equal((await call('GET', '/healthz')).body, 'ok');
  assert.equal((await call('GET', '/readyz')).body, 'ok');
  assert.equal((await call('GET', '/version')).body.major, '1');
  assert.equal((await call('GET', '/extra/x')).body, 'mounted');
});

test('discovery: legacy documents and aggregated v2', async () => {
  assert.deepEqual((await call('GET', '/api')).body.versions, ['v1']);
  const groups = (await call('GET', '/apis')).body.groups.map((g: any) => g.name);
  assert.ok(groups.includes('serving.knative.dev') && groups.includes('networking.istio.io'));
  const rl = (await call('GET', '/apis/serving.knative.dev/v1')).body;
  const svc = rl.resources.find((r: any) => r.name === 'services');
  assert.deepEqual(svc.shortNames, ['kservice', 'ksvc']);
  assert.ok(svc.verbs.includes('watch') && svc.namespaced);
  assert.ok(rl.resources.some((r: any) => r.name === 'services/status'));
  const agg = await call('GET', '/apis', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
  assert.match(agg.headers.get('content-type')!, /g=apidiscovery\.k8s\.io;v=v2;as=APIGroupDiscoveryList/);
  assert.equal(agg.body.kind, 'APIGroupDiscoveryList');
  const core = await call('GET', '/api', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' });
  assert.ok(core.body.items[0].versions[0].resources.some((r: any) => r.resource === 'namespaces' && r.scope === 'Cluster'));
  assert.equal((await call('GET', '/apis/nope.io/v1')).status, 404);
  const oa = await call('GET', '/openapi/v3');
  assert.ok(oa.body.paths['apis/serving.knative.dev/v1'].serverRelativeURL);
});

test('built-in namespaces exist', async () => {
  const ns = (await call('GET', '/api/v1/namespaces')).body.items.map((o: any) => o.metadata.name);
  assert.ok(ns.includes('default') && ns.includes('sluice-system'));
});

test('create, get, list with paging and selectors, table output, dry run', async () => {
  for (const n of ['a1', 'a2', 'a3']) assert.equal((await call('POST', SVC, ksvc(n, { tier: n === 'a3' ? 'back' : 'front' }))).status, 201);
  assert.equal((await call('POST', SVC, ksvc('a1'))).body.reason, 'AlreadyExists');
  const got = await call('GET', `${SVC}/a1`);
  assert.equal(got.body.spec.template.spec.timeoutSeconds, 300, 'defaulted');
  const p1 = (await call('GET', `${SVC}?limit=2`)).body;
  assert.equal(p1.kind, 'ServiceList');
  assert.equal(p1.items.length, 2);
  const p2 = (await call('GET', `${SVC}?limit=2&continue=${encodeURIComponent(p1.metadata.continue)}`)).body;
  assert.deepEqual([...p1.items, ...p2.items].map((o: any) => o.metadata.name).filter((n: string) => n.startsWith('a')), ['a1', 'a2', 'a3']);
  assert.deepEqual((await call('GET', `${SVC}?labelSelector=tier%3Dback`)).body.items.map((o: any) => o.metadata.name), ['a3']);
  assert.deepEqual((await call('GET', `/apis/serving.knative.dev/v1/services?fieldSelector=metadata.name%3Da2`)).body.items.map((o: any) => o.metadata.name), ['a2']);
  const table = (await call('GET', SVC, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' })).body;
  assert.equal(table.kind, 'Table');
  assert.deepEqual(table.columnDefinitions.filter((c: any) => !c.priority).map((c: any) => c.name), ['Name', 'URL', 'LatestCreated', 'LatestReady', 'Ready', 'Reason']);
  assert.ok(table.metadata.resourceVersion);
  const dry = await call('POST', `${SVC}?dryRun=All`, ksvc('dry'));
  assert.equal(dry.status, 201);
  assert.equal((await call('GET', `${SVC}/dry`)).status, 404, 'dry run stored nothing');
});

test('status subresource: PUT/PATCH /status change only status; main writes keep it', async () => {
  await call('POST', SVC, ksvc('st'));
  const r = await call('PATCH', `${SVC}/st/status`, { status: { url: 'http://st' }, spec: { template: { spec: { containers: [{ image: 'changed' }] } } } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status.url, 'http://st');
  assert.equal(r.body.spec.template.spec.containers[0].image, 'sluice/hello', 'spec untouched by /status');
  const cur = (await call('GET', `${SVC}/st`)).body;
  cur.status = { url: 'http://ignored' };
  cur.metadata.labels = { x: 'y' };
  const put = await call('PUT', `${SVC}/st`, cur);
  assert.equal(put.status, 200);
  assert.equal(put.body.status.url, 'http://st', 'main resource write keeps status');
  assert.equal(put.body.metadata.labels.x, 'y');
});

test('patch types: merge, strategic (as merge), JSON patch; application/json is 415', async () => {
  await call('POST', SVC, ksvc('pt'));
  const m = await call('PATCH', `${SVC}/pt`, { metadata: { labels: { a: '1' } } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.equal(m.body.metadata.labels.a, '1');
  const s = await call('PATCH', `${SVC}/pt`, { metadata: { labels: { b: '2' } } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
  assert.deepEqual(s.body.metadata.labels, { a: '1', b: '2' });
  const j = await call('PATCH', `${SVC}/pt`, [{ op: 'remove', path: '/metadata/labels/a' }], { 'Content-Type': 'application/json-patch+json' });
  assert.deepEqual(j.body.metadata.labels, { b: '2' });
  const stale = await call('PATCH', `${SVC}/pt`, { metadata: { resourceVersion: '1', labels: { c: '3' } } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.equal(stale.status, 409);
  assert.equal((await call('PATCH', `${SVC}/pt`, {}, { 'Content-Type': 'application/json' })).status, 415);
  assert.equal((await call('PATCH', `${SVC}/missing`, {}, { 'Content-Type': 'application/merge-patch+json' })).status, 404);
});

test('server-side apply creates, then a re-apply drops fields the manager no longer sets', async () => {
  const yaml = (labels: string): string => `apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: ssa\n  labels:\n${labels}\nspec:\n  template:\n    spec:\n      containers:\n      - image: sluice/hello\n`;
  assert.equal((await call('PATCH', `${SVC}/ssa`, yaml('    a: "1"'), { 'Content-Type': 'application/apply-patch+yaml' })).status, 400, 'fieldManager required');
  const c = await call('PATCH', `${SVC}/ssa?fieldManager=me`, yaml('    a: "1"\n    b: "2"'), { 'Content-Type': 'application/apply-patch+yaml' });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const u = await call('PATCH', `${SVC}/ssa?fieldManager=me`, yaml('    a: "1"'), { 'Content-Type': 'application/apply-patch+yaml' });
  assert.equal(u.status, 200);
  assert.deepEqual(u.body.metadata.labels, { a: '1' });
  assert.equal(u.body.metadata.managedFields[0].manager, 'me');
});

test('delete: preconditions, propagation, collection, Status for secrets', async () => {
  await call('POST', SVC, ksvc('del1'));
  const bad = await call('DELETE', `${SVC}/del1`, { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'nope' } });
  assert.equal(bad.status, 409, JSON.stringify(bad.body));
  const ok = await call('DELETE', `${SVC}/del1?propagationPolicy=Background`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.metadata.name, 'del1');
  assert.equal((await call('DELETE', `${SVC}/del1`)).body.reason, 'NotFound');
  assert.equal((await call('DELETE', `${SVC}/x?propagationPolicy=Sideways`)).status, 400);
  for (const n of ['dc1', 'dc2']) await call('POST', SVC, ksvc(n, { batch: 'dc' }));
  const coll = await call('DELETE', `${SVC}?labelSelector=batch%3Ddc`);
  assert.deepEqual(coll.body.items.map((o: any) => o.metadata.name).sort(), ['dc1', 'dc2']);
  await call('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, data: { k: 'dg==' } });
  const st = await call('DELETE', '/api/v1/namespaces/default/secrets/s1');
  assert.equal(st.body.kind, 'Status');
  assert.equal(st.body.status, 'Success');
});

test('deleting a namespace removes its objects', async () => {
  assert.equal((await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } })).status, 201);
  assert.equal((await call('POST', '/apis/serving.knative.dev/v1/namespaces/tmp/services', ksvc('inner'))).status, 201);
  assert.equal((await call('DELETE', '/api/v1/namespaces/tmp')).status, 200);
  assert.equal((await call('GET', '/apis/serving.knative.dev/v1/namespaces/tmp/services/inner')).status, 404);
  assert.equal((await call('POST', '/apis/serving.knative.dev/v1/namespaces/tmp/services', ksvc('again'))).status, 404);
});

test('watch: initial ADDED events without a resourceVersion, then live changes', async () => {
  await call('POST', SVC, ksvc('w-initial', { w: 'init' }));
  const evs = await watch(`${SVC}?watch=true&labelSelector=w%3Dinit`, (e) => e.some((x) => x.type === 'MODIFIED'), () => {
    setTimeout(() => void call('PATCH', `${SVC}/w-initial`, { metadata: { annotations: { n: '1' } } }, { 'Content-Type': 'application/merge-patch+json' }), 50);
  });
  assert.deepEqual(evs.map((e) => e.type), ['ADDED', 'MODIFIED']);
});

test('watch: resume from a resourceVersion, named and legacy /watch/ paths, Table events', async () => {
  const rv = (await call('GET', SVC)).body.metadata.resourceVersion;
  await call('POST', SVC, ksvc('w-resume'));
  await call('DELETE', `${SVC}/w-resume`);
  const evs = await watch(`${SVC}?watch=1&resourceVersion=${rv}`, (e) => e.length >= 2);
  assert.deepEqual(evs.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w-resume'], ['DELETED', 'w-resume']]);
  const legacy = await watch(`/apis/serving.knative.dev/v1/watch/namespaces/default/services/w-resume?resourceVersion=${rv}`, (e) => e.length >= 2);
  assert.equal(legacy.length, 2);
  const tables = await new Promise<any[]>((resolve, reject) => {
    const req = http.get(`${base}${SVC}?watch=true&resourceVersion=${rv}`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        const lines = buf.split('\n').filter(Boolean);
        if (lines.length >= 1) { req.destroy(); resolve(lines.map((l) => JSON.parse(l))); }
      });
    });
    req.on('error', reject);
  });
  assert.equal(tables[0].object.kind, 'Table');
  assert.equal(tables[0].object.rows[0].cells[0], 'w-resume');
});

test('watch: a compacted resourceVersion is an ERROR event with a 410 Expired Status; timeoutSeconds ends the stream', async () => {
  await call('POST', SVC, ksvc('w-old'));
  const cur = await store.currentResourceVersion();
  await store.compact(cur);
  const evs = await watch(`${SVC}?watch=true&resourceVersion=1`, () => false);
  assert.equal(evs.length, 1);
  assert.equal(evs[0].type, 'ERROR');
  assert.equal(evs[0].object.code, 410);
  assert.equal(evs[0].object.reason, 'Expired');
  const ended = await watch(`${SVC}?watch=true&resourceVersion=${cur}&timeoutSeconds=1`, () => false);
  assert.deepEqual(ended, []);
});

test('kind-specific field selectors: events by involvedObject (kubectl describe)', async () => {
  const ev = (name: string, uid: string): Record<string, unknown> => ({
    apiVersion: 'v1', kind: 'Event', metadata: { name }, type: 'Normal', reason: 'Created', message: 'm',
    involvedObject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'x', uid },
  });
  for (const [n, u] of [['e1', 'u1'], ['e2', 'u2']]) {
    const r = await call('POST', '/api/v1/namespaces/default/events', ev(n, u));
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const got = await call('GET', `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.uid=u2,involvedObject.name=x,metadata.namespace=default')}`);
  assert.equal(got.status, 200, JSON.stringify(got.body));
  assert.deepEqual(got.body.items.map((o: any) => o.metadata.name), ['e2']);
  const bad = await call('GET', `${SVC}?fieldSelector=spec.foo%3D1`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /spec\.foo/);
});

test('mounted subresources (pods/log) are served and listed in discovery', async () => {
  api.addSubresource('core/pods', 'log', (_req, res, t) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`log of ${t.namespace}/${t.name} tail=${t.url.searchParams.get('tailLines')}`);
  });
  assert.equal((await call('GET', '/api/v1/namespaces/default/pods/p1/log?tailLines=5')).body, 'log of default/p1 tail=5');
  assert.equal((await call('POST', '/api/v1/namespaces/default/pods/p1/log', {})).status, 405);
  assert.equal((await call('GET', '/api/v1/namespaces/default/pods/p1/exec')).status, 404);
  const rl = (await call('GET', '/api/v1')).body;
  assert.ok(rl.resources.some((r: any) => r.name === 'pods/log' && r.verbs.includes('get')));
  assert.throws(() => api.addSubresource('core/nothing', 'log', () => undefined), /unknown resource/);
});

test('delete of an object with finalizers answers 202 and keeps it until the finalizers are gone', async () => {
  const body = ksvc('fin');
  (body.metadata as Record<string, unknown>).finalizers = ['example.com/hold'];
  assert.equal((await call('POST', SVC, body)).status, 201);
  const del = await call('DELETE', `${SVC}/fin`);
  assert.equal(del.status, 202);
  assert.ok(del.body.metadata.deletionTimestamp);
  assert.equal((await call('GET', `${SVC}/fin`)).status, 200);
  const gone = await call('PATCH', `${SVC}/fin`, { metadata: { finalizers: null } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.equal(gone.status, 200, JSON.stringify(gone.body));
  assert.equal((await call('GET', `${SVC}/fin`)).status, 404);
});

test('create with a resourceVersion is a 400 naming metadata.resourceVersion', async () => {
  const body = ksvc('withrv');
  (body.metadata as Record<string, unknown>).resourceVersion = '5';
  const r = await call('POST', SVC, body);
  assert.equal(r.status, 400);
  assert.equal(r.body.details.causes[0].field, 'metadata.resourceVersion');
});

test('the built-in namespaces cannot be deleted (403)', async () => {
  const r = await call('DELETE', '/api/v1/namespaces/default');
  assert.equal(r.status, 403);
  assert.equal(r.body.reason, 'Forbidden');
  assert.equal((await call('GET', '/api/v1/namespaces/default')).status, 200);
});
