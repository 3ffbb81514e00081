import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, fromAny } from '../../xds/protos.ts';
import { AdsTestClient, type ReceivedResponse } from './ads-test-client.ts';
import { edsCluster, loadAssignment, serviceResources, startHarness } from './test-fixtures.ts';

const CDS = TypeUrl.Cluster, EDS = TypeUrl.ClusterLoadAssignment, LDS = TypeUrl.Listener;
const gw = { SLUICE_ROLE: 'gateway' };
const names = (r: ReceivedResponse, type: string): string[] =>
  r.resources.map((x) => String(fromAny({ type_url: type, value: x.value! }).name ?? fromAny({ type_url: type, value: x.value! }).cluster_name)).sort();

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('sotw: wildcard LDS/CDS carry the full set with version and nonce; EDS by name; every update is the full subscribed set', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  serviceResources('a', [1], set);
  serviceResources('b', [2], set);
  const c = new AdsTestClient(h.address, 'sotw', { id: 'gw-1', metadata: gw });
  try {
    c.sotwRequest(CDS, []);
    const cds = await c.next(CDS);
    assert.deepEqual(names(cds, CDS), ['a', 'b']);
    assert.ok(cds.version_info && cds.nonce);
    c.sotwRequest(LDS, []);
    assert.deepEqual(names(await c.next(LDS), LDS), ['a', 'b']);
    c.sotwRequest(EDS, ['b']);
    assert.deepEqual(names(await c.next(EDS), EDS), ['b']);
    set[EDS].set('b', loadAssignment('b', [9]));
    set[CDS].set('c', edsCluster('c'));
    h.change();
    const cds2 = await c.next(CDS);
    assert.deepEqual(names(cds2, CDS), ['a', 'b', 'c'], 'state of the world: the whole set again');
    assert.notEqual(cds2.version_info, cds.version_info);
    assert.deepEqual(names(await c.next(EDS), EDS), ['b']);
    await c.expectNone(LDS, 100); // unchanged type: nothing sent
  } finally { c.close(); await h.close(); }
});

test('sotw: a NACK keeps the last good version and is not answered with the same content again', async () => {
  const nacks: string[] = [];
  const h = await startHarness({ events: { onNack: (conn, _t, _v, msg) => nacks.push(`${conn.proxy.id}: ${msg}`) } });
  const set = h.translator.set('gateway/*');
  set[CDS].set('a', edsCluster('a'));
  let reject = false;
  const c = new AdsTestClient(h.address, 'sotw', { id: 'gw-1', metadata: gw }, { nackIf: () => (reject ? 'bad cluster' : undefined) });
  try {
    c.sotwRequest(CDS, []);
    const good = await c.next(CDS);
    await waitFor(() => c.versions.get(CDS) === good.version_info, 'the ACK');
    reject = true;
    set[CDS].set('a', edsCluster('a', { connect_timeout: { seconds: 3 } }));
    h.change();
    await c.next(CDS);
    await waitFor(() => nacks.length === 1, 'the NACK');
    assert.equal(nacks[0], 'gw-1: bad cluster');
    assert.equal(c.versions.get(CDS), good.version_info, 'the client reports its last good version');
    h.change(); // nothing new: the rejected content is not pushed again
    await c.expectNone(CDS, 150);
    assert.equal(h.server.connections()[0].stateOf(CDS)?.lastAckedVersion, good.version_info);
  } finally { c.close(); await h.close(); }
});

test('sotw: a stale nonce is not an ACK, but its resource_names replace the subscription', async () => {
  const h = await startHarness();
  const set = h.translator.set('gateway/*');
  set[EDS].set('a', loadAssignment('a', [1])).set('b', loadAssignment('b', [2]));
  const c = new AdsTestClient(h.address, 'sotw', { id: 'gw-1', metadata: gw }, { autoAck: false });
  try {
    c.sotwRequest(EDS, ['a']);
    const r1 = await c.next(EDS);
    c.sotwRequest(EDS, ['a'], { response_nonce: r1.nonce, version_info: r1.version_info });
    set[EDS].set('a', loadAssignment('a', [3]));
    h.change();
    const r2 = await c.next(EDS);
    c.sotwRequest(EDS, ['a', 'b'], { response_nonce: r1.nonce, version_info: r1.version_info }); // stale
    await c.expectNone(EDS, 150);
    const conn = h.server.connections()[0];
    assert.equal(conn.stateOf(EDS)?.inflight?.nonce, r2.nonce, 'still waiting for r2');
    assert.ok(conn.stateOf(EDS)?.names.has('b'));
    c.sotwRequest(EDS, ['a', 'b'], { response_nonce: r2.nonce, version_info: r2.version_info });
    assert.deepEqual(names(await c.next(EDS), EDS), ['a', 'b']);
  } finally { c.close(); await h.close(); }
});

test('sotw: a first request without node is refused with INVALID_ARGUMENT', async () => {
  const h = await startHarness();
  const c = new AdsTestClient(h.address, 'sotw', { id: '' });
  try {
    c.sotwRequest(CDS, []);
    await waitFor(() => c.ended !== undefined, 'the stream to end');
    assert.match(String((c.ended as { details?: string }).details), /node\.id is empty/);
    assert.equal(h.server.connections().length, 0);
  } finally { c.close(); await h.close(); }
});
