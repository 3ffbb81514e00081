/**
 * The check before publishing: every name a resource refers to exists in the set — the
 * ClusterLoadAssignment of every EDS cluster, every cluster a route (or mirror) names, the
 * RouteConfiguration of every RDS listener, every SDS secret of a listener or cluster. The
 * pipeline refuses to publish a set with violations (assertConsistent).
 */
import { SluiceError } from '../../lib/errors.ts';
import { TypeUrl } from '../../xds/protos.ts';
import type { ResourceSet } from './types.ts';

export interface Inconsistency {
  /** The resource that refers to something missing. */
  type: 'Listener' | 'RouteConfiguration' | 'VirtualHost' | 'Cluster';
  name: string;
  /** What is missing. */
  missing: { type: 'RouteConfiguration' | 'Cluster' | 'ClusterLoadAssignment' | 'Secret'; name: string };
  message: string;
}

type Obj = Record<string, any>;

function sdsNames(tls: Obj | undefined): string[] {
  const c = tls?.common_tls_context as Obj | undefined;
  if (!c) return [];
  const out: string[] = [];
  for (const s of c.tls_certificate_sds_secret_configs ?? []) out.push(s.name);
  if (c.validation_context_sds_secret_config) out.push(c.validation_context_sds_secret_config.name);
  if (c.combined_validation_context?.validation_context_sds_secret_config) out.push(c.combined_validation_context.validation_context_sds_secret_config.name);
  return out;
}

function hcmOf(filter: Obj): Obj | undefined {
  const tc = filter.typed_config as Obj | undefined;
  return tc && tc['@type'] === TypeUrl.HttpConnectionManager ? tc : undefined;
}

// The clusters a virtual host's routes name, kept per (immutable, shared) virtual host object:
// the gateway's 10,000 hosts are checked on every change, and all but one are the same objects.
const refsCache = new WeakMap<object, readonly string[]>();
/** The clusters a virtual host's routes name (route cluster, weighted clusters, mirrors). */
export function clusterRefs(vh: Obj): readonly string[] {
  let refs = refsCache.get(vh);
  if (refs) return refs;
  const out: string[] = [];
  for (const r of vh.routes ?? []) {
    const a = r.route as Obj | undefined;
    if (!a) continue;
    if (a.cluster) out.push(a.cluster);
    for (const wc of a.weighted_clusters?.clusters ?? []) out.push(wc.name);
    for (const m of a.request_mirror_policies ?? []) out.push(m.cluster);
  }
  refsCache.set(vh, (refs = out));
  return refs;
}

// The SDS secrets and RDS route configurations a listener names, per (shared, immutable) listener
// object: the mesh proxy's per-pod listeners are the same objects from one translation to the next.
const listenerCache = new WeakMap<object, { secrets: readonly string[]; routes: readonly string[] }>();
function listenerRefs(l: Obj): { secrets: readonly string[]; routes: readonly string[] } {
  let refs = listenerCache.get(l);
  if (refs) return refs;
  const secrets: string[] = [];
  const hcms: Obj[] = [];
  for (const fc of l.filter_chains ?? []) {
    for (const f of fc.filters ?? []) { const h = hcmOf(f); if (h) hcms.push(h); }
    if (fc.transport_socket) secrets.push(...sdsNames(fc.transport_socket.typed_config));
  }
  const api = l.api_listener?.api_listener as Obj | undefined;
  if (api && api['@type'] === TypeUrl.HttpConnectionManager) hcms.push(api);
  const routes: string[] = [];
  for (const h of hcms) if (h.rds?.route_config_name !== undefined) routes.push(h.rds.route_config_name);
  listenerCache.set(l, (refs = { secrets, routes }));
  return refs;
}

/** Every dangling reference in the set (empty = consistent). */
export function checkConsistency(set: ResourceSet): Inconsistency[] {
  const out: Inconsistency[] = [];
  const routes = set[TypeUrl.RouteConfiguration];
  const clusters = set[TypeUrl.Cluster];
  const clas = set[TypeUrl.ClusterLoadAssignment];
  const secrets = set[TypeUrl.Secret];
  const miss = (type: Inconsistency['type'], name: string, mtype: Inconsistency['missing']['type'], mname: string) => {
    out.push({ type, name, missing: { type: mtype, name: mname }, message: `${type} "${name}" refers to ${mtype} "${mname}", which is not in the set` });
  };
  for (const [name, l] of set[TypeUrl.Listener] as Map<string, Obj>) {
    const refs = listenerRefs(l);
    for (const sname of refs.secrets) if (!secrets.has(sname)) miss('Listener', name, 'Secret', sname);
    for (const rn of refs.routes) if (!routes.has(rn)) miss('Listener', name, 'RouteConfiguration', rn);
  }
  const checkHost = (type: 'RouteConfiguration' | 'VirtualHost', name: string, vh: Obj, seen: Set<string>) => {
    for (const c of clusterRefs(vh)) if (!clusters.has(c) && !seen.has(c)) { seen.add(c); miss(type, name, 'Cluster', c); }
  };
  for (const [name, rc] of routes as Map<string, Obj>) {
    const seen = new Set<string>();
    for (const vh of rc.virtual_hosts ?? []) checkHost('RouteConfiguration', name, vh, seen);
  }
  // VHDS form: each virtual host is its own resource.
  for (const [name, vh] of (set[TypeUrl.VirtualHost] ?? new Map()) as Map<string, Obj>) checkHost('VirtualHost', name, vh, new Set());
  for (const [name, c] of clusters as Map<string, Obj>) {
    if (c.type === 'EDS') {
      const eds = c.eds_cluster_config?.service_name || name;
      if (!clas.has(eds)) miss('Cluster', name, 'ClusterLoadAssignment', eds);
    }
    if (c.transport_socket) for (const s of sdsNames(c.transport_socket.typed_config)) if (!secrets.has(s)) miss('Cluster', name, 'Secret', s);
  }
  return out;
}

/** Throws SLUICE_E_TRANSLATE_INCONSISTENT listing the dangling references. */
export function assertConsistent(set: ResourceSet, what = 'resource set'): void {
  const errs = checkConsistency(set);
  if (errs.length === 0) return;
  const shown = errs.slice(0, 5).map((e) => e.message).join('; ');
  throw new SluiceError('SLUICE_E_TRANSLATE_INCONSISTENT',
    `${what} is inconsistent (${errs.length} dangling reference${errs.length === 1 ? '' : 's'}): ${shown}${errs.length > 5 ? '; …' : ''}; it was not published`,
    { details: { inconsistencies: errs } });
}
