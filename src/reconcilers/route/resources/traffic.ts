/**
 * Traffic resolution (Knative's traffic.BuildTrafficConfiguration): every target of
 * spec.traffic becomes a concrete revision. `configurationName` (with latestRevision) resolves
 * to the Configuration's latestReadyRevisionName; `revisionName` must name a ready Revision.
 * Percentages must sum to 100. Pure: takes lookups, returns targets or the first problem.
 */
import type { Configuration, Revision, Route, TrafficTarget } from '../../../api/types/knative.ts';
import { getCondition, ConditionTypes as CT } from '../../../api/conditions.ts';
import { routeUrl, tagHostName } from '../../shared/urls.ts';

export interface ResolvedTarget {
  tag?: string;
  revisionName: string;
  configurationName?: string;
  latestRevision: boolean;
  percent: number;
}

/** Why traffic is not (yet) assigned: `Unknown` while waiting, `False` when it cannot be. */
export interface TrafficProblem { status: 'False' | 'Unknown'; reason: string; message: string }

export type TrafficResult = { ok: true; targets: ResolvedTarget[] } | { ok: false; problem: TrafficProblem };

export interface TrafficLookups {
  configuration(name: string): Configuration | undefined;
  revision(name: string): Revision | undefined;
}

export function resolveTraffic(route: Route, get: TrafficLookups): TrafficResult {
  const spec = route.spec?.traffic ?? [];
  if (spec.length === 0) return { ok: false, problem: { status: 'False', reason: 'InvalidTraffic', message: 'spec.traffic is empty: give at least one target with percent 100' } };
  const sum = spec.reduce((s, t) => s + (t.percent ?? 0), 0);
  if (sum !== 100) return { ok: false, problem: { status: 'False', reason: 'InvalidTraffic', message: `spec.traffic: percentages sum to ${sum}, want 100` } };
  const out: ResolvedTarget[] = [];
  for (const [i, t] of spec.entries()) {
    const where = `spec.traffic[${i}]`;
    if (t.revisionName && !t.latestRevision) {
      const rev = get.revision(t.revisionName);
      if (!rev) return { ok: false, problem: { status: 'False', reason: 'RevisionMissing', message: `Revision "${t.revisionName}" referenced in traffic not found.` } };
      const rc = getCondition(rev.status?.conditions, CT.ready);
      if (rc?.status === 'False') return { ok: false, problem: { status: 'False', reason: 'RevisionMissing', message: `Revision "${t.revisionName}" failed to become ready: ${rc.message ?? rc.reason ?? ''}` } };
      if (rc?.status !== 'True') return { ok: false, problem: { status: 'Unknown', reason: 'RevisionMissing', message: `Revision "${t.revisionName}" is not yet ready.` } };
      out.push({ tag: t.tag, revisionName: t.revisionName, latestRevision: false, percent: t.percent ?? 0 });
      continue;
    }
    if (!t.configurationName) return { ok: false, problem: { status: 'False', reason: 'InvalidTraffic', message: `${where}: needs revisionName or configurationName` } };
    const cfg = get.configuration(t.configurationName);
    if (!cfg) return { ok: false, problem: { status: 'False', reason: 'ConfigurationMissing', message: `Configuration "${t.configurationName}" referenced in traffic not found.` } };
    const ready = cfg.status?.latestReadyRevisionName;
    if (!ready) {
      const cc = getCondition(cfg.status?.conditions, CT.ready);
      if (cc?.status === 'False') return { ok: false, problem: { status: 'False', reason: 'RevisionMissing', message: `Configuration "${t.configurationName}" does not have any ready Revision: ${cc.message ?? ''}` } };
      return { ok: false, problem: { status: 'Unknown', reason: 'RevisionMissing', message: `Configuration "${t.configurationName}" is waiting for a Revision to become ready.` } };
    }
    out.push({ tag: t.tag, revisionName: ready, configurationName: t.configurationName, latestRevision: true, percent: t.percent ?? 0 });
  }
  const tags = new Set<string>();
  for (const t of out) {
    if (!t.tag) continue;
    if (tags.has(t.tag)) return { ok: false, problem: { status: 'False', reason: 'InvalidTraffic', message: `spec.traffic: tag "${t.tag}" is used more than once` } };
    tags.add(t.tag);
  }
  return { ok: true, targets: out };
}

/** status.traffic as Knative shows it: concrete revision names, latestRevision flags, tag URLs. */
export function statusTraffic(route: Route, targets: ResolvedTarget[], domain: string, clusterLocal: boolean): TrafficTarget[] {
  const ns = route.metadata.namespace ?? '';
  return targets.map((t) => {
    const o: TrafficTarget = {};
    if (t.tag) o.tag = t.tag;
    o.revisionName = t.revisionName;
    if (t.configurationName) o.configurationName = t.configurationName;
    o.latestRevision = t.latestRevision;
    o.percent = t.percent;
    if (t.tag) o.url = routeUrl(tagHostName(t.tag, route.metadata.name ?? ''), ns, domain, clusterLocal);
    return o;
  });
}
