/** The Configuration a Service owns (Knative's resources.MakeConfiguration). Pure. */
import type { KService, Configuration } from '../../../api/types/knative.ts';
import { Labels } from '../../../api/types/knative.ts';
import { controllerOwnerRef } from '../../../controller/owner.ts';

/** Annotations that belong to the user's last apply, not to children. */
const SKIP_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

export function childAnnotations(svc: KService): Record<string, string> {
  return Object.fromEntries(Object.entries(svc.metadata.annotations ?? {}).filter(([k]) => !SKIP_ANNOTATIONS.has(k)));
}

export function makeConfiguration(svc: KService): Configuration {
  const name = svc.metadata.name ?? '';
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Configuration',
    metadata: {
      name,
      namespace: svc.metadata.namespace,
      labels: { ...svc.metadata.labels, [Labels.service]: name },
      annotations: childAnnotations(svc),
      ownerReferences: [controllerOwnerRef(svc)],
    },
    spec: { template: structuredClone(svc.spec?.template ?? { spec: { containers: [] } }) },
  };
}
