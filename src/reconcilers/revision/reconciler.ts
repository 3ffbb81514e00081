/**
 * Revision reconciler: asks the runtime for the desired number of pods, publishes the
 * revision's Endpoints from its Pod objects, and reports ResourcesAvailable, ContainerHealthy,
 * Active and Ready with actual/desired replicas. An image missing from the image table (or an
 * unusable memory limit) makes the revision fail at once with a message naming it; the runtime
 * is not asked to start anything.
 */
import type { Revision } from '../../api/types/knative.ts';
import { Labels } from '../../api/types/knative.ts';
import type { Endpoints, Pod } from '../../api/types/core.ts';
import { getCondition, ConditionTypes as CT } from '../../api/conditions.ts';
import { isSluiceError } from '../../lib/errors.ts';
import { updateStatus } from '../../controller/status-update.ts';
import { splitKey } from '../../controller/owner.ts';
import type { ReconcileResult } from '../../controller/reconcile-result.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import { RuntimeErrors } from '../../runtime/image-table.ts';
import { parseMemory } from '../../runtime/memory-limit.ts';
import { envProblem } from '../../runtime/pod-env.ts';
import { probeProblem } from '../../runtime/probe.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { R } from '../shared/resources.ts';
import { applyChild } from '../shared/apply-child.ts';
import { makeEndpoints } from './resources/make-endpoints.ts';
import { computeRevisionStatus, type RevisionFailure } from './resources/revision-status.ts';
import { initialScale, type ScaleSource } from './scale-source.ts';
import { routingStateOf } from './routing-state.ts';

/** What the reconciler needs from the runtime (a fake in unit tests). */
export type PodRuntime = Pick<Runtime, 'resolve' | 'ensure' | 'remove'>;

export class RevisionReconciler {
  constructor(private readonly ctx: ReconcilerContext, private readonly runtime: PodRuntime, private readonly scale: ScaleSource) {}

  /** Why the revision cannot run at all, or undefined. */
  private preflight(rev: Revision): RevisionFailure | undefined {
    const c = rev.spec?.containers?.[0];
    if (!c) return { reason: 'NoContainer', message: 'spec.containers is empty: a revision needs one container' };
    const envIssue = envProblem(c);
    if (envIssue) return { reason: 'UnsupportedEnvSource', message: envIssue };
    if (c.volumeMounts?.length || rev.spec?.volumes?.length) {
      const where = c.volumeMounts?.length ? 'spec.containers[0].volumeMounts' : 'spec.volumes';
      return { reason: 'UnsupportedVolume', message: `${where}: volumes are not supported by sluice (pods are local processes); read files from the working directory instead` };
    }
    if ((rev.spec?.containers?.length ?? 0) > 1) {
      return { reason: 'UnsupportedContainers', message: `spec.containers: ${rev.spec!.containers.length} containers given; sluice runs exactly one container per revision` };
    }
    for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      const issue = probeProblem(c[kind], `spec.containers[0].${kind}`);
      if (issue) return { reason: 'UnsupportedProbe', message: issue };
    }
    try {
      this.runtime.resolve(rev);
      if (c.resources?.limits?.memory) parseMemory(c.resources.limits.memory, 'spec.containers[0].resources.limits.memory');
    } catch (e) {
      if (isSluiceError(e, RuntimeErrors.ImageNotFound)) return { reason: 'ImageNotFound', message: `Unable to fetch image "${c.image}": ${e.message}` };
      if (isSluiceError(e, RuntimeErrors.BadMemoryLimit)) return { reason: 'InvalidMemoryLimit', message: e.message };
      throw e;
    }
    return undefined;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const rev = this.ctx.listers.revisions.get(namespace, name);
    if (!rev || rev.metadata.deletionTimestamp) {
      // Draining can take the grace period: do not hold a worker for it.
      void this.runtime.remove(key);
      return;
    }
    const now = this.ctx.clock.now();
    const failure = this.preflight(rev);
    // The scale source (autoscaler) decides; without an opinion, reserve revisions (no longer
    // routed, not the newest) scale to zero and others start at their initial scale.
    const fromSource = failure ? 0 : this.scale.desiredScale(key, rev);
    const desired = fromSource ?? (routingStateOf(rev, this.ctx.listers) === 'reserve' ? 0 : initialScale(rev));
    this.runtime.ensure(rev, desired);

    const pods = this.ctx.listers.pods.list(namespace, { [Labels.revision]: name },
      (p: Pod) => !rev.metadata.uid || p.metadata.labels?.['serving.knative.dev/revisionUID'] === rev.metadata.uid);
    const status = computeRevisionStatus(rev, pods, desired, now, failure);
    const before = getCondition(rev.status?.conditions, CT.ready);
    // Endpoints and status do not depend on each other: write both at once.
    await Promise.all([
      applyChild<Endpoints>(this.ctx.store, R.endpoints, rev, makeEndpoints(rev, pods), this.ctx.listers.endpoints.get(namespace, name)),
      updateStatus(this.ctx.store, R.revisions, rev, status),
    ]);
    const after = getCondition(status.conditions, CT.ready);
    if (after && after.status !== before?.status) {
      if (after.status === 'True') void this.ctx.recorder.event(rev, 'Normal', 'RevisionReady', `Revision "${name}" is ready`);
      if (after.status === 'False') void this.ctx.recorder.event(rev, 'Warning', after.reason ?? 'RevisionFailed', after.message ?? 'revision failed');
    }
  }
}
