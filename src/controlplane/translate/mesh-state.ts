/**
 * buildMeshState: the translation's inputs as one immutable snapshot with the indexes per-proxy
 * translation needs (per namespace, per gateway, per host), so translating for one scoped proxy
 * never scans the whole mesh. updateMeshState applies watch events and rebuilds only the indexes
 * of the kinds that changed; the other kinds' indexes are shared with the previous snapshot.
 */
import type { KubeObject } from '../../api/meta.ts';
import type { Endpoints, Pod, Secret } from '../../api/types/core.ts';
import type { IngressRule, KIngress } from '../../api/types/ingress.ts';
import type { AuthorizationPolicy, DestinationRule, Gateway, PeerAuthentication, Sidecar, VirtualService } from '../../api/types/istio.ts';
import { qualifyHost } from './hosts.ts';
import { initialLastGood, nextLastGood } from './tls-credentials.ts';
import type { MeshInput, MeshState } from './types.ts';

type KindKey = Exclude<keyof MeshInput, 'activator'>;

const KIND_OF: Record<string, KindKey> = {
  'networking.internal.knative.dev|Ingress': 'ingresses',
  '|Endpoints': 'endpoints',
  '|Pod': 'pods',
  '|Secret': 'secrets',
  'networking.istio.io|VirtualService': 'virtualServices',
  'networking.istio.io|DestinationRule': 'destinationRules',
  'networking.istio.io|Gateway': 'gateways',
  'networking.istio.io|Sidecar': 'sidecars',
  'security.istio.io|PeerAuthentication': 'peerAuthentications',
  'security.istio.io|AuthorizationPolicy': 'authorizationPolicies',
};

/** Which MeshInput list an object belongs to; undefined for kinds the translation does not read. */
export function meshKindOf(o: Pick<KubeObject, 'apiVersion' | 'kind'>): KindKey | undefined {
  const slash = o.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : o.apiVersion.slice(0, slash);
  return KIND_OF[`${group}|${o.kind}`];
}

export function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

/** Istio's precedence order: oldest first, then namespace/name. Deterministic for equal inputs. */
export function compareObjects(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function keyed<T extends KubeObject>(list: readonly T[] | undefined): Map<string, T> {
  const m = new Map<string, T>();
  for (const o of [...(list ?? [])].sort(compareObjects)) m.set(keyOf(o), o);
  return m;
}

function byNamespace<T extends KubeObject>(objs: Iterable<T>): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const o of objs) {
    const ns = o.metadata.namespace ?? '';
    let l = m.get(ns);
    if (!l) m.set(ns, (l = []));
    l.push(o);
  }
  return m;
}

function pushTo<T>(m: Map<string, T[]>, k: string, v: T): void {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
}

/** The namespaces of the mesh: the union over all kinds' namespace indexes. */
function namespacesOf(maps: ReadonlyMap<string, unknown>[]): string[] {
  const s = new Set<string>();
  for (const m of maps) for (const k of m.keys()) if (k) s.add(k);
  return [...s].sort();
}

/** Rules the gateway serves: ExternalIP visibility (Knative's default). */
export function isPublicRule(r: IngressRule): boolean {
  return (r.visibility ?? 'ExternalIP') === 'ExternalIP';
}

/** True when some rule of the Ingress is ExternalIP (the gateway serves it). */
export function isPublicIngress(ing: KIngress): boolean {
  return (ing.spec?.rules ?? []).some(isPublicRule);
}

function backendsOf(ing: KIngress | undefined): string[] {
  const out: string[] = [];
  for (const r of ing?.spec?.rules ?? []) for (const p of r.http?.paths ?? []) for (const s of p.splits ?? []) out.push(`${s.serviceNamespace}/${s.serviceName}`);
  return out;
}

/**
 * The Ingress indexes after Ingresses were replaced in place (same keys, same order: no add, no
 * delete, no creationTimestamp change), without a pass over all of them: the public list keeps
 * its order with the new objects swapped in, and the revision backends are kept when every
 * replaced Ingress names the same backends as before. `appended`: new Ingresses that sort after
 * all others (in order), added at the end. Undefined when that does not hold.
 */
function replacedIngressIndexes(prev: MeshState, ingresses: Map<string, KIngress>, ingressesByNamespace: ReadonlyMap<string, readonly KIngress[]>,
  replaced: ReadonlyMap<string, KIngress>, appended: readonly KIngress[] = []) {
  for (const [key, old] of replaced) {
    const now = ingresses.get(key);
    if (!now || isPublicIngress(now) !== isPublicIngress(old)) return undefined;
    const a = backendsOf(old), b = backendsOf(now);
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) return undefined;
  }
  // By object, not by key: no `ns/name` string built per public Ingress (10,000 per change).
  const byOld = new Map<KIngress, KIngress>();
  for (const [key, old] of replaced) byOld.set(old, ingresses.get(key)!);
  const publicIngresses = byOld.size ? prev.publicIngresses.map((o) => byOld.get(o) ?? o) : [...prev.publicIngresses];
  // New Ingresses that sort after every other (a new Service's): appended, not re-indexed.
  let revisionBackends = prev.revisionBackends;
  for (const ing of appended) {
    if (isPublicIngress(ing)) publicIngresses.push(ing);
    for (const b of backendsOf(ing)) {
      if (revisionBackends.has(b)) continue;
      if (revisionBackends === prev.revisionBackends) revisionBackends = new Set(prev.revisionBackends);
      (revisionBackends as Set<string>).add(b);
    }
  }
  return { ingresses, ingressesByNamespace, publicIngresses, revisionBackends };
}

function ingressIndexes(ingresses: Map<string, KIngress>, ingressesByNamespace: ReadonlyMap<string, readonly KIngress[]>) {
  const publicIngresses: KIngress[] = [];
  const revisionBackends = new Set<string>();
  for (const ing of ingresses.values()) {
    const rules = ing.spec?.rules ?? [];
    if (rules.some(isPublicRule)) publicIngresses.push(ing);
    for (const r of rules) for (const p of r.http?.paths ?? []) for (const s of p.splits ?? []) revisionBackends.add(`${s.serviceNamespace}/${s.serviceName}`);
  }
  return { ingresses, ingressesByNamespace, publicIngresses, revisionBackends };
}

function virtualServiceIndexes(vss: Map<string, VirtualService>) {
  const mesh = new Map<string, VirtualService[]>();
  const byGw = new Map<string, VirtualService[]>();
  for (const vs of vss.values()) {
    const ns = vs.metadata.namespace ?? '';
    const gws = vs.spec?.gateways?.length ? vs.spec.gateways : ['mesh'];
    const seen = new Set<string>();
    for (const g of gws) {
      const key = g === 'mesh' ? 'mesh' : g.includes('/') ? g : `${ns}/${g}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (key === 'mesh') pushTo(mesh, ns, vs); else pushTo(byGw, key, vs);
    }
  }
  return { virtualServices: vss, meshVirtualServicesByNamespace: mesh, virtualServicesByGateway: byGw };
}

function destinationRuleIndexes(drs: Map<string, DestinationRule>, clusterDomain: string, namespaces: ReadonlySet<string>) {
  const byHost = new Map<string, DestinationRule[]>();
  const wildcard: DestinationRule[] = [];
  for (const dr of drs.values()) {
    const host = dr.spec?.host;
    if (!host) continue;
    const fqdn = qualifyHost(host, dr.metadata.namespace ?? '', clusterDomain, namespaces);
    if (fqdn.includes('*')) wildcard.push(dr); else pushTo(byHost, fqdn, dr);
  }
  return { destinationRules: drs, destinationRulesByHost: byHost, wildcardDestinationRules: wildcard };
}

type AnyMap = Map<string, KubeObject>;
type NsIndex = Map<string, KubeObject[]>;
const KIND_KEYS: readonly KindKey[] = ['ingresses', 'endpoints', 'pods', 'virtualServices', 'destinationRules', 'gateways', 'sidecars', 'secrets', 'peerAuthentications', 'authorizationPolicies'];
/** Kinds whose global order feeds an index (precedence, output order): re-sorted on change. */
const ORDERED = new Set<KindKey>(['ingresses', 'virtualServices', 'destinationRules', 'gateways']);

/** Per kind: objects by `ns/name`, and per namespace (each list sorted by compareObjects). */
interface Raw { maps: Record<KindKey, AnyMap>; byNs: Record<KindKey, NsIndex> }

// The raw maps behind each state, for updateMeshState.
const rawOf = new WeakMap<MeshState, Raw>();

/**
 * Where a state came from: its serial number and, for a state made by updateMeshState, the keys
 * that changed from its parent (per kind; `activator` when the activator address changed). An
 * incremental translation holds the serial of the state it last translated and asks for the
 * changes since (changesSince). Only change records are chained, never states, and the chain is
 * cut after MAX_LINEAGE steps, so an old state is never kept alive by a newer one.
 */
interface Lineage { serial: number; parent?: { lineage: Lineage; changed: ReadonlyMap<string, ReadonlySet<string>> } }
const lineageOf = new WeakMap<MeshState, Lineage>();
const MAX_LINEAGE = 32;
let nextSerial = 1;

/** Drops the records more than MAX_LINEAGE steps above `l`. */
function trim(l: Lineage): void {
  let cur = l;
  for (let n = 0; cur.parent; n++) {
    if (n >= MAX_LINEAGE) { delete cur.parent; return; }
    cur = cur.parent.lineage;
  }
}

/** A state's serial number: distinct for every state this process built. */
export function stateSerial(state: MeshState): number {
  return lineageOf.get(state)?.serial ?? 0;
}

/**
 * The object keys (`ns/name`) that changed, per kind (`ingresses`, `endpoints`, … and
 * `activator`), between the state with serial `from` and `state`; undefined when `state` does not
 * descend from it within the kept lineage, or when more than `maxKeys` keys changed.
 */
export function changesSince(state: MeshState, from: number, maxKeys = 512): Map<string, Set<string>> | undefined {
  const out = new Map<string, Set<string>>();
  let n = 0;
  let l = lineageOf.get(state);
  while (l && l.serial !== from) {
    const p = l.parent;
    if (!p) return undefined;
    for (const [kind, keys] of p.changed) {
      let s = out.get(kind);
      if (!s) out.set(kind, (s = new Set()));
      for (const k of keys) if (!s.has(k)) { s.add(k); if (++n > maxKeys) return undefined; }
    }
    l = p.lineage;
  }
  return l ? out : undefined;
}

function assemble(raw: Raw, activator: MeshInput['activator'], clusterDomain: string, lastGoodSecrets: ReadonlyMap<string, Secret>,
  prev?: { state: MeshState; changed: Set<KindKey>; replacedIngresses?: ReadonlyMap<string, KIngress>; appendedIngresses?: readonly KIngress[]; changedKeys?: ReadonlyMap<string, ReadonlySet<string>> }): MeshState {
  const reuse = (k: KindKey) => prev !== undefined && !prev.changed.has(k);
  const p = prev?.state;
  const m = raw.maps as unknown as {
    ingresses: Map<string, KIngress>; endpoints: Map<string, Endpoints>; pods: Map<string, Pod>; virtualServices: Map<string, VirtualService>;
    destinationRules: Map<string, DestinationRule>; gateways: Map<string, Gateway>; secrets: Map<string, Secret>;
  };
  const n = raw.byNs as unknown as {
    ingresses: Map<string, KIngress[]>; endpoints: Map<string, Endpoints[]>; pods: Map<string, Pod[]>; sidecars: Map<string, Sidecar[]>;
    peerAuthentications: Map<string, PeerAuthentication[]>; authorizationPolicies: Map<string, AuthorizationPolicy[]>;
  };
  const ing = reuse('ingresses') && p ? { ingresses: p.ingresses, ingressesByNamespace: p.ingressesByNamespace, publicIngresses: p.publicIngresses, revisionBackends: p.revisionBackends }
    : (p && prev?.replacedIngresses && replacedIngressIndexes(p, m.ingresses, n.ingresses, prev.replacedIngresses, prev.appendedIngresses)) || ingressIndexes(m.ingresses, n.ingresses);
  const vs = reuse('virtualServices') && p ? { virtualServices: p.virtualServices, meshVirtualServicesByNamespace: p.meshVirtualServicesByNamespace, virtualServicesByGateway: p.virtualServicesByGateway } : virtualServiceIndexes(m.virtualServices);
  const namespaces = namespacesOf(KIND_KEYS.map((k) => raw.byNs[k]));
  const nsChanged = !p || p.namespaces.length !== namespaces.length || p.namespaces.some((x, i) => x !== namespaces[i]);
  // A new namespace can change how a DestinationRule's `name.ns` host qualifies; with no
  // DestinationRules at all there is nothing to requalify, and the (empty) indexes keep their
  // identity, which translation caches compare.
  const dr = reuse('destinationRules') && p && (!nsChanged || m.destinationRules.size === 0) ? { destinationRules: p.destinationRules, destinationRulesByHost: p.destinationRulesByHost, wildcardDestinationRules: p.wildcardDestinationRules } : destinationRuleIndexes(m.destinationRules, clusterDomain, new Set(namespaces));
  const state: MeshState = Object.freeze({
    ...ing,
    endpoints: m.endpoints, endpointsByNamespace: n.endpoints,
    pods: m.pods, podsByNamespace: n.pods,
    ...vs,
    ...dr,
    gateways: m.gateways,
    sidecarsByNamespace: n.sidecars,
    secrets: m.secrets,
    lastGoodSecrets,
    peerAuthenticationsByNamespace: n.peerAuthentications,
    authorizationPoliciesByNamespace: n.authorizationPolicies,
    namespaces: nsChanged || !p ? namespaces : p.namespaces,
    ...(activator ? { activator: Object.freeze({ ...activator }) } : {}),
  });
  rawOf.set(state, raw);
  const parentLineage = p ? lineageOf.get(p) : undefined;
  const changed = prev?.changedKeys;
  const lineage: Lineage = { serial: nextSerial++, ...(parentLineage && changed ? { parent: { lineage: parentLineage, changed } } : {}) };
  trim(lineage);
  lineageOf.set(state, lineage);
  return state;
}

export interface BuildOptions { clusterDomain?: string }

/** Builds the snapshot from per-kind lists or from a mixed list of objects (other kinds are skipped). */
export function buildMeshState(input: MeshInput | readonly KubeObject[], opts: BuildOptions = {}): MeshState {
  const lists: MeshInput = Array.isArray(input) ? groupByKind(input as readonly KubeObject[]) : (input as MeshInput);
  const maps = {} as Record<KindKey, AnyMap>;
  const byNs = {} as Record<KindKey, NsIndex>;
  for (const k of KIND_KEYS) {
    maps[k] = keyed(lists[k] as readonly KubeObject[] | undefined);
    byNs[k] = byNamespace(maps[k].values());
  }
  return assemble({ maps, byNs }, lists.activator, opts.clusterDomain ?? 'cluster.local', initialLastGood(maps.secrets.values() as Iterable<Secret>));
}

function groupByKind(objs: readonly KubeObject[]): MeshInput {
  const out: Record<string, KubeObject[]> = {};
  for (const o of objs) {
    const k = meshKindOf(o);
    if (k) (out[k] ??= []).push(o);
  }
  return out as MeshInput;
}

export interface MeshChange { type: 'upsert' | 'delete'; object: KubeObject }

/**
 * When every object new to a kind sorts after all the objects it already had (new Services are
 * the newest objects), puts the new ones at the end of `now` in order and returns them: `now` is
 * then in order without re-sorting the whole kind. Undefined when that does not hold.
 */
function appendOrder(before: AnyMap, now: AnyMap, addedKeys: ReadonlySet<string> | undefined): KubeObject[] | undefined {
  const news: KubeObject[] = [];
  for (const key of addedKeys ?? []) { const o = now.get(key); if (o) news.push(o); }
  if (news.length === 0) return undefined;
  news.sort(compareObjects);
  let last: KubeObject | undefined;
  for (const [key, o] of before) if (now.has(key)) last = o; // the last survivor of the old order
  if (last && compareObjects(last, news[0]) >= 0) return undefined;
  for (const o of news) { const key = keyOf(o); now.delete(key); now.set(key, o); }
  return news;
}

/**
 * Applies changes to a snapshot and returns a new one (the old one is unchanged). Objects of
 * kinds the translation does not read are ignored. `activator` replaces the activator address
 * when given (null removes it). Work is proportional to the changed kinds' maps (copied) and the
 * touched namespaces' lists; Endpoints and Pods — the frequent changes — are never re-sorted whole.
 */
export function updateMeshState(state: MeshState, changes: readonly MeshChange[], opts: BuildOptions & { activator?: MeshInput['activator'] | null } = {}): MeshState {
  const old = rawOf.get(state);
  if (!old) return state;
  const maps = { ...old.maps };
  const byNs = { ...old.byNs };
  const touched = new Map<KindKey, Map<string, Set<string>>>(); // kind → namespace → keys
  const reorder = new Set<KindKey>(); // ordered kinds whose order may have changed (not just replaced in place)
  const resort = new Set<KindKey>(); // ordered kinds that must be re-sorted whole (a timestamp changed, a key came back)
  const added = new Map<KindKey, Set<string>>(); // keys new to the kind in this batch
  const replacedIngresses = new Map<string, KIngress>();
  let replacedOk = true;
  for (const c of changes) {
    const k = meshKindOf(c.object);
    if (!k) continue;
    let t = touched.get(k);
    if (!t) {
      touched.set(k, (t = new Map()));
      maps[k] = new Map(old.maps[k]);
    }
    const key = keyOf(c.object);
    const ns = c.object.metadata.namespace ?? '';
    const prevObj = maps[k].get(key);
    if (c.type === 'delete') maps[k].delete(key); else maps[k].set(key, c.object);
    // Replacing an object whose creationTimestamp is unchanged keeps its place (Map.set on an
    // existing key keeps the insertion order), and a delete keeps the others' order: only an
    // added object or a changed timestamp needs the kind re-sorted (10,000 Ingresses per change).
    if (c.type !== 'delete' && (!prevObj || prevObj.metadata.creationTimestamp !== c.object.metadata.creationTimestamp)) reorder.add(k);
    if (c.type !== 'delete' && prevObj && prevObj.metadata.creationTimestamp !== c.object.metadata.creationTimestamp) resort.add(k);
    const isNew = !old.maps[k].has(key);
    // Deleted and added again in one batch: Map.set put it at the end; its place is not known.
    if (c.type !== 'delete' && !prevObj && !isNew) resort.add(k);
    if (isNew) { let a = added.get(k); if (!a) added.set(k, (a = new Set())); a.add(key); }
    if (k === 'ingresses') {
      // Ingresses replaced in place, by key → the object they replaced (first one of the batch);
      // new ones may still be appended (below).
      if (c.type === 'delete' || (!prevObj && !isNew)) replacedOk = false;
      else if (prevObj && !isNew && !replacedIngresses.has(key)) replacedIngresses.set(key, (old.maps.ingresses.get(key) ?? prevObj) as KIngress);
    }
    for (const n of new Set([ns, prevObj?.metadata.namespace ?? ns])) {
      let keys = t.get(n);
      if (!keys) t.set(n, (keys = new Set()));
      keys.add(key);
    }
  }
  const appended = new Map<KindKey, KubeObject[]>();
  for (const [k, t] of touched) {
    if (ORDERED.has(k) && reorder.has(k)) {
      const app = !resort.has(k) ? appendOrder(old.maps[k], maps[k], added.get(k)) : undefined;
      if (app) appended.set(k, app); else maps[k] = keyed([...maps[k].values()]);
    }
    const idx: NsIndex = new Map(old.byNs[k]);
    for (const [ns, keys] of t) {
      const list = (idx.get(ns) ?? []).filter((o) => !keys.has(keyOf(o)));
      for (const key of keys) {
        const o = maps[k].get(key);
        if (o && (o.metadata.namespace ?? '') === ns) list.push(o);
      }
      list.sort(compareObjects);
      if (list.length) idx.set(ns, list); else idx.delete(ns);
    }
    byNs[k] = idx;
  }
  const activator = opts.activator === null ? undefined : opts.activator ?? state.activator;
  const secretChanges = touched.has('secrets') ? changes.filter((c) => meshKindOf(c.object) === 'secrets') as { type: 'upsert' | 'delete'; object: Secret }[] : [];
  const lastGood = secretChanges.length ? nextLastGood(state.lastGoodSecrets, secretChanges) : state.lastGoodSecrets;
  const appendedIngresses = appended.get('ingresses') as KIngress[] | undefined;
  const inPlace = replacedOk && (!reorder.has('ingresses') || appendedIngresses !== undefined) && (replacedIngresses.size > 0 || (appendedIngresses?.length ?? 0) > 0) ? replacedIngresses : undefined;
  const changedKeys = new Map<string, Set<string>>();
  for (const [k, t] of touched) {
    const keys = new Set<string>();
    for (const set of t.values()) for (const key of set) keys.add(key);
    changedKeys.set(k, keys);
  }
  if (activator !== state.activator && (activator?.address !== state.activator?.address || activator?.port !== state.activator?.port)) changedKeys.set('activator', new Set(['']));
  return assemble({ maps, byNs }, activator, opts.clusterDomain ?? 'cluster.local', lastGood, { state, changed: new Set(touched.keys()), replacedIngresses: inPlace, appendedIngresses: inPlace ? appendedIngresses : undefined, changedKeys });
}
