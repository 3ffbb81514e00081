import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../lib/clock.ts';
import { isSluiceError } from '../../lib/errors.ts';
import { seededRng } from '../../lib/rng.ts';
import { makeHost } from '../lb/lb-contract.ts';
import type { OutlierEvent } from './outlier-detector.ts';
import { OutlierDetector } from './outlier-detector.ts';

const S = 1000;
function setup(n: number, cfg = {}) {
  const clock = new FakeClock();
  const hosts = Array.from({ length: n }, (_, i) => makeHost(i + 1));
  const od = new OutlierDetector({ maxEjectionPercent: 100, ...cfg }, clock, seededRng(1));
  od.updateHosts(hosts);
  const events: OutlierEvent[] = [];
  // The cluster's side of the contract: healthy = EDS health && not ejected.
  od.onChange((e) => { events.push(e); const h = hosts.find((x) => x.id === e.hostId)!; h.healthy = e.kind === 'uneject'; });
  return { clock, hosts, od, events };
}
const fail = (od: OutlierDetector, h: ReturnType<typeof makeHost>, n: number, status = 500) => { for (let i = 0; i < n; i++) od.onResult(h, { status }); };

describe('OutlierDetector', () => {
  it('ejects after consecutive 5xx, and a success in between resets the count', () => {
    const { od, hosts, events } = setup(4);
    fail(od, hosts[0]!, 4);
    od.onResult(hosts[0]!, { status: 200 });
    fail(od, hosts[0]!, 4);
    assert.equal(od.isEjected(hosts[0]!.id), false);
    fail(od, hosts[0]!, 1);
    assert.equal(od.isEjected(hosts[0]!.id), true);
    assert.deepEqual(events.map((e) => [e.kind, e.hostId]), [['eject', hosts[0]!.id]]);
    assert.equal(od.stats().ejections_enforced_consecutive_5xx, 1);
    assert.equal(od.stats().ejections_active, 1);
  });

  it('counts connect failures and timeouts as 5xx; 4xx is a success', () => {
    const { od, hosts } = setup(4);
    for (let i = 0; i < 4; i++) od.onResult(hosts[1]!, i % 2 ? { connectFailure: true } : { timeout: true });
    od.onResult(hosts[1]!, { status: 404 });
    od.onResult(hosts[1]!, { connectFailure: true });
    assert.equal(od.isEjected(hosts[1]!.id), false);
    fail(od, hosts[1]!, 4, 503);
    assert.equal(od.isEjected(hosts[1]!.id), true);
  });

  it('ejects on consecutive gateway failures when enforced; another 5xx resets that count', () => {
    const { od, hosts } = setup(4, { consecutive5xx: 100, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100 });
    fail(od, hosts[0]!, 2, 502);
    fail(od, hosts[0]!, 1, 500);
    fail(od, hosts[0]!, 2, 504);
    assert.equal(od.isEjected(hosts[0]!.id), false);
    fail(od, hosts[0]!, 1, 503);
    assert.equal(od.isEjected(hosts[0]!.id), true);
    assert.equal(od.stats().ejections_enforced_consecutive_gateway_failure, 1);
  });

  it('detects but does not eject gateway failures at Envoy\'s default enforcement (0 %)', () => {
    const { od, hosts } = setup(4, { consecutive5xx: 100 });
    fail(od, hosts[0]!, 5, 502);
    assert.equal(od.isEjected(hosts[0]!.id), false);
    assert.equal(od.stats().ejections_detected_consecutive_gateway_failure, 1);
  });

  it('un-ejects after base ejection time × times ejected, capped by the max ejection time', () => {
    const { od, hosts, clock, events } = setup(4, { intervalMs: 10 * S, baseEjectionTimeMs: 30 * S, maxEjectionTimeMs: 50 * S });
    od.start();
    const h = hosts[0]!;
    fail(od, h, 5);
    clock.advance(20 * S);
    assert.equal(od.isEjected(h.id), true);
    clock.advance(10 * S); // sweep at 30 s
    assert.equal(od.isEjected(h.id), false);
    assert.equal(h.healthy, true);
    fail(od, h, 5); // second ejection at 30 s: 60 s, capped at 50 s
    assert.equal(od.timesEjected(h.id), 2);
    clock.advance(40 * S);
    assert.equal(od.isEjected(h.id), true);
    clock.advance(10 * S); // 80 s = 30 + 50
    assert.equal(od.isEjected(h.id), false);
    assert.deepEqual(events.map((e) => e.kind), ['eject', 'uneject', 'eject', 'uneject']);
    od.stop();
    assert.equal(clock.pending(), 0);
  });

  it('decays the multiplier by one per interval while the host stays healthy', () => {
    const { od, hosts, clock } = setup(4, { intervalMs: 10 * S, baseEjectionTimeMs: 10 * S });
    od.start();
    fail(od, hosts[0]!, 5);
    clock.advance(10 * S);
    assert.equal(od.isEjected(hosts[0]!.id), false);
    assert.equal(od.timesEjected(hosts[0]!.id), 1);
    clock.advance(10 * S);
    assert.equal(od.timesEjected(hosts[0]!.id), 0);
    od.stop();
  });

  it('ejects at most maxEjectionPercent of the cluster (but at least one host)', () => {
    const { od, hosts } = setup(10, { maxEjectionPercent: 10 });
    for (const h of hosts.slice(0, 3)) fail(od, h, 5);
    assert.deepEqual(hosts.map((h) => od.isEjected(h.id)).filter(Boolean).length, 1);
    assert.equal(od.stats().ejections_overflow, 2);
    const small = setup(3, { maxEjectionPercent: 10 });
    fail(small.od, small.hosts[0]!, 5);
    assert.equal(small.od.isEjected(small.hosts[0]!.id), true);
  });

  it('never ejects the last healthy host', () => {
    const { od, hosts } = setup(2);
    fail(od, hosts[0]!, 5);
    fail(od, hosts[1]!, 5);
    assert.equal(od.isEjected(hosts[0]!.id), true);
    assert.equal(od.isEjected(hosts[1]!.id), false);
    const eds = setup(2);
    eds.hosts[1]!.healthy = false; // unhealthy by EDS
    fail(eds.od, eds.hosts[0]!, 5);
    assert.equal(eds.od.isEjected(eds.hosts[0]!.id), false);
  });

  it('forgets removed hosts and keeps the state of hosts that stay', () => {
    const { od, hosts } = setup(4);
    fail(od, hosts[0]!, 5);
    fail(od, hosts[1]!, 3);
    od.updateHosts(hosts.slice(1));
    assert.equal(od.isEjected(hosts[0]!.id), false);
    assert.equal(od.stats().ejections_active, 0);
    fail(od, hosts[1]!, 2);
    assert.equal(od.isEjected(hosts[1]!.id), true);
  });

  it('rejects bad configuration naming the field', () => {
    assert.throws(() => new OutlierDetector({ consecutive5xx: 0 }, new FakeClock()), (e) => isSluiceError(e, 'SLUICE_E_OUTLIER_CONFIG') && /consecutive5xx/.test(e.message));
    assert.throws(() => new OutlierDetector({ maxEjectionPercent: 150 }, new FakeClock()), (e) => isSluiceError(e, 'SLUICE_E_OUTLIER_CONFIG') && /maxEjectionPercent/.test(e.message));
  });
});
