/**
 * API discovery documents, built once from the kind registry: the legacy per-group-version
 * documents (APIVersions, APIGroupList, APIGroup, APIResourceList) and the aggregated
 * discovery v2 (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) that kubectl asks for first.
 */
import { KINDS, type KindInfo } from '../api/registry.ts';
import { parseAccept } from './http-util.ts';

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

/** The Kubernetes version sluice claims to be compatible with (kubectl warns beyond ±1 minor). */
export const KUBE_COMPAT = { major: '1', minor: '32' };

export function versionInfo(sluiceVersion: string): Record<string, string> {
  return {
    major: KUBE_COMPAT.major,
    minor: KUBE_COMPAT.minor,
    gitVersion: `v${KUBE_COMPAT.major}.${KUBE_COMPAT.minor}.0+sluice-${sluiceVersion}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node ${process.version}`,
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

interface GroupEntry { name: string; version: string; kinds: KindInfo[] }

function groups(): GroupEntry[] {
  const m = new Map<string, GroupEntry>();
  for (const k of KINDS) {
    const key = `${k.group}/${k.version}`;
    let e = m.get(key);
    if (!e) m.set(key, (e = { name: k.group, version: k.version, kinds: [] }));
    e.kinds.push(k);
  }
  return [...m.values()];
}

/** A subresource mounted by another component (e.g. `pods/log`), listed in discovery. */
export interface ExtraSubresource { kind: KindInfo; name: string; verbs: string[] }

function apiResources(kinds: KindInfo[], extra: ExtraSubresource[]): unknown[] {
  const out: unknown[] = [];
  for (const k of kinds) {
    const r: Record<string, unknown> = { name: k.plural, singularName: k.singular, namespaced: k.namespaced, kind: k.kind, verbs: VERBS };
    if (k.shortNames.length > 0) r.shortNames = k.shortNames;
    if (k.categories?.length) r.categories = k.categories;
    out.push(r);
    if (k.statusSubresource) out.push({ name: `${k.plural}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: STATUS_VERBS });
    for (const x of extra) if (x.kind === k) out.push({ name: `${k.plural}/${x.name}`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: x.verbs });
  }
  return out;
}

export interface DiscoveryDocs {
  apiVersions: (serverAddress: string) => unknown;
  apiGroupList: unknown;
  apiGroup: Map<string, unknown>;
  resourceList: Map<string, unknown>;
  /** Aggregated discovery v2 for `/api` (core) and `/apis` (named groups). */
  aggregatedCore: unknown;
  aggregatedGroups: unknown;
}

/** Group-versions by group, in registry order: a group's first version is its preferred one (serving.knative.dev: v1, then v1beta1). */
function byGroup(entries: GroupEntry[]): { name: string; versions: GroupEntry[] }[] {
  const m = new Map<string, GroupEntry[]>();
  for (const g of entries) m.set(g.name, [...(m.get(g.name) ?? []), g]);
  return [...m].map(([name, versions]) => ({ name, versions }));
}

function aggregated(entries: GroupEntry[], extra: ExtraSubresource[]): unknown {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: byGroup(entries).map((grp) => ({
      metadata: { name: grp.name, creationTimestamp: null },
      versions: grp.versions.map((g) => ({
        version: g.version,
        freshness: 'Current',
        resources: g.kinds.map((k) => {
          const r: Record<string, unknown> = {
            resource: k.plural,
            responseKind: { group: k.group, version: k.version, kind: k.kind },
            scope: k.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: k.singular,
            verbs: VERBS,
          };
          if (k.shortNames.length > 0) r.shortNames = k.shortNames;
          if (k.categories?.length) r.categories = k.categories;
          const subs: unknown[] = [];
          if (k.statusSubresource) subs.push({ subresource: 'status', responseKind: { group: k.group, version: k.version, kind: k.kind }, verbs: STATUS_VERBS });
          for (const x of extra) if (x.kind === k) subs.push({ subresource: x.name, responseKind: { group: '', version: '', kind: '' }, verbs: x.verbs });
          if (subs.length > 0) r.subresources = subs;
          return r;
        }),
      })),
    })),
  };
}

export function buildDiscovery(extra: ExtraSubresource[] = []): DiscoveryDocs {
  const all = groups();
  const core = all.filter((g) => g.name === '');
  const named = all.filter((g) => g.name !== '');
  const groupDoc = (grp: { name: string; versions: GroupEntry[] }): Record<string, unknown> => {
    const vs = grp.versions.map((g) => ({ groupVersion: `${g.name}/${g.version}`, version: g.version }));
    return { name: grp.name, versions: vs, preferredVersion: vs[0] };
  };
  const resourceList = new Map<string, unknown>();
  for (const g of all) {
    const gv = g.name ? `${g.name}/${g.version}` : g.version;
    resourceList.set(gv, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: apiResources(g.kinds, extra) });
  }
  return {
    apiVersions: (serverAddress) => ({
      kind: 'APIVersions',
      versions: core.map((g) => g.version),
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    }),
    apiGroupList: { kind: 'APIGroupList', apiVersion: 'v1', groups: byGroup(named).map(groupDoc) },
    apiGroup: new Map(byGroup(named).map((g) => [g.name, { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g) }])),
    resourceList,
    aggregatedCore: aggregated(core, extra),
    aggregatedGroups: aggregated(named, extra),
  };
}

/** Aggregated discovery content type when the Accept header asks for apidiscovery v2, else undefined. */
export function wantsAggregated(accept: string | undefined): string | undefined {
  for (const a of parseAccept(accept)) {
    if (a.params.g === 'apidiscovery.k8s.io' && a.params.v === 'v2' && a.params.as === 'APIGroupDiscoveryList') {
      return 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
    }
  }
  return undefined;
}
