/**
 * Resource URL parsing: `/api/v1/...` and `/apis/GROUP/VERSION/...` into kind, namespace, name
 * and subresource, including the legacy `/watch/` prefix. Built once from the kind registry.
 */
import { KINDS, type KindInfo } from '../api/registry.ts';
import { badRequest, notFoundError } from './status.ts';

export interface ResourceRequest {
  kind: KindInfo;
  /** '' for cluster-scoped kinds and for lists across all namespaces. */
  namespace: string;
  name?: string;
  subresource?: string;
  /** Came in through `/watch/...` (deprecated but still used by some clients). */
  legacyWatch: boolean;
}

/** `group/version` → plural → kind, e.g. `serving.knative.dev/v1` → `services` → Service. */
const byGroupVersion = new Map<string, Map<string, KindInfo>>();
for (const k of KINDS) {
  const gv = k.group ? `${k.group}/${k.version}` : k.version;
  let m = byGroupVersion.get(gv);
  if (!m) byGroupVersion.set(gv, (m = new Map()));
  m.set(k.plural, k);
}

export function kindsOfGroupVersion(gv: string): Map<string, KindInfo> | undefined {
  return byGroupVersion.get(gv);
}


function notFound(path: string): Error {
  return notFoundError(`the server could not find the requested resource (${path})`);
}

/**
 * Parses the path segments after `/api/v1` or `/apis/G/V`. Returns undefined for the group-version
 * root itself (discovery). Throws 404 for paths that name nothing sluice serves.
 */
export function parseResourcePath(path: string, gv: string, rest: string[], extraSubresource?: (kind: KindInfo, sub: string) => boolean): ResourceRequest | undefined {
  const kinds = byGroupVersion.get(gv);
  if (!kinds) throw notFound(path);
  if (rest.length === 0) return undefined;
  let seg = rest;
  let legacyWatch = false;
  if (seg[0] === 'watch') { legacyWatch = true; seg = seg.slice(1); }
  if (seg.length === 0) throw notFound(path);

  let namespace = '';
  if (seg[0] === 'namespaces' && seg.length >= 3) {
    const inner = kinds.get(seg[2]);
    if (inner && inner.namespaced) {
      namespace = seg[1];
      seg = seg.slice(2);
    }
  }
  const kind = kinds.get(seg[0]);
  if (!kind) throw notFound(path);
  const name = seg[1];
  const subresource = seg[2];
  if (seg.length > 3) throw notFound(path);
  if (subresource !== undefined && !((subresource === 'status' && kind.statusSubresource) || extraSubresource?.(kind, subresource))) throw notFound(path);
  // A namespaced object needs its namespace in the path; a cluster-scoped one must not have one.
  if (name !== undefined && kind.namespaced && !namespace) throw notFound(path);
  if (name === '' || namespace === undefined) throw notFound(path);
  let decoded: string | undefined;
  try {
    decoded = name === undefined ? undefined : decodeURIComponent(name);
  } catch {
    throw badRequest(`the object name in ${path} is not valid percent-encoding`);
  }
  return { kind, namespace, name: decoded, subresource, legacyWatch };
}

/** Splits `/apis/G/V/rest...` or `/api/V/rest...` into group-version and the remaining segments. */
export function splitApiPath(pathname: string): { gv: string; rest: string[] } | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] === 'api' && parts.length >= 2) return { gv: parts[1], rest: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 3) return { gv: `${parts[1]}/${parts[2]}`, rest: parts.slice(3) };
  return undefined;
}
