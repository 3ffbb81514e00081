/**
 * The Route a Service owns (Knative's resources.MakeRoute): the Service's traffic block, with
 * `latestRevision: true` entries pointed at the Service's Configuration; no traffic block means
 * 100% to the latest ready revision. The visibility label is carried over.
 */
import type { KService, Route, TrafficTarget } from '../../../api/types/knative.ts';
import { Labels } from '../../../api/types/knative.ts';
import { controllerOwnerRef } from '../../../controller/owner.ts';
import { childAnnotations } from './make-configuration.ts';

export function makeRoute(svc: KService): Route {
  const name = svc.metadata.name ?? '';
  const src: TrafficTarget[] = svc.spec?.traffic?.length ? svc.spec.traffic : [{ latestRevision: true, percent: 100 }];
  const traffic = src.map((t) => {
    const out: TrafficTarget = {};
    if (t.tag) out.tag = t.tag;
    if (t.revisionName) out.revisionName = t.revisionName;
    if (t.latestRevision ?? !t.revisionName) { out.configurationName = name; out.latestRevision = true; }
    else out.latestRevision = false;
    if (t.percent !== undefined) out.percent = t.percent;
    return out;
  });
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Route',
    metadata: {
      name,
      namespace: svc.metadata.namespace,
      labels: { ...svc.metadata.labels, [Labels.service]: name },
      annotations: childAnnotations(svc),
      ownerReferences: [controllerOwnerRef(svc)],
    },
    spec: { traffic },
  };
}
