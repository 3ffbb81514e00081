/**
 * LOCALITY_WEIGHTED, like Envoy's locality weighted load balancing: first a locality is chosen,
 * then a host inside it by weighted round robin.
 *
 * A locality's effective weight is `weight × min(1, overprovisioningFactor/100 × healthy/total)`:
 * a locality keeps its full share while at least 1/1.4 of its hosts are healthy (factor 140),
 * and then loses share in proportion, so its traffic spills to the others instead of
 * overloading the survivors. Localities are chosen by earliest deadline first over effective
 * weights. Weights come from `localityWeights` (key: localityKey(); a locality without an entry
 * gets no traffic, as in Envoy); without the map every locality weighs 1.
 *
 * `localZone` (zone-aware routing): when set, localities in that zone take
 * min(1, overprovisioning × healthy fraction) of the traffic, and only the rest is spread over
 * the other localities by their effective weights.
 */
import type { Rng } from '../../lib/rng.ts';
import { SluiceError } from '../../lib/errors.ts';
import { EdfScheduler } from './edf-scheduler.ts';
import type { Host, LbOptions, LoadBalancer, LoadBalancerFactory, PickContext, PickResult } from './load-balancer.ts';
import { FAIL_NO_HEALTHY, eligibleHosts, localityKey } from './load-balancer.ts';
import { RoundRobinPicker } from './round-robin.ts';

interface LocalityEntry { key: string; zone: string; effectiveWeight: number; healthyFraction: number; picker: RoundRobinPicker }

class LocalityScheduler {
  private readonly edf: EdfScheduler<LocalityEntry>;
  constructor(readonly entries: LocalityEntry[]) {
    this.edf = new EdfScheduler(entries, (e) => e.effectiveWeight);
  }
  get empty(): boolean { return this.entries.length === 0; }
  pick(ctx: PickContext | undefined): PickResult {
    let fallback: PickResult | undefined;
    for (let i = 0; i < this.entries.length; i++) {
      const loc = this.edf.pick()!;
      const r = loc.picker.pick(ctx);
      if (r.kind !== 'complete') continue;
      if (ctx?.excludeHosts?.has(r.host.id)) { fallback ??= r; continue; }
      return r;
    }
    return fallback ?? FAIL_NO_HEALTHY;
  }
}

export class LocalityWeightedLoadBalancer implements LoadBalancer {
  private readonly local: LocalityScheduler;
  private readonly remote: LocalityScheduler;
  private readonly localShare: number;

  constructor(hosts: readonly Host[], opts: LbOptions, private readonly rng: Rng) {
    const overprovisioning = (opts.overprovisioningFactor ?? 140) / 100;
    const eligible = eligibleHosts(hosts);
    const level = eligible.length > 0 ? (eligible[0]!.priority ?? 0) : 0;
    const totals = new Map<string, number>();
    for (const h of hosts) if ((h.priority ?? 0) === level) totals.set(localityKey(h.locality), (totals.get(localityKey(h.locality)) ?? 0) + 1);
    const groups = new Map<string, Host[]>();
    for (const h of eligible) {
      const k = localityKey(h.locality);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(h);
    }
    const entries: LocalityEntry[] = [];
    for (const [key, members] of groups) {
      const weight = opts.localityWeights ? (opts.localityWeights.get(key) ?? 0) : 1;
      const healthyFraction = members.length / (totals.get(key) ?? members.length);
      const effectiveWeight = weight * Math.min(1, overprovisioning * healthyFraction);
      if (effectiveWeight <= 0) continue;
      entries.push({ key, zone: members[0]!.locality?.zone ?? '', effectiveWeight, healthyFraction, picker: new RoundRobinPicker(members, rng) });
    }
    const zone = opts.localZone;
    const localEntries = zone === undefined ? [] : entries.filter((e) => e.zone === zone);
    const remoteEntries = zone === undefined ? entries : entries.filter((e) => e.zone !== zone);
    this.local = new LocalityScheduler(localEntries);
    this.remote = new LocalityScheduler(remoteEntries);
    if (localEntries.length === 0) this.localShare = 0;
    else if (remoteEntries.length === 0) this.localShare = 1;
    else {
      let healthy = 0, total = 0;
      for (const e of localEntries) { const n = e.picker.size; healthy += n; total += n / e.healthyFraction; }
      this.localShare = Math.min(1, overprovisioning * (healthy / total));
    }
  }

  pick(ctx?: PickContext): PickResult {
    if (this.local.empty && this.remote.empty) return FAIL_NO_HEALTHY;
    const first = this.localShare > 0 && (this.localShare >= 1 || this.rng.next() < this.localShare) ? this.local : this.remote;
    const second = first === this.local ? this.remote : this.local;
    const r = first.empty ? FAIL_NO_HEALTHY : first.pick(ctx);
    if (r.kind === 'complete' && !ctx?.excludeHosts?.has(r.host.id)) return r;
    const r2 = second.empty ? FAIL_NO_HEALTHY : second.pick(ctx);
    if (r2.kind === 'complete' && !ctx?.excludeHosts?.has(r2.host.id)) return r2;
    return r.kind === 'complete' ? r : r2;
  }
}

export const localityWeightedFactory: LoadBalancerFactory = {
  policy: 'LOCALITY_WEIGHTED',
  build(hosts: readonly Host[], opts: LbOptions, rng: Rng): LoadBalancer {
    const f = opts.overprovisioningFactor ?? 140;
    if (!(f > 0) || !Number.isFinite(f)) {
      throw new SluiceError('SLUICE_E_LB_OPTION', `locality weighted: overprovisioningFactor must be a positive percentage, got ${f} (Envoy's policy.overprovisioning_factor)`);
    }
    for (const [k, w] of opts.localityWeights ?? []) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new SluiceError('SLUICE_E_LB_OPTION', `locality weighted: weight of locality "${k}" must be a number ≥ 0, got ${w}`);
    }
    return new LocalityWeightedLoadBalancer(hosts, opts, rng);
  },
};
