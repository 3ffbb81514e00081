/**
 * DomainMapping reconciler. Its key is the domain (a mapping's name), not `namespace/name`: every
 * mapping of one domain, in any namespace, is reconciled in one pass, so the claim decision
 * (claim.ts) is made by one worker at a time and two namespaces can never both serve a domain.
 *
 * For the claimant: resolve spec.ref to a Route, write the owned Ingress (the domain → the
 * Route's revisions, TLS from spec.tls) and mirror its readiness; with ingressReadiness
 * 'immediate' it marks the Ingress Ready itself (no gateway), with 'controlplane' the control
 * plane does on gateway ACKs. While the ref cannot be resolved, or the Route has no traffic yet,
 * the previous Ingress stays. Every other mapping of the domain gets DomainClaimed False and no
 * Ingress (one it still had from an earlier claim is deleted).
 */
import type { DomainMapping } from '../../api/types/knative.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import { getCondition, ConditionTypes as CT } from '../../api/conditions.ts';
import type { Lister } from '../../controller/lister.ts';
import { isControlledBy, splitKey } from '../../controller/owner.ts';
import { updateStatus } from '../../controller/status-update.ts';
import type { ReconcileResult } from '../../controller/reconcile-result.ts';
import { errorMessage, isSluiceError } from '../../lib/errors.ts';
import { StoreErrors } from '../../store/store.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { R, ServingErrors } from '../shared/resources.ts';
import { applyChild } from '../shared/apply-child.ts';
import { immediateIngressStatus } from '../route/resources/route-status.ts';
import { claimant } from './resources/claim.ts';
import { resolveRef } from './resources/resolve-ref.ts';
import { makeIngress, trafficSplits } from './resources/make-ingress.ts';
import { computeDomainMappingStatus, type DomainMappingState } from './resources/domain-mapping-status.ts';

/** Store id of the DomainMapping kind (serving.knative.dev/v1beta1). */
export const DOMAIN_MAPPINGS = 'serving.knative.dev/domainmappings';

export class DomainMappingReconciler {
  constructor(private readonly ctx: ReconcilerContext, private readonly mappings: Lister<DomainMapping>) {}

  /** `key` is the domain; `namespace/domain` is accepted too (the namespace is ignored). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const domain = key.includes('/') ? splitKey(key).name : key;
    const all = this.mappings.list(undefined, undefined, (m) => m.metadata.name === domain);
    const owner = claimant(all, (m) => this.ownedIngress(m) !== undefined);
    let first: unknown;
    for (const dm of all) {
      if (dm.metadata.deletionTimestamp) continue;
      try {
        if (dm === owner) await this.reconcileClaimed(dm);
        else await this.reconcileUnclaimed(dm);
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  private ownedIngress(dm: DomainMapping): KIngress | undefined {
    const ing = this.ctx.listers.ingresses.get(dm.metadata.namespace ?? '', dm.metadata.name ?? '');
    return ing && isControlledBy(ing, dm) ? ing : undefined;
  }

  private async reconcileUnclaimed(dm: DomainMapping): Promise<void> {
    const ns = dm.metadata.namespace ?? '';
    const name = dm.metadata.name ?? '';
    if (this.ownedIngress(dm)) {
      try { await this.ctx.store.delete(R.ingresses, ns, name); } catch (e) { if (!isSluiceError(e, StoreErrors.NotFound)) throw e; }
    }
    const wasClaimed = getCondition(dm.status?.conditions, CT.domainClaimed)?.status !== 'False';
    await this.writeStatus(dm, { claimed: false, now: this.ctx.clock.now() });
    if (wasClaimed) void this.ctx.recorder.event(dm, 'Warning', 'DomainAlreadyClaimed', `The domain name ${name} is already in use by another DomainMapping`);
  }

  private async reconcileClaimed(dm: DomainMapping): Promise<void> {
    const ns = dm.metadata.namespace ?? '';
    const name = dm.metadata.name ?? '';
    const now = this.ctx.clock.now();
    const st: DomainMappingState = { claimed: true, now };
    let ingress = this.ownedIngress(dm);
    const res = resolveRef(dm, {
      service: (n) => this.ctx.listers.services.get(ns, n),
      route: (n) => this.ctx.listers.routes.get(ns, n),
    });
    if (!res.ok) {
      st.ref = res;
      const was = getCondition(dm.status?.conditions, CT.referenceResolved);
      if (was?.status !== 'False' || was.message !== res.message) void this.ctx.recorder.event(dm, 'Warning', 'ResolveFailed', res.message);
    } else {
      st.ref = { ok: true };
      const route = res.route;
      const splits = trafficSplits(ns, route.status?.traffic, name);
      if (splits.length === 0) {
        const why = getCondition(route.status?.conditions, CT.allTrafficAssigned);
        st.ingressProblem = { status: 'Unknown', reason: 'IngressNotConfigured', message: `Route "${route.metadata.name}" has not assigned traffic to a revision yet${why?.message ? `: ${why.message}` : ''}` };
      } else {
        try {
          const a = await applyChild(this.ctx.store, R.ingresses, dm, makeIngress(dm, route, splits), this.ctx.listers.ingresses.get(ns, name));
          ingress = a.obj;
          if (a.action === 'created') void this.ctx.recorder.event(dm, 'Normal', 'Created', `Created Ingress "${name}"`);
        } catch (e) {
          if (!isSluiceError(e, ServingErrors.NotOwned)) throw e;
          ingress = undefined;
          st.ingressProblem = { status: 'False', reason: 'NotOwned', message: errorMessage(e) };
          if (getCondition(dm.status?.conditions, CT.ingressReady)?.reason !== 'NotOwned') void this.ctx.recorder.event(dm, 'Warning', 'NotOwned', errorMessage(e));
        }
        if (ingress && this.ctx.network.ingressReadiness === 'immediate') {
          ingress = (await updateStatus(this.ctx.store, R.ingresses, ingress, immediateIngressStatus(ingress, now))) ?? ingress;
        }
      }
    }
    st.ingress = ingress;
    await this.writeStatus(dm, st);
  }

  private async writeStatus(dm: DomainMapping, st: DomainMappingState): Promise<void> {
    await updateStatus(this.ctx.store, DOMAIN_MAPPINGS, dm, computeDomainMappingStatus(dm, st));
  }
}
