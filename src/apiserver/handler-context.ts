/** What every resource handler gets: the parsed request and the server's shared state. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from '../api/meta.ts';
import { apiVersionOf, resourceId, type KindInfo } from '../api/registry.ts';
import type { Clock } from '../lib/clock.ts';
import type { Store } from '../store/store.ts';
import type { NamespaceGuard } from './namespace-guard.ts';
import type { ResourceRequest } from './resource-path.ts';
import { ApiServerErrors, badRequest, StatusError, failureStatus } from './status.ts';

export interface ServerState {
  store: Store;
  clock: Clock;
  namespaces: NamespaceGuard;
  bodyLimit: number;
  /** Open watch streams; closed when the server stops. */
  watches: Set<() => void>;
  /** Encoded watch event lines shared by the watchers of one event (see watch-stream.ts). */
  watchLines: Map<string, string>;
}

export interface HandlerContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  r: ResourceRequest;
  state: ServerState;
}

export function rid(k: KindInfo): string {
  return resourceId(k);
}

/** `services.serving.knative.dev` / `namespaces`: how Kubernetes names a resource in messages. */
export function qualified(k: KindInfo): string {
  return k.group ? `${k.plural}.${k.group}` : k.plural;
}

/**
 * Checks a body against the URL it was sent to: apiVersion and kind (defaulted from the URL when
 * absent), namespace (defaulted from the URL), and name (must match on PUT/PATCH).
 */
export function checkIdentity(body: Record<string, unknown>, r: ResourceRequest, verb: 'create' | 'update'): KubeObject {
  const k = r.kind;
  const want = apiVersionOf(k);
  if (body.apiVersion === undefined || body.apiVersion === '') body.apiVersion = want;
  if (body.kind === undefined || body.kind === '') body.kind = k.kind;
  if (typeof body.apiVersion !== 'string' || body.apiVersion !== want) {
    throw new StatusError(ApiServerErrors.Mismatch, failureStatus(400,
      `apiVersion: the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${want}) of ${qualified(k)}`,
      { causes: [{ reason: 'FieldValueInvalid', field: 'apiVersion', message: `expected ${want}` }] }));
  }
  if (body.kind !== k.kind) {
    throw new StatusError(ApiServerErrors.Mismatch, failureStatus(400,
      `kind: the kind in the data (${String(body.kind)}) does not match the expected kind (${k.kind}) of ${qualified(k)}`,
      { causes: [{ reason: 'FieldValueInvalid', field: 'kind', message: `expected ${k.kind}` }] }));
  }
  if (body.metadata === undefined || body.metadata === null) body.metadata = {};
  const md = body.metadata;
  if (typeof md !== 'object' || Array.isArray(md)) {
    throw badRequest('metadata: must be an object', ApiServerErrors.Mismatch, [{ reason: 'FieldValueInvalid', field: 'metadata', message: 'must be an object' }]);
  }
  const meta = md as Record<string, unknown>;
  if (k.namespaced) {
    if (meta.namespace === undefined || meta.namespace === '') meta.namespace = r.namespace;
    else if (meta.namespace !== r.namespace) {
      throw badRequest(`metadata.namespace: the namespace of the provided object (${String(meta.namespace)}) does not match the namespace sent on the request (${r.namespace})`,
        ApiServerErrors.Mismatch, [{ reason: 'FieldValueInvalid', field: 'metadata.namespace', message: `expected ${r.namespace}` }]);
    }
  } else if (meta.namespace !== undefined) {
    delete meta.namespace;
  }
  if (verb === 'update' && r.name !== undefined) {
    if (meta.name === undefined || meta.name === '') meta.name = r.name;
    else if (meta.name !== r.name) {
      throw badRequest(`metadata.name: the name of the object (${String(meta.name)}) does not match the name on the URL (${r.name})`,
        ApiServerErrors.Mismatch, [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `expected ${r.name}` }]);
    }
  }
  return body as KubeObject;
}

export function deepClone<T>(v: T): T {
  return structuredClone(v);
}
