import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../lib/errors.ts';
import { seededRng } from '../../lib/rng.ts';
import { countPicks, lbContract, makeHost } from './lb-contract.ts';
import { imbalance } from './imbalance.ts';
import type { Host, LbPolicy } from './load-balancer.ts';
import { localityKey } from './load-balancer.ts';
import { LB_POLICIES, loadBalancerFactory } from './registry.ts';
import { RingHashLoadBalancer } from './ring-hash.ts';

const TOLERANCE: Record<LbPolicy, number> = { ROUND_ROBIN: 0.01, LEAST_REQUEST: 0.05, RANDOM: 0.05, RING_HASH: 0.1, LOCALITY_WEIGHTED: 0.01 };
for (const policy of LB_POLICIES) {
  // Ring hash shares follow the ring's arcs; a larger ring makes them converge on the weights.
  const opts = policy === 'RING_HASH' ? { ringSize: { min: 16_384, max: 65_536 } } : {};
  lbContract(loadBalancerFactory(policy), { tolerance: TOLERANCE[policy], keyed: policy === 'RING_HASH', opts });
}

describe('registry', () => {
  it('rejects an unknown policy naming the supported ones', () => {
    assert.throws(() => loadBalancerFactory('MAGLEV'), (e) => isSluiceError(e, 'SLUICE_E_LB_POLICY') && /MAGLEV.*ROUND_ROBIN/.test(e.message));
  });
});

describe('ROUND_ROBIN', () => {
  it('interleaves weighted picks smoothly (no run longer than the weight ratio)', () => {
    const hosts = [makeHost(1, { weight: 3 }), makeHost(2, { weight: 1 })];
    const lb = loadBalancerFactory('ROUND_ROBIN').build(hosts, {}, seededRng(1));
    const seq = Array.from({ length: 40 }, () => { const r = lb.pick(); assert.equal(r.kind, 'complete'); return r.kind === 'complete' ? r.host.id : ''; });
    let run = 0, longest = 0;
    for (let i = 0; i < seq.length; i++) { run = i > 0 && seq[i] === seq[i - 1] ? run + 1 : 1; longest = Math.max(longest, run); }
    assert.ok(longest <= 3, `longest run ${longest}`);
    assert.equal(seq.filter((s) => s === hosts[0]!.id).length, 30);
  });
});

describe('LEAST_REQUEST', () => {
  it('favours the less loaded host (power of two choices)', () => {
    const hosts = [makeHost(1, { activeRequests: 10 }), makeHost(2, { activeRequests: 0 }), makeHost(3, { activeRequests: 10 })];
    const counts = countPicks(loadBalancerFactory('LEAST_REQUEST').build(hosts, {}, seededRng(11)), 3000);
    // Host 2 wins whenever it is one of the two draws: 1 − (2/3)² ≈ 5/9 of picks.
    const share = (counts.get(hosts[1]!.id) ?? 0) / 3000;
    assert.ok(share > 0.5 && share < 0.62, `share ${share}`);
  });

  it('tracks live counters: the proxy increments activeRequests and picks follow', () => {
    const hosts = [1, 2, 3, 4].map((i) => makeHost(i));
    const lb = loadBalancerFactory('LEAST_REQUEST').build(hosts, { choiceCount: 4 }, seededRng(12));
    for (let i = 0; i < 400; i++) { const r = lb.pick(); if (r.kind === 'complete') r.host.activeRequests++; }
    const loads = hosts.map((h) => h.activeRequests);
    assert.ok(Math.max(...loads) - Math.min(...loads) <= 12, `loads ${loads}`);
  });

  it('with unequal weights divides weight by (active + 1) ^ bias', () => {
    const hosts = [makeHost(1, { weight: 2, activeRequests: 3 }), makeHost(2, { weight: 1, activeRequests: 0 })];
    // Effective weights 2/4 = 0.5 and 1/1 = 1: host 2 gets about two thirds once both are re-queued.
    const counts = countPicks(loadBalancerFactory('LEAST_REQUEST').build(hosts, {}, seededRng(13)), 3000);
    const share = (counts.get(hosts[1]!.id) ?? 0) / 3000;
    assert.ok(Math.abs(share - 2 / 3) < 0.02, `share ${share}`);
  });

  it('rejects a choice count below 2', () => {
    assert.throws(() => loadBalancerFactory('LEAST_REQUEST').build([], { choiceCount: 1 }, seededRng(1)), (e) => isSluiceError(e, 'SLUICE_E_LB_OPTION') && /choiceCount/.test(e.message));
  });
});

describe('RING_HASH', () => {
  const keys = Array.from({ length: 5000 }, (_, i) => `session-${i}`);
  const owners = (hosts: Host[]) => {
    const lb = loadBalancerFactory('RING_HASH').build(hosts, {}, seededRng(1));
    return keys.map((k) => { const r = lb.pick({ hashKey: k }); return r.kind === 'complete' ? r.host.id : r.kind; });
  };

  it('is sticky per key and independent of the rng', () => {
    const hosts = [1, 2, 3, 4].map((i) => makeHost(i));
    const a = loadBalancerFactory('RING_HASH').build(hosts, {}, seededRng(1));
    const b = loadBalancerFactory('RING_HASH').build(hosts, {}, seededRng(2));
    for (const k of keys.slice(0, 200)) {
      const first = a.pick({ hashKey: k });
      assert.deepEqual(a.pick({ hashKey: k }), first);
      assert.deepEqual(b.pick({ hashKey: k }), first);
    }
  });

  it('moves about 1/N of the keys when a host is added', () => {
    const ten = Array.from({ length: 10 }, (_, i) => makeHost(i + 1));
    const before = owners(ten);
    const after = owners([...ten, makeHost(11)]);
    const moved = before.filter((o, i) => o !== after[i]).length / keys.length;
    assert.ok(moved > 0.5 / 11 && moved < 1.6 / 11, `moved ${moved}`);
    // Every moved key moved to the new host.
    for (let i = 0; i < keys.length; i++) if (before[i] !== after[i]) assert.equal(after[i], makeHost(11).id);
  });

  it('walks on to the next host for an excluded or unhealthy owner', () => {
    const hosts = [1, 2, 3].map((i) => makeHost(i));
    const lb = loadBalancerFactory('RING_HASH').build(hosts, {}, seededRng(1));
    const r = lb.pick({ hashKey: 'abc' });
    assert.equal(r.kind, 'complete');
    if (r.kind !== 'complete') return;
    const r2 = lb.pick({ hashKey: 'abc', excludeHosts: new Set([r.host.id]) });
    assert.ok(r2.kind === 'complete' && r2.host.id !== r.host.id);
    r.host.healthy = false;
    assert.deepEqual(lb.pick({ hashKey: 'abc' }), r2);
  });

  it('sizes the ring: 160 points per weight unit, at least the minimum, at most the maximum', () => {
    const lb = loadBalancerFactory('RING_HASH').build([makeHost(1), makeHost(2, { weight: 3 })], {}, seededRng(1)) as RingHashLoadBalancer;
    assert.equal(lb.size, 1024);
    const big = loadBalancerFactory('RING_HASH').build(Array.from({ length: 10 }, (_, i) => makeHost(i + 1)), {}, seededRng(1)) as RingHashLoadBalancer;
    assert.equal(big.size, 1600);
    const small = loadBalancerFactory('RING_HASH').build([makeHost(1), makeHost(2)], { ringSize: { min: 16, max: 32 } }, seededRng(1)) as RingHashLoadBalancer;
    assert.equal(small.size, 32);
    assert.throws(() => loadBalancerFactory('RING_HASH').build([], { ringSize: { min: 10, max: 5 } }, seededRng(1)), (e) => isSluiceError(e, 'SLUICE_E_LB_OPTION'));
  });
});

describe('LOCALITY_WEIGHTED', () => {
  const a = { region: 'r', zone: 'a' }, b = { region: 'r', zone: 'b' };
  const hostsIn = (loc: { region: string; zone: string }, from: number, n: number, healthy = n) =>
    Array.from({ length: n }, (_, i) => makeHost(from + i, { locality: loc, healthy: i < healthy }));
  const zoneShare = (counts: Map<string, number>, hosts: Host[], zone: string) => {
    let n = 0, total = 0;
    for (const h of hosts) { const c = counts.get(h.id) ?? 0; total += c; if (h.locality?.zone === zone) n += c; }
    return n / total;
  };

  it('respects locality weights', () => {
    const hosts = [...hostsIn(a, 1, 2), ...hostsIn(b, 10, 4)];
    const lw = new Map([[localityKey(a), 3], [localityKey(b), 1]]);
    const counts = countPicks(loadBalancerFactory('LOCALITY_WEIGHTED').build(hosts, { localityWeights: lw }, seededRng(1)), 4000);
    assert.equal(zoneShare(counts, hosts, 'a'), 0.75);
    assert.ok(imbalance(new Map(hosts.filter((h) => h.locality === b).map((h) => [h.id, counts.get(h.id) ?? 0]))).maxDeviation < 0.01);
  });

  it('gives a locality without a configured weight no traffic', () => {
    const hosts = [...hostsIn(a, 1, 2), ...hostsIn(b, 10, 2)];
    const counts = countPicks(loadBalancerFactory('LOCALITY_WEIGHTED').build(hosts, { localityWeights: new Map([[localityKey(a), 1]]) }, seededRng(1)), 500);
    assert.equal(zoneShare(counts, hosts, 'a'), 1);
  });

  it('shifts traffic away from a locality below 1/overprovisioning healthy', () => {
    // Zone a: 1 of 4 healthy → 1.4 × 0.25 = 0.35 of its weight; zone b keeps 1.
    const hosts = [...hostsIn(a, 1, 4, 1), ...hostsIn(b, 10, 4)];
    const counts = countPicks(loadBalancerFactory('LOCALITY_WEIGHTED').build(hosts, {}, seededRng(1)), 2700);
    assert.ok(Math.abs(zoneShare(counts, hosts, 'a') - 0.35 / 1.35) < 0.01);
    // 3 of 4 healthy is above 1/1.4: full share kept.
    const hosts2 = [...hostsIn(a, 1, 4, 3), ...hostsIn(b, 10, 4)];
    const counts2 = countPicks(loadBalancerFactory('LOCALITY_WEIGHTED').build(hosts2, {}, seededRng(1)), 2000);
    assert.equal(zoneShare(counts2, hosts2, 'a'), 0.5);
  });

  it('keeps traffic in the local zone while it has capacity, and spills the rest', () => {
    const full = [...hostsIn(a, 1, 2), ...hostsIn(b, 10, 2)];
    const counts = countPicks(loadBalancerFactory('LOCALITY_WEIGHTED').build(full, { localZone: 'a' }, seededRng(1)), 1000);
    assert.equal(zoneShare(counts, full, 'a'), 1);
    const degraded = [...hostsIn(a, 1, 4, 1), ...hostsIn(b, 10, 2)];
    const counts2 = countPicks(loadBalancerFactory('LOCALITY_WEIGHTED').build(degraded, { localZone: 'a' }, seededRng(1)), 4000);
    assert.ok(Math.abs(zoneShare(counts2, degraded, 'a') - 0.35) < 0.03, `${zoneShare(counts2, degraded, 'a')}`);
  });
});

describe('imbalance', () => {
  it('measures deviation from the weighted ideal', () => {
    const r = imbalance({ x: 60, y: 40 }, { x: 1, y: 1 });
    assert.equal(r.total, 100);
    assert.ok(Math.abs(r.maxDeviation - 0.2) < 1e-9 && Math.abs(r.minDeviation + 0.2) < 1e-9);
    assert.equal(r.maxOverMin, 1.5);
    assert.equal(imbalance({ x: 75, y: 25 }, { x: 3, y: 1 }).maxDeviation, 0);
    assert.equal(imbalance({ x: 5, y: 0 }).maxOverMin, Infinity);
    assert.throws(() => imbalance({ x: -1 }), (e) => isSluiceError(e, 'SLUICE_E_LB_IMBALANCE_INPUT') && /"x"/.test(e.message));
  });
});
