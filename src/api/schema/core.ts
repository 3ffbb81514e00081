/** Schemas for the core v1 kinds sluice serves: Namespace, Secret, Pod, Endpoints, Event. */
import { kindSchema } from './meta.ts';
import {
  anyObject, anyValue, arr, bool, int, intOrString, mapOf, obj, str, strMap, strs, type Schema,
} from './types.ts';

const httpHeader = obj({ name: str(), value: str() }, { required: ['name', 'value'] });

export const probe: Schema = obj({
  httpGet: obj({
    path: str('Path to access on the HTTP server.'),
    port: intOrString('Port to access on the container; defaults to the serving port.'),
    host: str(),
    scheme: str('HTTP or HTTPS.'),
    httpHeaders: arr(httpHeader),
  }, { description: 'HTTPGet specifies the http request to perform.' }),
  tcpSocket: obj({ port: intOrString(), host: str() }, { description: 'TCPSocket specifies a connection to a TCP port.' }),
  exec: obj({ command: strs() }, { description: 'Exec specifies a command to run.' }),
  grpc: obj({ port: int(), service: { type: 'string', nullable: true } }, { required: ['port'] }),
  initialDelaySeconds: int('Seconds after the container has started before probes are initiated.'),
  timeoutSeconds: int('Seconds after which the probe times out.'),
  periodSeconds: int('How often (in seconds) to perform the probe.'),
  successThreshold: int('Minimum consecutive successes for the probe to be considered successful.'),
  failureThreshold: int('Minimum consecutive failures for the probe to be considered failed.'),
  terminationGracePeriodSeconds: int(undefined, 'int64'),
}, { description: 'Probe describes a health check to be performed against a container.' });

const envVar = obj({
  name: str('Name of the environment variable.'),
  value: str('Value of the environment variable.'),
  valueFrom: anyObject('Source for the environment variable\'s value.'),
}, { required: ['name'], description: 'EnvVar represents an environment variable present in a Container.' });

export const containerPort: Schema = obj({
  containerPort: int('Port number the container listens on.'),
  name: str('Name of the port: http1 or h2c for Knative.'),
  protocol: str('Protocol for port; defaults to TCP.'),
  hostIP: str(),
  hostPort: int(),
}, { required: ['containerPort'], description: 'ContainerPort represents a network port in a single container.' });

const quantityMap = mapOf(intOrString());

export const container: Schema = obj({
  name: str('Name of the container.'),
  image: str('Container image name; sluice maps it to a command through its image table.'),
  command: strs('Entrypoint array.'),
  args: strs('Arguments to the entrypoint.'),
  workingDir: str('Container\'s working directory.'),
  ports: arr(containerPort, 'List of ports to expose from the container.'),
  env: arr(envVar, 'List of environment variables to set in the container.'),
  envFrom: arr(anyObject(), 'List of sources to populate environment variables in the container.'),
  resources: obj({ limits: quantityMap, requests: quantityMap, claims: arr(anyObject()) }, { description: 'Compute Resources required by this container.' }),
  readinessProbe: probe,
  livenessProbe: probe,
  startupProbe: probe,
  lifecycle: anyObject('Actions that the management system should take in response to container lifecycle events.'),
  imagePullPolicy: str('Always, Never, IfNotPresent.'),
  securityContext: anyObject('Security options the container should be run with.'),
  volumeMounts: arr(anyObject(), 'Volumes to mount into the container\'s filesystem.'),
  terminationMessagePath: str(),
  terminationMessagePolicy: str(),
  stdin: bool(),
  tty: bool(),
}, { required: ['image'], description: 'A single application container.' });

const podCondition = obj({
  type: str(), status: str(), reason: str(), message: str(),
  lastTransitionTime: { type: 'string', nullable: true }, lastProbeTime: { type: 'string', nullable: true },
}, { required: ['type', 'status'] });

const containerState = obj({
  waiting: obj({ reason: str(), message: str() }),
  running: obj({ startedAt: str() }),
  terminated: obj({
    exitCode: int(), signal: int(), reason: str(), message: str(), startedAt: str(), finishedAt: str(), containerID: str(),
  }, { required: ['exitCode'] }),
});

const containerStatus = obj({
  name: str(), image: str(), imageID: str(), containerID: str(), ready: bool(), started: bool(),
  restartCount: int(), state: containerState, lastState: containerState,
}, { required: ['name', 'image', 'ready', 'restartCount'] });

export const podSpec: Schema = obj({
  containers: arr(container, 'List of containers belonging to the pod.'),
  nodeName: str(),
  serviceAccountName: str(),
  terminationGracePeriodSeconds: int(undefined, 'int64'),
  enableServiceLinks: bool(),
  restartPolicy: str(),
  volumes: arr(anyObject()),
}, { required: ['containers'], description: 'Specification of the desired behavior of the pod.' });

export const podStatus: Schema = obj({
  phase: str('Pending, Running, Succeeded, Failed or Unknown.'),
  conditions: arr(podCondition),
  hostIP: str(),
  podIP: str(),
  podIPs: arr(obj({ ip: str() })),
  startTime: str(),
  containerStatuses: arr(containerStatus),
  message: str(),
  reason: str(),
}, { description: 'Most recently observed status of the pod.' });

const objectReference = obj({
  apiVersion: str(), kind: str(), name: str(), namespace: str(), uid: str(), resourceVersion: str(), fieldPath: str(),
});

const endpointAddress = obj({ ip: str(), hostname: str(), nodeName: str(), targetRef: objectReference }, { required: ['ip'] });
const endpointSubset = obj({
  addresses: arr(endpointAddress, 'Addresses which have ready ports.'),
  notReadyAddresses: arr(endpointAddress, 'Addresses which are not ready.'),
  ports: arr(obj({ name: str(), port: int(), protocol: str(), appProtocol: str() }, { required: ['port'] })),
});

export const coreSchemas: Record<string, Schema> = {
  Namespace: kindSchema('Namespace provides a scope for names.', {
    spec: obj({ finalizers: strs() }),
    status: obj({ phase: str('Active or Terminating.'), conditions: arr(anyObject()) }),
  }),
  Secret: kindSchema('Secret holds secret data of a certain type.', {
    type: str('Used to facilitate programmatic handling of secret data (Opaque, kubernetes.io/tls, ...).'),
    data: strMap('Base64-encoded secret data.'),
    stringData: strMap('Write-only convenience: plain strings merged into data on write.'),
    immutable: bool('If true, the data cannot be updated.'),
  }),
  Pod: kindSchema('Pod is a revision instance run by sluice: one process per container.', {
    spec: podSpec,
    status: podStatus,
  }),
  Endpoints: kindSchema('Endpoints is the set of addresses implementing a revision.', {
    subsets: arr(endpointSubset, 'The set of all endpoints.'),
  }),
  Event: kindSchema('Event is a report of an event somewhere in sluice.', {
    involvedObject: objectReference,
    reason: str(), message: str(), type: str(), count: int(),
    firstTimestamp: str(), lastTimestamp: str(), eventTime: { type: 'string', nullable: true, format: 'date-time' },
    source: obj({ component: str(), host: str() }),
    reportingComponent: str(), reportingInstance: str(), action: str(),
    related: objectReference, series: anyValue(),
  }, ['involvedObject']),
};
