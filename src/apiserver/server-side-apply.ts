/**
 * Server-side apply (`application/apply-patch+yaml`) for whole objects. Each field manager's
 * applied field set is recorded in metadata.managedFields (FieldsV1, lists owned atomically);
 * a new apply by the same manager removes the fields it set before and no longer sets, then
 * merges the new configuration (maps merge, lists replace). Conflicts between managers are not
 * tracked: the last applier wins, as with `--force-conflicts`.
 */
import type { KubeObject } from '../api/meta.ts';
import { isoTime } from '../lib/clock.ts';
import { mergePatch } from './patch-apply.ts';

type FieldSet = { [k: string]: FieldSet };
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldSet;
  subresource?: string;
}

function setOf(v: unknown): FieldSet {
  if (!isObj(v)) return {};
  const out: FieldSet = {};
  for (const [k, x] of Object.entries(v)) out[`f:${k}`] = setOf(x);
  return out;
}

/** The field set an applied configuration claims: everything but identity and status. */
export function appliedFieldSet(config: Obj): FieldSet {
  const out: FieldSet = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata') {
      if (!isObj(v)) continue;
      const md: FieldSet = {};
      for (const m of ['labels', 'annotations', 'finalizers', 'ownerReferences']) if (v[m] !== undefined) md[`f:${m}`] = setOf(v[m]);
      if (Object.keys(md).length > 0) out['f:metadata'] = md;
      continue;
    }
    out[`f:${k}`] = setOf(v);
  }
  return out;
}

/** Removes from `obj` the fields in `prev` that are absent from `next` (in place). */
export function removeReleased(obj: Obj, prev: FieldSet, next: FieldSet): void {
  for (const [fk, sub] of Object.entries(prev)) {
    const key = fk.slice(2);
    if (!(fk in next)) {
      delete obj[key];
      continue;
    }
    const child = obj[key];
    if (isObj(child) && Object.keys(sub).length > 0) removeReleased(child, sub, next[fk]);
  }
}

/** Computes the object after `manager` applies `config` to `current` (undefined = create). */
export function serverSideApply(current: KubeObject | undefined, config: Obj, manager: string, nowMs: number): KubeObject {
  const fields = appliedFieldSet(config);
  const applied = structuredClone(config);
  delete applied.status;
  const base: Obj = current ? structuredClone(current) as Obj : {};
  const md0 = (isObj(base.metadata) ? base.metadata : {}) as { managedFields?: ManagedFieldsEntry[] };
  const entries: ManagedFieldsEntry[] = Array.isArray(md0.managedFields) ? md0.managedFields : [];
  const prev = entries.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource);
  if (prev) removeReleased(base, prev.fieldsV1, fields);
  const merged = mergePatch(base, stripNulls(applied)) as KubeObject;
  const entry: ManagedFieldsEntry = {
    manager, operation: 'Apply', apiVersion: String(config.apiVersion ?? merged.apiVersion), time: isoTime(nowMs), fieldsType: 'FieldsV1', fieldsV1: fields,
  };
  merged.metadata.managedFields = [...entries.filter((e) => e !== prev), entry];
  if (current) {
    merged.metadata.resourceVersion = current.metadata.resourceVersion;
    if (current.status !== undefined) merged.status = current.status;
  }
  return merged;
}

/** An applied configuration's explicit nulls mean "unset", never "delete someone else's field". */
function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = stripNulls(x);
  return out;
}
