/**
 * Defaulting, as the API server's defaulters and Knative's defaulting webhook do before
 * validation. Returns a new object; the input is never changed.
 *
 * Knative (serving/pkg/apis/serving/v1/*_defaults.go): container names, containerConcurrency 0,
 * timeoutSeconds 300, enableServiceLinks false, a readiness probe (tcpSocket, successThreshold 1)
 * on the serving container, and the Service's traffic default (all to the latest revision).
 * sluice additionally writes the serving port, 8080, when the container names none (Knative
 * applies the same port at run time without writing it).
 *
 * Istio: its CRDs carry no server-side defaults (absent fields are interpreted by the control
 * plane, e.g. AuthorizationPolicy action ALLOW), so Istio objects are stored as given.
 */
import type { KubeObject } from './meta.ts';
import { isPlainObject } from './validation/field-errors.ts';

export const KnativeDefaults = {
  containerName: 'user-container',
  containerConcurrency: 0,
  timeoutSeconds: 300,
  containerPort: 8080,
  enableServiceLinks: false,
} as const;

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined => (isPlainObject(v) ? v : undefined);

/** Knative's applyDefaultContainerNames: `user-container`, or `user-container-N` when there are several. */
function defaultContainerNames(containers: Obj[]): void {
  const taken = new Set(containers.map((c) => c.name).filter((n): n is string => typeof n === 'string' && n !== ''));
  let next = 0;
  for (const c of containers) {
    if (typeof c.name === 'string' && c.name !== '') continue;
    let name: string = KnativeDefaults.containerName;
    if (containers.length > 1 || taken.has(name)) {
      do { name = `${KnativeDefaults.containerName}-${next++}`; } while (taken.has(name));
    }
    c.name = name;
    taken.add(name);
  }
}

function defaultReadinessProbe(c: Obj): void {
  const probe = asObj(c.readinessProbe) ?? {};
  if (!probe.httpGet && !probe.tcpSocket && !probe.exec && !probe.grpc) probe.tcpSocket = { port: 0 };
  if (probe.successThreshold === undefined || probe.successThreshold === 0) probe.successThreshold = 1;
  c.readinessProbe = probe;
}

/** The container that serves traffic: the only one, or the one with a port (Knative's rule). */
function servingContainer(containers: Obj[]): Obj | undefined {
  if (containers.length <= 1) return containers[0];
  return containers.find((c) => Array.isArray(c.ports) && c.ports.length > 0) ?? containers[0];
}

export function defaultRevisionSpec(spec: Obj): void {
  spec.containerConcurrency ??= KnativeDefaults.containerConcurrency;
  spec.timeoutSeconds ??= KnativeDefaults.timeoutSeconds;
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = KnativeDefaults.enableServiceLinks;
  if (!Array.isArray(spec.containers)) return;
  const containers = spec.containers.filter(isPlainObject);
  defaultContainerNames(containers);
  const serving = servingContainer(containers);
  if (!serving) return;
  if (!Array.isArray(serving.ports) || serving.ports.length === 0) serving.ports = [{ containerPort: KnativeDefaults.containerPort }];
  else {
    const p0 = asObj(serving.ports[0]);
    if (p0 && (p0.containerPort === undefined || p0.containerPort === 0)) p0.containerPort = KnativeDefaults.containerPort;
  }
  defaultReadinessProbe(serving);
}

/** Each traffic target without latestRevision gets `latestRevision: revisionName === ''` (Knative). */
function defaultTrafficTargets(traffic: unknown): void {
  if (!Array.isArray(traffic)) return;
  for (const t of traffic) {
    const o = asObj(t);
    if (!o || (o.latestRevision !== undefined && o.latestRevision !== null)) continue;
    o.latestRevision = typeof o.revisionName !== 'string' || o.revisionName === '';
  }
}

/** Knative's DomainMapping SetDefaults: spec.ref.namespace defaults to the mapping's namespace. */
function defaultDomainMapping(obj: KubeObject): void {
  const ref = asObj(asObj(obj.spec)?.ref);
  const ns = obj.metadata?.namespace;
  if (ref && (ref.namespace === undefined || ref.namespace === '') && typeof ns === 'string' && ns !== '') ref.namespace = ns;
}

function defaultKnative(obj: KubeObject): void {
  if (obj.kind === 'DomainMapping') { defaultDomainMapping(obj); return; }
  const spec = asObj(obj.spec);
  if (!spec) {
    if (obj.kind === 'Service' || obj.kind === 'Route') obj.spec = {};
    else return;
  }
  const s = obj.spec as Obj;
  if (obj.kind === 'Service' || obj.kind === 'Configuration') {
    const templateSpec = asObj(asObj(s.template)?.spec);
    if (templateSpec) defaultRevisionSpec(templateSpec);
  }
  if (obj.kind === 'Revision') defaultRevisionSpec(s);
  if (obj.kind === 'Service' && (!Array.isArray(s.traffic) || s.traffic.length === 0)) {
    s.traffic = [{ latestRevision: true, percent: 100 }];
  }
  if (obj.kind === 'Service' || obj.kind === 'Route') defaultTrafficTargets(s.traffic);
}

function defaultKIngress(obj: KubeObject): void {
  const spec = asObj(obj.spec);
  if (!spec) return;
  spec.httpOption ??= 'Enabled';
  if (!Array.isArray(spec.rules)) return;
  for (const r of spec.rules) {
    const rule = asObj(r);
    if (!rule) continue;
    rule.visibility ??= 'ExternalIP';
    const paths = asObj(rule.http)?.paths;
    if (!Array.isArray(paths)) continue;
    for (const p of paths) {
      const splits = asObj(p)?.splits;
      if (Array.isArray(splits) && splits.length === 1) {
        const only = asObj(splits[0]);
        if (only && (only.percent === undefined || only.percent === 0)) only.percent = 100;
      }
    }
  }
}

/** Secret: stringData merged into data (base64, stringData wins), type Opaque by default. */
function defaultSecret(obj: KubeObject): void {
  if (isPlainObject(obj.stringData)) {
    const data: Record<string, unknown> = isPlainObject(obj.data) ? { ...obj.data } : {};
    for (const [k, v] of Object.entries(obj.stringData)) {
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    obj.data = data;
    delete obj.stringData;
  }
  if (typeof obj.type !== 'string' || obj.type === '') obj.type = 'Opaque';
}

function defaultNamespace(obj: KubeObject): void {
  const status = asObj(obj.status) ?? {};
  status.phase ??= 'Active';
  obj.status = status;
}

/** Returns a defaulted deep copy of `obj`. */
export function applyDefaults(obj: KubeObject): KubeObject {
  const out = structuredClone(obj) as KubeObject;
  const group = typeof out.apiVersion === 'string' && out.apiVersion.includes('/') ? out.apiVersion.slice(0, out.apiVersion.indexOf('/')) : '';
  if (group === 'serving.knative.dev') defaultKnative(out);
  else if (group === 'networking.internal.knative.dev' && out.kind === 'Ingress') defaultKIngress(out);
  else if (group === '' && out.kind === 'Secret') defaultSecret(out);
  else if (group === '' && out.kind === 'Namespace') defaultNamespace(out);
  return out;
}
