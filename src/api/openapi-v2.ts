/**
 * /openapi/v2: the swagger 2.0 document older kubectl versions read (explain, client-side
 * validation, the fieldValidation query-parameter check). Swagger 2.0 has no `nullable` and no
 * int-or-string type, so schemas are converted the way Kubernetes publishes them: nullable
 * dropped, int-or-string as `type: string, format: int-or-string`, refs under #/definitions/.
 */
import { kindEntries, kindPaths, metaSchemas, type OperationModel, type ParamModel, type PathModel } from './openapi-model.ts';
import type { Schema } from './schema/types.ts';

const REF = '#/definitions/';
const V3REF = '#/components/schemas/';

/** Converts one structural schema (v3 form) to its swagger 2.0 form. */
export function toSwaggerSchema(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
    if (k === 'nullable') continue;
    if (k === 'x-kubernetes-int-or-string') { out.type = 'string'; out.format = 'int-or-string'; out[k] = v; continue; }
    if (k === '$ref' && typeof v === 'string') { out.$ref = v.replace(V3REF, REF); continue; }
    if (k === 'properties' && v) {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([pk, pv]) => [pk, toSwaggerSchema(pv)]));
      continue;
    }
    if ((k === 'items' || k === 'additionalProperties') && v && typeof v === 'object') { out[k] = toSwaggerSchema(v as Schema); continue; }
    out[k] = v;
  }
  return out;
}

function v2Param(p: ParamModel): Record<string, unknown> {
  return { name: p.name, in: p.in, description: p.description, ...(p.required ? { required: true } : {}), type: p.type, uniqueItems: true };
}

function v2Operation(o: OperationModel, tag: string): Record<string, unknown> {
  const params = o.params.map(v2Param);
  if (o.body) params.unshift({ name: 'body', in: 'body', required: true, schema: { $ref: `${REF}${o.body}` } });
  const ok = { description: 'OK', schema: { $ref: `${REF}${o.response}` } };
  const out: Record<string, unknown> = {
    description: o.description,
    consumes: o.bodyTypes ?? ['*/*'],
    produces: ['application/json', 'application/yaml'],
    schemes: ['https'],
    tags: [tag],
    operationId: o.operationId,
    parameters: params,
    responses: o.method === 'post' ? { 200: ok, 201: { ...ok, description: 'Created' }, 401: { description: 'Unauthorized' } } : { 200: ok, 401: { description: 'Unauthorized' } },
    'x-kubernetes-action': o.action,
    'x-kubernetes-group-version-kind': o.gvk,
  };
  if (params.length === 0) delete out.parameters;
  return out;
}

function v2Path(p: PathModel, tag: string): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const o of p.ops) item[o.method] = v2Operation(o, tag);
  item.parameters = p.params.map(v2Param);
  return item;
}

let cached: object | undefined;

/** The swagger 2.0 document: every kind's definition with `x-kubernetes-group-version-kind`, and its paths. */
export function openapiV2Document(): object {
  if (cached) return cached;
  const definitions: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(metaSchemas)) definitions[name] = toSwaggerSchema(s);
  for (const e of kindEntries(REF)) {
    definitions[e.name] = toSwaggerSchema(e.schema);
    definitions[e.listName] = toSwaggerSchema(e.list);
    const tag = `${(e.kind.group || 'core').replace(/\./g, '_')}_${e.kind.version}`;
    for (const p of kindPaths(e)) paths[p.path] = v2Path(p, tag);
  }
  const sortedDefs = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  cached = Object.freeze({
    swagger: '2.0',
    info: { title: 'sluice', version: 'v1.32.0' },
    paths,
    definitions: sortedDefs,
    securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication' } },
    security: [{ BearerToken: [] }],
  });
  return cached;
}
