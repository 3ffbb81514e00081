/** Core v1 types sluice uses (a subset of Kubernetes', with its field names). */
import type { KubeObject, ObjectMeta } from '../meta.ts';

export interface EnvVar { name: string; value?: string; valueFrom?: unknown }
export interface ContainerPort { containerPort: number; name?: string; protocol?: string }
export interface HTTPGetAction { path?: string; port?: number | string; host?: string; scheme?: 'HTTP' | 'HTTPS'; httpHeaders?: { name: string; value: string }[] }
export interface Probe {
  httpGet?: HTTPGetAction;
  tcpSocket?: { port?: number | string; host?: string };
  exec?: { command: string[] };
  grpc?: { port: number; service?: string };
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}
export interface ResourceRequirements { limits?: Record<string, string>; requests?: Record<string, string> }
export interface Container {
  name?: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: unknown[];
  ports?: ContainerPort[];
  resources?: ResourceRequirements;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  imagePullPolicy?: string;
  securityContext?: unknown;
  volumeMounts?: unknown[];
}

export interface PodCondition { type: string; status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string; lastTransitionTime?: string; lastProbeTime?: string | null }
export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode: number; signal?: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string };
}
export interface ContainerStatus {
  name: string;
  image: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state?: ContainerState;
  lastState?: ContainerState;
}
export interface PodSpec { containers: Container[]; nodeName?: string; serviceAccountName?: string; terminationGracePeriodSeconds?: number }
export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions?: PodCondition[];
  hostIP?: string;
  podIP?: string;
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  message?: string;
  reason?: string;
}
export type Pod = KubeObject<PodSpec, PodStatus>;

export interface EndpointAddress { ip: string; hostname?: string; nodeName?: string; targetRef?: { kind: string; name: string; namespace?: string; uid?: string } }
export interface EndpointPort { name?: string; port: number; protocol?: string }
export interface EndpointSubset { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: EndpointPort[] }
export interface Endpoints extends KubeObject { subsets?: EndpointSubset[] }

export interface Secret extends KubeObject { type?: string; data?: Record<string, string>; stringData?: Record<string, string>; immutable?: boolean }
export type Namespace = KubeObject<{ finalizers?: string[] }, { phase?: 'Active' | 'Terminating' }>;

export interface EventObject extends KubeObject {
  involvedObject: { apiVersion?: string; kind: string; name: string; namespace?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: 'Normal' | 'Warning';
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string };
  metadata: ObjectMeta;
}
