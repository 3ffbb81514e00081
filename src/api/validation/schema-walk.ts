/**
 * Checks a value against a structural schema as the Kubernetes API server does for custom
 * resources: missing required fields, wrong types, values outside an enum, and unknown fields
 * (collected with their paths, for fieldValidation Strict/Warn). Nulls in non-nullable fields are
 * treated as absent, since Kubernetes prunes them before validation (see pruneNulls).
 */
import type { Schema } from '../schema/types.ts';
import { child, FieldErrors, isPlainObject } from './field-errors.ts';

function typeMatches(s: Schema, v: unknown): boolean {
  if (s['x-kubernetes-int-or-string']) return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  switch (s.type) {
    case undefined: return true;
    case 'object': return isPlainObject(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
  }
}

function typeName(s: Schema): string {
  return s['x-kubernetes-int-or-string'] ? 'integer,string' : String(s.type);
}

/**
 * Walks `value` at `path` against `schema`, adding problems to `errs` and unknown field paths to
 * `unknown`. The root call passes path ''.
 */
export function walkSchema(value: unknown, schema: Schema, path: string, errs: FieldErrors, unknown: string[]): void {
  if (value === null) {
    return; // nullable → allowed; otherwise pruned, i.e. absent
  }
  if (!typeMatches(schema, value)) {
    errs.typeInvalid(path || '<root>', value, typeName(schema));
    return;
  }
  if (schema.enum && !schema.enum.includes(value as string | number)) {
    errs.notSupported(path, value, schema.enum);
  }
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => walkSchema(item, schema.items!, child(path, i), errs, unknown));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const req of schema.required ?? []) {
    if (value[req] === undefined || value[req] === null) errs.required(child(path, req));
  }
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [k, v] of Object.entries(value)) {
    const sub = schema.properties?.[k];
    if (sub) { walkSchema(v, sub, child(path, k), errs, unknown); continue; }
    if (schema.additionalProperties) { walkSchema(v, schema.additionalProperties, child(path, k, true), errs, unknown); continue; }
    if (!preserve) unknown.push(child(path, k));
  }
}

/** Returns a copy of `value` without nulls where the schema does not allow them (Kubernetes' pruning). */
export function pruneNulls(value: unknown, schema: Schema | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => pruneNulls(item, schema?.items));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const sub = schema?.properties?.[k] ?? schema?.additionalProperties;
    if (v === null && !(sub?.nullable) && schema && !schema['x-kubernetes-preserve-unknown-fields']) continue;
    out[k] = pruneNulls(v, sub);
  }
  return out;
}
