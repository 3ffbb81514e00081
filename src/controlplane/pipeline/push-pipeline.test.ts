import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../lib/clock.ts';
import { TypeUrl } from '../../xds/protos.ts';
import { Debouncer } from './debouncer.ts';
import { PushQueue } from './push-queue.ts';
import type { ChangeSet } from './change-set.ts';
import { AdsTestClient } from '../xds/ads-test-client.ts';
import { loadAssignment, serviceResources, SettableTranslator, startHarness } from '../xds/test-fixtures.ts';
import type { ProxyInfo } from '../xds/node-info.ts';
import { buildSnapshot, type Snapshot } from '../xds/snapshot.ts';
import type { ProxyConnection } from '../xds/proxy-connection.ts';

test('debounce: flushes after 100 ms of quiet, merging every change of the burst', () => {
  const clock = new FakeClock();
  const flushed: ChangeSet[] = [];
  const d = new Debouncer(clock, { afterMs: 100, maxMs: 1_000 }, (cs) => flushed.push(cs));
  d.add({ kind: 'k', key: 'a' });
  clock.advance(60);
  d.add({ kind: 'k', key: 'b' });
  clock.advance(60);
  assert.equal(flushed.length, 0, 'quiet period restarted by the second change');
  d.add({ kind: 'e', key: 'a', endpointsOnly: true });
  clock.advance(99);
  assert.equal(flushed.length, 0);
  clock.advance(1);
  assert.equal(flushed.length, 1);
  assert.deepEqual([...flushed[0].changes.get('k')!], ['a', 'b']);
  assert.equal(flushed[0].events, 3);
  assert.equal(flushed[0].endpointsOnly, false);
  clock.advance(5_000);
  assert.equal(flushed.length, 1, 'nothing more without changes');
});

test('debounce, leading edge: a change that finds it idle goes at the next tick; what follows within a quiet period goes once a quiet period after it; the rest of the burst waits for quiet', () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const sizes: number[] = [];
  const start = clock.now();
  const d = new Debouncer(clock, { afterMs: 100, maxMs: 1_000, leading: true }, (cs, t) => { at.push(t - start); sizes.push(cs.events); });
  d.add({ kind: 'k', key: 'lone' });
  clock.advance(0);
  assert.deepEqual(at, [0], 'a lone change is not delayed');
  clock.advance(10);
  for (let i = 0; i < 5; i++) { d.add({ kind: 'k', key: String(i) }); clock.advance(20); } // at 10, 30, ..., 90
  assert.deepEqual(at, [0, 100], 'the changes right after the leading flush go together, a quiet period after it');
  assert.equal(sizes[1], 5, 'the follow-up carries all five');
  clock.advance(20); // 130
  d.add({ kind: 'k', key: 'more' });
  clock.advance(60); // 190
  d.add({ kind: 'k', key: 'again' });
  clock.advance(99);
  assert.equal(at.length, 2, 'after the follow-up: wait for a quiet period');
  clock.advance(1);
  assert.deepEqual(at, [0, 100, 290], 'debounced as in Istio (last change at 190)');
  clock.advance(50);
  d.add({ kind: 'k', key: 'soon' });
  clock.advance(0);
  assert.equal(at.length, 3, 'within a quiet period of a debounced flush: no leading edge, no follow-up');
  clock.advance(100);
  assert.deepEqual(at, [0, 100, 290, 440]);
  clock.advance(1_000);
  d.add({ kind: 'k', key: 'later' });
  clock.advance(30);
  d.add({ kind: 'k', key: 'its-rewrite' });
  clock.advance(70);
  assert.deepEqual(at, [0, 100, 290, 440, 1_440, 1_540], 'idle again: leading edge, then its follow-up');
});

test('debounce, throttle: changes that keep coming are flushed every quiet period after the previous flush, never waiting for quiet', () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const start = clock.now();
  const d = new Debouncer(clock, { afterMs: 100, maxMs: 1_000, leading: true, throttle: true }, (_cs, t) => { at.push(t - start); });
  for (let i = 0; i < 25; i++) { d.add({ kind: 'k', key: String(i) }); clock.advance(20); } // a change every 20 ms for 500 ms
  clock.advance(200);
  assert.deepEqual(at, [0, 100, 200, 300, 400, 500], 'a flush every 100 ms while changes keep coming (a quiet period never comes)');
  clock.advance(1_000);
  d.add({ kind: 'k', key: 'lone' });
  clock.advance(0);
  assert.deepEqual(at.slice(6), [1_700], 'idle again: a lone change goes at once');
});

test('debounce without the leading edge is Istio\'s quiet period exactly', () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const start = clock.now();
  const d = new Debouncer(clock, { afterMs: 100, maxMs: 1_000, leading: false }, (_cs, t) => at.push(t - start));
  d.add({ kind: 'k', key: 'a' });
  clock.advance(50);
  d.add({ kind: 'k', key: 'b' });
  clock.advance(99);
  assert.deepEqual(at, [], 'no flush before 100 ms of quiet');
  clock.advance(1);
  assert.deepEqual(at, [150]);
  clock.advance(30);
  d.add({ kind: 'k', key: 'c' });
  clock.advance(100);
  assert.deepEqual(at, [150, 280], 'no follow-up either');
});

test('debounce: a steady stream of changes is flushed at debounceMax', () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const start = clock.now();
  const d = new Debouncer(clock, { afterMs: 100, maxMs: 1_000 }, (_cs, t) => at.push(t - start));
  for (let i = 0; i < 25; i++) { d.add({ kind: 'k', key: String(i) }); clock.advance(50); }
  assert.deepEqual(at, [1_000]);
  assert.throws(() => new Debouncer(clock, { afterMs: 100, maxMs: 50 }, () => {}), /debounceMax/);
});

test('push queue: a newer snapshot replaces a queued one; at most maxConcurrent pushes run', async () => {
  const clock = new FakeClock();
  const pushed: string[] = [];
  let running = 0, maxRunning = 0;
  const gates: (() => void)[] = [];
  const fake = (id: string): ProxyConnection => ({
    closed: false, proxy: { id, role: 'mesh', metadata: {} },
    push(s: Snapshot) {
      pushed.push(`${id}@${s.generation}`);
      running++; maxRunning = Math.max(maxRunning, running);
      return new Promise<void>((r) => gates.push(() => { running--; r(); }));
    },
  }) as unknown as ProxyConnection;
  const q = new PushQueue({ clock, maxConcurrent: 2 });
  const [a, b, c] = [fake('a'), fake('b'), fake('c')];
  const s = (g: number): Snapshot => buildSnapshot({}, g);
  q.enqueue(a, s(1)); q.enqueue(b, s(1)); q.enqueue(c, s(1));
  q.enqueue(c, s(2)); q.enqueue(c, s(3)); // merged while waiting
  q.enqueue(a, s(4)); // a is running: queued behind itself
  assert.deepEqual(pushed, ['a@1', 'b@1']);
  while (gates.length) { gates.shift()!(); await new Promise((r) => setImmediate(r)); }
  await q.idle();
  assert.deepEqual(pushed, ['a@1', 'b@1', 'c@3', 'a@4']);
  assert.equal(maxRunning, 2);
});

test('pipeline: an endpoint-only change recomputes only ClusterLoadAssignments and pushes only EDS', async () => {
  const h = await startHarness({ debounceAfterMs: 100, debounceLeading: false });
  const set = h.translator.set('gateway/*');
  serviceResources('a', [1], set);
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: { SLUICE_ROLE: 'gateway' } });
  try {
    for (const [t, n] of [[TypeUrl.Cluster, []], [TypeUrl.ClusterLoadAssignment, ['a']], [TypeUrl.Listener, []], [TypeUrl.RouteConfiguration, ['a-route']]] as const) {
      c.deltaRequest(t, [...n]);
      await c.next(t);
    }
    const full = h.translator.full;
    const seen = c.all.length;
    set[TypeUrl.ClusterLoadAssignment].set('a', loadAssignment('a', [1, 2]));
    h.pipeline.notify({ kind: 'core/endpoints', key: 'default/a', endpointsOnly: true });
    h.fake!.advance(99);
    assert.equal(h.translator.edsOnly, 0, 'still debouncing');
    h.fake!.advance(1);
    assert.equal(h.translator.edsOnly, 1);
    assert.equal(h.translator.full, full, 'no full recomputation');
    assert.equal(h.pipeline.lastFlush?.edsOnly, true);
    const r = await c.next(TypeUrl.ClusterLoadAssignment);
    assert.equal(r.resources.length, 1);
    await c.expectNone(undefined, 100);
    assert.equal(c.all.length, seen + 1, 'only the EDS response');
    // A mixed change set is a full recomputation.
    h.pipeline.notify({ kind: 'core/endpoints', key: 'default/a', endpointsOnly: true });
    h.pipeline.notify({ kind: 'networking.istio.io/virtualservices', key: 'default/a' });
    h.fake!.advance(100);
    assert.equal(h.translator.full, full + 1);
  } finally { c.close(); await h.close(); }
});

test('pipeline: proxies sharing a scope share one computation; convergence is reported once all proxies ACK', async () => {
  const converged: number[] = [];
  const h = await startHarness({ events: { onConverged: (g) => converged.push(g) } });
  serviceResources('a', [1], h.translator.set('gateway/*'));
  const clients = [1, 2, 3].map((i) => new AdsTestClient(h.address, 'delta', { id: `gw-${i}`, metadata: { SLUICE_ROLE: 'gateway' } }));
  try {
    const TYPES = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration];
    for (const c of clients) for (const t of TYPES) { c.deltaRequest(t, []); await c.next(t); }
    assert.equal(h.translator.full, 1, 'one translation for three proxies of one scope');
    serviceResources('b', [2], h.translator.set('gateway/*'));
    h.change();
    assert.equal(h.translator.full, 2);
    for (const c of clients) assert.equal((await c.next(TypeUrl.Cluster)).resources.length, 1);
    const end = Date.now() + 15_000;
    while (!converged.includes(h.pipeline.generation) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.ok(converged.includes(h.pipeline.generation));
    const text = await h.pipeline.metrics.registry.metrics();
    assert.match(text, /pilot_xds\{protocol="delta"\} 3/);
    assert.match(text, /pilot_xds_pushes\{type="cds"\} 6/);
    assert.match(text, /pilot_proxy_convergence_time_count 1/);
  } finally { for (const c of clients) c.close(); await h.close(); }
});

test('pipeline: a flush computes and queues gateway scopes before mesh scopes, whatever the connection order', async () => {
  const order: string[] = [];
  class Recording extends SettableTranslator {
    override translate(p: ProxyInfo, api: readonly string[] = []) { order.push(p.role); return super.translate(p, api); }
  }
  const translator = new Recording();
  const h = await startHarness({ translator });
  serviceResources('a', [1], translator.set('gateway/*'));
  serviceResources('a', [1], translator.set('mesh/a'));
  const mesh = new AdsTestClient(h.address, 'delta', { id: 'mesh-1', metadata: { SLUICE_ROLE: 'mesh', NAMESPACE: 'a' } });
  const gw = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: { SLUICE_ROLE: 'gateway' } });
  try {
    for (const c of [mesh, gw]) { c.deltaRequest(TypeUrl.Cluster, []); await c.next(TypeUrl.Cluster); }
    order.length = 0;
    serviceResources('b', [2], translator.set('gateway/*'));
    serviceResources('b', [2], translator.set('mesh/a'));
    h.change();
    await gw.next(TypeUrl.Cluster);
    await mesh.next(TypeUrl.Cluster);
    assert.deepEqual(order, ['gateway', 'mesh'], 'the gateway scope first, though the mesh proxy connected first');
  } finally { mesh.close(); gw.close(); await h.close(); }
});

test('pipeline: with a gateway connected, mesh scopes are computed after the flush that queued the gateway push returns; without one, within it', async () => {
  const order: string[] = [];
  class Recording extends SettableTranslator {
    override translate(p: ProxyInfo, api: readonly string[] = []) { order.push(p.role); return super.translate(p, api); }
  }
  const translator = new Recording();
  let converged = 0;
  const h = await startHarness({ translator, events: { onFlush: () => order.push('flush returned'), onConverged: () => converged++ } });
  serviceResources('a', [1], translator.set('gateway/*'));
  serviceResources('a', [1], translator.set('mesh/a'));
  const mesh = new AdsTestClient(h.address, 'delta', { id: 'mesh-1', metadata: { SLUICE_ROLE: 'mesh', NAMESPACE: 'a' } });
  const gw = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: { SLUICE_ROLE: 'gateway' } });
  try {
    const TYPES = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration];
    for (const ty of TYPES) { mesh.deltaRequest(ty, []); await mesh.next(ty); }
    order.length = 0;
    serviceResources('b', [2], translator.set('mesh/a'));
    h.pipeline.notify({ kind: 'test/things', key: 'x' });
    h.fake!.advance(200); // the debounced flush
    assert.deepEqual(order, ['mesh', 'flush returned'], 'no gateway: everything within the flush');
    await mesh.next(TypeUrl.Cluster);

    for (const ty of TYPES) { gw.deltaRequest(ty, []); await gw.next(ty); }
    order.length = 0;
    const before = converged;
    serviceResources('c', [3], translator.set('gateway/*'));
    serviceResources('c', [3], translator.set('mesh/a'));
    h.pipeline.notify({ kind: 'test/things', key: 'y' });
    h.fake!.advance(200);
    assert.deepEqual(order, ['gateway', 'flush returned', 'mesh'], 'the mesh scope one timer tick after the flush');
    const g = await gw.next(TypeUrl.Cluster);
    const m = await mesh.next(TypeUrl.Cluster);
    assert.ok(g.resources.length > 0 && m.resources.length > 0, 'both proxies get the change');
    for (let i = 0; i < 100 && converged === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(converged, before + 1, 'the generation converges once both applied it');
  } finally { mesh.close(); gw.close(); await h.close(); }
});

test('pipeline: endpoint churn does not hold back a route change (two debounce lanes); the route flush carries pending endpoints', async () => {
  const flushes: { g: number; at: number; kinds: string[]; edsOnly: boolean }[] = [];
  const h = await startHarness({ debounceAfterMs: 100, debounceMaxMs: 1_000, debounceLeading: false, events: { onFlush: (g, cs, at) => flushes.push({ g, at, kinds: [...cs.changes.keys()].sort(), edsOnly: cs.endpointsOnly }) } });
  serviceResources('a', [1], h.translator.set('gateway/*'));
  const clock = h.fake!;
  try {
    const t0 = clock.now();
    h.pipeline.notify({ kind: 'networking.internal.knative.dev/ingresses', key: 'default/a' });
    // A pod event every 40 ms: with one lane the quiet period never comes before debounce-max.
    for (let i = 0; i < 10; i++) {
      h.pipeline.notify({ kind: 'core/endpoints', key: `default/e${i}`, endpointsOnly: true });
      clock.advance(40);
    }
    const route = flushes.find((f) => f.kinds.includes('networking.internal.knative.dev/ingresses'));
    assert.ok(route, `the route change was flushed within 400 ms of endpoint churn (flushes: ${JSON.stringify(flushes)})`);
    assert.equal(route.at - t0, 100, 'after its own 100 ms of quiet');
    assert.ok(route.kinds.includes('core/endpoints'), 'it took the endpoint changes pending at that moment');
    assert.equal(route.edsOnly, false, 'a full recomputation');
    clock.advance(2_000);
    const later = flushes.filter((f) => f.g > route.g);
    assert.ok(later.length >= 1 && later.every((f) => f.edsOnly), 'the churn after it went out as endpoint-only flushes');
    assert.ok(later.every((f) => f.at - t0 <= 400 + 1_000), 'within debounce-max of the churn');
  } finally { await h.close(); }
});
