/**
 * Canonical JSON (object keys sorted) and a content hash of a resource, for per-resource
 * versions: equal resources hash equal regardless of how their objects were assembled.
 * Hand-written: a dozen lines, and the xDS server needs exactly this canonical form.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** 16 hex chars of sha256 over the canonical JSON. */
export function resourceHash(obj: unknown): string {
  return createHash('sha256').update(canonicalJson(obj)).digest('hex').slice(0, 16);
}
