/**
 * Field selectors: `metadata.name` and `metadata.namespace` with `=`, `==` and `!=`, joined by
 * `,` (AND) — the fields every Kubernetes resource supports. Written by hand: the grammar is a
 * split on ',' and an operator search, smaller than any dependency.
 */
import type { KubeObject } from '../api/meta.ts';
import { badRequest } from './store-errors.ts';

export type FieldName = 'metadata.name' | 'metadata.namespace';
export interface FieldRequirement { field: FieldName; op: 'eq' | 'neq'; value: string }
export interface FieldSelector { requirements: FieldRequirement[]; empty: boolean; matches(obj: KubeObject): boolean }

const SUPPORTED: readonly FieldName[] = ['metadata.name', 'metadata.namespace'];

function fieldValue(obj: KubeObject, f: FieldName): string {
  return (f === 'metadata.name' ? obj.metadata.name : obj.metadata.namespace) ?? '';
}

const cache = new Map<string, FieldSelector>();
const CACHE_MAX = 512;

/** Parses a field selector; '' or undefined selects everything. Throws SLUICE_E_BAD_REQUEST naming the bad term. */
export function parseFieldSelector(src: string | undefined): FieldSelector {
  const s = (src ?? '').trim();
  const hit = cache.get(s);
  if (hit) return hit;
  const requirements: FieldRequirement[] = [];
  if (s !== '') {
    for (const raw of s.split(',')) {
      const term = raw.trim();
      const m = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(term);
      if (!m) throw badRequest(`invalid fieldSelector "${s}": term "${term}" is not of the form field=value, field==value or field!=value`);
      const field = m[1]!.trim();
      if (!(SUPPORTED as readonly string[]).includes(field)) {
        throw badRequest(`invalid fieldSelector "${s}": field label "${field}" not supported (supported: ${SUPPORTED.join(', ')})`);
      }
      const value = m[3]!.trim();
      if (/[=!,]/.test(value)) throw badRequest(`invalid fieldSelector "${s}": value "${value}" in term "${term}" contains an operator character`);
      requirements.push({ field: field as FieldName, op: m[2] === '!=' ? 'neq' : 'eq', value });
    }
  }
  const sel: FieldSelector = {
    requirements,
    empty: requirements.length === 0,
    matches: (obj) => requirements.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === 'eq')),
  };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(s, sel);
  return sel;
}

/** The namespace a field selector pins (`metadata.namespace=x`), so callers can narrow a scan. */
export function pinnedNamespace(sel: FieldSelector): string | undefined {
  return sel.requirements.find((r) => r.field === 'metadata.namespace' && r.op === 'eq')?.value;
}
