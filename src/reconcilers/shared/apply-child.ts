/**
 * Create-or-update of an owned child (Configuration, Route, Revision, Ingress, Endpoints):
 * the reconciler builds the desired object, this compares the fields it owns with the
 * actual one and writes only when they differ. A same-named object not controlled by the
 * owner is refused with SLUICE_E_NOT_OWNED (Knative's "NotOwned" reason).
 */
import type { KubeObject } from '../../api/meta.ts';
import type { Store } from '../../store/store.ts';
import { SluiceError } from '../../lib/errors.ts';
import { isControlledBy } from '../../controller/owner.ts';
import { deepEqual } from '../../controller/status-update.ts';
import { ServingErrors } from './resources.ts';

export type ApplyOutcome<T> = { obj: T; action: 'created' | 'updated' | 'unchanged' };

/** Fields compared: spec, labels, annotations (sluice's keys only), and top-level data fields. */
function ownedFieldsEqual(desired: KubeObject, actual: KubeObject): boolean {
  for (const k of Object.keys(desired)) {
    if (k === 'metadata' || k === 'status' || k === 'apiVersion' || k === 'kind') continue;
    if (!deepEqual(desired[k], actual[k])) return false;
  }
  const dl = desired.metadata.labels ?? {}, al = actual.metadata.labels ?? {};
  for (const [k, v] of Object.entries(dl)) if (al[k] !== v) return false;
  const da = desired.metadata.annotations ?? {}, aa = actual.metadata.annotations ?? {};
  for (const [k, v] of Object.entries(da)) if (aa[k] !== v) return false;
  return true;
}

export async function applyChild<T extends KubeObject>(store: Store, resource: string, owner: KubeObject, desired: T, actual: T | undefined): Promise<ApplyOutcome<T>> {
  if (!actual) return { obj: (await store.create(resource, desired)) as T, action: 'created' };
  if (!isControlledBy(actual, owner)) {
    throw new SluiceError(ServingErrors.NotOwned,
      `${owner.kind} "${owner.metadata.name}" does not own ${desired.kind} "${desired.metadata.name}": an object of that name already exists with another controller; delete it or rename the ${owner.kind}`,
      { httpStatus: 409 });
  }
  if (ownedFieldsEqual(desired, actual)) return { obj: actual, action: 'unchanged' };
  const next: T = {
    ...actual,
    ...Object.fromEntries(Object.entries(desired).filter(([k]) => !['metadata', 'status', 'apiVersion', 'kind'].includes(k))),
    metadata: {
      ...actual.metadata,
      labels: { ...actual.metadata.labels, ...desired.metadata.labels },
      annotations: { ...actual.metadata.annotations, ...desired.metadata.annotations },
    },
  };
  return { obj: (await store.update(resource, next)) as T, action: 'updated' };
}
