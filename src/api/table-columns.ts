/**
 * Printer columns per kind: Knative's and Istio's CRD additionalPrinterColumns, and kubectl's
 * built-in printers for core kinds (pkg/printers/internalversion/printers.go). Each column is a
 * definition plus a cell function of (object, now).
 */
import type { KubeObject } from './meta.ts';
import { ageSince } from './human-duration.ts';
import { isPlainObject } from './validation/field-errors.ts';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}
export type Cell = string | number | boolean | null;
export interface Column { def: ColumnDefinition; cell: (o: KubeObject, now: number) => Cell }

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (isPlainObject(v) ? v : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strOrNull = (v: unknown): Cell => (typeof v === 'string' && v !== '' ? v : null);

function col(name: string, type: ColumnDefinition['type'], description: string, cell: Column['cell'], priority = 0, format = ''): Column {
  return { def: { name, type, format, description, priority }, cell };
}

export const nameColumn = col('Name', 'string', 'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  (o) => o.metadata?.name ?? '', 0, 'name');
const ageColumn = (type: 'date' | 'string' = 'date') => col('Age', type,
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
  (o, now) => ageSince(o.metadata?.creationTimestamp, now));

function readyCondition(o: KubeObject): Obj | undefined {
  return asArr(asObj(o.status).conditions).map(asObj).find((c) => c.type === 'Ready');
}
const readyColumn = col('Ready', 'string', 'Status of the Ready condition.', (o) => strOrNull(readyCondition(o)?.status));
const reasonColumn = col('Reason', 'string', 'Reason of the Ready condition.', (o) => strOrNull(readyCondition(o)?.reason));
const status = (field: string) => (o: KubeObject): Cell => strOrNull(asObj(o.status)[field]);
const urlColumn = col('URL', 'string', 'The URL where the service is reachable.', status('url'));
const latestCreated = col('LatestCreated', 'string', 'The last revision created from the configuration.', status('latestCreatedRevisionName'));
const latestReady = col('LatestReady', 'string', 'The latest revision that became Ready.', status('latestReadyRevisionName'));
const label = (key: string) => (o: KubeObject): Cell => strOrNull(o.metadata?.labels?.[key]);
const intStatus = (field: string) => (o: KubeObject): Cell => {
  const v = asObj(o.status)[field];
  return typeof v === 'number' ? v : null;
};
/** CRD columns of type string print arrays as JSON, as Kubernetes' JSONPath printer does. */
const specJson = (field: string) => (o: KubeObject): Cell => {
  const v = asObj(o.spec)[field];
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
};

// ---------------------------------------------------------------- core kinds (kubectl's printers)

function podCells(o: KubeObject, now: number): { ready: string; status: string; restarts: string } {
  const spec = asObj(o.spec);
  const st = asObj(o.status);
  const total = asArr(spec.containers).length;
  let reason = typeof st.reason === 'string' && st.reason !== '' ? st.reason : typeof st.phase === 'string' ? st.phase : '';
  let restarts = 0;
  let ready = 0;
  let lastRestart = 0;
  let hasRunning = false;
  const statuses = asArr(st.containerStatuses).map(asObj);
  for (let i = statuses.length - 1; i >= 0; i--) {
    const c = statuses[i]!;
    restarts += typeof c.restartCount === 'number' ? c.restartCount : 0;
    const lastTerm = asObj(asObj(c.lastState).terminated);
    if (typeof lastTerm.finishedAt === 'string') lastRestart = Math.max(lastRestart, Date.parse(lastTerm.finishedAt) || 0);
    const state = asObj(c.state);
    const waiting = asObj(state.waiting);
    const term = isPlainObject(state.terminated) ? state.terminated : undefined;
    if (typeof waiting.reason === 'string' && waiting.reason !== '') reason = waiting.reason;
    else if (term && typeof term.reason === 'string' && term.reason !== '') reason = term.reason;
    else if (term) reason = typeof term.signal === 'number' && term.signal !== 0 ? `Signal:${term.signal}` : `ExitCode:${String(term.exitCode ?? 0)}`;
    else if (c.ready === true && isPlainObject(state.running)) { hasRunning = true; ready++; }
  }
  if (reason === 'Completed' && hasRunning) {
    reason = asArr(st.conditions).map(asObj).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  }
  if (o.metadata?.deletionTimestamp && st.phase !== 'Succeeded' && st.phase !== 'Failed') reason = 'Terminating';
  const restartsStr = restarts !== 0 && lastRestart > 0 ? `${restarts} (${ageSince(new Date(lastRestart).toISOString(), now)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsStr };
}

/** kubectl's formatEndpoints: `ip:port` pairs, at most 3, then ` + N more...`; `<none>` when empty. */
export function formatEndpoints(o: KubeObject): string {
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of asArr(o.subsets).map(asObj)) {
    const addrs = asArr(ss.addresses).map(asObj);
    const ports = asArr(ss.ports).map(asObj);
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) { if (list.length === max) { more = true; break; } list.push(String(a.ip)); }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) { more = true; break; }
        const ip = String(a.ip);
        list.push(ip.includes(':') ? `[${ip}]:${String(p.port)}` : `${ip}:${String(p.port)}`);
      }
    }
  }
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret === '' ? '<none>' : ret;
}

const none = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : '<none>');

const podColumns: Column[] = [
  nameColumn,
  col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.', (o, now) => podCells(o, now).ready),
  col('Status', 'string', 'The aggregate status of the containers in this pod.', (o, now) => podCells(o, now).status),
  col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.', (o, now) => podCells(o, now).restarts),
  ageColumn('string'),
  col('IP', 'string', 'IP address allocated to the pod.', (o) => none(asObj(o.status).podIP), 1),
  col('Node', 'string', 'Name of the Node this pod runs on.', (o) => none(asObj(o.spec).nodeName), 1),
  col('Nominated Node', 'string', 'Name of the node nominated by the scheduler.', () => '<none>', 1),
  col('Readiness Gates', 'string', 'Pod readiness gates.', () => '<none>', 1),
];

const eventObject = (o: KubeObject): string => {
  const io = asObj(o.involvedObject);
  return `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`;
};
const eventLastSeen = (o: KubeObject, now: number): string => {
  const t = typeof o.lastTimestamp === 'string' ? o.lastTimestamp : typeof o.eventTime === 'string' ? o.eventTime : o.metadata?.creationTimestamp;
  return ageSince(t, now);
};

// ---------------------------------------------------------------- the table

export const COLUMNS: Record<string, Column[]> = {
  'serving.knative.dev/Service': [nameColumn, urlColumn, latestCreated, latestReady, readyColumn, reasonColumn],
  'serving.knative.dev/Configuration': [nameColumn, latestCreated, latestReady, readyColumn, reasonColumn],
  'serving.knative.dev/Revision': [
    nameColumn,
    col('Config Name', 'string', 'The configuration this revision was created from.', label('serving.knative.dev/configuration')),
    col('Generation', 'string', 'The configuration generation this revision was created from.', label('serving.knative.dev/configurationGeneration')),
    readyColumn, reasonColumn,
    col('Actual Replicas', 'integer', 'Number of ready pods serving this revision.', intStatus('actualReplicas')),
    col('Desired Replicas', 'integer', 'Number of pods the autoscaler wants for this revision.', intStatus('desiredReplicas')),
  ],
  'serving.knative.dev/Route': [nameColumn, urlColumn, readyColumn, reasonColumn],
  'serving.knative.dev/DomainMapping': [nameColumn, urlColumn, readyColumn, reasonColumn],
  'networking.internal.knative.dev/Ingress': [nameColumn, readyColumn, reasonColumn],
  'networking.istio.io/VirtualService': [
    nameColumn,
    col('Gateways', 'string', 'The names of gateways and sidecars that should apply these routes.', specJson('gateways')),
    col('Hosts', 'string', 'The destination hosts to which traffic is being sent.', specJson('hosts')),
    ageColumn(),
  ],
  'networking.istio.io/DestinationRule': [
    nameColumn,
    col('Host', 'string', 'The name of a service from the service registry.', specJson('host')),
    ageColumn(),
  ],
  'networking.istio.io/Gateway': [nameColumn, ageColumn()],
  'networking.istio.io/Sidecar': [nameColumn, ageColumn()],
  'security.istio.io/PeerAuthentication': [
    nameColumn,
    col('Mode', 'string', 'Defines the mTLS mode used for peer authentication.', (o) => strOrNull(asObj(asObj(o.spec).mtls).mode)),
    ageColumn(),
  ],
  'security.istio.io/AuthorizationPolicy': [
    nameColumn,
    col('Action', 'string', 'The operation to take.', (o) => strOrNull(asObj(o.spec).action)),
    ageColumn(),
  ],
  '/Pod': podColumns,
  '/Endpoints': [nameColumn, col('Endpoints', 'string', 'Endpoints of the revision.', formatEndpoints), ageColumn('string')],
  '/Namespace': [nameColumn, col('Status', 'string', 'The status of the namespace.', (o) => String(asObj(o.status).phase ?? '')), ageColumn('string')],
  '/Secret': [
    nameColumn,
    col('Type', 'string', 'The type of the secret.', (o) => (typeof o.type === 'string' && o.type !== '' ? o.type : 'Opaque')),
    col('Data', 'string', 'The number of data items in the secret.', (o) => Object.keys(asObj(o.data)).length),
    ageColumn('string'),
  ],
  '/Event': [
    col('Last Seen', 'string', 'Time when the event was last seen.', eventLastSeen),
    col('Type', 'string', 'Type of this event (Normal, Warning).', (o) => String(o.type ?? '')),
    col('Reason', 'string', 'Why the action was taken.', (o) => String(o.reason ?? '')),
    col('Object', 'string', 'The object that this event is about.', eventObject),
    col('Subobject', 'string', 'The subobject that this event is about.', (o) => String(asObj(o.involvedObject).fieldPath ?? ''), 1),
    col('Source', 'string', 'The component reporting this event.', (o) => String(asObj(o.source).component ?? ''), 1),
    col('Message', 'string', 'A human-readable description of the status of this operation.', (o) => String(o.message ?? '').trim()),
    col('First Seen', 'string', 'The first time the event was seen.', (o, now) => ageSince(o.firstTimestamp, now), 1),
    col('Count', 'string', 'The number of times this event has occurred.', (o) => String(o.count ?? 1), 1),
    col('Name', 'string', 'The name of the event.', (o) => o.metadata?.name ?? '', 1, 'name'),
  ],
};

/** Columns of a kind; kinds without their own printer get NAME and AGE, as Kubernetes' default table does. */
export function columnsFor(group: string, kind: string): Column[] {
  return COLUMNS[`${group}/${kind}`] ?? [nameColumn, ageColumn()];
}
