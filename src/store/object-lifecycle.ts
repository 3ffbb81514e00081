/**
 * Object lifecycle rules shared by every store backend (Kubernetes' generic registry
 * strategies): what create fills in, what update may change, when generation moves, how the
 * status subresource splits writes, and what delete does with finalizers. Pure: inputs + `now`
 * in, a new object out; the engine assigns resourceVersions and persists.
 */
import type { KubeObject, ObjectMeta } from '../api/meta.ts';
import type { KindInfo } from '../api/registry.ts';
import { isoTime } from '../lib/clock.ts';
import type { Rng } from '../lib/rng.ts';
import type { DeleteOptions, UpdateOptions } from './store.ts';
import { badRequest, conflict, invalid } from './store-errors.ts';

/** Deep copy of a JSON object (store objects are plain JSON: no Dates, Maps or undefined-in-arrays). */
export function copyJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Structural equality of JSON values, insensitive to key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

/** The part of an object whose change bumps generation: spec, or every non-meta top-level field for spec-less kinds. */
function generationSubject(o: KubeObject): unknown {
  if (o.spec !== undefined) return o.spec;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') rest[k] = v;
  return rest;
}

// Kubernetes' generateName alphabet: no vowels (no accidental words), no 0/1/3 (look like letters).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(rng: Rng, n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SUFFIX_ALPHABET[Math.floor(rng.next() * SUFFIX_ALPHABET.length)];
  return s;
}

function checkMeta(kind: KindInfo, obj: KubeObject, where: string): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw badRequest(`${where}: the object must be a JSON object`);
  if (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
    throw invalid(kind, '', 'metadata', 'Required value: an object needs metadata');
  }
}

export function checkName(kind: KindInfo, name: string | undefined): string {
  if (typeof name !== 'string' || name === '') throw invalid(kind, '', 'metadata.name', 'Required value: name or generateName is required');
  if (name === '.' || name === '..' || name.includes('/') || name.includes('%') || name.length > 253) {
    throw invalid(kind, name, 'metadata.name', `Invalid value: "${name}": may not be '.' or '..', contain '/' or '%', or exceed 253 characters`);
  }
  return name;
}

/** The namespace an object lives in: required for namespaced kinds, '' for cluster-scoped ones. */
export function namespaceOf(kind: KindInfo, meta: ObjectMeta, name: string): string {
  if (!kind.namespaced) return '';
  const ns = meta.namespace;
  if (typeof ns !== 'string' || ns === '') throw invalid(kind, name, 'metadata.namespace', 'Required value: a namespaced object needs a namespace');
  if (ns.includes('/') || ns.includes('%')) throw invalid(kind, name, 'metadata.namespace', `Invalid value: "${ns}": may not contain '/' or '%'`);
  return ns;
}

export interface CreateContext { now: number; uid: string; rng: Rng }

/**
 * Custom-resource kinds (non-core groups: Knative, Istio) with a status subresource ignore
 * status on create, as Kubernetes' CRD strategy does. Core kinds keep what is given: their
 * Kubernetes strategies set status defaults (a Namespace is created Active) and sluice's own
 * components write those defaults at create.
 */
export function dropsStatusOnCreate(kind: KindInfo): boolean {
  return kind.statusSubresource && kind.group !== '';
}

/**
 * The object a create stores (without resourceVersion: the engine stamps it). Fills uid,
 * creationTimestamp, generation=1, a generateName suffix; drops deletion fields and, where
 * dropsStatusOnCreate says so, status.
 */
export function prepareCreate(kind: KindInfo, input: KubeObject, ctx: CreateContext): KubeObject {
  checkMeta(kind, input, 'create');
  const obj = copyJson(input);
  const m = obj.metadata;
  if ((m.name === undefined || m.name === '') && typeof m.generateName === 'string' && m.generateName !== '') {
    m.name = m.generateName + randomSuffix(ctx.rng);
  }
  const name = checkName(kind, m.name);
  const ns = namespaceOf(kind, m, name);
  if (ns === '') delete m.namespace;
  m.uid = ctx.uid;
  m.creationTimestamp = isoTime(ctx.now);
  m.generation = 1;
  delete m.resourceVersion;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  if (m.finalizers !== undefined && m.finalizers.length === 0) delete m.finalizers;
  if (dropsStatusOnCreate(kind)) delete obj.status;
  return obj;
}

export interface UpdateResult {
  obj: KubeObject;
  /** Nothing changed: Kubernetes skips the write (no new resourceVersion, no watch event). */
  noop: boolean;
  /** The object carries a deletionTimestamp and no finalizers: the update removes it. */
  remove: boolean;
}

/** Checks an optimistic-concurrency precondition carried in `metadata.resourceVersion`. */
export function checkResourceVersion(kind: KindInfo, stored: KubeObject, given: string | undefined): void {
  if (given !== undefined && given !== '' && given !== stored.metadata.resourceVersion) throw conflict(kind, stored.metadata.name!);
}

/** The object an update stores, from the stored object and the caller's input (not mutated). */
export function prepareUpdate(kind: KindInfo, stored: KubeObject, input: KubeObject, opts: UpdateOptions | undefined): UpdateResult {
  checkMeta(kind, input, 'update');
  const name = stored.metadata.name!;
  checkResourceVersion(kind, stored, input.metadata.resourceVersion);
  const sm = stored.metadata;
  if (input.metadata.uid !== undefined && input.metadata.uid !== '' && input.metadata.uid !== sm.uid) {
    throw invalid(kind, name, 'metadata.uid', `Invalid value: "${input.metadata.uid}": field is immutable`);
  }
  let obj: KubeObject;
  if (opts?.subresource === 'status') {
    if (!kind.statusSubresource) throw badRequest(`${kind.plural} have no status subresource: update "${name}" without subresource "status"`, name);
    // Status writes take only status (metav1.ResetObjectMetaForStatus): metadata and spec stay.
    obj = copyJson(stored);
    if (input.status === undefined) delete obj.status; else obj.status = copyJson(input.status);
  } else {
    obj = copyJson(input);
    if (kind.statusSubresource) {
      if (stored.status === undefined) delete obj.status; else obj.status = copyJson(stored.status);
    }
    const m = obj.metadata;
    m.name = sm.name;
    if (sm.namespace === undefined) delete m.namespace; else m.namespace = sm.namespace;
    m.uid = sm.uid;
    m.creationTimestamp = sm.creationTimestamp;
    if (sm.deletionTimestamp === undefined) { delete m.deletionTimestamp; delete m.deletionGracePeriodSeconds; } else {
      m.deletionTimestamp = sm.deletionTimestamp;
      m.deletionGracePeriodSeconds = sm.deletionGracePeriodSeconds;
      const before = new Set(sm.finalizers ?? []);
      const added = (m.finalizers ?? []).filter((f) => !before.has(f));
      if (added.length > 0) throw invalid(kind, name, 'metadata.finalizers', `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`);
    }
    if (m.finalizers !== undefined && m.finalizers.length === 0) delete m.finalizers;
    m.generation = (sm.generation ?? 1) + (jsonEqual(generationSubject(obj), generationSubject(stored)) ? 0 : 1);
  }
  obj.metadata.resourceVersion = sm.resourceVersion;
  const noop = jsonEqual(withoutManaged(obj), withoutManaged(stored));
  const remove = obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).length === 0;
  return { obj, noop, remove };
}

function withoutManaged(o: KubeObject): KubeObject {
  if (o.metadata.managedFields === undefined) return o;
  return { ...o, metadata: { ...o.metadata, managedFields: undefined } };
}

/** Checks delete preconditions (uid, resourceVersion) against the stored object. */
export function checkDeletePreconditions(kind: KindInfo, stored: KubeObject, opts: DeleteOptions | undefined): void {
  const p = opts?.preconditions;
  if (!p) return;
  const name = stored.metadata.name!;
  if (p.uid !== undefined && p.uid !== stored.metadata.uid) {
    throw conflict(kind, name, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${stored.metadata.uid}`);
  }
  if (p.resourceVersion !== undefined && p.resourceVersion !== stored.metadata.resourceVersion) {
    throw conflict(kind, name, `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${stored.metadata.resourceVersion}`);
  }
}

/** The finalizer Kubernetes puts on an owner deleted with propagationPolicy Foreground. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/**
 * What delete does to a stored object: 'remove' it, 'mark' it (copy with deletionTimestamp, it has
 * finalizers), or nothing ('noop': already marked).
 */
export function prepareDelete(stored: KubeObject, now: number, extraFinalizer?: string): { action: 'remove' } | { action: 'noop' } | { action: 'mark'; obj: KubeObject } {
  const fins = stored.metadata.finalizers ?? [];
  if (fins.length === 0 && extraFinalizer === undefined) return { action: 'remove' };
  if (stored.metadata.deletionTimestamp !== undefined && (extraFinalizer === undefined || fins.includes(extraFinalizer))) return { action: 'noop' };
  const obj = copyJson(stored);
  obj.metadata.deletionTimestamp ??= isoTime(now);
  obj.metadata.deletionGracePeriodSeconds ??= 0;
  if (extraFinalizer !== undefined && !fins.includes(extraFinalizer)) obj.metadata.finalizers = [...fins, extraFinalizer];
  return { action: 'mark', obj };
}

/** A copy of `obj` without `finalizer`; `remove` says whether that empties a deleting object's finalizers. */
export function dropFinalizer(obj: KubeObject, finalizer: string): { obj: KubeObject; remove: boolean } {
  const out = copyJson(obj);
  const fins = (out.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  if (fins.length === 0) delete out.metadata.finalizers; else out.metadata.finalizers = fins;
  return { obj: out, remove: out.metadata.deletionTimestamp !== undefined && fins.length === 0 };
}

/** A copy of `obj` without ownerReferences to `ownerUid` (orphaning). */
export function dropOwnerRef(obj: KubeObject, ownerUid: string): KubeObject {
  const out = copyJson(obj);
  const refs = (out.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
  if (refs.length === 0) delete out.metadata.ownerReferences; else out.metadata.ownerReferences = refs;
  return out;
}
