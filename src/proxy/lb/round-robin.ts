/**
 * ROUND_ROBIN, like Envoy: with equal weights a plain rotation starting at a random offset (so
 * many proxies do not all hit the first host together); with unequal weights a smooth weighted
 * rotation by earliest deadline first, so a weight-3 host gets 3 of every 4 picks against a
 * weight-1 host, interleaved rather than in a burst.
 */
import type { Rng } from '../../lib/rng.ts';
import { EdfScheduler } from './edf-scheduler.ts';
import type { Host, LbOptions, LoadBalancer, LoadBalancerFactory, PickContext, PickResult } from './load-balancer.ts';
import { FAIL_NO_HEALTHY, allWeightsEqual, eligibleHosts, pickAvoiding } from './load-balancer.ts';

/** A weighted rotation over a fixed host list; also used inside each locality by LOCALITY_WEIGHTED. */
export class RoundRobinPicker {
  private index: number;
  private readonly edf: EdfScheduler<Host> | undefined;
  constructor(private readonly hosts: readonly Host[], rng: Rng) {
    this.index = hosts.length > 0 ? Math.floor(rng.next() * hosts.length) : 0;
    this.edf = allWeightsEqual(hosts) ? undefined : new EdfScheduler(hosts, (h) => h.weight);
  }
  get size(): number { return this.hosts.length; }
  next(): Host | undefined {
    if (this.hosts.length === 0) return undefined;
    if (this.edf) return this.edf.pick();
    const h = this.hosts[this.index % this.hosts.length];
    this.index = (this.index + 1) % this.hosts.length;
    return h;
  }
  pick(ctx?: PickContext): PickResult {
    if (this.hosts.length === 0) return FAIL_NO_HEALTHY;
    return pickAvoiding(this.hosts.length, ctx?.excludeHosts, () => this.next(), this.hosts);
  }
}

class RoundRobinLoadBalancer implements LoadBalancer {
  private readonly picker: RoundRobinPicker;
  constructor(hosts: readonly Host[], rng: Rng) {
    this.picker = new RoundRobinPicker(eligibleHosts(hosts), rng);
  }
  pick(ctx?: PickContext): PickResult { return this.picker.pick(ctx); }
}

export const roundRobinFactory: LoadBalancerFactory = {
  policy: 'ROUND_ROBIN',
  build(hosts: readonly Host[], _opts: LbOptions, rng: Rng): LoadBalancer {
    return new RoundRobinLoadBalancer(hosts, rng);
  },
};
