/** Integration: the ADS client against the test xDS server (Delta and SotW), real gRPC on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { BOOTSTRAP_DEFAULTS } from '../bootstrap.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { configure, freePort, pushAndWait, request, startProxy, startUpstream, waitFor } from '../testing/harness.ts';
import { edsCluster, loadAssignment, routeConfig } from '../testing/resources.ts';

for (const delta of [true, false]) {
  const mode = delta ? 'delta' : 'sotw';

  test(`${mode}: an invalid route is NACKed with a message naming it while the previous configuration keeps serving`, async (t) => {
    const u = await startUpstream();
    const xds = new TestXdsServer();
    await xds.start();
    const port = await freePort();
    await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [edsCluster('a')], [loadAssignment('a', [u.port])]);
    const p = await startProxy(xds, { xds_server: { address: xds.address, delta } });
    t.after(async () => { await p.stop(); await xds.stop(); await u.close(); });
    await p.whenReady(5000);
    assert.equal((await request(port, '/x')).status, 200);
    assert.ok(xds.requests.every((r) => r.delta === delta));
    assert.equal(xds.requests[0]!.nodeId, 'test-proxy');
    const bad = routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ regex: '(?=lookahead)/x', cluster: 'a' }] }]);
    const detail = await pushAndWait(xds, TypeUrl.RouteConfiguration, [bad], { expectNack: true });
    assert.match(detail!, /RouteConfiguration "r": virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: .*lookaround/);
    assert.equal((await request(port, '/x')).status, 200, 'the previous routes keep serving');
    assert.equal(p.stats.server.control_plane_rq_nack, 1);
    // A later valid version is accepted.
    await pushAndWait(xds, TypeUrl.RouteConfiguration, [routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/y', cluster: 'a' }] }])]);
    assert.equal((await request(port, '/x')).status, 404);
    assert.equal((await request(port, '/y')).status, 200);
  });

  test(`${mode}: removed clusters and listeners go away; subscriptions follow the accepted resources`, async (t) => {
    const u = await startUpstream();
    const xds = new TestXdsServer();
    await xds.start();
    const port = await freePort();
    await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [edsCluster('a'), edsCluster('b')], [loadAssignment('a', [u.port]), loadAssignment('b', [u.port])]);
    const p = await startProxy(xds, { xds_server: { address: xds.address, delta } });
    t.after(async () => { await p.stop(); await xds.stop(); await u.close(); });
    await p.whenReady(5000);
    assert.deepEqual([...p.clusters.clusters.keys()].sort(), ['a', 'b']);
    const eds = xds.requests.filter((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment && r.names.length > 0);
    assert.deepEqual(eds[0]!.names.sort(), ['a', 'b']);
    await pushAndWait(xds, TypeUrl.Cluster, [edsCluster('a')]);
    assert.deepEqual([...p.clusters.clusters.keys()], ['a']);
    await pushAndWait(xds, TypeUrl.Listener, []);
    await p.settled();
    await waitFor('listener closed', async () => (await request(port, '/').then(() => false, () => true)));
  });
}

test('delta: reconnect sends initial_resource_versions, and the proxy keeps serving while disconnected', async (t) => {
  const u = await startUpstream();
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [edsCluster('a')], [loadAssignment('a', [u.port])]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); await u.close(); });
  await p.whenReady(5000);
  const before = xds.requests.length;
  xds.dropConnections();
  await waitFor('disconnect noticed', () => !p.xds.connected || p.xds.stats.disconnects > 0);
  assert.equal((await request(port, '/')).status, 200, 'serving while disconnected');
  await waitFor('reconnected', () => p.xds.connected && xds.requests.length > before + 2, 5000);
  const cds = xds.requests.slice(before).find((r) => r.typeUrl === TypeUrl.Cluster && r.nonce === '');
  assert.ok(cds, 'a fresh CDS subscription after reconnect');
  assert.deepEqual(Object.keys(cds.initialVersions), ['a']);
});

test('a silently dead xDS server is noticed (keepalive) and the proxy reconnects when it comes back', async (t) => {
  const u = await startUpstream();
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [edsCluster('a')], [loadAssignment('a', [u.port])]);
  // Short intervals keep the test fast; the defaults (10 s / 5 s, liveness 15 s) are checked below.
  const p = await startProxy(xds, { xds_server: { address: xds.address, keepalive_ms: 500, keepalive_timeout_ms: 500, liveness_timeout_ms: 1500, reconnect_base_ms: 100, reconnect_max_ms: 300 } });
  t.after(async () => { await p.stop(); await xds.stop(); await u.close(); });
  await p.whenReady(5000);
  xds.freeze();
  const frozenAt = Date.now();
  await waitFor('dead server noticed', () => !p.xds.connected, 10_000);
  const noticedMs = Date.now() - frozenAt;
  assert.ok(noticedMs < 5000, `noticed after ${noticedMs} ms`);
  assert.equal((await request(port, '/')).status, 200, 'last good configuration keeps serving');
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(p.xds.connected, false, 'still frozen: no false reconnect');
  xds.thaw();
  await waitFor('reconnected after thaw', () => p.xds.connected, 10_000);
  // The new stream works end to end: a new route arrives (whether pushed on the new stream or
  // sent in answer to its re-subscription with initial_resource_versions).
  xds.set(TypeUrl.RouteConfiguration, [routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/new', cluster: 'a' }] }])]);
  await waitFor('new route served', async () => (await request(port, '/new')).status === 200, 5000);
});

test('default liveness settings notice a dead control plane within 20 s', () => {
  assert.equal(BOOTSTRAP_DEFAULTS.keepaliveMs, 10_000);
  assert.equal(BOOTSTRAP_DEFAULTS.keepaliveTimeoutMs, 5_000);
  assert.ok(BOOTSTRAP_DEFAULTS.keepaliveMs + BOOTSTRAP_DEFAULTS.keepaliveTimeoutMs < 20_000);
  assert.ok(BOOTSTRAP_DEFAULTS.livenessTimeoutMs < 20_000);
  assert.ok(BOOTSTRAP_DEFAULTS.reconnectMaxMs <= 1_000, 'control-plane address retried every 1 s at most');
});
