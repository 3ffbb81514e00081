/**
 * The Route's status (pure): AllTrafficAssigned from traffic resolution, IngressReady mirrored
 * from the Ingress's Ready condition for its current generation, CertificateProvisioned True
 * ("TLSNotEnabled"), and url / address / traffic.
 */
import type { Route, RouteStatus, TrafficTarget } from '../../../api/types/knative.ts';
import type { KIngress } from '../../../api/types/ingress.ts';
import { routeConditions as rc, ingressConditions as ic, getCondition, ConditionTypes as CT } from '../../../api/conditions.ts';
import { routeUrl, clusterLocalHost } from '../../shared/urls.ts';
import type { TrafficProblem } from './traffic.ts';

export function computeRouteStatus(route: Route, opts: {
  traffic?: TrafficTarget[]; problem?: TrafficProblem; ingress?: KIngress; domain: string; clusterLocal: boolean; now: number;
}): RouteStatus {
  const { now } = opts;
  const prev = route.status ?? {};
  let conds = rc.initialize(prev.conditions, now);
  conds = rc.markTrue(conds, CT.certificateProvisioned, now, 'TLSNotEnabled', 'autoTLS is not enabled');
  if (opts.problem) {
    conds = opts.problem.status === 'False'
      ? rc.markFalse(conds, CT.allTrafficAssigned, opts.problem.reason, opts.problem.message, now)
      : rc.markUnknown(conds, CT.allTrafficAssigned, opts.problem.reason, opts.problem.message, now);
  } else {
    conds = rc.markTrue(conds, CT.allTrafficAssigned, now);
  }
  const ing = opts.ingress;
  const ready = ing && (ing.status?.observedGeneration ?? -1) === (ing.metadata.generation ?? 0) ? getCondition(ing.status?.conditions, CT.ready) : undefined;
  if (!ing || !ready || ready.status === 'Unknown') {
    conds = rc.markUnknown(conds, CT.ingressReady, 'IngressNotConfigured', 'Ingress has not yet been reconciled.', now);
  } else if (ready.status === 'False') {
    conds = rc.markFalse(conds, CT.ingressReady, ready.reason ?? 'IngressNotReady', ready.message ?? 'Ingress failed.', now);
  } else {
    conds = rc.markTrue(conds, CT.ingressReady, now);
  }
  const name = route.metadata.name ?? '';
  const ns = route.metadata.namespace ?? '';
  const st: RouteStatus = {
    ...prev,
    observedGeneration: route.metadata.generation,
    conditions: conds,
    url: routeUrl(name, ns, opts.domain, opts.clusterLocal),
    address: { url: `http://${clusterLocalHost(name, ns)}` },
  };
  if (opts.traffic) st.traffic = opts.traffic;
  return st;
}

/** What `immediate` ingress readiness writes: the status a control plane writes once every gateway ACKed. */
export function immediateIngressStatus(ing: KIngress, now: number): NonNullable<KIngress['status']> {
  const prev = ing.status ?? {};
  let conds = ic.initialize(prev.conditions, now);
  conds = ic.markTrue(conds, CT.networkConfigured, now);
  conds = ic.markTrue(conds, CT.loadBalancerReady, now);
  const lb = { ingress: [{ domainInternal: 'sluice-gateway.sluice-system.svc.cluster.local' }] };
  return { ...prev, observedGeneration: ing.metadata.generation, conditions: conds, publicLoadBalancer: lb, privateLoadBalancer: lb };
}
