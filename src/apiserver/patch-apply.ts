/**
 * Patch documents applied to a stored object: JSON merge patch (RFC 7386), strategic merge patch
 * (as a merge patch that honours the `$patch` directives, which is what it amounts to for kinds
 * without patch-merge-key lists), and JSON patch (RFC 6902, through fast-json-patch).
 */
import jsonPatch from 'fast-json-patch';
import { ApiServerErrors, StatusError, badRequest, failureStatus } from './status.ts';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;
export const ACCEPTED_PATCH_TYPES: string[] = Object.values(PATCH_TYPES);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * RFC 7386 merge: objects merge key by key, `null` deletes, everything else replaces. Written
 * here because it is ten lines and fast-json-patch only does RFC 6902.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v) as Json;
  }
  return out;
}

/**
 * Strategic merge patch for kinds without merge-key lists: a merge patch where lists replace,
 * `$patch: replace` replaces a map, `$patch: delete` removes it, and the bookkeeping directives
 * (`$setElementOrder/...`, `$retainKeys`, `$deleteFromPrimitiveList/...`) are honoured or dropped.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  const base: JsonObject = directive === 'replace' || !isObject(target) ? {} : { ...target };
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      const cur = base[field];
      if (Array.isArray(cur)) base[field] = cur.filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    if (k.startsWith('$')) throw badRequest(`unknown strategic merge patch directive "${k}"`);
    if (v === null) { delete base[k]; continue; }
    const merged = strategicMergePatch(base[k], v);
    if (merged === undefined) delete base[k];
    else base[k] = merged as Json;
  }
  if (retain) for (const k of Object.keys(base)) if (!retain.has(k)) delete base[k];
  return base;
}

/** Applies an RFC 6902 patch; a failing operation (including `test`) → 422 naming the operation. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be an array of operations', ApiServerErrors.MalformedBody);
  try {
    return jsonPatch.applyPatch(structuredClone(target), ops as jsonPatch.Operation[], true, true).newDocument;
  } catch (e) {
    const err = e as { message?: string; index?: number; operation?: { op?: string; path?: string } };
    const at = err.index === undefined ? '' : `operation ${err.index}`;
    const what = err.operation ? ` (${err.operation.op} ${err.operation.path})` : '';
    const first = (err.message ?? String(e)).split('\n')[0];
    throw new StatusError(ApiServerErrors.PatchFailed, failureStatus(422, `the JSON patch could not be applied: ${at}${what}: ${first}`,
      { causes: [{ reason: 'FieldValueInvalid', field: at ? `patch[${err.index}]` : 'patch', message: first }] }));
  }
}

/** Applies a patch of the given content type; the input is left untouched. */
export function applyPatch(type: string, target: unknown, patch: unknown): unknown {
  switch (type) {
    case PATCH_TYPES.merge: return mergePatch(target, requirePatchObject(patch));
    case PATCH_TYPES.strategic: return strategicMergePatch(target, requirePatchObject(patch));
    case PATCH_TYPES.json: return applyJsonPatch(target, patch);
    default: throw badRequest(`unsupported patch type ${type}`);
  }
}

function requirePatchObject(p: unknown): unknown {
  if (!isObject(p)) throw badRequest('a merge patch must be a JSON object', ApiServerErrors.MalformedBody);
  return p;
}

/** True when the patch itself names a resourceVersion (then a conflict is the client's, not retried). */
export function patchNamesResourceVersion(type: string, patch: unknown): boolean {
  if (type === PATCH_TYPES.json) {
    return Array.isArray(patch) && patch.some((op) => isObject(op) && typeof op.path === 'string' && op.path === '/metadata/resourceVersion');
  }
  return isObject(patch) && isObject(patch.metadata) && typeof patch.metadata.resourceVersion === 'string';
}
