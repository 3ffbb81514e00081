/**
 * Condition helpers in the manner of knative.dev/pkg/apis.ConditionSet: a set has one happy
 * condition (Ready) whose status is computed from its dependents, plus informational
 * conditions that never affect it. Everything is pure: arrays in, new arrays out, and the
 * time of a transition is the `now` (ms since the epoch) the caller passes.
 *
 * lastTransitionTime is kept when a condition is rewritten with the same status (reason and
 * message may change), as Kubernetes' meta.SetStatusCondition does; it is stamped with
 * millisecond precision (RFC 3339 allows fractional seconds; the readiness benchmark reads it).
 */
import type { Condition, ConditionStatus } from './meta.ts';

export type ConditionSeverity = NonNullable<Condition['severity']>;

/** RFC 3339 timestamp with milliseconds, e.g. `2026-11-24T10:22:14.123Z`. */
export function formatTime(now: number): string {
  return new Date(now).toISOString();
}

export function getCondition(conds: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

export function isConditionTrue(conds: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conds, type)?.status === 'True';
}

function sameIgnoringTime(a: Condition, b: Condition): boolean {
  return a.status === b.status && (a.reason ?? '') === (b.reason ?? '') &&
    (a.message ?? '') === (b.message ?? '') && (a.severity ?? '') === (b.severity ?? '');
}

function clean(c: Condition): Condition {
  const out: Condition = { type: c.type, status: c.status };
  if (c.severity) out.severity = c.severity;
  if (c.lastTransitionTime) out.lastTransitionTime = c.lastTransitionTime;
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  return out;
}

/**
 * Sets `cond` in `conds` (replacing one of the same type) and returns a new array sorted by
 * type, as Knative keeps them. Returns the input array itself when nothing changed, so callers
 * can compare by identity to skip a status write.
 */
export function setCondition(conds: readonly Condition[] | undefined, cond: Condition, now: number): Condition[] {
  const list = conds ?? [];
  const existing = getCondition(list, cond.type);
  if (existing && sameIgnoringTime(existing, cond) && existing.lastTransitionTime) return list as Condition[];
  const lastTransitionTime = existing && existing.status === cond.status && existing.lastTransitionTime
    ? existing.lastTransitionTime : formatTime(now);
  const next = clean({ ...cond, lastTransitionTime });
  return [...list.filter((c) => c.type !== cond.type), next].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

export function removeCondition(conds: readonly Condition[] | undefined, type: string): Condition[] {
  return (conds ?? []).filter((c) => c.type !== type);
}

/**
 * A happy condition and the conditions it depends on. Conditions of other types set through
 * the set are informational (severity Info) and do not affect the happy condition.
 */
export class ConditionSet {
  readonly happy: string;
  readonly dependents: readonly string[];

  constructor(happy: string, dependents: readonly string[]) {
    this.happy = happy;
    this.dependents = dependents.filter((d) => d !== happy);
  }

  private severity(type: string): ConditionSeverity {
    return type === this.happy || this.dependents.includes(type) ? '' : 'Info';
  }

  /** Adds every missing happy/dependent condition as Unknown (Knative's InitializeConditions). */
  initialize(conds: readonly Condition[] | undefined, now: number): Condition[] {
    let out = (conds ?? []) as Condition[];
    const happy = getCondition(out, this.happy);
    if (!happy) out = setCondition(out, { type: this.happy, status: 'Unknown' }, now);
    // When the happy condition is already True, dependents start True too (Knative does the same).
    const depStatus: ConditionStatus = happy?.status === 'True' ? 'True' : 'Unknown';
    for (const d of this.dependents) {
      if (!getCondition(out, d)) out = setCondition(out, { type: d, status: depStatus }, now);
    }
    return out;
  }

  markTrue(conds: readonly Condition[] | undefined, type: string, now: number, reason?: string, message?: string): Condition[] {
    return this.mark(conds, { type, status: 'True', reason, message }, now);
  }

  markFalse(conds: readonly Condition[] | undefined, type: string, reason: string, message: string, now: number): Condition[] {
    return this.mark(conds, { type, status: 'False', reason, message }, now);
  }

  markUnknown(conds: readonly Condition[] | undefined, type: string, reason: string, message: string, now: number): Condition[] {
    return this.mark(conds, { type, status: 'Unknown', reason, message }, now);
  }

  /** Sets one condition, then recomputes the happy condition from the dependents. */
  mark(conds: readonly Condition[] | undefined, cond: Condition, now: number): Condition[] {
    const severity = this.severity(cond.type);
    let out = setCondition(conds, { ...cond, severity: severity || undefined }, now);
    if (cond.type !== this.happy && this.dependents.includes(cond.type)) out = this.recompute(out, now);
    return out;
  }

  /**
   * The happy condition as its dependents make it: the first False dependent (in declared
   * order) makes it False with that reason and message; otherwise the first Unknown (or missing)
   * makes it Unknown; all True makes it True.
   */
  computeHappy(conds: readonly Condition[] | undefined): Condition {
    if (this.dependents.length === 0) {
      return getCondition(conds, this.happy) ?? { type: this.happy, status: 'Unknown' };
    }
    const deps = this.dependents.map((d) => getCondition(conds, d) ?? { type: d, status: 'Unknown' as const });
    const failed = deps.find((c) => c.status === 'False');
    if (failed) return { type: this.happy, status: 'False', reason: failed.reason, message: failed.message };
    const unknown = deps.find((c) => c.status === 'Unknown');
    if (unknown) return { type: this.happy, status: 'Unknown', reason: unknown.reason, message: unknown.message };
    return { type: this.happy, status: 'True' };
  }

  recompute(conds: readonly Condition[] | undefined, now: number): Condition[] {
    return setCondition(conds, this.computeHappy(conds), now);
  }

  getTopLevel(conds: readonly Condition[] | undefined): Condition | undefined {
    return getCondition(conds, this.happy);
  }

  isHappy(conds: readonly Condition[] | undefined): boolean {
    return isConditionTrue(conds, this.happy);
  }
}

/** Knative's NewLivingConditionSet: happy condition `Ready`. */
export function livingConditionSet(...dependents: string[]): ConditionSet {
  return new ConditionSet('Ready', dependents);
}

/** Condition types Knative Serving uses, and their sets. */
export const ConditionTypes = {
  ready: 'Ready',
  configurationsReady: 'ConfigurationsReady',
  routesReady: 'RoutesReady',
  resourcesAvailable: 'ResourcesAvailable',
  containerHealthy: 'ContainerHealthy',
  active: 'Active',
  allTrafficAssigned: 'AllTrafficAssigned',
  ingressReady: 'IngressReady',
  certificateProvisioned: 'CertificateProvisioned',
  networkConfigured: 'NetworkConfigured',
  loadBalancerReady: 'LoadBalancerReady',
  domainClaimed: 'DomainClaimed',
  referenceResolved: 'ReferenceResolved',
} as const;

export const serviceConditions = livingConditionSet(ConditionTypes.configurationsReady, ConditionTypes.routesReady);
export const configurationConditions = livingConditionSet();
/** Revision: Active (scaled up or not) is informational, as in Knative. */
export const revisionConditions = livingConditionSet(ConditionTypes.resourcesAvailable, ConditionTypes.containerHealthy);
export const routeConditions = livingConditionSet(ConditionTypes.allTrafficAssigned, ConditionTypes.ingressReady, ConditionTypes.certificateProvisioned);
export const ingressConditions = livingConditionSet(ConditionTypes.networkConfigured, ConditionTypes.loadBalancerReady);
/** DomainMapping, in Knative's order (the first False dependent gives Ready its reason). */
export const domainMappingConditions = livingConditionSet(ConditionTypes.domainClaimed, ConditionTypes.referenceResolved, ConditionTypes.ingressReady, ConditionTypes.certificateProvisioned);
