/**
 * kubectl's client-side apply patch: a three-way JSON merge patch from the last applied
 * configuration (the `kubectl.kubernetes.io/last-applied-configuration` annotation), the new
 * manifest and the live object. Fields the manifest dropped since the last apply are deleted,
 * fields it sets that differ from the live object are set, fields others added are kept; lists
 * are replaced whole (JSON merge patch semantics, as kubectl uses for custom resources).
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/meta.ts';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function threeWayMergePatch(original: Obj | undefined, modified: Obj, current: Obj): Obj {
  const patch: Obj = {};
  if (original) {
    for (const k of Object.keys(original)) if (!(k in modified) && k in current) patch[k] = null;
  }
  for (const [k, m] of Object.entries(modified)) {
    if (m === null) {
      if (k in current) patch[k] = null;
      continue;
    }
    const c = current[k];
    if (isObj(m) && isObj(c)) {
      const sub = threeWayMergePatch(isObj(original?.[k]) ? (original![k] as Obj) : undefined, m, c);
      if (Object.keys(sub).length > 0) patch[k] = sub;
    } else if (!isDeepStrictEqual(m, c)) {
      patch[k] = m;
    }
  }
  return patch;
}

/** The manifest as it is sent: with the last-applied annotation holding the manifest itself. */
export function withLastApplied(obj: KubeObject): KubeObject {
  const clean = structuredClone(obj);
  const ann = { ...(clean.metadata.annotations ?? {}) };
  delete ann[LAST_APPLIED];
  clean.metadata.annotations = ann;
  const text = JSON.stringify(clean) + '\n';
  const out = structuredClone(clean);
  out.metadata.annotations = { ...ann, [LAST_APPLIED]: text };
  return out;
}

export function lastApplied(current: KubeObject): Obj | undefined {
  const text = current.metadata.annotations?.[LAST_APPLIED];
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
