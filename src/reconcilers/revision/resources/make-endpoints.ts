/**
 * The Endpoints of a Revision (name = revision name): one subset per pod, because every pod
 * listens on its own port on 127.0.0.1; ready pods under `addresses`, others (starting,
 * failing readiness, terminating) under `notReadyAddresses`. Pure; sorted by pod name.
 */
import type { Revision } from '../../../api/types/knative.ts';
import { Labels } from '../../../api/types/knative.ts';
import type { Endpoints, EndpointSubset, Pod } from '../../../api/types/core.ts';
import { controllerOwnerRef } from '../../../controller/owner.ts';
import { PORT_ANNOTATION, SERVING_PORT_ANNOTATION } from '../../../runtime/make-pod.ts';

/** Where traffic for the pod goes: its queue-proxy listener when it has one, else the app's port. */
export function podPort(p: Pod): number | undefined {
  const a = p.metadata.annotations;
  const n = Number(a?.[SERVING_PORT_ANNOTATION] ?? a?.[PORT_ANNOTATION] ?? p.spec?.containers?.[0]?.ports?.[0]?.containerPort);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export function isPodReady(p: Pod): boolean {
  return !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export function makeEndpoints(rev: Revision, pods: Pod[]): Endpoints {
  const subsets: EndpointSubset[] = [];
  for (const p of [...pods].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
    const port = podPort(p);
    if (!port || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const addr = { ip: p.status?.podIP ?? '127.0.0.1', nodeName: p.spec?.nodeName, targetRef: { kind: 'Pod', name: p.metadata.name ?? '', namespace: p.metadata.namespace, uid: p.metadata.uid } };
    if (!addr.nodeName) delete addr.nodeName;
    subsets.push({ ...(isPodReady(p) ? { addresses: [addr] } : { notReadyAddresses: [addr] }), ports: [{ name: 'http', port, protocol: 'TCP' }] });
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: rev.metadata.name,
      namespace: rev.metadata.namespace,
      labels: {
        [Labels.revision]: rev.metadata.name ?? '',
        ...(rev.metadata.labels?.[Labels.configuration] ? { [Labels.configuration]: rev.metadata.labels[Labels.configuration] } : {}),
        ...(rev.metadata.labels?.[Labels.service] ? { [Labels.service]: rev.metadata.labels[Labels.service] } : {}),
      },
      ownerReferences: [controllerOwnerRef(rev)],
    },
    subsets,
  };
}
