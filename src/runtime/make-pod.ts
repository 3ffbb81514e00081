/**
 * Pure builders for the Pod object a pod process is shown as (`kubectl get pods`): metadata
 * owned by the Revision with Knative's labels, and a status (phase, conditions with
 * lastTransitionTime, containerStatuses, podIP 127.0.0.1) from the process state.
 */
import type { Pod, PodCondition, ContainerStatus, ContainerState } from '../api/types/core.ts';
import type { Revision } from '../api/types/knative.ts';
import { Labels } from '../api/types/knative.ts';
import { formatTime } from '../api/conditions.ts';
import type { PodState, ContainerTermination } from './pod-process.ts';

export const PORT_ANNOTATION = 'sluice.dev/port';
export const PID_ANNOTATION = 'sluice.dev/pid';
/** Where the pod is served (its queue-proxy listener) when that differs from the app's port. */
export const SERVING_PORT_ANNOTATION = 'sluice.dev/serving-port';
export const CONTAINER_NAME = 'user-container';
export const DEFAULT_GRACE_SECONDS = 30;

export interface PodIdentity {
  namespace: string;
  name: string;
  port: number;
  /** The queue-proxy listener's port, when the pod has one. */
  servingPort?: number;
  templateHash: string;
  nodeName: string;
  /** The mesh proxy's listeners for the pod (inbound in front of it, egress for its calls). */
  mesh?: { inbound: number; egress: number };
}

export const INBOUND_PORT_ANNOTATION = 'sluice.dev/inbound-port';
/**
 * The port the container declares (spec.containers[0].ports[0].containerPort, Knative's default
 * 8080): what PeerAuthentication portLevelMtls is keyed by, as in Istio, while the process itself
 * listens on the port sluice picked ($PORT).
 */
export const DECLARED_PORT_ANNOTATION = 'sluice.dev/declared-port';
export const EGRESS_PORT_ANNOTATION = 'sluice.dev/egress-port';

export function makePodMeta(rev: Revision, id: PodIdentity): Pod {
  const rl = rev.metadata.labels ?? {};
  const labels: Record<string, string> = {
    app: rev.metadata.name ?? '',
    'pod-template-hash': id.templateHash,
    [Labels.revision]: rev.metadata.name ?? '',
    'serving.knative.dev/revisionUID': rev.metadata.uid ?? '',
  };
  for (const k of [Labels.configuration, Labels.service, Labels.configurationGeneration]) if (rl[k]) labels[k] = rl[k];
  const c = rev.spec?.containers?.[0];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: id.name,
      namespace: id.namespace,
      labels,
      annotations: {
        [PORT_ANNOTATION]: String(id.port),
        ...(id.servingPort ? { [SERVING_PORT_ANNOTATION]: String(id.servingPort) } : {}),
        ...(id.mesh ? {
          [INBOUND_PORT_ANNOTATION]: String(id.mesh.inbound), [EGRESS_PORT_ANNOTATION]: String(id.mesh.egress),
          [DECLARED_PORT_ANNOTATION]: String(rev.spec?.containers?.[0]?.ports?.[0]?.containerPort ?? 8080),
        } : {}),
      },
      ownerReferences: [{ apiVersion: rev.apiVersion, kind: rev.kind, name: rev.metadata.name ?? '', uid: rev.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      containers: [{ ...(c ?? { image: '' }), name: c?.name || CONTAINER_NAME, ports: [{ containerPort: id.port, name: 'user-port', protocol: 'TCP' }] }],
      nodeName: id.nodeName,
      // The pod's mesh identity: spiffe://TRUST_DOMAIN/ns/NS/sa/SERVICE_ACCOUNT.
      serviceAccountName: rev.spec?.serviceAccountName || 'default',
      terminationGracePeriodSeconds: DEFAULT_GRACE_SECONDS,
    },
  };
}

function terminated(t: ContainerTermination): ContainerState {
  const term: NonNullable<ContainerState['terminated']> = { exitCode: t.exitCode, reason: t.reason, startedAt: formatTime(t.startedAt), finishedAt: formatTime(t.finishedAt) };
  if (t.message) term.message = t.message;
  return { terminated: term };
}

export function makePodStatus(s: PodState, image: string, containerName = CONTAINER_NAME): NonNullable<Pod['status']> {
  const created = formatTime(s.createdAt);
  const readyAt = formatTime(s.readyChangedAt);
  const rs = s.ready ? 'True' : 'False';
  const notReadyReason = s.ready ? undefined : 'ContainersNotReady';
  const notReadyMsg = s.ready ? undefined : `containers with unready status: [${containerName}]`;
  const conditions: PodCondition[] = [
    { type: 'Initialized', status: 'True', lastTransitionTime: created, lastProbeTime: null },
    { type: 'Ready', status: rs, reason: notReadyReason, message: notReadyMsg, lastTransitionTime: readyAt, lastProbeTime: null },
    { type: 'ContainersReady', status: rs, reason: notReadyReason, message: notReadyMsg, lastTransitionTime: readyAt, lastProbeTime: null },
    { type: 'PodScheduled', status: 'True', lastTransitionTime: created, lastProbeTime: null },
  ];
  for (const c of conditions) { if (!c.reason) delete c.reason; if (!c.message) delete c.message; }
  let state: ContainerState;
  if (s.container === 'running') state = { running: { startedAt: formatTime(s.startedAt ?? s.createdAt) } };
  else if (s.container === 'terminated' && s.lastTermination) state = terminated(s.lastTermination);
  else state = { waiting: { reason: s.waitingReason ?? 'ContainerCreating', ...(s.waitingMessage ? { message: s.waitingMessage } : {}) } };
  const cs: ContainerStatus = {
    name: containerName,
    image,
    ready: s.ready,
    started: s.container === 'running',
    restartCount: s.restartCount,
    state,
  };
  if (s.lastTermination && s.container !== 'terminated') cs.lastState = terminated(s.lastTermination);
  const phase: NonNullable<Pod['status']>['phase'] = s.container === 'terminated'
    ? (s.lastTermination?.exitCode === 0 ? 'Succeeded' : 'Failed')
    : (s.container === 'running' || s.restartCount > 0 ? 'Running' : 'Pending');
  return {
    phase,
    conditions,
    hostIP: '127.0.0.1',
    podIP: '127.0.0.1',
    startTime: created,
    containerStatuses: [cs],
  };
}

/** Kubernetes' safe alphabet for generated names (no vowels, no 0/1/3 look-alikes). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Deterministic short hash of a string in NAME_ALPHABET (FNV-1a). */
export function templateHash(s: string, len = 10): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  let out = '';
  let x = h;
  for (let i = 0; i < len; i++) {
    out += NAME_ALPHABET[x % NAME_ALPHABET.length];
    x = Math.floor(x / NAME_ALPHABET.length);
    if (x === 0) x = Math.imul(h ^ (i + 1) * 0x9e3779b1, 0x85ebca6b) >>> 0;
  }
  return out;
}
