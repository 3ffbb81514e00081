/**
 * Host names and cluster names: qualifying service hosts, Istio host wildcards, the domains a
 * virtual host answers to, and the `outbound|PORT|SUBSET|HOST` / `inbound|PORT|POD` cluster names.
 */
import { SluiceError } from '../../lib/errors.ts';

/**
 * Qualifies a service host as Istio does: a short name is relative to `ns`; `name.ns` and
 * `name.ns.svc` (when `ns` is a known namespace) get the cluster domain appended; anything else
 * is taken as written.
 */
export function qualifyHost(host: string, ns: string, clusterDomain: string, knownNamespaces?: ReadonlySet<string>): string {
  const h = host.toLowerCase();
  if (h.includes('*')) return h;
  const labels = h.split('.');
  if (labels.length === 1) return `${h}.${ns}.svc.${clusterDomain}`;
  if (labels.length === 3 && labels[2] === 'svc') return `${h}.${clusterDomain}`;
  if (labels.length === 2 && knownNamespaces?.has(labels[1])) return `${h}.svc.${clusterDomain}`;
  return h;
}

/** `name.ns.svc.<clusterDomain>` → { name, namespace }; anything else → undefined. */
export function parseServiceHost(fqdn: string, clusterDomain: string): { name: string; namespace: string } | undefined {
  const suffix = `.svc.${clusterDomain}`;
  if (!fqdn.endsWith(suffix)) return undefined;
  const parts = fqdn.slice(0, -suffix.length).split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { name: parts[0], namespace: parts[1] };
}

export function serviceHost(name: string, ns: string, clusterDomain: string): string {
  return `${name}.${ns}.svc.${clusterDomain}`;
}

/** Istio host pattern match: `*` matches all, `*.example.com` any sub-domain, else exact (case-insensitive). */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === '*') return true;
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) || (h.startsWith('*.') && h.endsWith(p.slice(1)));
  return p === h;
}

/** The more specific of two host patterns when one covers the other; undefined when disjoint. */
export function hostIntersection(a: string, b: string): string | undefined {
  if (hostMatches(b, a)) return a.toLowerCase();
  if (hostMatches(a, b)) return b.toLowerCase();
  return undefined;
}

/** Domains a virtual host for `host` answers to: the host and `host:*` (any port). */
export function domainsFor(host: string): string[] {
  const h = host.toLowerCase();
  return h.includes('*') ? [h] : [h, `${h}:*`];
}

/** Domains for an in-cluster service seen from namespace `fromNs`: FQDN, `name.ns.svc`, `name.ns`, and `name` in its own namespace. */
export function serviceDomains(name: string, ns: string, clusterDomain: string, fromNs: string | undefined): string[] {
  const hosts = [serviceHost(name, ns, clusterDomain), `${name}.${ns}.svc`, `${name}.${ns}`];
  if (fromNs === ns) hosts.push(name);
  return hosts.flatMap(domainsFor);
}

export interface OutboundCluster { direction: 'outbound'; port: string; subset: string; host: string }
export interface InboundCluster { direction: 'inbound'; port: string; pod: string }

export function outboundClusterName(port: number | string, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}
export function inboundClusterName(port: number, podName: string, podNamespace: string): string {
  return `inbound|${port}|${podName}.${podNamespace}`;
}

/** Parses a cluster name this translation made; throws SLUICE_E_TRANSLATE_CLUSTER_NAME otherwise. */
export function parseClusterName(name: string): OutboundCluster | InboundCluster {
  const parts = name.split('|');
  if (parts[0] === 'outbound' && parts.length === 4 && parts[1] && parts[3]) {
    return { direction: 'outbound', port: parts[1], subset: parts[2], host: parts[3] };
  }
  if (parts[0] === 'inbound' && parts.length === 3 && parts[1] && parts[2]) {
    return { direction: 'inbound', port: parts[1], pod: parts[2] };
  }
  throw new SluiceError('SLUICE_E_TRANSLATE_CLUSTER_NAME',
    `cluster name "${name}" is not "outbound|PORT|SUBSET|HOST" or "inbound|PORT|POD": it was not made by sluice's translation`, { httpStatus: 400 });
}
