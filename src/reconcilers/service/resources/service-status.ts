/**
 * The Service's status from its Configuration and Route (Knative's PropagateConfigurationStatus
 * and PropagateRouteStatus). Pure: conditions are stamped with `now` on transitions only.
 */
import type { KService, Configuration, Route, ServiceStatus } from '../../../api/types/knative.ts';
import type { Condition } from '../../../api/meta.ts';
import { serviceConditions, getCondition, ConditionTypes as CT } from '../../../api/conditions.ts';

function mirror(conds: Condition[], type: string, child: Configuration | Route | undefined, kind: string, now: number): Condition[] {
  if (!child) return serviceConditions.markUnknown(conds, type, `${kind}Missing`, `${kind} is being created.`, now);
  const gen = child.metadata.generation ?? 0;
  if ((child.status?.observedGeneration ?? -1) !== gen) {
    return serviceConditions.markUnknown(conds, type, 'OutOfDate', `The ${kind} is still working to reflect the latest desired specification.`, now);
  }
  const r = getCondition(child.status?.conditions, CT.ready);
  if (!r || r.status === 'Unknown') return serviceConditions.markUnknown(conds, type, r?.reason ?? 'Unknown', r?.message ?? `${kind} is not ready yet.`, now);
  if (r.status === 'False') return serviceConditions.markFalse(conds, type, r.reason ?? `${kind}Failed`, r.message ?? `${kind} failed.`, now);
  return serviceConditions.markTrue(conds, type, now);
}

export function computeServiceStatus(svc: KService, config: Configuration | undefined, route: Route | undefined, now: number, failure?: { type: string; reason: string; message: string }): ServiceStatus {
  const prev = svc.status ?? {};
  let conds = serviceConditions.initialize(prev.conditions, now);
  conds = mirror(conds, CT.configurationsReady, config, 'Configuration', now);
  conds = mirror(conds, CT.routesReady, route, 'Route', now);
  if (failure) conds = serviceConditions.markFalse(conds, failure.type, failure.reason, failure.message, now);
  const st: ServiceStatus = { ...prev, observedGeneration: svc.metadata.generation, conditions: conds };
  if (config?.status) {
    st.latestCreatedRevisionName = config.status.latestCreatedRevisionName ?? prev.latestCreatedRevisionName;
    st.latestReadyRevisionName = config.status.latestReadyRevisionName ?? prev.latestReadyRevisionName;
  }
  if (route?.status && (route.status.observedGeneration ?? -1) === (route.metadata.generation ?? 0)) {
    if (route.status.url) st.url = route.status.url;
    if (route.status.address) st.address = route.status.address;
    if (route.status.traffic) st.traffic = route.status.traffic;
  }
  for (const k of Object.keys(st) as (keyof ServiceStatus)[]) if (st[k] === undefined) delete st[k];
  return st;
}
