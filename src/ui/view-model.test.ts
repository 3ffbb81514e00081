/**
 * The dashboard's formatting on objects recorded from a running `sluice up` (testdata/recorded.json:
 * a ready Service with a 90/10 split and a tag, a crash-looping one, their revisions and pods, a
 * Route, a DomainMapping without its TLS Secret, events with a warning, Istio policies). The same
 * checks run twice: against this module, and against the source the page embeds, evaluated in a
 * fresh VM context as the browser would.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';
import { VIEW_MODEL_SCRIPT } from './dashboard-page.ts';
import * as vmod from './view-model.ts';
import type { Obj } from './view-model.ts';

const rec = JSON.parse(fs.readFileSync(new URL('./testdata/recorded.json', import.meta.url), 'utf8')) as Record<string, Obj[]>;
const byName = (list: Obj[], name: string): Obj => {
  const o = list.find((x) => x.metadata?.name === name);
  assert.ok(o, `recorded object ${name} exists`);
  return o;
};
/** Recorded at 18:21:35Z; "now" is 60 s later. */
const NOW = Date.parse('2026-12-04T18:22:35.000Z');

type Api = typeof vmod;

/** The functions as the page defines them: its embedded script run in an empty context. */
function pageFunctions(): Api {
  // ECMAScript built-ins come with the context; of the web platform only URLSearchParams is used.
  const ctx = vm.createContext({ URLSearchParams });
  vm.runInContext(VIEW_MODEL_SCRIPT, ctx);
  const names = vmod.VIEW_MODEL_FUNCTIONS.map((f) => f.name);
  const out = vm.runInContext(`({ ${names.join(', ')} })`, ctx) as Record<string, unknown>;
  for (const n of names) assert.equal(typeof out[n], 'function', `the page defines ${n}`);
  return out as unknown as Api;
}

/** Values from another VM context have other prototypes: compare plain JSON. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (x instanceof Map || (x && x.constructor && x.constructor.name === 'Map') ? Object.fromEntries(x) : x)));

for (const [label, load] of [['module', () => vmod as Api], ['page script', pageFunctions]] as const) {
  test(`${label}: Services show URL, latest ready revision, Ready/Reason and the traffic split`, () => {
    const m = load();
    const hello = m.serviceRow(byName(rec.services, 'hello'));
    assert.deepEqual(plain(hello), {
      namespace: 'default', name: 'hello', url: 'http://hello.default.sluice.localhost', latestReady: 'hello-00002', latestCreated: 'hello-00002',
      ready: 'True', reason: '', message: '', traffic: 'hello-00002 90%, hello-00001 10% (tag old)',
    });
    const broken = m.serviceRow(byName(rec.services, 'broken'));
    assert.equal(broken.ready, 'False');
    assert.equal(broken.reason, 'RevisionFailed');
    assert.match(broken.message, /Container failed with exit code 1/);
    assert.equal(broken.latestReady, '', 'no ready revision');
    assert.equal(broken.latestCreated, 'broken-00001');
    // Before the Route reports a split, the requested one (spec.traffic) shows.
    assert.equal(m.serviceRow({ metadata: { name: 'x' }, spec: { traffic: [{ latestRevision: true, percent: 100 }] } }).traffic, 'latest 100%');
    assert.equal(m.statusClass(hello.ready), 'ok');
    assert.equal(m.statusClass(broken.ready), 'bad');
    assert.equal(m.statusClass('Unknown'), 'unknown');
  });

  test(`${label}: Revisions show readiness and actual/desired replicas from status`, () => {
    const m = load();
    const ok = m.revisionRow(byName(rec.revisions, 'hello-00002'));
    assert.deepEqual([ok.service, ok.generation, ok.ready, ok.actual, ok.desired], ['hello', '2', 'True', '1', '1']);
    const bad = m.revisionRow(byName(rec.revisions, 'broken-00001'));
    assert.deepEqual([bad.ready, bad.reason, bad.actual, bad.desired], ['False', 'ExitCode1', '0', '1']);
    assert.equal(bad.message, 'Container failed with exit code 1');
    assert.equal(m.revisionRow({ metadata: { name: 'new' } }).actual, '', 'no status yet: empty, not "undefined"');
  });

  test(`${label}: Pods show kubectl's STATUS (waiting reason over phase), ready count, restarts and age`, () => {
    const m = load();
    const crash = m.podRow(byName(rec.pods, 'broken-00001-deployment-fbk2bknx6g-gpdxc'), NOW);
    assert.deepEqual([crash.revision, crash.status, crash.ready, crash.restarts], ['broken-00001', 'CrashLoopBackOff', '0/1', '3']);
    assert.match(crash.message, /back-off/);
    assert.equal(crash.age, '70s');
    const running = m.podRow(byName(rec.pods, 'hello-00002-deployment-fg9wz6ck6c-k7jnt'), NOW);
    assert.deepEqual([running.status, running.ready, running.restarts], ['Running', '1/1', '0']);
    const terminating = m.podRow({ metadata: { name: 'p', deletionTimestamp: '2026-12-04T18:22:00Z' }, status: { phase: 'Running' } }, NOW);
    assert.equal(terminating.status, 'Terminating');
  });

  test(`${label}: Routes show their traffic, DomainMappings their target and why they are not ready`, () => {
    const m = load();
    const split = m.routeRow(byName(rec.routes, 'split'));
    assert.equal(split.target, 'split-stable-v1 90%, split-candidate-v1 10% (tag candidate)');
    assert.equal(split.ready, 'True');
    const brokenRoute = m.routeRow(byName(rec.routes, 'broken'));
    assert.deepEqual([brokenRoute.ready, brokenRoute.reason], ['False', 'RevisionMissing']);
    const dm = m.routeRow(byName(rec.domainmappings, 'app.example.test'));
    assert.deepEqual([dm.kind, dm.url, dm.target, dm.ready, dm.reason], ['DomainMapping', 'https://app.example.test', 'Service/hello', 'False', 'CertificateProvisionFailed']);
    assert.match(dm.message, /app-example-test-tls/);
  });

  test(`${label}: recent events are newest first, warnings flagged, objects named kind/name`, () => {
    const m = load();
    const rows = m.recentEvents(rec.events, NOW, 2);
    assert.equal(rows.length, 2, 'limited');
    assert.deepEqual(plain(rows[0]), {
      namespace: 'default', type: 'Warning', warning: true, reason: 'ExitCode1', object: 'revision/broken-00001',
      message: 'Container failed with exit code 1', count: '1', lastSeen: '69s', time: Date.parse('2026-12-04T18:21:25.140Z'),
    });
    assert.equal(rows[1].warning, false);
    assert.equal(rows[1].object, 'service/broken');
    assert.ok(rows[0].time > rows[1].time, 'newest first');
    // events.k8s.io/v1 field names work too.
    const v1 = m.eventRow({ metadata: { namespace: 'ns' }, regarding: { kind: 'Pod', name: 'p' }, note: 'hi', type: 'Warning', eventTime: '2026-12-04T18:22:30Z', series: { count: 4 } }, NOW);
    assert.deepEqual([v1.object, v1.message, v1.count, v1.lastSeen, v1.warning], ['pod/p', 'hi', '4', '5s', true]);
  });

  test(`${label}: watch events update a cache; lines split across chunks; 410 asks for a relist`, () => {
    const m = load();
    const cache = new Map<string, Obj>();
    const svc = byName(rec.services, 'hello');
    const text = [
      JSON.stringify({ type: 'ADDED', object: svc }),
      JSON.stringify({ type: 'ADDED', object: byName(rec.services, 'broken') }),
      JSON.stringify({ type: 'MODIFIED', object: { ...svc, status: { ...svc.status, url: 'http://changed' } } }),
      JSON.stringify({ type: 'DELETED', object: byName(rec.services, 'broken') }),
      JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Service', metadata: { resourceVersion: '999' } } }),
      JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }),
      '',
    ].join('\n');
    // Feed it in awkward pieces, as a chunked stream may arrive.
    let buffer = '';
    const outcomes: string[] = [];
    for (let i = 0; i < text.length; i += 97) {
      const r = m.splitWatchLines(buffer + text.slice(i, i + 97));
      buffer = r.rest;
      assert.equal(r.bad, 0, 'no line is cut in the middle');
      for (const ev of r.events) outcomes.push(m.applyWatchEvent(cache, ev));
    }
    assert.equal(buffer, '');
    assert.deepEqual(outcomes, ['changed', 'changed', 'changed', 'changed', 'bookmark', 'gone']);
    assert.deepEqual([...cache.keys()], ['default/hello']);
    assert.equal(m.serviceRow(cache.get('default/hello')!).url, 'http://changed');
    assert.equal(m.applyWatchEvent(cache, { type: 'ERROR', object: { code: 500 } }), 'error');
    assert.equal(m.splitWatchLines('{"type":\n{}\n').bad, 1, 'a garbled line is counted, not thrown');
  });

  test(`${label}: namespace filter, counts, API paths, fragment, ages`, () => {
    const m = load();
    const cache = new Map<string, Obj>();
    for (const o of [...rec.authorizationpolicies, { metadata: { namespace: 'team-a', name: 'deny' } }, { metadata: { namespace: 'team-a', name: 'allow' } }]) cache.set(m.objectKey(o), o);
    assert.deepEqual(plain(m.sortedObjects(cache, '').map((o) => m.objectKey(o))), ['default/allow-default', 'team-a/allow', 'team-a/deny']);
    assert.deepEqual(plain(m.sortedObjects(cache, 'team-a').map((o) => o.metadata.name)), ['allow', 'deny']);
    assert.deepEqual(plain(m.countByNamespace(cache)), { '': 3, default: 1, 'team-a': 2 });
    const kinds = m.dashboardKinds();
    const path = (key: string, ns: string): string => m.collectionPath(kinds.find((k) => k.key === key)!, ns);
    assert.equal(path('services', ''), '/apis/serving.knative.dev/v1/services');
    assert.equal(path('pods', 'default'), '/api/v1/namespaces/default/pods');
    assert.equal(path('domainmappings', 'a b'), '/apis/serving.knative.dev/v1beta1/namespaces/a%20b/domainmappings');
    assert.equal(path('peerauthentications', 'x'), '/apis/security.istio.io/v1/namespaces/x/peerauthentications');
    assert.deepEqual(plain(m.parseFragment('#token=ab%2Bc&ns=default')), { token: 'ab+c', namespace: 'default' });
    assert.deepEqual(plain(m.parseFragment('')), { token: '', namespace: '' });
    assert.deepEqual(['2026-12-04T18:22:35Z', '2026-12-04T18:20:00Z', '2026-12-04T16:00:00Z', '2026-11-30T00:00:00Z', 'junk', undefined].map((t) => m.formatAge(t, NOW)),
      ['0s', '2m', '2h', '4d', '', '']);
  });
}

test('the page script defines exactly the listed functions and nothing reaches outside them', () => {
  const names = vmod.VIEW_MODEL_FUNCTIONS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, 'no duplicates');
  assert.ok(names.every((n) => n.length > 0 && VIEW_MODEL_SCRIPT.includes(`function ${n}(`)), 'every function is embedded under its own name');
  // Every exported function of the module is embedded (a new helper must be added to the list).
  const exported = Object.entries(vmod).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort();
  assert.deepEqual([...names].sort(), exported);
});
