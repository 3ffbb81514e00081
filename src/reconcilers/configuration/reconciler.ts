/**
 * Configuration reconciler: one immutable Revision per template change. Creates the Revision
 * of the current generation when it does not exist and reports latestCreatedRevisionName,
 * latestReadyRevisionName and Ready. Older revisions stay (routes may pin them).
 */
import type { Configuration, Revision } from '../../api/types/knative.ts';
import { Labels } from '../../api/types/knative.ts';
import { configurationConditions as cs, ConditionTypes as CT } from '../../api/conditions.ts';
import { isSluiceError } from '../../lib/errors.ts';
import { StoreErrors } from '../../store/store.ts';
import { updateStatus, deepEqual } from '../../controller/status-update.ts';
import { splitKey, isControlledBy } from '../../controller/owner.ts';
import { permanentError, type ReconcileResult } from '../../controller/reconcile-result.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { R } from '../shared/resources.ts';
import { makeRevision, revisionNameFor } from './resources/make-revision.ts';
import { computeConfigurationStatus } from './resources/configuration-status.ts';

export class ConfigurationReconciler {
  constructor(private readonly ctx: ReconcilerContext) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const config = this.ctx.listers.configurations.get(namespace, name);
    if (!config || config.metadata.deletionTimestamp) return;
    const now = this.ctx.clock.now();
    const revName = revisionNameFor(config);
    let rev: Revision | undefined = this.ctx.listers.revisions.get(namespace, revName);
    if (rev && !isControlledBy(rev, config)) {
      const msg = `Revision "${revName}" already exists and is not owned by Configuration "${name}": choose another spec.template.metadata.name`;
      const conds = cs.markFalse(cs.initialize(config.status?.conditions, now), CT.ready, 'NotOwned', msg, now);
      await updateStatus(this.ctx.store, R.configurations, config, { ...config.status, observedGeneration: config.metadata.generation, conditions: conds });
      void this.ctx.recorder.event(config, 'Warning', 'NotOwned', msg);
      throw permanentError(msg, { reason: 'NotOwned' });
    }
    if (rev && config.spec?.template?.metadata?.name && !deepEqual(rev.spec, config.spec.template.spec)) {
      // Revisions are immutable: a changed template under the same given name cannot be honoured.
      const msg = `spec.template.metadata.name "${revName}" names an existing Revision with a different spec: revisions are immutable, give the changed template a new name`;
      const conds = cs.markFalse(cs.initialize(config.status?.conditions, now), CT.ready, 'RevisionNameConflict', msg, now);
      await updateStatus(this.ctx.store, R.configurations, config, { ...config.status, observedGeneration: config.metadata.generation, conditions: conds });
      void this.ctx.recorder.event(config, 'Warning', 'RevisionNameConflict', msg);
      throw permanentError(msg, { reason: 'RevisionNameConflict' });
    }
    if (!rev) {
      try {
        rev = (await this.ctx.store.create(R.revisions, makeRevision(config))) as Revision;
        void this.ctx.recorder.event(config, 'Normal', 'Created', `Created Revision "${revName}"`);
      } catch (e) {
        if (!isSluiceError(e, StoreErrors.AlreadyExists)) throw e;
        rev = (await this.ctx.store.get(R.revisions, namespace, revName)) as Revision | undefined;
        if (!rev) throw e;
      }
    }
    const owned = this.ctx.listers.revisions.list(namespace, { [Labels.configuration]: name }, (r) => isControlledBy(r, config));
    if (!owned.some((r) => r.metadata.name === rev!.metadata.name)) owned.push(rev);
    const status = computeConfigurationStatus(config, rev, owned, now);
    const prevReady = config.status?.latestReadyRevisionName;
    await updateStatus(this.ctx.store, R.configurations, config, status);
    if (status.latestReadyRevisionName && status.latestReadyRevisionName !== prevReady) {
      void this.ctx.recorder.event(config, 'Normal', 'LatestReadyUpdate', `LatestReadyRevisionName updated to "${status.latestReadyRevisionName}"`);
    }
  }
}
