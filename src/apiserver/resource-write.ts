/**
 * Writes on resources: create (POST), update (PUT, also /status), patch (merge, strategic,
 * JSON patch, server-side apply; also /status), delete and deletecollection. Every write goes
 * through admission (defaulting + validation) and answers a Kubernetes Status on failure;
 * dryRun=All runs everything but the store write.
 */
import type { ServerResponse } from 'node:http';
import { admit } from '../api/admission.ts';
import type { KubeObject } from '../api/meta.ts';
import { apiVersionOf } from '../api/registry.ts';
import { isoTime } from '../lib/clock.ts';
import { isSluiceError } from '../lib/errors.ts';
import { StoreErrors, type DeleteOptions } from '../store/store.ts';
import { decodeBody, formatFor, mediaType, readBody, requireObject } from './decode-body.ts';
import { checkIdentity, qualified, rid, type HandlerContext } from './handler-context.ts';
import { dryRunParam, fieldValidationParam, sendJson, warningHeader, type FieldValidation } from './http-util.ts';
import { ACCEPTED_PATCH_TYPES, PATCH_TYPES, applyPatch, patchNamesResourceVersion } from './patch-apply.ts';
import { KUBE_PROTOBUF, decodeKubeProtobuf } from './protobuf-body.ts';
import { serverSideApply } from './server-side-apply.ts';
import { BUILTIN_NAMESPACES } from './namespace-guard.ts';
import { ApiServerErrors, StatusError, badRequest, failureStatus, notFoundError, successStatus } from './status.ts';

const OBJECT_TYPES = ['application/json', 'application/yaml', KUBE_PROTOBUF];
const PATCH_RETRIES = 5;

async function readObject(ctx: HandlerContext, accepted: string[]): Promise<{ body: unknown; type: string }> {
  const raw = mediaType(ctx.req.headers['content-type']);
  const type = raw === '' ? 'application/json' : raw;
  const format = formatFor(type, accepted);
  const buf = await readBody(ctx.req, ctx.state.bodyLimit);
  if (type === KUBE_PROTOBUF) return { body: decodeKubeProtobuf(buf), type };
  return { body: decodeBody(buf, format), type };
}

function admitOrThrow(obj: KubeObject, ctx: HandlerContext, operation: 'CREATE' | 'UPDATE', fv: FieldValidation, old?: KubeObject): { object: KubeObject; warnings: string[] } {
  const k = ctx.r.kind;
  const result = admit(obj, { operation, old, fieldValidation: fv, expect: { apiVersion: apiVersionOf(k), kind: k.kind } });
  if (!result.ok) throw new StatusError(result.code, result.status);
  return { object: result.object as KubeObject, warnings: result.warnings ?? [] };
}

function send(res: ServerResponse, code: number, obj: unknown, warnings: string[]): void {
  sendJson(res, code, obj, warnings.length > 0 ? { Warning: warnings.map(warningHeader) } : undefined);
}

function notFound(ctx: HandlerContext): StatusError {
  const k = ctx.r.kind;
  return notFoundError(`${qualified(k)} "${ctx.r.name}" not found`, { name: ctx.r.name, group: k.group, kind: k.plural });
}

export async function handleCreate(ctx: HandlerContext): Promise<void> {
  const { r, state, url } = ctx;
  if (r.name !== undefined) throw badRequest(`POST is for collections: send it to the ${qualified(r.kind)} collection, not to "${r.name}"`);
  const q = url.searchParams;
  const fv = fieldValidationParam(q);
  const dry = dryRunParam(q);
  const { body } = await readObject(ctx, OBJECT_TYPES);
  const obj = checkIdentity(requireObject(body), r, 'create');
  if (obj.metadata.resourceVersion) {
    throw badRequest('resourceVersion should not be set on objects to be created', ApiServerErrors.BadRequest,
      [{ reason: 'FieldValueForbidden', field: 'metadata.resourceVersion', message: 'must be empty on create' }]);
  }
  await state.namespaces.require(r.namespace);
  const { object, warnings } = admitOrThrow(obj, ctx, 'CREATE', fv);
  if (dry) {
    object.metadata.creationTimestamp ??= isoTime(state.clock.now());
    object.metadata.generation ??= 1;
    send(ctx.res, 201, object, warnings);
    return;
  }
  const created = await state.store.create(rid(r.kind), object);
  send(ctx.res, 201, created, warnings);
}

export async function handleUpdate(ctx: HandlerContext): Promise<void> {
  const { r, state, url } = ctx;
  if (r.name === undefined) throw badRequest(`PUT needs an object name in the URL (${url.pathname})`);
  const q = url.searchParams;
  const fv = fieldValidationParam(q);
  const dry = dryRunParam(q);
  const { body } = await readObject(ctx, OBJECT_TYPES);
  const obj = checkIdentity(requireObject(body), r, 'update');
  await state.namespaces.require(r.namespace);
  const old = await state.store.get(rid(r.kind), r.namespace, r.name);
  if (!old) throw notFound(ctx);
  await writeUpdate(ctx, obj, old, fv, dry, 200);
}

/** Admits `obj` as an update of `old` and stores it (main resource or /status). */
async function writeUpdate(ctx: HandlerContext, obj: KubeObject, old: KubeObject, fv: FieldValidation, dry: boolean, code: number): Promise<void> {
  const { r, state } = ctx;
  const status = r.subresource === 'status';
  // A /status write takes only status from the body; the rest is the stored object.
  const candidate: KubeObject = status ? { ...structuredClone(old), status: obj.status, metadata: { ...structuredClone(old.metadata), resourceVersion: obj.metadata.resourceVersion ?? old.metadata.resourceVersion } } : obj;
  const { object, warnings } = admitOrThrow(candidate, ctx, 'UPDATE', fv, old);
  if (dry) {
    send(ctx.res, code, object, warnings);
    return;
  }
  const updated = await state.store.update(rid(r.kind), object, status ? { subresource: 'status' } : undefined);
  send(ctx.res, code, updated, warnings);
}

export async function handlePatch(ctx: HandlerContext): Promise<void> {
  const { r, state, url } = ctx;
  if (r.name === undefined) throw badRequest(`PATCH needs an object name in the URL (${url.pathname})`);
  const q = url.searchParams;
  const fv = fieldValidationParam(q);
  const dry = dryRunParam(q);
  const { body: patch, type } = await readObject(ctx, ACCEPTED_PATCH_TYPES);
  await state.namespaces.require(r.namespace);
  if (type === PATCH_TYPES.apply) return applyServerSide(ctx, requireObject(patch), fv, dry);
  const ownRv = patchNamesResourceVersion(type, patch);
  for (let attempt = 0; ; attempt++) {
    const cur = await state.store.get(rid(r.kind), r.namespace, r.name);
    if (!cur) throw notFound(ctx);
    const patched = applyPatch(type, cur, patch);
    const obj = checkIdentity(requireObject(patched, 'the patched object'), r, 'update');
    if (!ownRv) obj.metadata.resourceVersion = cur.metadata.resourceVersion;
    try {
      await writeUpdate(ctx, obj, cur, fv, dry, 200);
      return;
    } catch (e) {
      // Without a resourceVersion of its own, a patch applies to whatever is current: retry.
      if (ownRv || attempt >= PATCH_RETRIES || !isSluiceError(e, StoreErrors.Conflict)) throw e;
    }
  }
}

async function applyServerSide(ctx: HandlerContext, config: Record<string, unknown>, fv: FieldValidation, dry: boolean): Promise<void> {
  const { r, state, url } = ctx;
  const manager = url.searchParams.get('fieldManager');
  if (!manager) {
    throw badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', ApiServerErrors.BadRequest,
      [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }]);
  }
  const applied = checkIdentity(config, r, 'update');
  for (let attempt = 0; ; attempt++) {
    const cur = await state.store.get(rid(r.kind), r.namespace, r.name!);
    const next = serverSideApply(cur, applied, manager, state.clock.now());
    try {
      if (!cur) {
        const { object, warnings } = admitOrThrow(next, ctx, 'CREATE', fv);
        if (dry) return send(ctx.res, 201, object, warnings);
        return send(ctx.res, 201, await state.store.create(rid(r.kind), object), warnings);
      }
      await writeUpdate(ctx, next, cur, fv, dry, 200);
      return;
    } catch (e) {
      const retry = isSluiceError(e, StoreErrors.Conflict) || isSluiceError(e, StoreErrors.AlreadyExists);
      if (attempt >= PATCH_RETRIES || !retry) throw e;
    }
  }
}

/** DeleteOptions from the body (if any) and the query. */
async function deleteOptions(ctx: HandlerContext): Promise<{ opts: DeleteOptions; dry: boolean }> {
  const q = ctx.url.searchParams;
  let dry = dryRunParam(q);
  const opts: DeleteOptions = {};
  const len = Number(ctx.req.headers['content-length'] ?? 0);
  if (len > 0 || ctx.req.headers['transfer-encoding']) {
    const buf = await readBody(ctx.req, ctx.state.bodyLimit);
    if (buf.length > 0) {
      const body = requireObject(decodeBody(buf, 'json'), 'DeleteOptions');
      if (body.preconditions && typeof body.preconditions === 'object') opts.preconditions = body.preconditions as DeleteOptions['preconditions'];
      if (typeof body.propagationPolicy === 'string') opts.propagationPolicy = body.propagationPolicy as DeleteOptions['propagationPolicy'];
      if (Array.isArray(body.dryRun) && body.dryRun.includes('All')) dry = true;
    }
  }
  const pp = q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
  if (opts.propagationPolicy && !['Foreground', 'Background', 'Orphan'].includes(opts.propagationPolicy)) {
    throw badRequest(`propagationPolicy ${JSON.stringify(opts.propagationPolicy)} is invalid: expected Foreground, Background or Orphan`, ApiServerErrors.BadRequest,
      [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: 'expected Foreground, Background or Orphan' }]);
  }
  return { opts, dry };
}

/** Kinds whose delete answers a Status rather than the object (Kubernetes' ReturnDeletedObject=false). */
const STATUS_ON_DELETE = new Set(['Secret', 'Endpoints', 'Event']);

export async function handleDelete(ctx: HandlerContext): Promise<void> {
  const { r, state } = ctx;
  if (r.name === undefined) return handleDeleteCollection(ctx);
  const { opts, dry } = await deleteOptions(ctx);
  if (r.kind.kind === 'Namespace' && BUILTIN_NAMESPACES.includes(r.name)) {
    throw new StatusError(ApiServerErrors.Forbidden, failureStatus(403, `namespaces "${r.name}" is forbidden: this namespace may not be deleted`, { name: r.name, kind: 'namespaces' }));
  }
  if (dry) {
    const cur = await state.store.get(rid(r.kind), r.namespace, r.name);
    if (!cur) throw notFound(ctx);
    sendJson(ctx.res, 200, cur);
    return;
  }
  const deleted = await state.store.delete(rid(r.kind), r.namespace, r.name, opts);
  if (r.kind.kind === 'Namespace' && !(deleted.metadata.finalizers?.length)) await state.namespaces.purge(r.name);
  // Finalizers still pending: the object stays (with deletionTimestamp) and the answer is 202, as Kubernetes does.
  const pending = (deleted.metadata.finalizers?.length ?? 0) > 0 && deleted.metadata.deletionTimestamp !== undefined;
  if (STATUS_ON_DELETE.has(r.kind.kind) && !pending) {
    sendJson(ctx.res, 200, successStatus({ name: r.name, group: r.kind.group, kind: r.kind.plural, uid: deleted.metadata.uid }));
    return;
  }
  sendJson(ctx.res, pending ? 202 : 200, deleted);
}

async function handleDeleteCollection(ctx: HandlerContext): Promise<void> {
  const { r, state, url } = ctx;
  const q = url.searchParams;
  const { opts, dry } = await deleteOptions(ctx);
  const listed = await state.store.list(rid(r.kind), {
    namespace: r.namespace || undefined,
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
  });
  const items: KubeObject[] = [];
  for (const o of listed.items) {
    if (dry) { items.push(o); continue; }
    try {
      items.push(await state.store.delete(rid(r.kind), o.metadata.namespace ?? '', o.metadata.name ?? '', opts));
    } catch (e) {
      if (!isSluiceError(e, StoreErrors.NotFound)) throw e;
    }
  }
  sendJson(ctx.res, 200, { apiVersion: apiVersionOf(r.kind), kind: `${r.kind.kind}List`, metadata: { resourceVersion: await state.store.currentResourceVersion() }, items });
}
