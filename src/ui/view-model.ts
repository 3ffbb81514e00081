/**
 * The dashboard's data formatting: pure functions from Kubernetes objects (as the API returns
 * them) to the plain strings the page shows. The page embeds these very functions (their source,
 * through Function.prototype.toString, see VIEW_MODEL_FUNCTIONS), so the unit tests run the code
 * the browser runs. Hence the rules of this file: every function is a top-level `function`
 * declaration that refers only to its arguments, to globals every browser has, and to the other
 * functions listed in VIEW_MODEL_FUNCTIONS; no module-level constants, no imports.
 */

/** A Kubernetes object as the page sees it: loosely typed JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export interface Condition { status: string; reason: string; message: string }
export interface ServiceRow { namespace: string; name: string; url: string; latestReady: string; latestCreated: string; ready: string; reason: string; message: string; traffic: string }
export interface RevisionRow { namespace: string; name: string; service: string; generation: string; ready: string; reason: string; message: string; actual: string; desired: string; image: string }
export interface PodRow { namespace: string; name: string; revision: string; status: string; ready: string; restarts: string; age: string; message: string }
export interface RouteRow { namespace: string; kind: string; name: string; url: string; target: string; ready: string; reason: string; message: string }
export interface EventRow { namespace: string; type: string; warning: boolean; reason: string; object: string; message: string; count: string; lastSeen: string; time: number }
export interface ApiKind { key: string; group: string; version: string; plural: string; label: string }
export interface WatchEvent { type: string; object: Obj }

/** The condition of `type` in status.conditions ("Unknown" with empty reason when absent). */
export function conditionOf(obj: Obj | undefined, type: string): Condition {
  const list = obj && obj.status && Array.isArray(obj.status.conditions) ? obj.status.conditions : [];
  for (const c of list) {
    if (c && c.type === type) return { status: String(c.status ?? 'Unknown'), reason: String(c.reason ?? ''), message: String(c.message ?? '') };
  }
  return { status: 'Unknown', reason: '', message: '' };
}

/** "12s", "5m", "3h", "2d" like kubectl's AGE column; "" for an unparseable or missing time. */
export function formatAge(since: string | undefined, now: number): string {
  if (!since) return '';
  const t = Date.parse(since);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 120) return m + 'm';
  const h = Math.floor(m / 60);
  if (h < 48) return h + 'h';
  return Math.floor(h / 24) + 'd';
}

/** A traffic block (spec or status) as "rev-a 90%, rev-b 10% (tag old), latest 0%". */
export function trafficText(traffic: Obj[] | undefined): string {
  if (!Array.isArray(traffic) || traffic.length === 0) return '';
  const parts: string[] = [];
  for (const t of traffic) {
    if (!t) continue;
    let target = t.revisionName ? String(t.revisionName) : t.configurationName ? 'latest of ' + String(t.configurationName) : 'latest';
    if (t.latestRevision === true && t.revisionName) target += ' (latest)';
    let s = target + ' ' + String(t.percent ?? 0) + '%';
    if (t.tag) s += ' (tag ' + String(t.tag) + ')';
    parts.push(s);
  }
  return parts.join(', ');
}

export function serviceRow(svc: Obj): ServiceRow {
  const md = svc.metadata || {};
  const st = svc.status || {};
  const ready = conditionOf(svc, 'Ready');
  return {
    namespace: String(md.namespace ?? ''),
    name: String(md.name ?? ''),
    url: String(st.url ?? ''),
    latestReady: String(st.latestReadyRevisionName ?? ''),
    latestCreated: String(st.latestCreatedRevisionName ?? ''),
    ready: ready.status,
    reason: ready.reason,
    message: ready.message,
    // The split in effect (status) once the Route has reconciled it; the requested one before.
    traffic: trafficText(Array.isArray(st.traffic) && st.traffic.length > 0 ? st.traffic : svc.spec && svc.spec.traffic),
  };
}

export function revisionRow(rev: Obj): RevisionRow {
  const md = rev.metadata || {};
  const labels = md.labels || {};
  const st = rev.status || {};
  const ready = conditionOf(rev, 'Ready');
  const containers = rev.spec && Array.isArray(rev.spec.containers) ? rev.spec.containers : [];
  return {
    namespace: String(md.namespace ?? ''),
    name: String(md.name ?? ''),
    service: String(labels['serving.knative.dev/service'] ?? labels['serving.knative.dev/configuration'] ?? ''),
    generation: String(labels['serving.knative.dev/configurationGeneration'] ?? ''),
    ready: ready.status,
    reason: ready.reason,
    message: ready.message,
    actual: st.actualReplicas === undefined ? '' : String(st.actualReplicas),
    desired: st.desiredReplicas === undefined ? '' : String(st.desiredReplicas),
    image: containers.map((c: Obj) => String(c && c.image ? c.image : '')).filter((s: string) => s !== '').join(', '),
  };
}

/**
 * A pod as kubectl's STATUS column shows it: a container's waiting or terminated reason
 * (CrashLoopBackOff, OOMKilled...) wins over the phase; "Terminating" once deletion started.
 */
export function podRow(pod: Obj, now: number): PodRow {
  const md = pod.metadata || {};
  const st = pod.status || {};
  const statuses: Obj[] = Array.isArray(st.containerStatuses) ? st.containerStatuses : [];
  const specCount = pod.spec && Array.isArray(pod.spec.containers) ? pod.spec.containers.length : 0;
  const total = Math.max(statuses.length, specCount);
  let ready = 0;
  let restarts = 0;
  let status = String(st.phase ?? 'Pending');
  let message = String(st.message ?? '');
  for (const c of statuses) {
    if (!c) continue;
    if (c.ready === true) ready++;
    restarts += Number(c.restartCount) || 0;
    const state = c.state || {};
    if (state.waiting && state.waiting.reason) {
      status = String(state.waiting.reason);
      message = String(state.waiting.message ?? message);
    } else if (state.terminated && state.terminated.reason) {
      status = String(state.terminated.reason);
      message = String(state.terminated.message ?? message);
    }
  }
  if (md.deletionTimestamp) status = 'Terminating';
  return {
    namespace: String(md.namespace ?? ''),
    name: String(md.name ?? ''),
    revision: String((md.labels || {})['serving.knative.dev/revision'] ?? ''),
    status,
    ready: ready + '/' + total,
    restarts: String(restarts),
    age: formatAge(st.startTime ?? md.creationTimestamp, now),
    message,
  };
}

/** A Route or DomainMapping: where it is served and what it points at. */
export function routeRow(obj: Obj): RouteRow {
  const md = obj.metadata || {};
  const st = obj.status || {};
  const ready = conditionOf(obj, 'Ready');
  let target = '';
  if (obj.kind === 'DomainMapping') {
    const ref = (obj.spec && obj.spec.ref) || {};
    target = (ref.kind ? String(ref.kind) + '/' : '') + String(ref.name ?? '');
  } else {
    target = trafficText(Array.isArray(st.traffic) && st.traffic.length > 0 ? st.traffic : obj.spec && obj.spec.traffic);
  }
  return {
    namespace: String(md.namespace ?? ''),
    kind: String(obj.kind ?? ''),
    name: String(md.name ?? ''),
    url: String(st.url ?? ''),
    target,
    ready: ready.status,
    reason: ready.reason,
    message: ready.message,
  };
}

export function eventRow(ev: Obj, now: number): EventRow {
  const md = ev.metadata || {};
  const io = ev.involvedObject || ev.regarding || {};
  const last = ev.lastTimestamp || ev.eventTime || (ev.series && ev.series.lastObservedTime) || ev.firstTimestamp || md.creationTimestamp;
  const t = last ? Date.parse(last) : NaN;
  const type = String(ev.type ?? 'Normal');
  return {
    namespace: String(md.namespace ?? io.namespace ?? ''),
    type,
    warning: type === 'Warning',
    reason: String(ev.reason ?? ''),
    object: (io.kind ? String(io.kind).toLowerCase() + '/' : '') + String(io.name ?? ''),
    message: String(ev.message ?? ev.note ?? ''),
    count: String(ev.count ?? (ev.series && ev.series.count) ?? 1),
    lastSeen: formatAge(last, now),
    time: Number.isFinite(t) ? t : 0,
  };
}

/** The `limit` most recent events, newest first (ties broken by name for a stable order). */
export function recentEvents(events: Obj[], now: number, limit: number): EventRow[] {
  const rows = events.map((e) => ({ row: eventRow(e, now), key: String((e.metadata || {}).name ?? '') }));
  rows.sort((a, b) => b.row.time - a.row.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return rows.slice(0, limit).map((r) => r.row);
}

/** Namespace/name: the key of the page's object caches. */
export function objectKey(obj: Obj): string {
  const md = (obj && obj.metadata) || {};
  return String(md.namespace ?? '') + '/' + String(md.name ?? '');
}

/** Objects of a cache sorted by namespace then name, optionally only one namespace's. */
export function sortedObjects(cache: Map<string, Obj>, namespace: string): Obj[] {
  const out: Obj[] = [];
  for (const o of cache.values()) if (!namespace || (o.metadata && o.metadata.namespace) === namespace) out.push(o);
  out.sort((a, b) => {
    const ka = objectKey(a);
    const kb = objectKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return out;
}

/**
 * Applies one watch event to a cache keyed by objectKey. Returns "changed", "bookmark" (the
 * caller records the resourceVersion), "gone" (410: relist), "error" (other ERROR events) or
 * "ignored".
 */
export function applyWatchEvent(cache: Map<string, Obj>, ev: WatchEvent): string {
  if (!ev || typeof ev !== 'object' || !ev.object) return 'ignored';
  if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
    cache.set(objectKey(ev.object), ev.object);
    return 'changed';
  }
  if (ev.type === 'DELETED') {
    cache.delete(objectKey(ev.object));
    return 'changed';
  }
  if (ev.type === 'BOOKMARK') return 'bookmark';
  if (ev.type === 'ERROR') return ev.object.code === 410 ? 'gone' : 'error';
  return 'ignored';
}

/** Splits a watch stream's text into complete JSON lines (parsed) and the unfinished rest. */
export function splitWatchLines(buffer: string): { events: WatchEvent[]; rest: string; bad: number } {
  const events: WatchEvent[] = [];
  let bad = 0;
  let start = 0;
  for (;;) {
    const nl = buffer.indexOf('\n', start);
    if (nl < 0) break;
    const line = buffer.slice(start, nl).trim();
    start = nl + 1;
    if (line === '') continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      bad++;
    }
  }
  return { events, rest: buffer.slice(start), bad };
}

/** The kinds the page shows, with their API coordinates. */
export function dashboardKinds(): ApiKind[] {
  return [
    { key: 'services', group: 'serving.knative.dev', version: 'v1', plural: 'services', label: 'Services' },
    { key: 'revisions', group: 'serving.knative.dev', version: 'v1', plural: 'revisions', label: 'Revisions' },
    { key: 'pods', group: '', version: 'v1', plural: 'pods', label: 'Pods' },
    { key: 'routes', group: 'serving.knative.dev', version: 'v1', plural: 'routes', label: 'Routes' },
    { key: 'events', group: '', version: 'v1', plural: 'events', label: 'Events' },
    { key: 'domainmappings', group: 'serving.knative.dev', version: 'v1beta1', plural: 'domainmappings', label: 'DomainMappings' },
    { key: 'gateways', group: 'networking.istio.io', version: 'v1', plural: 'gateways', label: 'Gateways' },
    { key: 'authorizationpolicies', group: 'security.istio.io', version: 'v1', plural: 'authorizationpolicies', label: 'AuthorizationPolicies' },
    { key: 'peerauthentications', group: 'security.istio.io', version: 'v1', plural: 'peerauthentications', label: 'PeerAuthentications' },
  ];
}

/** The collection path of a kind, in one namespace or (namespace "") across all of them. */
export function collectionPath(kind: ApiKind, namespace: string): string {
  const base = kind.group ? '/apis/' + kind.group + '/' + kind.version : '/api/' + kind.version;
  return namespace ? base + '/namespaces/' + encodeURIComponent(namespace) + '/' + kind.plural : base + '/' + kind.plural;
}

/** Per-namespace object counts of a cache, plus the total under "". */
export function countByNamespace(cache: Map<string, Obj>): Map<string, number> {
  const out = new Map<string, number>([['', 0]]);
  for (const o of cache.values()) {
    const ns = String((o.metadata && o.metadata.namespace) ?? '');
    out.set(ns, (out.get(ns) ?? 0) + 1);
    out.set('', (out.get('') ?? 0) + 1);
  }
  return out;
}

/** Reads `token` and `ns` from a URL fragment such as `#token=abc&ns=default`. */
export function parseFragment(hash: string): { token: string; namespace: string } {
  const params = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  return { token: params.get('token') ?? '', namespace: params.get('ns') ?? '' };
}

/** "ok", "bad" or "unknown": the CSS class for a condition status. */
export function statusClass(status: string): string {
  return status === 'True' ? 'ok' : status === 'False' ? 'bad' : 'unknown';
}

/**
 * Every function above, in an order where each is declared before the page's app script runs.
 * dashboard-page.ts embeds their source text.
 */
export const VIEW_MODEL_FUNCTIONS: readonly ((...args: never[]) => unknown)[] = [
  conditionOf, formatAge, trafficText, serviceRow, revisionRow, podRow, routeRow, eventRow, recentEvents,
  objectKey, sortedObjects, applyWatchEvent, splitWatchLines, dashboardKinds, collectionPath, countByNamespace,
  parseFragment, statusClass,
];
