/**
 * RANDOM: each pick draws a host at random, in proportion to its weight (uniform when all
 * weights are equal). Stateless between picks, so it needs no coordination across workers.
 */
import type { Rng } from '../../lib/rng.ts';
import type { Host, LbOptions, LoadBalancer, LoadBalancerFactory, PickContext, PickResult } from './load-balancer.ts';
import { FAIL_NO_HEALTHY, eligibleHosts, pickAvoiding, weightedRandom } from './load-balancer.ts';

/** Weighted random draw over a fixed host list; RING_HASH uses it when a request has no key. */
export class RandomPicker {
  private readonly total: number;
  constructor(private readonly hosts: readonly Host[], private readonly rng: Rng) {
    this.total = hosts.reduce((s, h) => s + h.weight, 0);
  }
  next(): Host | undefined { return weightedRandom(this.hosts, this.rng, this.total); }
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
