/** Owner references: building them, finding the controlling owner, enqueueing it on dependent changes. */
import type { KubeObject, OwnerReference } from '../api/meta.ts';
import type { InformerHandlers } from './informer.ts';

export function controllerOwnerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

/** True when `owner` is the controlling owner of `o` (same uid when both carry one). */
export function isControlledBy(o: KubeObject, owner: KubeObject): boolean {
  const ref = controllerOf(o);
  if (!ref || ref.kind !== owner.kind || ref.name !== owner.metadata.name) return false;
  return !ref.uid || !owner.metadata.uid || ref.uid === owner.metadata.uid;
}

/**
 * Handlers for a dependent's informer that enqueue `namespace/ownerName` of its controlling
 * owner of kind `ownerKind` (Knative's `controller.FilterController` + `EnqueueControllerOf`).
 */
export function enqueueControllerOf<T extends KubeObject>(ownerKind: string, enqueue: (key: string) => void): InformerHandlers<T> {
  const fire = (o: T): void => {
    const ref = controllerOf(o);
    if (ref && ref.kind === ownerKind) enqueue(o.metadata.namespace ? `${o.metadata.namespace}/${ref.name}` : ref.name);
  };
  return { add: fire, update: (_a, b) => fire(b), delete: fire };
}

/** Handlers that enqueue `namespace/<label value>` for objects carrying `label`. */
export function enqueueByLabel<T extends KubeObject>(label: string, enqueue: (key: string) => void): InformerHandlers<T> {
  const fire = (o: T): void => {
    const v = o.metadata.labels?.[label];
    if (v) enqueue(o.metadata.namespace ? `${o.metadata.namespace}/${v}` : v);
  };
  return {
    add: fire,
    update: (a, b) => { fire(b); if (a.metadata.labels?.[label] !== b.metadata.labels?.[label]) fire(a); },
    delete: fire,
  };
}

/** Handlers that enqueue the object's own key. */
export function enqueueSelf<T extends KubeObject>(enqueue: (key: string) => void): InformerHandlers<T> {
  const fire = (o: T): void => enqueue(o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata.name}`);
  return { add: fire, update: (_a, b) => fire(b), delete: fire };
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
