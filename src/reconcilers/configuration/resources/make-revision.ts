/**
 * The immutable Revision a Configuration stamps out for its current generation (Knative's
 * resources.MakeRevision): named `spec.template.metadata.name` or `<config>-<generation, 5
 * digits>`, labelled with the configuration, its generation and uid, and the service.
 */
import type { Configuration, Revision } from '../../../api/types/knative.ts';
import { Labels } from '../../../api/types/knative.ts';
import { controllerOwnerRef } from '../../../controller/owner.ts';

export const CONFIGURATION_UID_LABEL = 'serving.knative.dev/configurationUID';

export function revisionNameFor(config: Configuration): string {
  const given = config.spec?.template?.metadata?.name;
  if (given) return given;
  return `${config.metadata.name}-${String(config.metadata.generation ?? 1).padStart(5, '0')}`;
}

export function makeRevision(config: Configuration): Revision {
  const tmpl = config.spec?.template ?? { spec: { containers: [] } };
  const cl = config.metadata.labels ?? {};
  const labels: Record<string, string> = {
    ...tmpl.metadata?.labels,
    [Labels.configuration]: config.metadata.name ?? '',
    [Labels.configurationGeneration]: String(config.metadata.generation ?? 1),
    [CONFIGURATION_UID_LABEL]: config.metadata.uid ?? '',
  };
  if (cl[Labels.service]) labels[Labels.service] = cl[Labels.service];
  const annotations: Record<string, string> = { ...tmpl.metadata?.annotations };
  if (config.metadata.annotations?.['serving.knative.dev/creator']) annotations['serving.knative.dev/creator'] = config.metadata.annotations['serving.knative.dev/creator'];
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: {
      name: revisionNameFor(config),
      namespace: config.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [controllerOwnerRef(config)],
    },
    spec: structuredClone(tmpl.spec),
  };
}
