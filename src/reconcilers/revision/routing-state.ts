/**
 * Knative's routing state of a revision, computed from Routes and its Configuration:
 * - active: a Route sends it traffic (status.traffic) or pins it by name (spec.traffic);
 * - pending: not routed yet but the newest revision of its Configuration (it must start so it
 *   can become ready and take traffic), or a revision without a Configuration;
 * - reserve: neither; Knative scales such revisions to zero, and so does sluice by default.
 * The autoscaler's ScaleSource overrides this for revisions it decides about.
 */
import type { Configuration, Revision, Route } from '../../api/types/knative.ts';
import { Labels } from '../../api/types/knative.ts';
import type { Lister } from '../../controller/lister.ts';

export type RoutingState = 'active' | 'pending' | 'reserve';

export function routingState(rev: Revision, routes: Route[], config: Configuration | undefined): RoutingState {
  const name = rev.metadata.name;
  for (const r of routes) {
    if (r.status?.traffic?.some((t) => t.revisionName === name)) return 'active';
    if (r.spec?.traffic?.some((t) => t.revisionName === name)) return 'active';
  }
  if (!config) return 'pending';
  if (config.status?.latestCreatedRevisionName === name || !config.status?.latestCreatedRevisionName) return 'pending';
  // A Configuration no Route points at (used on its own): its newest ready revision keeps running.
  const referenced = routes.some((r) => r.spec?.traffic?.some((t) => t.configurationName === config.metadata.name));
  if (!referenced && config.status?.latestReadyRevisionName === name) return 'pending';
  return 'reserve';
}

export function routingStateOf(rev: Revision, listers: { routes: Lister<Route>; configurations: Lister<Configuration> }): RoutingState {
  const ns = rev.metadata.namespace ?? '';
  const cfgName = rev.metadata.labels?.[Labels.configuration];
  return routingState(rev, listers.routes.list(ns), cfgName ? listers.configurations.get(ns, cfgName) : undefined);
}
