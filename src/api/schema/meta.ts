/** Schemas shared by every kind: ObjectMeta, conditions, Knative's Status, and the kind envelope. */
import { anyValue, arr, bool, d, int, obj, str, strMap, strs, type Schema } from './types.ts';

export const ownerReference: Schema = obj({
  apiVersion: str('API version of the referent.'),
  kind: str('Kind of the referent.'),
  name: str('Name of the referent.'),
  uid: str('UID of the referent.'),
  controller: bool('If true, this reference points to the managing controller.'),
  blockOwnerDeletion: bool('If true, the owner cannot be deleted from the key-value store until this reference is removed.'),
}, { required: ['apiVersion', 'kind', 'name', 'uid'], description: 'Information that lets you identify an owning object.' });

export const objectMeta: Schema = obj({
  name: str('Name must be unique within a namespace. Cannot be updated.'),
  generateName: str('Optional prefix used by the server to generate a unique name when name is not provided.'),
  namespace: str('The namespace the object lives in. An empty namespace means "default".'),
  uid: str('Unique identifier set by the server on creation.'),
  resourceVersion: str('Opaque version of this object, used for optimistic concurrency and watch.'),
  generation: int('A sequence number representing a specific generation of the desired state.', 'int64'),
  creationTimestamp: str('Time the object was created (RFC 3339).', 'date-time'),
  deletionTimestamp: str('Time after which the object will be deleted (RFC 3339).', 'date-time'),
  deletionGracePeriodSeconds: int('Seconds allowed for graceful termination before the object is removed.', 'int64'),
  labels: strMap('Map of string keys and values used to organize and select objects.'),
  annotations: strMap('Unstructured key value map stored with a resource.'),
  finalizers: strs('Must be empty before the object is deleted from the registry.'),
  ownerReferences: arr(ownerReference, 'Objects depended on by this object.'),
  managedFields: arr(anyValue(), 'Field ownership for server-side apply.'),
  selfLink: str('Deprecated; not set by sluice.'),
}, { description: 'Standard object metadata.' });

export const condition: Schema = obj({
  type: str('Type of condition.'),
  status: str('Status of the condition, one of True, False, Unknown.'),
  severity: str('How to interpret failures of this condition, one of Error, Warning, Info.'),
  lastTransitionTime: str('Last time the condition transitioned from one status to another.'),
  reason: str('One-word CamelCase reason for the condition\'s last transition.'),
  message: str('Human-readable message indicating details about the last transition.'),
  observedGeneration: int(undefined, 'int64'),
  lastProbeTime: { type: 'string', nullable: true },
  lastUpdateTime: str(),
}, { required: ['type', 'status'], description: 'Condition defines a readiness condition.' });

/** Knative's duck Status: observedGeneration, conditions, annotations. */
export function knativeStatus(extra: Record<string, Schema>, description: string): Schema {
  return obj({
    observedGeneration: int('The generation last processed by the controller.', 'int64'),
    conditions: arr(condition, 'The latest available observations of the resource\'s current state.'),
    annotations: strMap('Additional Status fields for the resource.'),
    ...extra,
  }, { description });
}

/** Istio's IstioStatus, kept open as upstream CRDs do (x-kubernetes-preserve-unknown-fields). */
export const istioStatus: Schema = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  description: 'Status set by the control plane: conditions and validation messages.',
};

/** The top-level schema of a kind: apiVersion, kind, metadata, then the kind's own fields. */
export function kindSchema(description: string, fields: Record<string, Schema>, required: string[] = []): Schema {
  return obj({
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
    metadata: d('Standard object\'s metadata.', objectMeta),
    ...fields,
  }, { required, description });
}
