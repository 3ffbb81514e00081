/**
 * RING_HASH, ketama style like Envoy's: every healthy host is placed on a ring at
 * `hash("<host id>_<i>")` for a number of points proportional to its weight; a request's
 * `hashKey` (the value of the configured header) is hashed and served by the first point
 * clockwise. The same key reaches the same host while the host set is unchanged, and adding
 * one host to N moves about 1/(N+1) of the keys. A request without a key gets a weighted
 * random host. When the chosen host is excluded (a retry) or has gone unhealthy, the walk
 * continues clockwise to the next distinct host.
 *
 * Ring size: each host gets `k × weight / minWeight` points with k = 160 (ketama's points per
 * server), raised so the ring has at least `min` points and lowered so it has at most `max`
 * (defaults 1024 and 8,388,608 as in Envoy). Unlike Envoy's formula, which rescales every
 * host's points whenever the host count changes, k stays fixed once the ring is past its
 * minimum, so adding a host only takes keys for the new host and moves ≈1/N of them.
 */
import type { Rng } from '../../lib/rng.ts';
import { SluiceError } from '../../lib/errors.ts';
import { hash53 } from './hash.ts';
import type { Host, LbOptions, LoadBalancer, LoadBalancerFactory, PickContext, PickResult } from './load-balancer.ts';
import { FAIL_NO_HEALTHY, eligibleHosts } from './load-balancer.ts';
import { RandomPicker } from './random.ts';

export const DEFAULT_RING_SIZE = Object.freeze({ min: 1024, max: 8_388_608 });
const POINTS_PER_WEIGHT_UNIT = 160;

export class RingHashLoadBalancer implements LoadBalancer {
  private readonly positions: Float64Array;
  private readonly owners: Host[];
  private readonly distinct: number;
  private readonly random: RandomPicker;

  constructor(hosts: readonly Host[], ringSize: { min: number; max: number }, rng: Rng) {
    const eligible = eligibleHosts(hosts);
    this.distinct = eligible.length;
    this.random = new RandomPicker(eligible, rng);
    const owner = new Map<number, Host>();
    const points: number[] = [];
    if (eligible.length > 0) {
      const minWeight = Math.min(...eligible.map((h) => h.weight));
      const units = eligible.reduce((s, h) => s + h.weight / minWeight, 0);
      let k = Math.max(POINTS_PER_WEIGHT_UNIT, Math.ceil(ringSize.min / units));
      if (k * units > ringSize.max) k = Math.max(1, Math.floor(ringSize.max / units));
      for (const h of eligible) {
        const n = Math.max(1, Math.round((k * h.weight) / minWeight));
        for (let i = 0; i < n; i++) {
          const pos = hash53(`${h.id}_${i}`);
          // A 53-bit collision between two points is vanishingly rare; the first host keeps it.
          if (!owner.has(pos)) { owner.set(pos, h); points.push(pos); }
        }
      }
    }
    this.positions = Float64Array.from(points).sort(); // typed-array sort is numeric
    this.owners = Array.from(this.positions, (p) => owner.get(p)!);
  }

  /** Number of points on the ring (for tests and /config_dump). */
  get size(): number { return this.owners.length; }

  pick(ctx?: PickContext): PickResult {
    if (this.owners.length === 0) return FAIL_NO_HEALTHY;
    if (ctx?.hashKey === undefined) return this.random.pick(ctx);
    const ex = ctx.excludeHosts;
    let i = this.lowerBound(hash53(ctx.hashKey));
    const first = this.owners[i]!;
    if (first.healthy && !ex?.has(first.id)) return { kind: 'complete', host: first }; // the common case
    let fallback: Host | undefined;
    const seen = new Set<string>();
    // Walk clockwise until a usable host, visiting each point at most once.
    for (let step = 0; step < this.owners.length && seen.size < this.distinct; step++, i++) {
      const h = this.owners[i % this.owners.length]!;
      if (seen.has(h.id)) continue;
      seen.add(h.id);
      if (!h.healthy) continue;
      if (ex?.has(h.id)) { fallback ??= h; continue; }
      return { kind: 'complete', host: h };
    }
    return fallback ? { kind: 'complete', host: fallback } : FAIL_NO_HEALTHY;
  }

  private lowerBound(x: number): number {
    let lo = 0, hi = this.positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.positions[mid]! < x) lo = mid + 1; else hi = mid;
    }
    return lo === this.positions.length ? 0 : lo;
  }
}

export const ringHashFactory: LoadBalancerFactory = {
  policy: 'RING_HASH',
  build(hosts: readonly Host[], opts: LbOptions, rng: Rng): LoadBalancer {
    const size = opts.ringSize ?? DEFAULT_RING_SIZE;
    if (!Number.isInteger(size.min) || !Number.isInteger(size.max) || size.min < 1 || size.max < size.min || size.max > DEFAULT_RING_SIZE.max) {
      throw new SluiceError('SLUICE_E_LB_OPTION', `ring hash: ringSize must be integers with 1 ≤ min ≤ max ≤ ${DEFAULT_RING_SIZE.max}, got min ${size.min}, max ${size.max} (Envoy's ring_hash_lb_config minimum_ring_size / maximum_ring_size)`);
    }
    return new RingHashLoadBalancer(hosts, size, rng);
  },
};
