/**
 * Semantic checks for serving.knative.dev/v1, after Knative's webhook
 * (serving/pkg/apis/serving/v1/*_validation.go and k8s_validation.go), reported as Kubernetes
 * field errors: containers and ports, concurrency and timeout bounds, traffic targets and tags,
 * template names, autoscaling annotations, and Revision immutability. DomainMapping
 * (v1beta1/domainmapping_validation.go): the name is a fully qualified domain outside the
 * cluster-local domain, no generateName, and spec.ref names a Service or Route of the mapping's
 * own namespace.
 */
import type { KubeObject } from '../meta.ts';
import { validateAutoscalingAnnotations } from './autoscaling.ts';
import { child, FieldErrors, isPlainObject } from './field-errors.ts';
import { validateAnnotations, validateLabels } from './meta.ts';
import { isDNS1123Label, isDNS1123Subdomain } from './names.ts';

/** Knative's config-defaults limits. */
export const KnativeLimits = {
  containerConcurrencyMax: 1000,
  maxRevisionTimeoutSeconds: 600,
} as const;

/** Ports the queue-proxy role owns; a user container may not listen on them (Knative's reservedPorts). */
export const ReservedPorts = [8008, 8012, 8013, 8022, 8112, 9090, 9091] as const;
export const ReservedEnvVars = ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'] as const;

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined => (isPlainObject(v) ? v : undefined);
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function bounds(value: unknown, lo: number, hi: number, path: string, errs: FieldErrors): void {
  if (typeof value !== 'number') return;
  if (value < lo || value > hi) errs.invalid(path, value, `expected ${lo} <= ${value} <= ${hi}`);
}

function validateProbe(probe: unknown, path: string, servingPort: number | undefined, errs: FieldErrors): void {
  const p = asObj(probe);
  if (!p) return;
  const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => p[h] !== undefined && p[h] !== null);
  if (handlers.length > 1) errs.forbidden(path, `may not specify more than 1 handler type (got ${handlers.join(', ')})`);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (typeof p[f] === 'number' && (p[f] as number) < 0) errs.invalid(child(path, f), p[f], 'must be greater than or equal to 0');
  }
  for (const h of ['httpGet', 'tcpSocket']) {
    const port = asObj(p[h])?.port;
    if (typeof port === 'number' && port !== 0 && servingPort !== undefined && port !== servingPort) {
      errs.invalid(child(child(path, h), 'port'), port, 'may only probe containerPort');
    }
  }
}

function validateContainer(c: Obj, path: string, serving: boolean, errs: FieldErrors): void {
  if (typeof c.image === 'string' && c.image.trim() === '') errs.required(child(path, 'image'));
  if (typeof c.name === 'string' && c.name !== '') {
    for (const m of isDNS1123Label(c.name)) errs.invalid(child(path, 'name'), c.name, m);
  }
  const ports = asArr(c.ports);
  if (ports.length > 1) errs.forbidden(child(path, 'ports'), 'More than one container port is set: only a single port is allowed across all containers');
  let servingPort: number | undefined;
  ports.forEach((raw, i) => {
    const p = asObj(raw);
    if (!p) return;
    const pp = child(child(path, 'ports'), i);
    const n = p.containerPort;
    if (typeof n === 'number') {
      if (n < 0 || n > 65535) errs.invalid(child(pp, 'containerPort'), n, `expected 0 <= ${n} <= 65535`);
      else if ((ReservedPorts as readonly number[]).includes(n)) errs.invalid(child(pp, 'containerPort'), n, `${n} is a reserved port`);
      if (i === 0 && n > 0) servingPort = n;
    }
    if (typeof p.name === 'string' && p.name !== '' && p.name !== 'h2c' && p.name !== 'http1') {
      errs.notSupported(child(pp, 'name'), p.name, ['h2c', 'http1']);
    }
    if (typeof p.protocol === 'string' && p.protocol !== '' && p.protocol !== 'TCP') errs.notSupported(child(pp, 'protocol'), p.protocol, ['TCP']);
    if (p.hostPort !== undefined) errs.forbidden(child(pp, 'hostPort'), 'hostPort is not supported by Knative');
  });
  asArr(c.env).forEach((e, i) => {
    const name = asObj(e)?.name;
    if (typeof name === 'string' && (ReservedEnvVars as readonly string[]).includes(name)) {
      errs.invalid(child(child(child(path, 'env'), i), 'name'), name, `${name} is a reserved environment variable`);
    }
  });
  validateProbe(c.readinessProbe, child(path, 'readinessProbe'), serving ? servingPort : undefined, errs);
  validateProbe(c.livenessProbe, child(path, 'livenessProbe'), serving ? servingPort : undefined, errs);
}

/** RevisionSpec at `path` (`spec` for a Revision, `spec.template.spec` for a Service or Configuration). */
export function validateRevisionSpec(spec: unknown, path: string, errs: FieldErrors): void {
  const s = asObj(spec);
  if (!s) return;
  const cpath = child(path, 'containers');
  const containers = s.containers;
  if (Array.isArray(containers)) {
    if (containers.length === 0) errs.required(cpath, 'at least one container is required');
    const withPorts = containers.map((c, i) => [i, asArr(asObj(c)?.ports).length] as const).filter(([, n]) => n > 0);
    if (containers.length > 1 && withPorts.length !== 1) {
      errs.invalid(cpath, `${withPorts.length} containers with ports`, 'exactly one container must specify a port when there are several containers');
    }
    const servingIndex = containers.length === 1 ? 0 : withPorts[0]?.[0] ?? 0;
    const names = new Set<string>();
    containers.forEach((c, i) => {
      const o = asObj(c);
      if (!o) return;
      const p = child(cpath, i);
      validateContainer(o, p, i === servingIndex, errs);
      if (typeof o.name === 'string' && o.name !== '') {
        if (names.has(o.name)) errs.duplicate(child(p, 'name'), o.name);
        names.add(o.name);
      }
    });
  }
  bounds(s.containerConcurrency, 0, KnativeLimits.containerConcurrencyMax, child(path, 'containerConcurrency'), errs);
  const timeout = typeof s.timeoutSeconds === 'number' ? s.timeoutSeconds : KnativeLimits.maxRevisionTimeoutSeconds;
  bounds(s.timeoutSeconds, 0, KnativeLimits.maxRevisionTimeoutSeconds, child(path, 'timeoutSeconds'), errs);
  bounds(s.responseStartTimeoutSeconds, 0, timeout, child(path, 'responseStartTimeoutSeconds'), errs);
  bounds(s.idleTimeoutSeconds, 0, KnativeLimits.maxRevisionTimeoutSeconds, child(path, 'idleTimeoutSeconds'), errs);
}

/** The template of a Service or Configuration: its name prefix, annotations and spec. */
function validateTemplate(obj: KubeObject, old: KubeObject | undefined, errs: FieldErrors): void {
  const template = asObj(asObj(obj.spec)?.template);
  if (!template || !asObj(template.spec)) {
    // Nothing to run: Knative reports the containers missing.
    if (!errs.has('spec.template.spec') && !errs.has('spec.template') && !errs.has('spec')) errs.required('spec.template.spec.containers');
    if (!template) return;
  }
  const meta = asObj(template.metadata);
  const owner = obj.metadata?.name ?? '';
  const tname = meta?.name;
  if (typeof tname === 'string' && tname !== '') {
    if (owner && !tname.startsWith(`${owner}-`)) errs.invalid('spec.template.metadata.name', tname, `must have prefix "${owner}-"`);
    for (const m of isDNS1123Label(tname)) errs.invalid('spec.template.metadata.name', tname, m);
    const oldTemplate = asObj(asObj(old?.spec)?.template);
    const oldName = asObj(oldTemplate?.metadata)?.name;
    if (oldTemplate && oldName === tname && JSON.stringify(oldTemplate.spec) !== JSON.stringify(template.spec)) {
      errs.invalid('spec.template.metadata.name', tname, 'the template changed without a name change: give the new revision a new name or remove the name');
    }
  }
  validateLabels(meta?.labels, 'spec.template.metadata.labels', errs);
  validateAnnotations(meta?.annotations, 'spec.template.metadata.annotations', errs);
  validateAutoscalingAnnotations(meta?.annotations, 'spec.template.metadata.annotations', errs);
  validateRevisionSpec(template.spec, 'spec.template.spec', errs);
}

/** Traffic targets of a Service (`inService`) or a Route, at `path` (`spec.traffic`). */
export function validateTraffic(traffic: unknown, path: string, inService: boolean, errs: FieldErrors): void {
  if (!Array.isArray(traffic) || traffic.length === 0) return;
  let sum = 0;
  const tags = new Set<string>();
  traffic.forEach((raw, i) => {
    const t = asObj(raw);
    if (!t) return;
    const p = child(path, i);
    if (typeof t.percent === 'number') {
      if (t.percent < 0 || t.percent > 100) errs.invalid(child(p, 'percent'), t.percent, `expected 0 <= ${t.percent} <= 100`);
      sum += t.percent;
    }
    const rev = typeof t.revisionName === 'string' && t.revisionName !== '' ? t.revisionName : undefined;
    const cfg = typeof t.configurationName === 'string' && t.configurationName !== '' ? t.configurationName : undefined;
    if (inService && cfg) errs.forbidden(child(p, 'configurationName'), 'may not be set on a Service: its traffic goes to its own configuration');
    if (!inService && rev && cfg) errs.invalid(p, `revisionName=${rev}, configurationName=${cfg}`, 'expected exactly one of revisionName, configurationName, got both');
    if (!inService && !rev && !cfg) errs.required(p, 'expected exactly one of revisionName, configurationName, got neither');
    if (rev && t.latestRevision === true) errs.invalid(child(p, 'latestRevision'), true, `may not set revisionName "${rev}" when latestRevision is true`);
    if (!rev && t.latestRevision === false) errs.invalid(child(p, 'latestRevision'), false, 'may not set latestRevision to false when revisionName is unset');
    if (t.url !== undefined && t.url !== '') errs.forbidden(child(p, 'url'), 'url is set by the system (status only)');
    if (typeof t.tag === 'string' && t.tag !== '') {
      for (const m of isDNS1123Label(t.tag)) errs.invalid(child(p, 'tag'), t.tag, m);
      if (tags.has(t.tag)) errs.duplicate(child(p, 'tag'), t.tag);
      tags.add(t.tag);
    }
  });
  if (sum !== 100) errs.invalid(path, sum, `Traffic targets sum to ${sum}, want 100`);
}

/** Kinds a DomainMapping may point at (sluice resolves Knative Services and Routes). */
export const DomainMappingRefKinds = ['Route', 'Service'] as const;
export const ClusterLocalDomain = 'cluster.local';

/** Kubernetes' IsFullyQualifiedDomainName: a DNS subdomain of at least two labels. */
export function fullyQualifiedDomainProblems(name: string): string[] {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  const sub = isDNS1123Subdomain(n);
  if (sub.length > 0) return sub;
  const labels = n.split('.');
  if (labels.length < 2) return ['should be a domain with at least two segments separated by dots'];
  return labels.flatMap((l) => isDNS1123Label(l).map((m) => `label "${l}": ${m}`));
}

function validateDomainMapping(obj: KubeObject, errs: FieldErrors): void {
  const meta = obj.metadata;
  if (typeof meta?.generateName === 'string' && meta.generateName !== '') {
    errs.forbidden('metadata.generateName', 'a DomainMapping is named after its domain: set metadata.name instead of generateName');
  }
  const name = typeof meta?.name === 'string' ? meta.name : '';
  if (name !== '') {
    // The generic name check already reported a non-subdomain; add the FQDN-specific problems.
    if (isDNS1123Subdomain(name).length === 0) {
      for (const m of fullyQualifiedDomainProblems(name)) errs.invalid('metadata.name', name, m);
    }
    if (name.endsWith(`.${ClusterLocalDomain}`)) {
      errs.invalid('metadata.name', name, `must not be a subdomain of the cluster-local domain "${ClusterLocalDomain}"`);
    }
  }
  const spec = asObj(obj.spec);
  if (!spec) {
    if (!errs.has('spec')) errs.required('spec.ref');
    return;
  }
  const ref = asObj(spec.ref);
  if (ref) {
    if (typeof ref.kind === 'string' && ref.kind !== '' && !(DomainMappingRefKinds as readonly string[]).includes(ref.kind)) {
      errs.notSupported('spec.ref.kind', ref.kind, DomainMappingRefKinds);
    }
    if (typeof ref.apiVersion === 'string' && ref.apiVersion !== '' && ref.apiVersion !== 'serving.knative.dev/v1') {
      errs.notSupported('spec.ref.apiVersion', ref.apiVersion, ['serving.knative.dev/v1']);
    }
    for (const f of ['apiVersion', 'kind', 'name'] as const) {
      if (ref[f] === '') errs.required(`spec.ref.${f}`);
    }
    if (typeof ref.name === 'string' && ref.name !== '') {
      for (const m of isDNS1123Label(ref.name)) errs.invalid('spec.ref.name', ref.name, m);
    }
    const ns = meta?.namespace;
    if (typeof ref.namespace === 'string' && ref.namespace !== '' && typeof ns === 'string' && ns !== '' && ref.namespace !== ns) {
      errs.invalid('spec.ref.namespace', ref.namespace, `mismatched namespaces: must be empty or equal to the DomainMapping's namespace "${ns}"`);
    }
  }
  const tls = asObj(spec.tls);
  if (tls && typeof tls.secretName === 'string') {
    if (tls.secretName === '') errs.required('spec.tls.secretName', 'the name of a kubernetes.io/tls Secret in this namespace');
    else for (const m of isDNS1123Subdomain(tls.secretName)) errs.invalid('spec.tls.secretName', tls.secretName, m);
  }
}

export function validateKnative(obj: KubeObject, old: KubeObject | undefined, errs: FieldErrors): void {
  const spec = asObj(obj.spec);
  switch (obj.kind) {
    case 'Service':
      validateTemplate(obj, old, errs);
      validateTraffic(spec?.traffic, 'spec.traffic', true, errs);
      break;
    case 'Configuration':
      validateTemplate(obj, old, errs);
      break;
    case 'Route':
      validateTraffic(spec?.traffic, 'spec.traffic', false, errs);
      break;
    case 'DomainMapping':
      validateDomainMapping(obj, errs);
      break;
    case 'Revision':
      if (!spec && !errs.has('spec')) errs.required('spec.containers');
      validateAutoscalingAnnotations(obj.metadata?.annotations, 'metadata.annotations', errs);
      validateRevisionSpec(obj.spec, 'spec', errs);
      if (old && JSON.stringify(old.spec) !== JSON.stringify(obj.spec)) {
        errs.invalid('spec', 'object', 'field is immutable: a Revision\'s spec cannot change; update the Service or Configuration instead');
      }
      break;
  }
}
