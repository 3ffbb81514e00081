/**
 * The Revision's status from its pods (Knative's PropagateDeploymentStatus and the
 * autoscaler's PodAutoscaler status, on one machine). Pure.
 * - ResourcesAvailable: True once a pod is ready (or the revision is scaled to zero after having
 *   been available); Unknown "Deploying" before.
 * - ContainerHealthy: False with reason `ExitCode<N>` and the last log lines when no pod is ready
 *   and a container has exited; True once a pod has been ready.
 * - Active: True with ready pods, False "NoTraffic" when scaled to zero, Unknown while activating.
 * - Ready: ResourcesAvailable ∧ ContainerHealthy (Active is informational, as in Knative).
 */
import type { Revision, RevisionStatus } from '../../../api/types/knative.ts';
import type { Pod } from '../../../api/types/core.ts';
import type { Condition } from '../../../api/meta.ts';
import { revisionConditions as rs, getCondition, ConditionTypes as CT } from '../../../api/conditions.ts';
import { isPodReady } from './make-endpoints.ts';

export interface RevisionFailure { reason: string; message: string }

/** The most telling container failure among the pods, if any. */
export function containerFailure(pods: Pod[]): RevisionFailure | undefined {
  for (const p of pods) {
    const cs = p.status?.containerStatuses?.[0];
    const t = cs?.state?.terminated ?? cs?.lastState?.terminated;
    if (!t || t.exitCode === 0 && t.reason !== 'OOMKilled') continue;
    const lines = t.message ? `: ${t.message}` : '';
    if (t.reason === 'OOMKilled') return { reason: 'OOMKilled', message: `Container ${cs!.name} was killed for exceeding its memory limit (exit code ${t.exitCode})${lines}` };
    return { reason: `ExitCode${t.exitCode}`, message: `Container failed with exit code ${t.exitCode}${t.message ? '; last log lines:\n' + t.message : ''}` };
  }
  return undefined;
}

export function computeRevisionStatus(rev: Revision, pods: Pod[], desired: number, now: number, failure?: RevisionFailure): RevisionStatus {
  const prev = rev.status ?? {};
  let conds: Condition[] = rs.initialize(prev.conditions, now);
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter(isPodReady).length;
  if (failure) {
    conds = rs.markFalse(conds, CT.containerHealthy, failure.reason, failure.message, now);
    conds = rs.markFalse(conds, CT.resourcesAvailable, failure.reason, failure.message, now);
    conds = rs.markFalse(conds, CT.active, failure.reason, failure.message, now);
  } else {
    const crash = ready === 0 ? containerFailure(live) : undefined;
    const wasAvailable = getCondition(prev.conditions, CT.resourcesAvailable)?.status === 'True';
    if (crash) conds = rs.markFalse(conds, CT.containerHealthy, crash.reason, crash.message, now);
    else if (ready > 0) conds = rs.markTrue(conds, CT.containerHealthy, now);
    else if (getCondition(conds, CT.containerHealthy)?.status !== 'True') conds = rs.markUnknown(conds, CT.containerHealthy, 'Deploying', '', now);

    if (ready > 0 || (desired === 0 && wasAvailable)) conds = rs.markTrue(conds, CT.resourcesAvailable, now);
    else if (crash) conds = rs.markFalse(conds, CT.resourcesAvailable, crash.reason, crash.message, now);
    else if (!wasAvailable) conds = rs.markUnknown(conds, CT.resourcesAvailable, 'Deploying', '', now);

    if (ready > 0) conds = rs.markTrue(conds, CT.active, now);
    else if (desired === 0) conds = rs.markFalse(conds, CT.active, 'NoTraffic', 'The target is not receiving traffic.', now);
    else conds = rs.markUnknown(conds, CT.active, crash ? crash.reason : 'Activating', crash ? 'Waiting for a healthy container.' : 'The revision is starting its pods.', now);
  }
  const c = rev.spec?.containers?.[0];
  const st: RevisionStatus = {
    ...prev,
    observedGeneration: rev.metadata.generation,
    conditions: conds,
    actualReplicas: ready,
    desiredReplicas: desired,
  };
  if (c) st.containerStatuses = [{ name: c.name || 'user-container', imageDigest: c.image }];
  return st;
}
