/**
 * LEAST_REQUEST, like Envoy's:
 * - equal weights: power of `choiceCount` choices (default 2) — draw that many hosts at random
 *   and take the one with the fewest active requests (the first drawn wins a tie). This avoids
 *   the herd behaviour of "global least" when many proxies see the same stale counts.
 * - unequal weights: earliest-deadline-first where each host's weight is re-evaluated when it is
 *   re-queued as `weight / (activeRequests + 1) ^ bias` (bias default 1.0).
 * Hosts that are unhealthy or excluded are skipped; an excluded host is used only when it is the
 * only healthy one.
 */
import type { Rng } from '../../lib/rng.ts';
import { SluiceError } from '../../lib/errors.ts';
import { EdfScheduler } from './edf-scheduler.ts';
import type { Host, LbOptions, LoadBalancer, LoadBalancerFactory, PickContext, PickResult } from './load-balancer.ts';
import { FAIL_NO_HEALTHY, allWeightsEqual, eligibleHosts, pickAvoiding, usable } from './load-balancer.ts';

class LeastRequestLoadBalancer implements LoadBalancer {
  private readonly hosts: Host[];
  private readonly edf: EdfScheduler<Host> | undefined;
  constructor(hosts: readonly Host[], private readonly choiceCount: number, bias: number, private readonly rng: Rng) {
    this.hosts = eligibleHosts(hosts);
    this.edf = allWeightsEqual(this.hosts)
      ? undefined
      : new EdfScheduler(this.hosts, (h) => (bias === 0 ? h.weight : h.weight / Math.pow(h.activeRequests + 1, bias)));
  }

  pick(ctx?: PickContext): PickResult {
    const n = this.hosts.length;
    if (n === 0) return FAIL_NO_HEALTHY;
    const ex = ctx?.excludeHosts;
    if (this.edf) return pickAvoiding(n, ex, () => this.edf!.pick(), this.hosts);
    let best: Host | undefined;
    for (let i = 0; i < this.choiceCount; i++) {
      const h = this.hosts[Math.floor(this.rng.next() * n)]!;
      if (!usable(h, ex)) continue;
      if (!best || h.activeRequests < best.activeRequests) best = h;
    }
    if (best) return { kind: 'complete', host: best };
    // Every draw hit an unusable host (few usable ones left): fall back to the least loaded of those.
    for (const h of this.hosts) if (usable(h, ex) && (!best || h.activeRequests < best.activeRequests)) best = h;
    if (best) return { kind: 'complete', host: best };
    return pickAvoiding(0, ex, () => undefined, this.hosts);
  }
}

export const leastRequestFactory: LoadBalancerFactory = {
  policy: 'LEAST_REQUEST',
  build(hosts: readonly Host[], opts: LbOptions, rng: Rng): LoadBalancer {
    const choiceCount = opts.choiceCount ?? 2;
    if (!Number.isInteger(choiceCount) || choiceCount < 2) {
      throw new SluiceError('SLUICE_E_LB_OPTION', `least request: choiceCount must be an integer ≥ 2, got ${choiceCount} (Envoy's least_request_lb_config.choice_count)`);
    }
    const bias = opts.activeRequestBias ?? 1;
    if (!(bias >= 0) || !Number.isFinite(bias)) {
      throw new SluiceError('SLUICE_E_LB_OPTION', `least request: activeRequestBias must be a finite number ≥ 0, got ${bias}`);
    }
    return new LeastRequestLoadBalancer(hosts, choiceCount, bias, rng);
  },
};
