/**
 * The contract every load-balancing policy passes. `lb-contract.test.ts` runs it against each
 * factory in the registry; a new policy is added there and must pass the same suite.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRng } from '../../lib/rng.ts';
import type { Host, LbOptions, Locality, LoadBalancer, LoadBalancerFactory, PickContext } from './load-balancer.ts';
import { imbalance } from './imbalance.ts';

export function makeHost(i: number, o: { weight?: number; healthy?: boolean; locality?: Locality; priority?: number; activeRequests?: number } = {}): Host {
  const address = `10.0.0.${i}`;
  return { id: `${address}:8080`, address, port: 8080, weight: o.weight ?? 1, locality: o.locality, priority: o.priority, healthy: o.healthy ?? true, activeRequests: o.activeRequests ?? 0 };
}

/** Picks `n` times (keys drawn from a seeded rng when `keyed`) and counts hosts by id. */
export function countPicks(lb: LoadBalancer, n: number, o: { keyed?: boolean; ctx?: PickContext; seed?: number } = {}): Map<string, number> {
  const keyRng = seededRng(o.seed ?? 99);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const ctx: PickContext = { ...o.ctx, ...(o.keyed ? { hashKey: `user-${Math.floor(keyRng.next() * 1e9)}` } : {}) };
    const r = lb.pick(ctx);
    assert.equal(r.kind, 'complete', `pick ${i} returned ${JSON.stringify(r)}`);
    if (r.kind === 'complete') counts.set(r.host.id, (counts.get(r.host.id) ?? 0) + 1);
  }
  return counts;
}

export interface ContractOptions {
  /** Largest allowed relative deviation from the weighted ideal share over `picks` picks. */
  tolerance: number;
  picks?: number;
  /** Pick with random hash keys (ring hash); other policies pick without a key. */
  keyed?: boolean;
  opts?: LbOptions;
}

export function lbContract(factory: LoadBalancerFactory, c: ContractOptions): void {
  const picks = c.picks ?? 20_000;
  const opts = c.opts ?? {};
  describe(`load-balancing contract: ${factory.policy}`, () => {
    it('spreads picks in proportion to weights', () => {
      const hosts = [1, 2, 3, 4].map((w, i) => makeHost(i + 1, { weight: w }));
      const counts = countPicks(factory.build(hosts, opts, seededRng(1)), picks, { keyed: c.keyed });
      const rep = imbalance(counts, new Map(hosts.map((h) => [h.id, h.weight])));
      assert.equal(rep.total, picks);
      assert.ok(rep.maxDeviation <= c.tolerance && rep.minDeviation >= -c.tolerance, `deviation ${rep.minDeviation.toFixed(3)}..${rep.maxDeviation.toFixed(3)} beyond ±${c.tolerance}: ${JSON.stringify(rep.perHost)}`);
    });

    it('spreads picks evenly over equal weights', () => {
      const hosts = [1, 2, 3, 4, 5].map((i) => makeHost(i));
      const counts = countPicks(factory.build(hosts, opts, seededRng(2)), picks, { keyed: c.keyed });
      const rep = imbalance(counts);
      assert.equal(counts.size, 5);
      assert.ok(rep.maxDeviation <= c.tolerance && rep.minDeviation >= -c.tolerance, JSON.stringify(rep.perHost));
    });

    it('never picks an unhealthy host', () => {
      const hosts = [makeHost(1), makeHost(2, { healthy: false }), makeHost(3), makeHost(4, { healthy: false, weight: 5 })];
      const counts = countPicks(factory.build(hosts, opts, seededRng(3)), 2000, { keyed: c.keyed });
      assert.deepEqual([...counts.keys()].sort(), [hosts[0]!.id, hosts[2]!.id].sort());
    });

    it('skips a host that turned unhealthy after the snapshot was built', () => {
      const hosts = [makeHost(1), makeHost(2), makeHost(3)];
      const lb = factory.build(hosts, opts, seededRng(4));
      hosts[1]!.healthy = false;
      const counts = countPicks(lb, 1000, { keyed: c.keyed });
      assert.equal(counts.get(hosts[1]!.id), undefined);
    });

    it('avoids an excluded host (previous-host retry) while another is healthy', () => {
      const hosts = [makeHost(1), makeHost(2), makeHost(3, { weight: 3 })];
      const lb = factory.build(hosts, opts, seededRng(5));
      const ex = new Set([hosts[2]!.id]);
      const counts = countPicks(lb, 2000, { keyed: c.keyed, ctx: { excludeHosts: ex } });
      assert.equal(counts.get(hosts[2]!.id), undefined);
      assert.equal([...counts.values()].reduce((a, b) => a + b, 0), 2000);
    });

    it('uses an excluded host when it is the only healthy one', () => {
      const hosts = [makeHost(1), makeHost(2, { healthy: false })];
      const lb = factory.build(hosts, opts, seededRng(6));
      const r = lb.pick({ excludeHosts: new Set([hosts[0]!.id]), ...(c.keyed ? { hashKey: 'k' } : {}) });
      assert.deepEqual(r, { kind: 'complete', host: hosts[0] });
    });

    it('fails with "no healthy upstream" on an empty host set or when every host is unhealthy', () => {
      assert.deepEqual(factory.build([], opts, seededRng(7)).pick(), { kind: 'fail', reason: 'no healthy upstream' });
      const dead = [makeHost(1, { healthy: false }), makeHost(2, { healthy: false })];
      assert.deepEqual(factory.build(dead, opts, seededRng(7)).pick({ hashKey: 'x' }), { kind: 'fail', reason: 'no healthy upstream' });
    });

    it('prefers the best priority level that has a healthy host', () => {
      const hosts = [makeHost(1, { priority: 0, healthy: false }), makeHost(2, { priority: 1 }), makeHost(3, { priority: 2 })];
      const counts = countPicks(factory.build(hosts, opts, seededRng(8)), 500, { keyed: c.keyed });
      assert.deepEqual([...counts.keys()], [hosts[1]!.id]);
    });

    it('is deterministic for a given seed', () => {
      const hosts = [1, 2, 3].map((i) => makeHost(i, { weight: i }));
      const a = [...countPicks(factory.build(hosts, opts, seededRng(9)), 300, { keyed: c.keyed })];
      const b = [...countPicks(factory.build(hosts, opts, seededRng(9)), 300, { keyed: c.keyed })];
      assert.deepEqual(a, b);
    });
  });
}
