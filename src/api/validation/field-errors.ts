/**
 * Field errors in Kubernetes' own form (k8s.io/apimachinery/pkg/util/validation/field): each
 * becomes a StatusCause {reason, message, field}, where field is a path like
 * `spec.template.spec.containers[0].image` and message is the error body
 * (`Required value`, `Invalid value: "x": detail`, `Unsupported value: ...`).
 */
import type { StatusCause } from '../meta.ts';

export type FieldErrorReason =
  | 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate'
  | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueTypeInvalid' | 'FieldValueNotFound';

/** Joins a field path: `child('spec', 'traffic')`, `child('a', 0)` → `a[0]`, `child('labels', 'x/y', true)` → `labels[x/y]`. */
export function child(path: string, name: string | number, key = false): string {
  if (typeof name === 'number' || key) return `${path}[${name}]`;
  return path ? `${path}.${name}` : name;
}

/** Formats a bad value as Go's field errors do: strings quoted, numbers and booleans bare, others as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v ?? 'null');
  try { return JSON.stringify(v); } catch { return String(v); }
}

export function quoteList(values: readonly (string | number)[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

/** Collects every problem found in one object; never stops at the first. */
export class FieldErrors {
  readonly causes: StatusCause[] = [];
  /** Problems that do not refuse the object; the API server sends them as Warning headers. */
  readonly warnings: string[] = [];

  /** Records a warning about `field` (`spec.rules: ...`). */
  warn(field: string, message: string): void {
    const line = `${field}: ${message}`;
    if (!this.warnings.includes(line)) this.warnings.push(line);
  }

  private add(reason: FieldErrorReason, field: string, message: string): void {
    // The schema walk and a semantic check may find the same problem; report it once.
    if (this.causes.some((c) => c.field === field && c.reason === reason && c.message === message)) return;
    this.causes.push({ reason, message, field });
  }

  /** Whether a problem of this reason (any reason when omitted) is already recorded at `field`. */
  has(field: string, reason?: FieldErrorReason): boolean {
    return this.causes.some((c) => c.field === field && (reason === undefined || c.reason === reason));
  }

  get length(): number { return this.causes.length; }

  required(field: string, detail?: string): void {
    this.add('FieldValueRequired', field, detail ? `Required value: ${detail}` : 'Required value');
  }

  invalid(field: string, value: unknown, detail: string): void {
    this.add('FieldValueInvalid', field, `Invalid value: ${formatValue(value)}: ${detail}`);
  }

  typeInvalid(field: string, value: unknown, want: string): void {
    const got = jsonType(value);
    this.add('FieldValueTypeInvalid', field, `Invalid value: "${got}": ${field} in body must be of type ${want}: "${got}"`);
  }

  notSupported(field: string, value: unknown, supported: readonly (string | number)[]): void {
    this.add('FieldValueNotSupported', field, `Unsupported value: ${formatValue(value)}: supported values: ${quoteList(supported)}`);
  }

  duplicate(field: string, value: unknown): void {
    this.add('FieldValueDuplicate', field, `Duplicate value: ${formatValue(value)}`);
  }

  forbidden(field: string, detail: string): void {
    this.add('FieldValueForbidden', field, `Forbidden: ${detail}`);
  }

  tooLong(field: string, max: number): void {
    this.add('FieldValueTooLong', field, `Too long: may not be more than ${max} bytes`);
  }

  notFound(field: string, value: unknown): void {
    this.add('FieldValueNotFound', field, `Not found: ${formatValue(value)}`);
  }
}

/** The JSON type name Kubernetes prints in type errors. */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v === 'object' ? 'object' : typeof v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Formats a Kubernetes field error line: `field: message`. */
export function causeLine(c: StatusCause): string {
  return c.field ? `${c.field}: ${c.message}` : c.message;
}
