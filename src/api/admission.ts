/**
 * Admission of one object on create or update, in the order the Kubernetes API server runs it:
 * kind lookup (400 for an unknown apiVersion/kind), strict decoding (400 for unknown fields
 * under fieldValidation=Strict), null pruning, defaulting, validation (422 Invalid with every
 * cause). Pure: the caller stores the admitted object and sends the warnings as Warning headers.
 */
import { SluiceError } from '../lib/errors.ts';
import { applyDefaults } from './defaults.ts';
import type { KubeObject, Status, StatusCause } from './meta.ts';
import { kindByGvk, type KindInfo } from './registry.ts';
import { schemaFor } from './schema/index.ts';
import { unknownFieldMessage, validateObject, type FieldValidation } from './validate.ts';
import { causeLine, isPlainObject } from './validation/field-errors.ts';
import { pruneNulls } from './validation/schema-walk.ts';

export interface AdmitOptions {
  operation: 'CREATE' | 'UPDATE';
  /** The stored object (on UPDATE). */
  old?: KubeObject;
  fieldValidation: FieldValidation;
  /** The apiVersion and kind the request URL names; a body naming another is refused. */
  expect?: { apiVersion: string; kind: string };
}

/** Stable codes of admission failures (listed in docs/errors/api.md); the Status is what the client sees. */
export const AdmissionErrors = {
  BadBody: 'SLUICE_E_API_BAD_BODY',
  UnknownKind: 'SLUICE_E_API_UNKNOWN_KIND',
  KindMismatch: 'SLUICE_E_API_KIND_MISMATCH',
  UnknownField: 'SLUICE_E_API_UNKNOWN_FIELD',
  Invalid: 'SLUICE_E_API_INVALID',
  UpdateWithoutOld: 'SLUICE_E_API_UPDATE_WITHOUT_OLD',
} as const;
export type AdmissionErrorCode = (typeof AdmissionErrors)[keyof typeof AdmissionErrors];

export type AdmitResult =
  | { ok: true; object: KubeObject; warnings: string[] }
  | { ok: false; status: Status; code: AdmissionErrorCode };

/** The failure as a SluiceError (code, message, httpStatus from the Status; the Status in details.status). */
export function admissionError(failure: { status: Status; code: AdmissionErrorCode }): SluiceError {
  return new SluiceError(failure.code, failure.status.message ?? failure.status.reason ?? 'admission failed', {
    httpStatus: failure.status.code, details: { status: failure.status },
  });
}

const fail = (code: AdmissionErrorCode, status: Status): AdmitResult => ({ ok: false, status, code });

export function failureStatus(code: number, reason: string, message: string, details?: Status['details']): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

export function badRequest(message: string, details?: Status['details']): Status {
  return failureStatus(400, 'BadRequest', message, details);
}

/** `Service.serving.knative.dev` for grouped kinds, `Secret` for the core group (Kubernetes' qualified kind). */
export function qualifiedKind(k: Pick<KindInfo, 'group' | 'kind'>): string {
  return k.group ? `${k.kind}.${k.group}` : k.kind;
}

/** The 422 Invalid Status Kubernetes answers for field errors. */
export function invalidStatus(k: Pick<KindInfo, 'group' | 'kind'>, name: string, causes: StatusCause[]): Status {
  const lines = causes.map(causeLine);
  const summary = lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`;
  return failureStatus(422, 'Invalid', `${qualifiedKind(k)} "${name}" is invalid: ${summary}`, {
    name, group: k.group, kind: k.kind, causes,
  });
}

/** Strict decoding's 400: `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`. */
export function strictDecodingStatus(unknownFields: string[]): Status {
  return badRequest(`strict decoding error: ${unknownFields.map(unknownFieldMessage).join(', ')}`);
}

function nameOf(obj: KubeObject): string {
  const m = obj.metadata;
  return isPlainObject(m) && typeof m.name === 'string' ? m.name : '';
}

export function admit(input: KubeObject, opts: AdmitOptions): AdmitResult {
  if (!isPlainObject(input)) return fail(AdmissionErrors.BadBody, badRequest('the request body must be a JSON or YAML object'));
  const apiVersion = input.apiVersion;
  const kindName = input.kind;
  if (typeof kindName !== 'string' || kindName === '') {
    return fail(AdmissionErrors.BadBody, badRequest(`Object 'Kind' is missing in the request body (apiVersion ${JSON.stringify(apiVersion ?? '')})`));
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    return fail(AdmissionErrors.BadBody, badRequest(`Object 'apiVersion' is missing in the request body (kind "${kindName}")`));
  }
  const kind = kindByGvk(apiVersion, kindName);
  if (!kind) {
    return fail(AdmissionErrors.UnknownKind, badRequest(`no matches for kind "${kindName}" in version "${apiVersion}"`, {
      name: nameOf(input), kind: kindName, group: apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '',
    }));
  }
  if (opts.expect) {
    if (opts.expect.apiVersion !== apiVersion) {
      return fail(AdmissionErrors.KindMismatch, badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (${opts.expect.apiVersion})`));
    }
    if (opts.expect.kind !== kindName) {
      return fail(AdmissionErrors.KindMismatch, badRequest(`the kind in the data (${kindName}) does not match the expected kind (${opts.expect.kind})`));
    }
  }
  if (opts.operation === 'UPDATE' && !opts.old) {
    return fail(AdmissionErrors.UpdateWithoutOld, failureStatus(500, 'InternalError', 'admission of an UPDATE needs the stored object'));
  }
  if (!isPlainObject(input.metadata)) {
    return fail(AdmissionErrors.Invalid, invalidStatus(kind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]));
  }

  const pruned = pruneNulls(input, schemaFor(kind)) as KubeObject;
  if (!kind.namespaced && pruned.metadata.namespace !== undefined) delete pruned.metadata.namespace;
  const defaulted = applyDefaults(pruned);
  const result = validateObject(defaulted, { fieldValidation: opts.fieldValidation, old: opts.old });
  if (opts.fieldValidation === 'Strict' && result.unknownFields.length > 0) {
    return fail(AdmissionErrors.UnknownField, strictDecodingStatus(result.unknownFields));
  }
  if (result.causes.length > 0) return fail(AdmissionErrors.Invalid, invalidStatus(kind, nameOf(defaulted), result.causes));
  return { ok: true, object: defaulted, warnings: result.warnings };
}
