/**
 * The Ingress (networking.internal.knative.dev) a Route owns, like Knative's
 * resources.MakeIngress: one cluster-local rule (`name.ns`, `name.ns.svc`,
 * `name.ns.svc.cluster.local`) and, unless the route is cluster-local, one external rule
 * (`name.ns.DOMAIN`), each splitting traffic by revision; then the same pair per tag, sending
 * 100% to the tag's revision. Splits to one revision are merged; 0% splits are dropped.
 */
import type { Route } from '../../../api/types/knative.ts';
import { Labels } from '../../../api/types/knative.ts';
import type { KIngress, IngressRule, IngressBackendSplit, IngressVisibility } from '../../../api/types/ingress.ts';
import { controllerOwnerRef } from '../../../controller/owner.ts';
import { clusterLocalHosts, externalHost, tagHostName } from '../../shared/urls.ts';
import type { ResolvedTarget } from './traffic.ts';

export const INGRESS_CLASS_ANNOTATION = 'networking.knative.dev/ingress.class';
export const INGRESS_CLASS = 'sluice.ingress.networking.knative.dev';
export const ROUTE_NAMESPACE_LABEL = 'serving.knative.dev/routeNamespace';

function splits(ns: string, targets: { revisionName: string; percent: number }[]): IngressBackendSplit[] {
  const by = new Map<string, number>();
  for (const t of targets) if (t.percent > 0) by.set(t.revisionName, (by.get(t.revisionName) ?? 0) + t.percent);
  return [...by].map(([rev, percent]) => ({
    serviceNamespace: ns, serviceName: rev, servicePort: 80, percent,
    appendHeaders: { 'Knative-Serving-Revision': rev, 'Knative-Serving-Namespace': ns },
  }));
}

function rules(hostName: string, ns: string, domain: string, clusterLocal: boolean, sp: IngressBackendSplit[]): IngressRule[] {
  const rule = (hosts: string[], visibility: IngressVisibility): IngressRule => ({ hosts, visibility, http: { paths: [{ splits: sp }] } });
  const out = [rule(clusterLocalHosts(hostName, ns), 'ClusterLocal')];
  if (!clusterLocal) out.push(rule([externalHost(hostName, ns, domain)], 'ExternalIP'));
  return out;
}

export function makeIngress(route: Route, targets: ResolvedTarget[], domain: string, clusterLocal: boolean): KIngress {
  const name = route.metadata.name ?? '';
  const ns = route.metadata.namespace ?? '';
  const all: IngressRule[] = rules(name, ns, domain, clusterLocal, splits(ns, targets));
  for (const t of targets) {
    if (!t.tag) continue;
    all.push(...rules(tagHostName(t.tag, name), ns, domain, clusterLocal, splits(ns, [{ revisionName: t.revisionName, percent: 100 }])));
  }
  const labels: Record<string, string> = { [Labels.route]: name, [ROUTE_NAMESPACE_LABEL]: ns };
  if (route.metadata.labels?.[Labels.service]) labels[Labels.service] = route.metadata.labels[Labels.service];
  return {
    apiVersion: 'networking.internal.knative.dev/v1alpha1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: ns,
      labels,
      annotations: { [INGRESS_CLASS_ANNOTATION]: INGRESS_CLASS },
      ownerReferences: [controllerOwnerRef(route)],
    },
    spec: { rules: all, httpOption: 'Enabled' },
  };
}
