/**
 * Domain claims: one domain belongs to one namespace. Knative records the owner in a
 * cluster-scoped ClusterDomainClaim, created by the first DomainMapping for the domain and
 * deleted with it; sluice derives the same decision from what exists, which survives restarts
 * without another kind:
 *
 * 1. a mapping that already serves the domain (controls the Ingress named after it) keeps it;
 * 2. otherwise the oldest mapping claims it (creationTimestamp, then namespace, for a total order).
 *
 * Mappings being deleted never hold a claim, so deleting the owner hands the domain to the next
 * oldest mapping, as deleting Knative's claim with its mapping does. Pure: lookups in, winner out.
 */
import type { DomainMapping } from '../../../api/types/knative.ts';

export function claimant(mappings: readonly DomainMapping[], servesDomain: (dm: DomainMapping) => boolean): DomainMapping | undefined {
  const live = mappings.filter((m) => !m.metadata.deletionTimestamp);
  const serving = live.filter(servesDomain).sort(olderFirst);
  if (serving.length > 0) return serving[0];
  return [...live].sort(olderFirst)[0];
}

function olderFirst(a: DomainMapping, b: DomainMapping): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata.namespace ?? '', nb = b.metadata.namespace ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}
