/**
 * The shared model behind /openapi/v2 and /openapi/v3: schema names as Kubernetes publishes
 * them, the list and meta schemas, and the REST operations of each kind. kubectl reads the
 * PATCH operation's `x-kubernetes-group-version-kind` and `fieldValidation` parameter to decide
 * that the server validates fields itself (server-side field validation), and the kind schemas'
 * `x-kubernetes-group-version-kind` for `kubectl explain`.
 */
import type { KindInfo } from './registry.ts';
import { kindSchemas } from './schema/index.ts';
import { objectMeta } from './schema/meta.ts';
import { anyValue, arr, int, obj, str, strs, type Schema } from './schema/types.ts';

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export type Gvk = { group: string; version: string; kind: string };

/** `dev.knative.serving.v1.Service` for serving.knative.dev/v1, `io.k8s.api.core.v1.Pod` for the core group. */
export function schemaName(k: Pick<KindInfo, 'group' | 'version'>, kind: string): string {
  const prefix = k.group === '' ? 'io.k8s.api.core' : k.group.split('.').reverse().join('.');
  return `${prefix}.${k.version}.${kind}`;
}

/** `api/v1` or `apis/serving.knative.dev/v1`, the keys of the /openapi/v3 index. */
export function groupVersionPath(k: Pick<KindInfo, 'group' | 'version'>): string {
  return k.group === '' ? `api/${k.version}` : `apis/${k.group}/${k.version}`;
}

export const metaSchemas: Record<string, Schema> = {
  [`${META}.ObjectMeta`]: objectMeta,
  [`${META}.ListMeta`]: obj({
    resourceVersion: str('String that identifies the server\'s internal version of this list.'),
    continue: str('Token to fetch the next page of a paged list.'),
    remainingItemCount: int(undefined, 'int64'),
    selfLink: str(),
  }, { description: 'ListMeta describes metadata that synthetic resources must have.' }),
  [`${META}.Status`]: obj({
    apiVersion: str(), kind: str(), metadata: obj({ resourceVersion: str() }),
    status: str('Status of the operation: Success or Failure.'),
    message: str(), reason: str(), code: int(),
    details: obj({
      name: str(), group: str(), kind: str(), uid: str(), retryAfterSeconds: int(),
      causes: arr(obj({ reason: str(), message: str(), field: str() })),
    }),
  }, { description: 'Status is a return value for calls that don\'t return other objects.' }),
  [`${META}.Patch`]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
  [`${META}.DeleteOptions`]: obj({
    apiVersion: str(), kind: str(), gracePeriodSeconds: int(undefined, 'int64'), propagationPolicy: str(),
    dryRun: strs(), preconditions: obj({ resourceVersion: str(), uid: str() }), orphanDependents: { type: 'boolean' },
  }, { description: 'DeleteOptions may be provided when deleting an API object.' }),
  [`${META}.WatchEvent`]: obj({ type: str(), object: anyValue() }, { required: ['type', 'object'], description: 'Event represents a single event to a watched resource.' }),
};

export interface KindEntry {
  kind: KindInfo;
  name: string;
  listName: string;
  schema: Schema & { 'x-kubernetes-group-version-kind': Gvk[] };
  list: Schema & { 'x-kubernetes-group-version-kind': Gvk[] };
}

export function kindEntries(refPrefix: string): KindEntry[] {
  return kindSchemas().map(({ kind, schema }) => {
    const name = schemaName(kind, kind.kind);
    const listName = schemaName(kind, `${kind.kind}List`);
    const gvk: Gvk = { group: kind.group, version: kind.version, kind: kind.kind };
    const list = obj({
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      items: arr({ $ref: `${refPrefix}${name}` } as Schema, `List of ${kind.plural}.`),
      metadata: { $ref: `${refPrefix}${META}.ListMeta` } as Schema,
    }, { required: ['items'], description: `${kind.kind}List is a list of ${kind.kind}.` });
    return {
      kind, name, listName,
      schema: { ...schema, 'x-kubernetes-group-version-kind': [gvk] },
      list: { ...list, 'x-kubernetes-group-version-kind': [{ ...gvk, kind: `${kind.kind}List` }] },
    };
  });
}

export type Action = 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ParamModel { name: string; in: 'query' | 'path'; description: string; required?: boolean; type: 'string' | 'boolean' | 'integer' }
export interface OperationModel {
  method: Method;
  action: Action;
  operationId: string;
  description: string;
  gvk: Gvk;
  params: ParamModel[];
  /** Schema name of the request body, if any. */
  body?: string;
  bodyTypes?: string[];
  /** Schema name of the 200 response. */
  response: string;
}
export interface PathModel { path: string; params: ParamModel[]; ops: OperationModel[] }

const q = (name: string, description: string, type: ParamModel['type'] = 'string'): ParamModel => ({ name, in: 'query', description, type });
const pathParam = (name: string, description: string): ParamModel => ({ name, in: 'path', description, required: true, type: 'string' });

const dryRun = q('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All.');
const fieldManager = q('fieldManager', 'A name associated with the actor or entity that is making these changes.');
export const fieldValidationParam = q('fieldValidation',
  'How the server handles objects with unknown or duplicate fields: Ignore, Warn (the default without a value: a warning for each unknown field) or Strict (the request fails with BadRequest).');
const force = q('force', 'Force is going to "force" Apply requests.', 'boolean');
const pretty = q('pretty', 'If \'true\', then the output is pretty printed.');
const listParams = [
  q('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  q('fieldSelector', 'A selector to restrict the list of returned objects by their fields (metadata.name, metadata.namespace).'),
  q('limit', 'Maximum number of responses to return for a list call.', 'integer'),
  q('continue', 'The continue option should be set when retrieving more results from the server.'),
  q('resourceVersion', 'Shows changes that occur after that particular version of a resource.'),
  q('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
  q('allowWatchBookmarks', 'Requests watch events with type "BOOKMARK".', 'boolean'),
  q('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
];

function camel(s: string): string {
  return s.split(/[.\-/]/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
}

/** The REST paths and operations of one kind, as the Kubernetes API server serves them. */
export function kindPaths(e: KindEntry): PathModel[] {
  const k = e.kind;
  const gvk: Gvk = { group: k.group, version: k.version, kind: k.kind };
  const base = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`;
  const ns = k.namespaced ? '/namespaces/{namespace}' : '';
  const scope = k.namespaced ? 'Namespaced' : '';
  const idPart = `${camel(k.group || 'core')}${camel(k.version)}${scope}${k.kind}`;
  const nsParams = k.namespaced ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')] : [];
  const nameParam = pathParam('name', `name of the ${k.kind}`);
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
  if (k.group === '') patchTypes.push('application/strategic-merge-patch+json');
  const writeParams = [dryRun, fieldManager, fieldValidationParam];
  const op = (method: Method, action: Action, verb: string, description: string, params: ParamModel[], response: string, body?: string, bodyTypes?: string[]): OperationModel =>
    ({ method, action, operationId: `${verb}${idPart}`, description, gvk, params, response, body, bodyTypes });
  const paths: PathModel[] = [
    {
      path: `${base}${ns}/${k.plural}`, params: [...nsParams, pretty],
      ops: [
        op('get', 'list', 'list', `list or watch objects of kind ${k.kind}`, listParams, e.listName),
        op('post', 'post', 'create', `create a ${k.kind}`, writeParams, e.name, e.name, ['application/json', 'application/yaml']),
      ],
    },
    {
      path: `${base}${ns}/${k.plural}/{name}`, params: [nameParam, ...nsParams, pretty],
      ops: [
        op('get', 'get', 'read', `read the specified ${k.kind}`, [], e.name),
        op('put', 'put', 'replace', `replace the specified ${k.kind}`, writeParams, e.name, e.name, ['application/json', 'application/yaml']),
        op('patch', 'patch', 'patch', `partially update the specified ${k.kind}`, [...writeParams, force], e.name, `${META}.Patch`, patchTypes),
        op('delete', 'delete', 'delete', `delete a ${k.kind}`, [dryRun, q('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.', 'integer'), q('propagationPolicy', 'Whether and how garbage collection will be performed: Orphan, Background or Foreground.')], `${META}.Status`, `${META}.DeleteOptions`, ['application/json']),
      ],
    },
  ];
  if (k.statusSubresource) {
    paths.push({
      path: `${base}${ns}/${k.plural}/{name}/status`, params: [nameParam, ...nsParams, pretty],
      ops: [
        op('get', 'get', 'read', `read status of the specified ${k.kind}`, [], e.name),
        op('put', 'put', 'replace', `replace status of the specified ${k.kind}`, writeParams, e.name, e.name, ['application/json']),
        op('patch', 'patch', 'patch', `partially update status of the specified ${k.kind}`, [...writeParams, force], e.name, `${META}.Patch`, patchTypes),
      ].map((o) => ({ ...o, operationId: `${o.operationId}Status` })),
    });
  }
  if (k.namespaced) {
    paths.push({
      path: `${base}/${k.plural}`, params: [pretty],
      ops: [{ ...op('get', 'list', 'list', `list or watch objects of kind ${k.kind} in all namespaces`, listParams, e.listName), operationId: `list${camel(k.group || 'core')}${camel(k.version)}${k.kind}ForAllNamespaces` }],
    });
  }
  return paths;
}
