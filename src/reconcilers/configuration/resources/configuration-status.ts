/**
 * The Configuration's status from its revisions (Knative's configuration reconciler):
 * latestCreatedRevisionName is the revision of the current generation; latestReadyRevisionName
 * the newest (by generation) ready revision it owns; Ready is True when those two agree, False
 * when the latest created revision failed, Unknown while it comes up.
 */
import type { Configuration, ConfigurationStatus, Revision } from '../../../api/types/knative.ts';
import { Labels } from '../../../api/types/knative.ts';
import { configurationConditions as cs, getCondition, ConditionTypes as CT } from '../../../api/conditions.ts';

function gen(r: Revision): number { return Number(r.metadata.labels?.[Labels.configurationGeneration] ?? 0); }

export function computeConfigurationStatus(config: Configuration, latestCreated: Revision, owned: Revision[], now: number): ConfigurationStatus {
  const prev = config.status ?? {};
  let conds = cs.initialize(prev.conditions, now);
  const ready = owned.filter((r) => getCondition(r.status?.conditions, CT.ready)?.status === 'True' &&
    (r.status?.observedGeneration ?? -1) === (r.metadata.generation ?? 0));
  ready.sort((a, b) => gen(b) - gen(a));
  const latestReady = ready[0]?.metadata.name ?? (owned.some((r) => r.metadata.name === prev.latestReadyRevisionName) ? prev.latestReadyRevisionName : undefined);
  const rc = getCondition(latestCreated.status?.conditions, CT.ready);
  const name = latestCreated.metadata.name ?? '';
  if (latestReady === name) conds = cs.markTrue(conds, CT.ready, now);
  else if (rc?.status === 'False') conds = cs.markFalse(conds, CT.ready, 'RevisionFailed', `Revision "${name}" failed with message: ${rc.message ?? rc.reason ?? 'unknown'}.`, now);
  else conds = cs.markUnknown(conds, CT.ready, '', '', now);
  const st: ConfigurationStatus = { ...prev, observedGeneration: config.metadata.generation, conditions: conds, latestCreatedRevisionName: name };
  if (latestReady) st.latestReadyRevisionName = latestReady;
  else delete st.latestReadyRevisionName;
  return st;
}
