/** Policy name → factory. The cluster builds a fresh snapshot with `factory.build` on each host-set change. */
import { SluiceError } from '../../lib/errors.ts';
import type { LbPolicy, LoadBalancerFactory } from './load-balancer.ts';
import { leastRequestFactory } from './least-request.ts';
import { localityWeightedFactory } from './locality-weighted.ts';
import { randomFactory } from './random.ts';
import { ringHashFactory } from './ring-hash.ts';
import { roundRobinFactory } from './round-robin.ts';

const FACTORIES: Readonly<Record<LbPolicy, LoadBalancerFactory>> = Object.freeze({
  ROUND_ROBIN: roundRobinFactory,
  LEAST_REQUEST: leastRequestFactory,
  RANDOM: randomFactory,
  RING_HASH: ringHashFactory,
  LOCALITY_WEIGHTED: localityWeightedFactory,
});

export const LB_POLICIES: readonly LbPolicy[] = Object.freeze(Object.keys(FACTORIES) as LbPolicy[]);

export function isLbPolicy(s: string): s is LbPolicy {
  return Object.hasOwn(FACTORIES, s);
}

/** The factory for `policy`; an unknown name is a SluiceError listing the supported ones. */
export function loadBalancerFactory(policy: LbPolicy | string): LoadBalancerFactory {
  if (!isLbPolicy(policy)) {
    throw new SluiceError('SLUICE_E_LB_POLICY', `unsupported load-balancing policy "${policy}"; supported: ${LB_POLICIES.join(', ')}`);
  }
  return FACTORIES[policy];
}
