/**
 * Per-service readiness durations computed from status timestamps, with Kperf's metric names
 * where they apply (knative-extensions/kperf `service measure`), plus sluice's own stages.
 * Pure: takes the objects as read from the API; never reads the clock.
 *
 * All durations are milliseconds. A metric is left out (undefined) when a stamp it needs is
 * missing or unparseable; a negative duration (stamps out of order, e.g. second-precision
 * creationTimestamps from a real cluster) is clamped to 0 and counted in `outOfOrder`.
 */
import type { Condition, KubeObject } from '../../api/meta.ts';

export const METRICS = [
  'service_ready', // Service Ready − Service created
  'configuration_ready', // Service ConfigurationsReady − Service created
  'revision_ready', // Revision Ready − Revision created
  'route_ready', // Service RoutesReady − Service created
  'ingress_ready', // Ingress Ready (or LoadBalancerReady) − Ingress created
  'pod_scheduled', // Pod PodScheduled − Pod created
  'containers_ready', // Pod ContainersReady − Pod created
  'pod_started', // first container running.startedAt − Pod created
  'endpoints_ready', // Pod Ready (the moment it joins the revision's Endpoints) − Pod created
  'xds_acked', // Ingress LoadBalancerReady (every gateway ACKed) − Ingress NetworkConfigured
  'ingress_after_revision', // Ingress ready − Revision ready (absolute times): routing lag behind the app
] as const;
export type MetricName = (typeof METRICS)[number];

export interface ServiceObjects {
  service: KubeObject;
  configuration?: KubeObject;
  revision?: KubeObject;
  route?: KubeObject;
  ingress?: KubeObject;
  pods?: KubeObject[];
}

export interface ServiceDurations {
  namespace: string;
  name: string;
  createdAt?: number; // epoch ms of the Service's creationTimestamp
  ready: boolean;
  durations: Partial<Record<MetricName, number>>;
  outOfOrder: MetricName[];
  /** For services that never became ready: their conditions, to explain why. */
  notReadyConditions?: Condition[];
}

export function parseTime(s: unknown): number | undefined {
  // @kubernetes/client-node's typed models (Pods) hand timestamps over as Date objects.
  if (s instanceof Date) return Number.isFinite(s.getTime()) ? s.getTime() : undefined;
  if (typeof s !== 'string' || s === '') return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
}

export function conditionTime(obj: KubeObject | undefined, type: string, wantStatus = 'True'): number | undefined {
  const conds = (obj?.status as { conditions?: Condition[] } | undefined)?.conditions;
  const c = conds?.find((x) => x.type === type);
  if (!c || c.status !== wantStatus) return undefined;
  return parseTime(c.lastTransitionTime);
}

function created(obj: KubeObject | undefined): number | undefined {
  return parseTime(obj?.metadata?.creationTimestamp);
}

/** The pod that served the revision first: earliest Ready, else earliest created. */
function firstPod(pods: KubeObject[] | undefined): KubeObject | undefined {
  if (!pods?.length) return undefined;
  const key = (p: KubeObject) => conditionTime(p, 'Ready') ?? created(p) ?? Number.MAX_SAFE_INTEGER;
  return [...pods].sort((a, b) => key(a) - key(b))[0];
}

function podStartedAt(pod: KubeObject): number | undefined {
  const statuses = (pod.status as { containerStatuses?: { state?: { running?: { startedAt?: string } }; lastState?: unknown }[] } | undefined)?.containerStatuses;
  let best: number | undefined;
  for (const cs of statuses ?? []) {
    const t = parseTime(cs.state?.running?.startedAt);
    if (t !== undefined && (best === undefined || t < best)) best = t;
  }
  return best;
}

export function computeDurations(o: ServiceObjects): ServiceDurations {
  const svc = o.service;
  const out: ServiceDurations = {
    namespace: svc.metadata.namespace ?? '',
    name: svc.metadata.name ?? '',
    createdAt: created(svc),
    ready: conditionTime(svc, 'Ready') !== undefined,
    durations: {},
    outOfOrder: [],
  };
  const put = (m: MetricName, end: number | undefined, start: number | undefined) => {
    if (end === undefined || start === undefined) return;
    let d = end - start;
    if (d < 0) { out.outOfOrder.push(m); d = 0; }
    out.durations[m] = d;
  };
  const svcCreated = created(svc);
  put('service_ready', conditionTime(svc, 'Ready'), svcCreated);
  put('configuration_ready', conditionTime(svc, 'ConfigurationsReady'), svcCreated);
  put('route_ready', conditionTime(svc, 'RoutesReady'), svcCreated);
  const revReady = conditionTime(o.revision, 'Ready');
  put('revision_ready', revReady, created(o.revision));
  const ingReady = conditionTime(o.ingress, 'Ready') ?? conditionTime(o.ingress, 'LoadBalancerReady');
  put('ingress_ready', ingReady, created(o.ingress));
  put('xds_acked', conditionTime(o.ingress, 'LoadBalancerReady'), conditionTime(o.ingress, 'NetworkConfigured'));
  put('ingress_after_revision', ingReady, revReady);
  const pod = firstPod(o.pods);
  if (pod) {
    const pc = created(pod);
    put('pod_scheduled', conditionTime(pod, 'PodScheduled'), pc);
    put('containers_ready', conditionTime(pod, 'ContainersReady'), pc);
    put('pod_started', podStartedAt(pod), pc);
    put('endpoints_ready', conditionTime(pod, 'Ready'), pc);
  }
  if (!out.ready) out.notReadyConditions = (svc.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  return out;
}
