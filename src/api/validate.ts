/**
 * Validation of one object: its structural schema (required fields, types, enums, unknown
 * fields) and the semantic rules of its group, every problem at once, each with its field path
 * in Kubernetes form. Pure: no I/O, no clock.
 */
import type { KubeObject, StatusCause } from './meta.ts';
import { kindByGvk, type KindInfo } from './registry.ts';
import { schemaFor } from './schema/index.ts';
import { validateCore } from './validation/core.ts';
import { FieldErrors, isPlainObject } from './validation/field-errors.ts';
import { validateIstioNetworking } from './validation/istio-networking.ts';
import { validateIstioSecurity } from './validation/istio-security.ts';
import { validateKnative } from './validation/knative.ts';
import { validateObjectMeta, validateObjectMetaUpdate, type NameRule } from './validation/meta.ts';
import { walkSchema } from './validation/schema-walk.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface ValidateOptions {
  fieldValidation: FieldValidation;
  /** The stored object, on update. */
  old?: KubeObject;
}

export interface ValidationResult {
  causes: StatusCause[];
  /** Under fieldValidation=Warn, `unknown field "spec.foo"` for each unknown field; then semantic warnings (`spec.rules: ...`) in every mode. */
  warnings: string[];
  /** Paths of fields the schema does not know, whatever the fieldValidation mode. */
  unknownFields: string[];
}

/** Knative kinds (but DomainMapping, named after its domain) and Namespaces take DNS-1123 labels (≤ 63); everything else DNS-1123 subdomains. */
export function nameRuleFor(kind: Pick<KindInfo, 'group' | 'kind'>): NameRule {
  if (kind.group === 'serving.knative.dev') return kind.kind === 'DomainMapping' ? 'subdomain' : 'label';
  if (kind.group === '' && kind.kind === 'Namespace') return 'label';
  return 'subdomain';
}

export function unknownFieldMessage(path: string): string {
  return `unknown field "${path}"`;
}

export function validateObject(obj: KubeObject, opts: ValidateOptions): ValidationResult {
  const errs = new FieldErrors();
  const unknownFields: string[] = [];
  if (!isPlainObject(obj)) {
    errs.typeInvalid('<root>', obj, 'object');
    return { causes: errs.causes, warnings: [], unknownFields };
  }
  const kind = typeof obj.apiVersion === 'string' && typeof obj.kind === 'string' ? kindByGvk(obj.apiVersion, obj.kind) : undefined;
  if (!kind) {
    if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') errs.required('apiVersion');
    if (typeof obj.kind !== 'string' || obj.kind === '') errs.required('kind');
    if (errs.length === 0) errs.notSupported('kind', obj.kind, []);
    return { causes: errs.causes, warnings: [], unknownFields };
  }
  const schema = schemaFor(kind);
  if (schema) walkSchema(obj, schema, '', errs, unknownFields);
  validateObjectMeta(obj.metadata, { rule: nameRuleFor(kind), namespaced: kind.namespaced }, errs);
  if (opts.old) validateObjectMetaUpdate(obj, opts.old, errs);
  switch (kind.group) {
    case '': validateCore(obj, opts.old, errs); break;
    case 'serving.knative.dev': validateKnative(obj, opts.old, errs); break;
    case 'networking.istio.io': validateIstioNetworking(obj, errs); break;
    case 'security.istio.io': validateIstioSecurity(obj, errs); break;
  }
  const warnings = [...(opts.fieldValidation === 'Warn' ? unknownFields.map(unknownFieldMessage) : []), ...errs.warnings];
  return { causes: errs.causes, warnings, unknownFields };
}
