/**
 * The kinds sluice serves: one row per kind with its API coordinates. The store, the API
 * server (discovery, openapi, routing) and the CLI all read this table.
 */
export interface KindInfo {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Has a status subresource: writes to the main resource ignore status, /status writes ignore the rest. */
  statusSubresource: boolean;
  /** Objects of this kind are written by sluice itself; clients may read them. */
  systemOwned?: boolean;
  categories?: string[];
}

const knative = (kind: string, plural: string, shortNames: string[]): KindInfo => ({
  group: 'serving.knative.dev', version: 'v1', kind, plural, singular: kind.toLowerCase(), shortNames,
  namespaced: true, statusSubresource: true, categories: ['all', 'knative', 'serving'],
});
const istio = (group: string, kind: string, plural: string, shortNames: string[]): KindInfo => ({
  group, version: 'v1', kind, plural, singular: kind.toLowerCase(), shortNames,
  namespaced: true, statusSubresource: true, categories: ['istio-io', group.split('.')[0] + '-istio-io'],
});

export const KINDS: readonly KindInfo[] = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false, statusSubresource: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', shortNames: [], namespaced: true, statusSubresource: false },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true, statusSubresource: true, systemOwned: true, categories: ['all'] },
  { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', shortNames: ['ep'], namespaced: true, statusSubresource: false, systemOwned: true },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true, statusSubresource: false, systemOwned: true },
  knative('Service', 'services', ['kservice', 'ksvc']),
  knative('Configuration', 'configurations', ['config', 'cfg']),
  knative('Revision', 'revisions', ['rev']),
  knative('Route', 'routes', ['rt']),
  // Knative's DomainMapping is served at v1beta1 only (as in Knative Serving 1.x).
  { ...knative('DomainMapping', 'domainmappings', ['dm']), version: 'v1beta1' },
  // Knative's internal ingress contract: the Route reconciler writes one per Route; the control
  // plane translates it to xDS and reports readiness (from gateway ACKs) on its status.
  { group: 'networking.internal.knative.dev', version: 'v1alpha1', kind: 'Ingress', plural: 'ingresses', singular: 'ingress', shortNames: ['kingress', 'king'], namespaced: true, statusSubresource: true, systemOwned: true, categories: ['knative-internal', 'networking'] },
  istio('networking.istio.io', 'VirtualService', 'virtualservices', ['vs']),
  istio('networking.istio.io', 'DestinationRule', 'destinationrules', ['dr']),
  istio('networking.istio.io', 'Gateway', 'gateways', ['gw']),
  istio('networking.istio.io', 'Sidecar', 'sidecars', []),
  istio('security.istio.io', 'PeerAuthentication', 'peerauthentications', ['pa']),
  istio('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', ['ap']),
];

/** Stable resource id used as the store's key prefix: `group/plural` (`core/pods` for the core group). */
export function resourceId(k: Pick<KindInfo, 'group' | 'plural'>): string {
  return `${k.group || 'core'}/${k.plural}`;
}
export function apiVersionOf(k: KindInfo): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

const byId = new Map(KINDS.map((k) => [resourceId(k), k]));
const byGvk = new Map(KINDS.map((k) => [`${apiVersionOf(k)}|${k.kind}`, k]));

export function kindById(id: string): KindInfo | undefined { return byId.get(id); }
export function kindByGvk(apiVersion: string, kind: string): KindInfo | undefined { return byGvk.get(`${apiVersion}|${kind}`); }
/** Finds a kind by what a user types: plural, singular, short name or Kind, optionally `.group`. */
export function kindByName(name: string): KindInfo | undefined {
  const n = name.toLowerCase();
  const dot = n.indexOf('.');
  const [base, group] = dot < 0 ? [n, undefined] : [n.slice(0, dot), n.slice(dot + 1)];
  const matches = KINDS.filter((k) => (group === undefined || k.group === group) &&
    (k.plural === base || k.singular === base || k.kind.toLowerCase() === base || k.shortNames.includes(base)));
  // "services" alone means the Knative Service: sluice has no core Service kind.
  return matches[0];
}
