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
import type { Indexer } from '../../controller/object-cache.ts';

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

/**
 * Routes by what their traffic names: `ns/revision:NAME` for a revision named in spec or status,
 * `ns/configuration:NAME` for a configuration named in spec — all `routingState` reads of them.
 */
export const routesByTrafficTarget: Indexer<Route> = {
  name: 'traffic-targets',
  values(r) {
    const ns = r.metadata.namespace ?? '';
    const out = new Set<string>();
    for (const t of r.spec?.traffic ?? []) {
      if (t.revisionName) out.add(`${ns}/revision:${t.revisionName}`);
      if (t.configurationName) out.add(`${ns}/configuration:${t.configurationName}`);
    }
    for (const t of r.status?.traffic ?? []) if (t.revisionName) out.add(`${ns}/revision:${t.revisionName}`);
    return [...out];
  },
};

/**
 * The routing state of a revision from the informers' caches. Only Routes that name the revision
 * or its Configuration can change the answer, and the index hands over just those: listing every
 * Route of the namespace on each call made the autoscaler's and the revision reconciler's calls
 * cost O(routes in the namespace) each (the autoscaler asks on every scale decision).
 */
export function routingStateOf(rev: Revision, listers: { routes: Lister<Route>; configurations: Lister<Configuration> }): RoutingState {
  const ns = rev.metadata.namespace ?? '';
  const cfgName = rev.metadata.labels?.[Labels.configuration];
  const routes = listers.routes.byIndex(routesByTrafficTarget, `${ns}/revision:${rev.metadata.name}`);
  if (cfgName) for (const r of listers.routes.byIndex(routesByTrafficTarget, `${ns}/configuration:${cfgName}`)) if (!routes.includes(r)) routes.push(r);
  return routingState(rev, routes, cfgName ? listers.configurations.get(ns, cfgName) : undefined);
}
