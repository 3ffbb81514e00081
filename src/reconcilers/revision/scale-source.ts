/**
 * Where a Revision's desired pod count comes from. The autoscaler implements ScaleSource and
 * calls the subscriber when a revision's desired scale changes; until it is wired in (or for a
 * revision it has no opinion on) the revision reconciler applies the default: zero for reserve
 * revisions (see routing-state.ts), else `autoscaling.knative.dev/initial-scale` (default 1),
 * raised to `min-scale` and capped by `max-scale` when set.
 */
import type { Revision } from '../../api/types/knative.ts';
import { Annotations } from '../../api/types/knative.ts';
import { ConditionTypes, getCondition } from '../../api/conditions.ts';

export interface ScaleSource {
  /** Desired pods for `namespace/name`, or undefined for "no opinion" (the default applies). */
  desiredScale(revisionKey: string, revision: Revision): number | undefined;
  /** Called with a revision key whenever its desired scale changes. Returns an unsubscribe. */
  subscribe?(onChange: (revisionKey: string) => void): () => void;
}

function intAnnotation(rev: Revision, key: string): number | undefined {
  const v = rev.metadata.annotations?.[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** The scale a revision starts with (Knative: initial-scale, at least min-scale, at most max-scale). */
export function initialScale(rev: Revision, clusterDefault = 1): number {
  let n = intAnnotation(rev, Annotations.initialScale) ?? clusterDefault;
  const min = intAnnotation(rev, Annotations.minScale);
  const max = intAnnotation(rev, Annotations.maxScale);
  if (min !== undefined) n = Math.max(n, min);
  if (max !== undefined && max > 0) n = Math.min(n, max);
  return n;
}

/**
 * The scale a revision that already ran had last been given, from its status: a revision whose
 * resources were available once (it reached its initial scale) and that records desiredReplicas.
 * Undefined for a new revision. After a restart of the control process this is what it resumes
 * at, as Knative's autoscaler resumes from the deployment's scale and the PodAutoscaler's
 * ScaleTargetInitialized: initial-scale is not applied again (10,000 revisions at zero used to
 * get a pod each on restart).
 */
export function resumedScale(rev: Revision): number | undefined {
  const n = rev.status?.desiredReplicas;
  if (n === undefined || !Number.isInteger(n) || n < 0) return undefined;
  return getCondition(rev.status?.conditions, ConditionTypes.resourcesAvailable)?.status === 'True' ? n : undefined;
}

export const initialScaleSource: ScaleSource = {
  desiredScale: (_key, rev) => initialScale(rev),
};
