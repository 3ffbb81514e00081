/**
 * RANDOM: each pick draws a host at random, in proportion to its weight (uniform when all
 * weights are equal). Stateless between picks, so it needs no coordination across workers.
 */
import type { Rng } from '../../lib/rng.ts';
import type { Host, LbOptions, LoadBalancer, LoadBalancerFactory, PickContext, PickResult } from './load-balancer.ts';
import { FAIL_NO_HEALTHY, allWeightsEqual, eligibleHosts, pickAvoiding } from './load-balancer.ts';

/** Weighted random draw over a fixed host list; RING_HASH uses it when a request has no key. */
export class RandomPicker {
  /** Cumulative weights for a binary search; undefined when all weights are equal (uniform draw). */
  private readonly cumulative: Float64Array | undefined;
  constructor(private readonly hosts: readonly Host[], private readonly rng: Rng) {
    if (!allWeightsEqual(hosts)) {
      let acc = 0;
      this.cumulative = Float64Array.from(hosts, (h) => (acc += h.weight));
    }
  }
  next(): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    const c = this.cumulative;
    if (!c) return this.hosts[Math.floor(this.rng.next() * n)];
    const r = this.rng.next() * c[n - 1]!;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid]! > r) hi = mid; else lo = mid + 1;
    }
    return this.hosts[lo];
  }
  pick(ctx?: PickContext): PickResult {
    if (this.hosts.length === 0) return FAIL_NO_HEALTHY;
    // A few draws, then a scan: random draws may keep missing the one usable host left.
    return pickAvoiding(this.hosts.length * 2, ctx?.excludeHosts, () => this.next(), this.hosts);
  }
}

class RandomLoadBalancer implements LoadBalancer {
  private readonly picker: RandomPicker;
  constructor(hosts: readonly Host[], rng: Rng) { this.picker = new RandomPicker(eligibleHosts(hosts), rng); }
  pick(ctx?: PickContext): PickResult { return this.picker.pick(ctx); }
}

export const randomFactory: LoadBalancerFactory = {
  policy: 'RANDOM',
  build(hosts: readonly Host[], _opts: LbOptions, rng: Rng): LoadBalancer { return new RandomLoadBalancer(hosts, rng); },
};
