/**
 * Structural schemas: the OpenAPI v3 subset Kubernetes accepts for CRDs (type, properties,
 * items, required, enum, format, additionalProperties, nullable, x-kubernetes-int-or-string,
 * x-kubernetes-preserve-unknown-fields), plus descriptions for `kubectl explain`.
 *
 * Written as small builders rather than with a JSON-schema library because the same objects are
 * served verbatim in /openapi/v2 and /openapi/v3, and the walker in validate.ts must report
 * errors in Kubernetes' own wording and field-path form, which generic validators (ajv) do not.
 */
export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface Schema {
  type?: SchemaType;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: (string | number)[];
  format?: string;
  additionalProperties?: Schema;
  nullable?: boolean;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
}

/** Attaches a description. */
export function d<S extends Schema>(description: string, s: S): S {
  return { ...s, description };
}

export const str = (description?: string, format?: string): Schema =>
  ({ type: 'string', ...(format ? { format } : {}), ...(description ? { description } : {}) });
export const int = (description?: string, format: 'int32' | 'int64' = 'int32'): Schema =>
  ({ type: 'integer', format, ...(description ? { description } : {}) });
export const num = (description?: string): Schema => ({ type: 'number', format: 'double', ...(description ? { description } : {}) });
export const bool = (description?: string): Schema => ({ type: 'boolean', ...(description ? { description } : {}) });
export const intOrString = (description?: string): Schema =>
  ({ 'x-kubernetes-int-or-string': true, ...(description ? { description } : {}) });
export const enumOf = (values: (string | number)[], description?: string): Schema =>
  ({ type: typeof values[0] === 'number' ? 'integer' : 'string', enum: values, ...(description ? { description } : {}) });
export const arr = (items: Schema, description?: string): Schema =>
  ({ type: 'array', items, ...(description ? { description } : {}) });
export const strs = (description?: string): Schema => arr({ type: 'string' }, description);
/** A map with string keys: `additionalProperties`. */
export const mapOf = (values: Schema, description?: string): Schema =>
  ({ type: 'object', additionalProperties: values, ...(description ? { description } : {}) });
export const strMap = (description?: string): Schema => mapOf({ type: 'string' }, description);
/** An object whose contents are not checked (Kubernetes' x-kubernetes-preserve-unknown-fields). */
export const anyObject = (description?: string): Schema =>
  ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...(description ? { description } : {}) });
/** Any JSON value. */
export const anyValue = (description?: string): Schema =>
  ({ 'x-kubernetes-preserve-unknown-fields': true, ...(description ? { description } : {}) });

export function obj(properties: Record<string, Schema>, opts: { required?: string[]; description?: string } = {}): Schema {
  const s: Schema = { type: 'object', properties };
  if (opts.description) s.description = opts.description;
  if (opts.required && opts.required.length > 0) s.required = opts.required;
  return s;
}

/** Duration string in protobuf JSON form (`1.5s`, `100ms`, `1m`). */
export const duration = (description?: string): Schema =>
  ({ type: 'string', ...(description ? { description } : { description: 'Duration such as `1s`, `100ms` or `1m`.' }) });

/** Deep-freezes a schema tree so shared fragments cannot be mutated by a consumer. */
export function freeze<S extends Schema>(s: S): S {
  Object.freeze(s);
  if (s.properties) { Object.freeze(s.properties); for (const p of Object.values(s.properties)) freeze(p); }
  if (s.items) freeze(s.items);
  if (s.additionalProperties) freeze(s.additionalProperties);
  if (s.required) Object.freeze(s.required);
  if (s.enum) Object.freeze(s.enum);
  return s;
}
