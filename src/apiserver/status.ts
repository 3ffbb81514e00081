/**
 * Kubernetes Status objects: every error the API server answers is one of these, with the
 * reason Kubernetes uses for that HTTP code, so kubectl and client libraries print and classify
 * them exactly as they would against a real cluster.
 */
import type { Status, StatusCause } from '../api/meta.ts';
import { SluiceError } from '../lib/errors.ts';
import { StoreErrors } from '../store/store.ts';

/** Error codes the API server itself raises (the store's are in store/store.ts). */
export const ApiServerErrors = {
  BadRequest: 'SLUICE_E_APISERVER_BAD_REQUEST',
  MalformedBody: 'SLUICE_E_APISERVER_MALFORMED_BODY',
  BodyTooLarge: 'SLUICE_E_APISERVER_BODY_TOO_LARGE',
  UnsupportedMediaType: 'SLUICE_E_APISERVER_UNSUPPORTED_MEDIA_TYPE',
  MethodNotAllowed: 'SLUICE_E_APISERVER_METHOD_NOT_ALLOWED',
  NotFound: 'SLUICE_E_APISERVER_NOT_FOUND',
  NamespaceNotFound: 'SLUICE_E_APISERVER_NAMESPACE_NOT_FOUND',
  Mismatch: 'SLUICE_E_APISERVER_MISMATCH',
  PatchFailed: 'SLUICE_E_APISERVER_PATCH_FAILED',
  Forbidden: 'SLUICE_E_APISERVER_FORBIDDEN',
} as const;

/** Kubernetes' StatusReason for each HTTP code it uses (k8s.io/apimachinery/pkg/apis/meta/v1/types.go). */
const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** Store codes whose reason differs from the plain per-HTTP-code one. */
const REASON_BY_STORE_CODE: Record<string, string> = {
  [StoreErrors.AlreadyExists]: 'AlreadyExists',
  [StoreErrors.Conflict]: 'Conflict',
  [StoreErrors.Gone]: 'Expired',
  [StoreErrors.NotFound]: 'NotFound',
  [StoreErrors.Invalid]: 'Invalid',
  [StoreErrors.BadRequest]: 'BadRequest',
  [StoreErrors.StoreFailure]: 'InternalError',
};

export type StatusDetails = NonNullable<Status['details']>;

export function failureStatus(code: number, message: string, details?: StatusDetails, reason?: string): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: reason ?? REASON_BY_CODE[code] ?? 'Unknown', code };
  if (details && Object.keys(details).length > 0) s.details = details;
  return s;
}

export function successStatus(details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) s.details = details;
  return s;
}

/** An error that already carries the Status to answer with. */
export class StatusError extends SluiceError {
  readonly status: Status;
  constructor(code: string, status: Status) {
    super(code, status.message ?? status.reason ?? 'error', { httpStatus: status.code, details: status.details as Record<string, unknown> | undefined });
    this.status = status;
  }
}

export function badRequest(message: string, code: string = ApiServerErrors.BadRequest, causes?: StatusCause[]): StatusError {
  return new StatusError(code, failureStatus(400, message, causes ? { causes } : undefined));
}
export function notFoundError(message: string, details?: StatusDetails, code: string = ApiServerErrors.NotFound): StatusError {
  return new StatusError(code, failureStatus(404, message, details));
}
export function methodNotAllowed(method: string, path: string): StatusError {
  return new StatusError(ApiServerErrors.MethodNotAllowed, failureStatus(405, `the server does not allow this method on the requested resource (${method} ${path})`));
}
export function unsupportedMediaType(contentType: string, accepted: string[]): StatusError {
  return new StatusError(ApiServerErrors.UnsupportedMediaType, failureStatus(415,
    `the body of the request was in an unknown format (${contentType || 'no Content-Type'}) - accepted media types include: ${accepted.join(', ')}`));
}
/** Maps anything thrown while serving a request to the Status the client should see. */
export function toStatus(e: unknown): Status {
  if (e instanceof StatusError) return e.status;
  if (e instanceof SluiceError) {
    const code = e.httpStatus >= 400 && e.httpStatus < 600 ? e.httpStatus : 500;
    const reason = REASON_BY_STORE_CODE[e.code] ?? REASON_BY_CODE[code];
    const d = e.details as StatusDetails | undefined;
    const details: StatusDetails = {};
    if (d?.name) details.name = d.name;
    if (d?.group) details.group = d.group;
    if (d?.kind) details.kind = d.kind;
    if (d?.uid) details.uid = d.uid;
    if (d?.causes) details.causes = d.causes;
    return failureStatus(code, e.message, details, reason);
  }
  return failureStatus(500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
}
