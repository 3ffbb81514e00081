/**
 * Store errors with Kubernetes-style messages. Every store failure goes through these helpers so
 * the API server can map `code` → Status reason and `httpStatus` → HTTP code without parsing text.
 */
import { SluiceError } from '../lib/errors.ts';
import { kindById, type KindInfo } from '../api/registry.ts';
import { StoreErrors } from './store.ts';

/** `services.serving.knative.dev`, or `pods` for the core group: how Kubernetes names a resource in messages. */
export function qualifiedResource(kind: KindInfo): string {
  return kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
}

function details(kind: KindInfo, name: string): Record<string, unknown> {
  return { name, group: kind.group, kind: kind.plural };
}

/** Looks a resource id up in the registry; an unknown id is the caller's bad request. */
export function requireKind(resource: string): KindInfo {
  const kind = kindById(resource);
  if (!kind) {
    throw new SluiceError(StoreErrors.BadRequest, `unknown resource "${resource}": expected a resource id such as "serving.knative.dev/services" or "core/pods" (see api/registry.ts)`, { httpStatus: 400, details: { name: resource } });
  }
  return kind;
}

export function notFound(kind: KindInfo, name: string): SluiceError {
  return new SluiceError(StoreErrors.NotFound, `${qualifiedResource(kind)} "${name}" not found`, { httpStatus: 404, details: details(kind, name) });
}

export function alreadyExists(kind: KindInfo, name: string): SluiceError {
  return new SluiceError(StoreErrors.AlreadyExists, `${qualifiedResource(kind)} "${name}" already exists`, { httpStatus: 409, details: details(kind, name) });
}

export function conflict(kind: KindInfo, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): SluiceError {
  return new SluiceError(StoreErrors.Conflict, `Operation cannot be fulfilled on ${qualifiedResource(kind)} "${name}": ${why}`, { httpStatus: 409, details: details(kind, name) });
}

/** 422 with Kubernetes' `Kind "name" is invalid: field: reason` shape; `causes` carries the field path. */
export function invalid(kind: KindInfo, name: string, field: string, reason: string): SluiceError {
  return new SluiceError(StoreErrors.Invalid, `${kind.kind} "${name}" is invalid: ${field}: ${reason}`, {
    httpStatus: 422,
    details: { ...details(kind, name), kind: kind.kind, causes: [{ reason: 'FieldValueInvalid', message: reason, field }] },
  });
}

export function badRequest(message: string, name = ''): SluiceError {
  return new SluiceError(StoreErrors.BadRequest, message, { httpStatus: 400, details: { name } });
}

export function gone(requested: string, oldest: number): SluiceError {
  return new SluiceError(StoreErrors.Gone, `too old resource version: ${requested} (${oldest})`, { httpStatus: 410, details: { name: '' } });
}

export function storeFailure(message: string, cause: unknown): SluiceError {
  return new SluiceError(StoreErrors.StoreFailure, message, { httpStatus: 500, cause, details: { name: '' } });
}

/** Parses a resourceVersion string the caller handed in; `what` names where it came from. */
export function parseResourceVersion(rv: string, what: string): number {
  if (!/^\d{1,15}$/.test(rv)) throw badRequest(`invalid ${what} "${rv}": a resourceVersion is a non-negative decimal integer`);
  return Number(rv);
}
