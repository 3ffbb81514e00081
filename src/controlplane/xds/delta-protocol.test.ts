import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, fromAny } from '../../xds/protos.ts';
import { AdsTestClient } from './ads-test-client.ts';
import { apiListener, edsCluster, loadAssignment, serviceResources, startHarness, weightedRoute } from './test-fixtures.ts';

const CDS = TypeUrl.Cluster, EDS = TypeUrl.ClusterLoadAssignment, LDS = TypeUrl.Listener, RDS = TypeUrl.RouteConfiguration;
const gw = { SLUICE_ROLE: 'gateway' };
const names = (r: { resources: { name?: string }[] }): string[] => r.resources.map((x) => x.name ?? '').sort();

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('delta: wildcard CDS/LDS get the scope, explicit EDS/RDS by name; unknown names come back removed', async () => {
  const h = await startHarness();
  serviceResources('a', [1001], h.translator.set('gateway/*'));
  serviceResources('b', [1002], h.translator.set('gateway/*'));
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  try {
    c.deltaRequest(CDS, []);
    const cds = await c.next(CDS);
    assert.deepEqual(names(cds), ['a', 'b']);
    assert.ok(cds.resources.every((r) => /^[0-9a-f]{16}$/.test(r.version ?? '')), 'per-resource content-hash versions');
    assert.equal(fromAny(cds.resources[0].resource!).type, 'EDS');
    c.deltaRequest(EDS, ['a', 'nope']);
    const eds = await c.next(EDS);
    assert.deepEqual(names(eds), ['a']);
    assert.deepEqual(eds.removed_resources, ['nope']);
    c.deltaRequest(LDS, ['*']);
    assert.deepEqual(names(await c.next(LDS)), ['a', 'b']);
  } finally { c.close(); await h.close(); }
});

test('delta: a NACK keeps the last good config, is recorded with its message, and the bad version is not resent', async () => {
  const nacks: string[] = [];
  const h = await startHarness({ events: { onNack: (_c, type, _v, msg) => nacks.push(`${type}:${msg}`) } });
  const set = h.translator.set('gateway/*');
  set[CDS].set('a', edsCluster('a'));
  let reject = false;
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw }, { nackIf: (r) => (reject && r.type_url === CDS ? 'cluster a: unsupported lb_policy' : undefined) });
  try {
    c.deltaRequest(CDS, []);
    const first = await c.next(CDS);
    const goodVersion = first.resources[0].version;
    reject = true;
    set[CDS].set('a', edsCluster('a', { lb_policy: 'RING_HASH' }));
    h.change();
    const bad = await c.next(CDS);
    assert.notEqual(bad.resources[0].version, goodVersion);
    await waitFor(() => nacks.length === 1, 'the NACK');
    assert.match(nacks[0], /unsupported lb_policy/);
    assert.equal(c.have.get(CDS)?.get('a'), goodVersion, 'the proxy keeps its last good version');
    const conn = h.server.connections()[0];
    assert.match(conn.nacks().get(CDS)?.message ?? '', /unsupported lb_policy/);
    assert.equal(conn.isApplied(), false, 'a NACKed generation is not applied');
    // Another change elsewhere does not resend the rejected cluster.
    set[CDS].set('b', edsCluster('b'));
    h.change();
    const next = await c.next(CDS);
    assert.deepEqual(names(next), ['b']);
    // A fixed cluster is sent and its ACK clears the NACK.
    reject = false;
    set[CDS].set('a', edsCluster('a', { lb_policy: 'LEAST_REQUEST' }));
    h.change();
    const fixed = await c.next(CDS);
    assert.deepEqual(names(fixed), ['a']);
    await waitFor(() => conn.nacks().size === 0 && conn.isApplied(), 'the fix applied');
  } finally { c.close(); await h.close(); }
});

test('delta: stale nonces are not ACKs, but their subscription changes are honoured', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  set[EDS].set('a', loadAssignment('a', [1])).set('b', loadAssignment('b', [2]));
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw }, { autoAck: false });
  try {
    c.deltaRequest(EDS, ['a']);
    const r1 = await c.next(EDS);
    c.deltaRequest(EDS, [], [], { response_nonce: r1.nonce }); // ACK
    set[EDS].set('a', loadAssignment('a', [3]));
    h.change();
    const r2 = await c.next(EDS);
    const conn = h.server.connections()[0];
    // Stale nonce (r1) with a new subscription: not an ACK of r2 ...
    c.deltaRequest(EDS, ['b'], [], { response_nonce: r1.nonce });
    await c.expectNone(EDS, 150); // ... so flow control holds the answer for b until r2 is ACKed
    assert.equal(conn.stateOf(EDS)?.inflight?.nonce, r2.nonce);
    assert.ok(conn.stateOf(EDS)?.names.has('b'), 'the subscription change was taken');
    c.deltaRequest(EDS, [], [], { response_nonce: r2.nonce });
    const r3 = await c.next(EDS);
    assert.deepEqual(names(r3), ['b']);
  } finally { c.close(); await h.close(); }
});

test('delta: a reconnect with initial_resource_versions receives only what changed and removals of what is gone', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  for (const n of ['a', 'b', 'c']) set[CDS].set(n, edsCluster(n));
  const c1 = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  let have: Record<string, string>;
  try {
    c1.deltaRequest(CDS, []);
    await c1.next(CDS);
    have = Object.fromEntries(c1.have.get(CDS)!);
  } finally { c1.close(); }
  set[CDS].set('b', edsCluster('b', { connect_timeout: { seconds: 7 } }));
  set[CDS].delete('c');
  set[CDS].set('d', edsCluster('d'));
  h.change();
  const c2 = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  try {
    c2.deltaRequest(CDS, [], [], { initial: have });
    const r = await c2.next(CDS);
    assert.deepEqual(names(r), ['b', 'd']);
    assert.deepEqual(r.removed_resources, ['c']);
  } finally { c2.close(); await h.close(); }
});

test('delta: unsubscribe stops updates; subscribing again resends', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  set[EDS].set('a', loadAssignment('a', [1])).set('b', loadAssignment('b', [2]));
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  try {
    c.deltaRequest(EDS, ['a', 'b']);
    assert.deepEqual(names(await c.next(EDS)), ['a', 'b']);
    c.deltaRequest(EDS, [], ['b']);
    await waitFor(() => !h.server.connections()[0].stateOf(EDS)?.names.has('b'), 'unsubscribe');
    set[EDS].set('b', loadAssignment('b', [5]));
    h.change();
    await c.expectNone(EDS, 150);
    c.deltaRequest(EDS, ['b']);
    const r = await c.next(EDS);
    assert.deepEqual(names(r), ['b']);
    assert.equal(fromAny({ type_url: EDS, value: r.resources[0].resource!.value }).endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 5);
  } finally { c.close(); await h.close(); }
});

test('delta: push order CDS → EDS → LDS → RDS, and a stale cluster is removed only after listeners and routes are ACKed', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  serviceResources('a', [1], set);
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  try {
    c.deltaRequest(CDS, []); await c.next(CDS);
    c.deltaRequest(EDS, ['a']); await c.next(EDS);
    c.deltaRequest(LDS, []); await c.next(LDS);
    c.deltaRequest(RDS, ['a-route']); await c.next(RDS);
    const seen = c.all.length;
    // Move the route from cluster a to cluster b: add b, drop a.
    set[CDS].delete('a'); set[EDS].delete('a');
    set[CDS].set('b', edsCluster('b'));
    set[RDS].set('a-route', weightedRoute('a-route', ['a'], [{ cluster: 'b', weight: 100 }]));
    set[LDS].set('a', apiListener('a', 'a-route'));
    h.change();
    await waitFor(() => c.all.length >= seen + 3 && (c.all.at(-1)?.removed_resources ?? []).includes('a'), 'the push and the late removal');
    const seq = c.all.slice(seen).map((r) => `${r.type_url === CDS ? 'cds' : r.type_url === EDS ? 'eds' : r.type_url === LDS ? 'lds' : 'rds'}:${names(r).join(',')}-${(r.removed_resources ?? []).join(',')}`);
    assert.equal(seq[0], 'cds:b-', 'new cluster first, nothing removed yet');
    assert.equal(seq[1], 'rds:a-route-');
    assert.ok(seq.slice(2).every((s) => s.endsWith('-a')), `removals last: ${seq.join(' ')}`);
    assert.deepEqual(seq.slice(2).map((s) => s.slice(0, 3)).sort(), ['cds', 'eds']);
  } finally { c.close(); await h.close(); }
});

test('delta: flow control — a second change while un-ACKed waits, then goes out merged', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  set[EDS].set('a', loadAssignment('a', [1]));
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw }, { autoAck: false });
  try {
    c.deltaRequest(EDS, ['a']);
    const r1 = await c.next(EDS); // not ACKed
    set[EDS].set('a', loadAssignment('a', [2]));
    h.change(); // waits behind r1
    set[EDS].set('a', loadAssignment('a', [3]));
    h.change(); // replaces the waiting one
    await c.expectNone(EDS, 150);
    c.deltaRequest(EDS, [], [], { response_nonce: r1.nonce });
    const r2 = await c.next(EDS);
    assert.equal(fromAny({ type_url: EDS, value: r2.resources[0].resource!.value }).endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 3);
    c.deltaRequest(EDS, [], [], { response_nonce: r2.nonce });
    await c.expectNone(EDS, 100);
  } finally { c.close(); await h.close(); }
});

test('delta: flow control gives up waiting for an ACK after the timeout', async () => {
  const h = await startHarness({ ackTimeoutMs: 1_000 });
  const set = h.translator.set('gateway/*');
  set[EDS].set('a', loadAssignment('a', [1]));
  const c = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw }, { autoAck: false });
  try {
    c.deltaRequest(EDS, ['a']);
    await c.next(EDS);
    set[EDS].set('a', loadAssignment('a', [2]));
    h.change();
    await c.expectNone(EDS, 100);
    h.fake!.advance(1_000);
    const r2 = await c.next(EDS);
    assert.equal(r2.resources.length, 1);
    const conn = h.server.connections()[0];
    assert.equal(conn.isApplied(), false, 'a timed-out response is not counted as applied');
    c.deltaRequest(EDS, [], [], { response_nonce: r2.nonce });
    await waitFor(() => conn.isApplied(), 'applied after the ACK');
  } finally { c.close(); await h.close(); }
});

test('delta: a scoped proxy never receives an out-of-scope resource, even when it asks by name', async () => {
  const h = await startHarness();
  serviceResources('a', [1], h.translator.set('mesh/ns-a'));
  serviceResources('b', [2], h.translator.set('mesh/ns-b'));
  const ca = new AdsTestClient(h.address, 'delta', { id: 'mesh-a', metadata: { SLUICE_ROLE: 'mesh', NAMESPACE: 'ns-a' } });
  const cb = new AdsTestClient(h.address, 'delta', { id: 'mesh-b', metadata: { SLUICE_ROLE: 'mesh', NAMESPACE: 'ns-b' } });
  try {
    ca.deltaRequest(CDS, []); cb.deltaRequest(CDS, []);
    assert.deepEqual(names(await ca.next(CDS)), ['a']);
    assert.deepEqual(names(await cb.next(CDS)), ['b']);
    ca.deltaRequest(EDS, ['a', 'b']);
    const r = await ca.next(EDS);
    assert.deepEqual(names(r), ['a']);
    assert.deepEqual(r.removed_resources, ['b']);
    serviceResources('b2', [3], h.translator.set('mesh/ns-b'));
    h.change();
    assert.deepEqual(names(await cb.next(CDS)), ['b2']);
    await ca.expectNone(CDS, 100);
    for (const resp of ca.all) for (const res of resp.resources) assert.ok(!res.name?.startsWith('b'), `ns-a proxy got ${res.name}`);
    assert.equal(h.pipeline.scopeCount(), 2);
  } finally { ca.close(); cb.close(); await h.close(); }
});

test('delta: an empty first request is the legacy wildcard (kept when names are added later), and every new stream is answered even when nothing is due', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  for (const n of ['a', 'b']) set[CDS].set(n, edsCluster(n));
  const c1 = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  let have: Record<string, string>;
  try {
    c1.deltaRequest(CDS, []);
    assert.deepEqual(names(await c1.next(CDS)), ['a', 'b'], 'empty first subscribe = every cluster of the scope');
    c1.deltaRequest(CDS, ['nope']);
    const named = await c1.next(CDS);
    assert.deepEqual(named.removed_resources, ['nope'], 'an explicit name the scope lacks is answered as removed');
    set[CDS].set('c', edsCluster('c'));
    h.change();
    assert.deepEqual(names(await c1.next(CDS)), ['c'], 'the wildcard survived the explicit subscribe: new clusters still arrive');
    // A type with nothing in scope is still answered (empty), so the proxy is not left waiting.
    c1.deltaRequest(TypeUrl.Secret, []);
    const sds = await c1.next(TypeUrl.Secret);
    assert.equal(sds.resources.length, 0, 'empty answer for an empty scope');
    have = Object.fromEntries(c1.have.get(CDS)!);
  } finally { c1.close(); }
  const c2 = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  try {
    c2.deltaRequest(CDS, [], [], { initial: have });
    const r = await c2.next(CDS);
    assert.equal(r.resources.length, 0, 'a reconnect that is already current gets an empty answer, not silence');
    assert.deepEqual(r.removed_resources ?? [], []);
  } finally { c2.close(); await h.close(); }
});

test('delta: pushes built from the previous snapshot send only its changes, and a stream that fell behind catches up in full', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  for (const n of ['a', 'b', 'c', 'd']) set[EDS].set(n, loadAssignment(n, [1]));
  // `wild` takes every endpoint set; `named` asks for b, d and x by name; `slow` does not ACK, so
  // it falls behind by several snapshots.
  const wild = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  const named = new AdsTestClient(h.address, 'delta', { id: 'gw-2', metadata: gw });
  const slow = new AdsTestClient(h.address, 'delta', { id: 'gw-3', metadata: gw }, { autoAck: false });
  const expect = (names: string[] | undefined): Record<string, string> => {
    const snap = h.server.connections()[0].snapshot!;
    const out: Record<string, string> = {};
    for (const [n, e] of snap.entries(EDS)) if (!names || names.includes(n)) out[n] = e.version;
    return out;
  };
  const view = (c: AdsTestClient): Record<string, string> => Object.fromEntries(c.have.get(EDS) ?? []);
  try {
    wild.deltaRequest(EDS, ['*']);
    named.deltaRequest(EDS, ['b', 'd', 'x']);
    slow.deltaRequest(EDS, ['*']);
    await wild.next(EDS);
    assert.deepEqual(names(await named.next(EDS)), ['b', 'd']);
    const slowFirst = await slow.next(EDS);
    assert.deepEqual(names(slowFirst), ['a', 'b', 'c', 'd']);
    const steps: Array<() => void> = [
      () => set[EDS].set('b', loadAssignment('b', [2])), // change
      () => set[EDS].set('e', loadAssignment('e', [1])), // add
      () => set[EDS].delete('d'), // remove a name `named` subscribed to
      () => { set[EDS].set('x', loadAssignment('x', [3])); set[EDS].delete('a'); }, // a subscribed name appears; another goes
    ];
    for (const [i, step] of steps.entries()) {
      const seen = wild.all.length;
      step();
      h.change();
      await waitFor(() => wild.all.length > seen, `step ${i}: the wildcard push`);
      const r = wild.all.at(-1)!;
      assert.ok(r.resources.length + (r.removed_resources ?? []).length <= 2, `step ${i}: only what changed is sent (got ${names(r)} / ${r.removed_resources})`);
      await waitFor(() => JSON.stringify(view(wild)) === JSON.stringify(expect(undefined)), `step ${i}: wildcard view ${JSON.stringify(view(wild))}`);
      await waitFor(() => JSON.stringify(view(named)) === JSON.stringify(expect(['b', 'd', 'x'])), `step ${i}: named view ${JSON.stringify(view(named))}`);
    }
    assert.deepEqual(Object.keys(view(named)).sort(), ['b', 'x']);
    // The stream that never ACKed had nothing sent after its first response; ACKing it now brings
    // it from the first snapshot to the last in one response.
    const seen = slow.all.length;
    assert.equal(slow.all.length, 1, "nothing more is sent before the first response is ACKed");
    slow.deltaRequest(EDS, [], [], { response_nonce: slowFirst.nonce });
    await waitFor(() => slow.all.length > seen, 'the catch-up response');
    const up = slow.all.at(-1)!;
    assert.deepEqual(names(up), ['b', 'e', 'x']);
    assert.deepEqual([...(up.removed_resources ?? [])].sort(), ['a', 'd']);
    assert.deepEqual(view(slow), expect(undefined));
  } finally { wild.close(); named.close(); slow.close(); await h.close(); }
});

test('delta: random changes, merged snapshots, held removals and one-by-one subscriptions always leave every proxy holding exactly its part of the scope', async () => {
  // Seeded: the sequence is the same on every run.
  let seed = 0x5eed;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  const pool = Array.from({ length: 24 }, (_, i) => `s${i}`);
  for (const n of pool.slice(0, 12)) { set[CDS].set(n, edsCluster(n)); set[EDS].set(n, loadAssignment(n, [1000 + rnd(5)])); }
  set[RDS].set('r', weightedRoute('r', ['a.example'], [{ cluster: 's0', weight: 100 }]));
  // `wild` takes every cluster and endpoint set; `named` subscribes to endpoint sets one by one
  // (as a proxy does when clusters arrive) and drops some again.
  const wild = new AdsTestClient(h.address, 'delta', { id: 'gw-1', metadata: gw });
  const named = new AdsTestClient(h.address, 'delta', { id: 'gw-2', metadata: gw });
  const subscribed = new Set<string>(pool.slice(0, 6));
  // What the proxy uses: a response already on its way may still carry a name it just unsubscribed.
  const view = (c: AdsTestClient, type: string, only?: Set<string>): string => JSON.stringify([...(c.have.get(type) ?? [])].filter(([n]) => !only || only.has(n)).sort());
  const expect = (type: string, only?: Set<string>): string => {
    const snap = h.server.connections()[0]?.snapshot;
    if (!snap) return '(no snapshot yet)';
    return JSON.stringify([...snap.entries(type)].filter(([n]) => !only || only.has(n)).map(([n, e]) => [n, e.version]).sort());
  };
  try {
    wild.deltaRequest(CDS, ['*']); wild.deltaRequest(EDS, ['*']); wild.deltaRequest(RDS, ['r']);
    named.deltaRequest(CDS, ['*']); named.deltaRequest(EDS, [...subscribed]); named.deltaRequest(RDS, ['r']);
    for (let round = 0; round < 40; round++) {
      const ops = 1 + rnd(6);
      for (let i = 0; i < ops; i++) {
        const n = pool[rnd(pool.length)];
        switch (rnd(7)) {
          case 0: set[CDS].set(n, edsCluster(n)); set[EDS].set(n, loadAssignment(n, [1000 + rnd(5)])); break; // add or change
          case 1: set[CDS].delete(n); set[EDS].delete(n); break; // remove (held while routes are in flight)
          case 2: set[EDS].set(n, loadAssignment(n, [1000 + rnd(5)])); break;
          case 3: set[RDS].set('r', weightedRoute('r', [`${rnd(9)}.example`], [{ cluster: n, weight: 100 }])); break; // keeps the routes busy
          case 4: if (!subscribed.has(n)) { subscribed.add(n); named.deltaRequest(EDS, [n]); } break;
          case 5: if (subscribed.has(n)) { subscribed.delete(n); named.deltaRequest(EDS, [], [n]); } break;
          default: break;
        }
        // Often flushed mid-round, so a stream still waiting for an ACK skips snapshots.
        if (rnd(2) === 0) h.change();
      }
      h.change();
      for (const [c, type, only] of [[wild, CDS], [wild, EDS], [wild, RDS], [named, CDS], [named, EDS, subscribed], [named, RDS]] as [AdsTestClient, string, Set<string>?][]) {
        await waitFor(() => view(c, type, only) === expect(type, only), `round ${round}: ${c.node.id} ${type.slice(type.lastIndexOf('.') + 1)} holds ${view(c, type, only)}, scope has ${expect(type, only)}`);
      }
    }
  } finally { wild.close(); named.close(); await h.close(); }
});
