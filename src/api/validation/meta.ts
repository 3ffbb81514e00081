/** ObjectMeta checks: name (label or subdomain rules per kind), namespace, labels, annotations. */
import type { KubeObject, ObjectMeta } from '../meta.ts';
import { child, FieldErrors, isPlainObject } from './field-errors.ts';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './names.ts';

export type NameRule = 'label' | 'subdomain';

const totalAnnotationSizeLimit = 256 * 1024;

/** Validates a name or generateName prefix with the given rule; a generateName prefix may end in '-'. */
function nameProblems(name: string, rule: NameRule, prefix: boolean): string[] {
  const n = prefix ? maskTrailingDash(name) : name;
  return rule === 'label' ? isDNS1123Label(n) : isDNS1123Subdomain(n);
}

/** Kubernetes' generateName check: the random suffix makes a trailing dash valid. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

export function validateLabels(labels: unknown, path: string, errs: FieldErrors): void {
  if (!isPlainObject(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    for (const m of isQualifiedName(k)) errs.invalid(path, k, m);
    if (typeof v === 'string') for (const m of isValidLabelValue(v)) errs.invalid(child(path, k, true), v, m);
  }
}

export function validateAnnotations(annotations: unknown, path: string, errs: FieldErrors): void {
  if (!isPlainObject(annotations)) return;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.invalid(path, k, m);
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > totalAnnotationSizeLimit) errs.tooLong(path, totalAnnotationSizeLimit);
}

/**
 * Validates top-level metadata. `namespaced` requires nothing about the namespace (the API server
 * fills it from the URL) but checks its form when present.
 */
export function validateObjectMeta(meta: ObjectMeta | undefined, opts: { rule: NameRule; namespaced: boolean; path?: string }, errs: FieldErrors): void {
  const path = opts.path ?? 'metadata';
  if (!isPlainObject(meta)) {
    errs.required(child(path, 'name'), 'name or generateName is required');
    return;
  }
  const { name, generateName } = meta;
  if (typeof name === 'string' && name.length > 0) {
    for (const m of nameProblems(name, opts.rule, false)) errs.invalid(child(path, 'name'), name, m);
  } else if (typeof generateName === 'string' && generateName.length > 0) {
    for (const m of nameProblems(generateName, opts.rule, true)) errs.invalid(child(path, 'generateName'), generateName, m);
  } else if (name === undefined || name === '' || name === null) {
    errs.required(child(path, 'name'), 'name or generateName is required');
  }
  // Cluster-scoped kinds: admission clears a namespace, as Kubernetes' BeforeCreate does.
  if (opts.namespaced && typeof meta.namespace === 'string' && meta.namespace.length > 0) {
    for (const m of isDNS1123Label(meta.namespace)) errs.invalid(child(path, 'namespace'), meta.namespace, m);
  }
  validateLabels(meta.labels, child(path, 'labels'), errs);
  validateAnnotations(meta.annotations, child(path, 'annotations'), errs);
  if (typeof meta.generation === 'number' && meta.generation < 0) {
    errs.invalid(child(path, 'generation'), meta.generation, 'must be greater than or equal to 0');
  }
}

/** On update: name and namespace cannot change (Kubernetes' ValidateObjectMetaUpdate). */
export function validateObjectMetaUpdate(obj: KubeObject, old: KubeObject, errs: FieldErrors): void {
  const immutable = (field: 'name' | 'namespace' | 'uid') => {
    const a = old.metadata?.[field];
    const b = obj.metadata?.[field];
    if (a && b && a !== b) errs.invalid(`metadata.${field}`, b, 'field is immutable');
  };
  immutable('name');
  immutable('namespace');
  immutable('uid');
}
