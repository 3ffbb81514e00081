/**
 * The Ingress (networking.internal.knative.dev) a DomainMapping owns, like Knative's
 * domainmapping/resources.MakeIngress: named after the domain, in the mapping's namespace, with
 * one ExternalIP rule for the domain. Where Knative sends the rule to the target Route's
 * placeholder Service and rewrites the Host to it, sluice has no placeholder Services: the rule
 * copies the target Route's resolved traffic (status.traffic) as splits by revision, as the
 * Route's own Ingress does, and still rewrites the Host to the Route's cluster-local name with
 * K-Original-Host carrying the domain. With spec.tls the Ingress carries one TLS entry for the
 * domain with the mapping's Secret, which the gateway serves by SNI.
 */
import type { DomainMapping, Route, TrafficTarget } from '../../../api/types/knative.ts';
import type { IngressBackendSplit, IngressTLS, KIngress } from '../../../api/types/ingress.ts';
import { controllerOwnerRef } from '../../../controller/owner.ts';
import { clusterLocalHost } from '../../shared/urls.ts';
import { INGRESS_CLASS, INGRESS_CLASS_ANNOTATION } from '../../route/resources/make-ingress.ts';

export const DomainMappingLabels = {
  uid: 'serving.knative.dev/domainMappingUID',
  namespace: 'serving.knative.dev/domainMappingNamespace',
} as const;
export const ORIGINAL_HOST_HEADER = 'K-Original-Host';

/** Revision splits of a Route's resolved traffic: one per revision (merged), 0% dropped, tags ignored. */
export function trafficSplits(ns: string, traffic: readonly TrafficTarget[] | undefined, domain: string): IngressBackendSplit[] {
  const by = new Map<string, number>();
  for (const t of traffic ?? []) {
    if (!t.revisionName || !(typeof t.percent === 'number' && t.percent > 0)) continue;
    by.set(t.revisionName, (by.get(t.revisionName) ?? 0) + t.percent);
  }
  return [...by].map(([rev, percent]) => ({
    serviceNamespace: ns, serviceName: rev, servicePort: 80, percent,
    appendHeaders: { 'Knative-Serving-Revision': rev, 'Knative-Serving-Namespace': ns, [ORIGINAL_HOST_HEADER]: domain },
  }));
}

export function ingressTlsFor(dm: DomainMapping): IngressTLS[] | undefined {
  const secretName = dm.spec?.tls?.secretName;
  if (!secretName) return undefined;
  return [{ hosts: [dm.metadata.name ?? ''], secretName, secretNamespace: dm.metadata.namespace ?? '' }];
}

/** The desired Ingress; `splits` must be non-empty (the caller waits for the Route's traffic otherwise). */
export function makeIngress(dm: DomainMapping, route: Route, splits: IngressBackendSplit[]): KIngress {
  const domain = dm.metadata.name ?? '';
  const ns = dm.metadata.namespace ?? '';
  const labels: Record<string, string> = { ...(dm.metadata.labels ?? {}), [DomainMappingLabels.uid]: dm.metadata.uid ?? '', [DomainMappingLabels.namespace]: ns };
  const tls = ingressTlsFor(dm);
  return {
    apiVersion: 'networking.internal.knative.dev/v1alpha1',
    kind: 'Ingress',
    metadata: {
      name: domain,
      namespace: ns,
      labels,
      annotations: { [INGRESS_CLASS_ANNOTATION]: INGRESS_CLASS },
      ownerReferences: [controllerOwnerRef(dm)],
    },
    spec: {
      rules: [{
        hosts: [domain],
        visibility: 'ExternalIP',
        http: { paths: [{ rewriteHost: clusterLocalHost(route.metadata.name ?? '', ns), splits }] },
      }],
      ...(tls ? { tls } : {}),
      httpOption: 'Enabled',
    },
  };
}
