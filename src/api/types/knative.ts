/** serving.knative.dev/v1 types, with Knative's field names. */
import type { Condition, KubeObject, ObjectMeta } from '../meta.ts';
import type { Container } from './core.ts';

export interface RevisionSpec {
  containers: Container[];
  containerConcurrency?: number; // default 0 (unlimited)
  timeoutSeconds?: number; // default 300
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  serviceAccountName?: string;
  volumes?: unknown[];
  enableServiceLinks?: boolean;
}
export interface RevisionTemplateSpec { metadata?: ObjectMeta; spec: RevisionSpec }

export interface TrafficTarget {
  tag?: string;
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  url?: string; // status only
}

export interface Status {
  observedGeneration?: number;
  conditions?: Condition[];
  annotations?: Record<string, string>;
}

export interface ConfigurationSpec { template: RevisionTemplateSpec }
export interface ConfigurationStatus extends Status {
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
}

export interface RouteSpec { traffic?: TrafficTarget[] }
export interface RouteStatus extends Status {
  url?: string;
  address?: { url?: string };
  traffic?: TrafficTarget[];
}

export interface ServiceSpec extends ConfigurationSpec, RouteSpec {}
export interface ServiceStatus extends ConfigurationStatus, RouteStatus {}

export interface RevisionStatus extends Status {
  logUrl?: string;
  containerStatuses?: { name: string; imageDigest?: string }[];
  actualReplicas?: number;
  desiredReplicas?: number;
}

/** serving.knative.dev/v1beta1 DomainMapping: metadata.name is the domain. */
export interface KReference { apiVersion: string; kind: string; name: string; namespace?: string }
export interface DomainMappingSpec { ref: KReference; tls?: { secretName: string } }
export interface DomainMappingStatus extends Status {
  url?: string;
  address?: { url?: string };
}

export type KService = KubeObject<ServiceSpec, ServiceStatus>;
export type Configuration = KubeObject<ConfigurationSpec, ConfigurationStatus>;
export type Revision = KubeObject<RevisionSpec, RevisionStatus>;
export type Route = KubeObject<RouteSpec, RouteStatus>;
export type DomainMapping = KubeObject<DomainMappingSpec, DomainMappingStatus>;

/** Well-known labels and annotations. */
export const Labels = {
  service: 'serving.knative.dev/service',
  configuration: 'serving.knative.dev/configuration',
  configurationGeneration: 'serving.knative.dev/configurationGeneration',
  revision: 'serving.knative.dev/revision',
  route: 'serving.knative.dev/route',
  visibility: 'networking.knative.dev/visibility',
} as const;
/** The autoscaling annotations sluice reads (`autoscaling.knative.dev/<key>`); any other key under that prefix is refused at admission. */
export const AUTOSCALING_ANNOTATION_PREFIX = 'autoscaling.knative.dev/';
export const AUTOSCALING_ANNOTATION_KEYS = ['class', 'metric', 'target', 'target-utilization-percentage', 'min-scale', 'max-scale', 'initial-scale', 'scale-down-delay', 'window', 'panic-window-percentage', 'panic-threshold-percentage', 'target-burst-capacity', 'activation-scale', 'scale-to-zero-pod-retention-period'] as const;
/** Knative's older camelCase spellings, still accepted. */
const AUTOSCALING_ANNOTATION_ALIASES: Readonly<Record<string, string>> = { minScale: 'min-scale', maxScale: 'max-scale', initialScale: 'initial-scale', scaleDownDelay: 'scale-down-delay', panicWindowPercentage: 'panic-window-percentage', panicThresholdPercentage: 'panic-threshold-percentage', targetBurstCapacity: 'target-burst-capacity', targetUtilizationPercentage: 'target-utilization-percentage' };
export const UNKNOWN_AUTOSCALING_ANNOTATION = `unknown autoscaling annotation; known: ${AUTOSCALING_ANNOTATION_KEYS.map((k) => AUTOSCALING_ANNOTATION_PREFIX + k).join(', ')}`;

/**
 * For an annotation name: undefined when it is not an autoscaling annotation; else its key
 * (aliases resolved, e.g. `min-scale`), or null when sluice does not read it.
 */
export function autoscalingAnnotationKey(name: string): string | null | undefined {
  if (!name.startsWith(AUTOSCALING_ANNOTATION_PREFIX)) return undefined;
  const short = name.slice(AUTOSCALING_ANNOTATION_PREFIX.length);
  const key = AUTOSCALING_ANNOTATION_ALIASES[short] ?? short;
  return (AUTOSCALING_ANNOTATION_KEYS as readonly string[]).includes(key) ? key : null;
}

export const Annotations = {
  class: 'autoscaling.knative.dev/class',
  metric: 'autoscaling.knative.dev/metric',
  target: 'autoscaling.knative.dev/target',
  targetUtilization: 'autoscaling.knative.dev/target-utilization-percentage',
  minScale: 'autoscaling.knative.dev/min-scale',
  maxScale: 'autoscaling.knative.dev/max-scale',
  initialScale: 'autoscaling.knative.dev/initial-scale',
  scaleDownDelay: 'autoscaling.knative.dev/scale-down-delay',
  window: 'autoscaling.knative.dev/window',
  targetBurstCapacity: 'autoscaling.knative.dev/target-burst-capacity',
  scaleToZeroPodRetentionPeriod: 'autoscaling.knative.dev/scale-to-zero-pod-retention-period',
  routingState: 'serving.knative.dev/routingState',
  creator: 'serving.knative.dev/creator',
} as const;
