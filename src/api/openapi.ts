/**
 * OpenAPI documents as the Kubernetes API server publishes them:
 *   /openapi/v3                 → openapiV3Paths(): the index, one entry per group-version
 *   /openapi/v3/apis/G/V        → openapiV3Document('apis/G/V'): schemas + paths
 *   /openapi/v2                 → openapiV2Document(): swagger 2.0 JSON (openapi-v2.ts), and
 *                                 openapiV2Protobuf() when the client accepts
 *                                 OPENAPI_V2_PROTOBUF_MEDIA_TYPE (kubectl always does; send it
 *                                 as Content-Type application/octet-stream, as Kubernetes does)
 * With these, plain `kubectl apply -f` (validation on) uses server-side field validation and
 * `kubectl explain ksvc.spec` finds the schema. Documents are built once and cached; every call
 * returns the same frozen object, so callers must not modify them.
 */
import { createHash } from 'node:crypto';
import { kindEntries, kindPaths, metaSchemas, groupVersionPath, type KindEntry, type OperationModel, type ParamModel, type PathModel } from './openapi-model.ts';
import type { Schema } from './schema/types.ts';

export { openapiV2Document } from './openapi-v2.ts';
export { OPENAPI_V2_PROTOBUF_MEDIA_TYPE, openapiV2Protobuf } from './openapi-v2-proto.ts';

const REF = '#/components/schemas/';
/** The Kubernetes minor version sluice's API mimics, reported in info.version. */
export const OPENAPI_INFO = { title: 'sluice', version: 'v1.32.0' } as const;

function v3Param(p: ParamModel): Record<string, unknown> {
  return {
    name: p.name, in: p.in, description: p.description,
    ...(p.required ? { required: true } : {}),
    schema: { type: p.type, uniqueItems: true },
  };
}

function jsonContent(schemaName: string, types: string[]): Record<string, unknown> {
  return Object.fromEntries(types.map((t) => [t, { schema: { $ref: `${REF}${schemaName}` } }]));
}

function v3Operation(o: OperationModel, tag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    tags: [tag],
    description: o.description,
    operationId: o.operationId,
  };
  if (o.params.length > 0) out.parameters = o.params.map(v3Param);
  if (o.body) out.requestBody = { content: jsonContent(o.body, o.bodyTypes ?? ['application/json']), required: true };
  const ok = { description: 'OK', content: jsonContent(o.response, ['application/json', 'application/yaml']) };
  out.responses = o.method === 'post'
    ? { 200: ok, 201: { ...ok, description: 'Created' }, 202: { ...ok, description: 'Accepted' }, 401: { description: 'Unauthorized' } }
    : o.method === 'put' || o.method === 'patch'
      ? { 200: ok, 201: { ...ok, description: 'Created' }, 401: { description: 'Unauthorized' } }
      : { 200: ok, 401: { description: 'Unauthorized' } };
  out['x-kubernetes-action'] = o.action;
  out['x-kubernetes-group-version-kind'] = o.gvk;
  return out;
}

function v3Path(p: PathModel, tag: string): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const o of p.ops) item[o.method] = v3Operation(o, tag);
  item.parameters = p.params.map(v3Param);
  return item;
}

function tagOf(e: KindEntry): string {
  return `${(e.kind.group || 'core').replace(/\./g, '_')}_${e.kind.version}`;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

function buildV3Documents(): Map<string, Record<string, unknown>> {
  const byGv = new Map<string, KindEntry[]>();
  for (const e of kindEntries(REF)) {
    const gv = groupVersionPath(e.kind);
    byGv.set(gv, [...(byGv.get(gv) ?? []), e]);
  }
  const docs = new Map<string, Record<string, unknown>>();
  for (const [gv, entries] of byGv) {
    const schemas: Record<string, Schema> = { ...metaSchemas };
    const paths: Record<string, unknown> = {};
    for (const e of entries) {
      schemas[e.name] = e.schema;
      schemas[e.listName] = e.list;
      for (const p of kindPaths(e)) paths[p.path] = v3Path(p, tagOf(e));
    }
    const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    docs.set(gv, deepFreeze({
      openapi: '3.0.0',
      info: { ...OPENAPI_INFO },
      paths,
      components: { schemas: sorted, securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } } },
    }));
  }
  return docs;
}

let cache: { docs: Map<string, Record<string, unknown>>; index: { paths: Record<string, { serverRelativeURL: string }> } } | undefined;

function built(): NonNullable<typeof cache> {
  if (cache) return cache;
  const docs = buildV3Documents();
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [gv, doc] of [...docs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // The hash lets clients cache each document forever (Kubernetes uses the same scheme).
    const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` };
  }
  cache = { docs, index: deepFreeze({ paths }) };
  return cache;
}

/** The /openapi/v3 index: `{ paths: { 'api/v1': { serverRelativeURL }, 'apis/serving.knative.dev/v1': ... } }`. */
export function openapiV3Paths(): { paths: Record<string, { serverRelativeURL: string }> } {
  return built().index;
}

/** The OpenAPI v3 document of one group-version (`apis/serving.knative.dev/v1`, `api/v1`); a leading `/` or `?hash=` is ignored. */
export function openapiV3Document(groupVersionPath: string): object | undefined {
  const key = groupVersionPath.replace(/^\/+/, '').replace(/^openapi\/v3\//, '').replace(/[?#].*$/, '').replace(/\/+$/, '');
  return built().docs.get(key);
}
