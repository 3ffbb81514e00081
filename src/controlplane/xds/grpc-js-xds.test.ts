/**
 * Acceptance: a real xDS client nobody here wrote — @grpc/grpc-js-xds (proxyless gRPC) — is
 * bootstrapped against sluice's ADS server and routes 1,000 gRPC calls through a Listener whose
 * RouteConfiguration splits 80/20 across two clusters; the split must hold within ±5 %.
 * The resources here are hand-built (test-fixtures.ts); control-plane.test.ts drives the same
 * client from a VirtualService through the translation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { apiListener, edsCluster, loadAssignment, startHarness, weightedRoute } from './test-fixtures.ts';
import { startWhoBackend } from './who-service.ts';
import { runGrpcXdsClient } from './grpc-xds-runner.ts';

test('grpc-js-xds routes 1,000 calls through sluice xDS with an 80/20 weighted split (±5 %)', { timeout: 120_000 }, async () => {
  const blue = await startWhoBackend('blue');
  const green = await startWhoBackend('green');
  const h = await startHarness();
  try {
    const set = h.translator.set('mesh/default');
    set[TypeUrl.Listener].set('who.default', apiListener('who.default', 'who-route'));
    set[TypeUrl.RouteConfiguration].set('who-route', weightedRoute('who-route', ['who.default'], [{ cluster: 'who-blue', weight: 80 }, { cluster: 'who-green', weight: 20 }]));
    set[TypeUrl.Cluster].set('who-blue', edsCluster('who-blue')).set('who-green', edsCluster('who-green'));
    set[TypeUrl.ClusterLoadAssignment].set('who-blue', loadAssignment('who-blue', [blue.port])).set('who-green', loadAssignment('who-green', [green.port]));
    const r = await runGrpcXdsClient(h.address, 'who.default', 1000, { id: 'grpc-client-1', metadata: { SLUICE_ROLE: 'mesh', NAMESPACE: 'default' } });
    assert.equal(r.fatal, undefined);
    assert.equal(r.errors, 0, `calls failed: ${r.lastError}`);
    assert.equal(r.done, 1000);
    const blueShare = (r.counts.blue ?? 0) / 1000;
    assert.ok(Math.abs(blueShare - 0.8) <= 0.05, `blue got ${(blueShare * 100).toFixed(1)} % (want 80 ± 5): ${JSON.stringify(r.counts)}`);
    assert.equal((r.counts.blue ?? 0) + (r.counts.green ?? 0), 1000);
  } finally {
    await h.close();
    await blue.stop();
    await green.stop();
  }
});
