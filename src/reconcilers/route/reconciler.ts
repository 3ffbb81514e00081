/**
 * Route reconciler: resolves traffic to concrete revisions, writes the owned Ingress (hosts,
 * splits, tags, visibility) and mirrors its readiness. With ingressReadiness 'immediate' it
 * also marks the Ingress Ready itself (no gateway configured); with 'controlplane' the xDS
 * control plane does that when every gateway has ACKed. While traffic cannot be resolved the
 * previous Ingress stays, so a failing new revision never takes the old one off the air.
 */
import type { Route } from '../../api/types/knative.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import { isSluiceError, errorMessage } from '../../lib/errors.ts';
import { updateStatus } from '../../controller/status-update.ts';
import { splitKey } from '../../controller/owner.ts';
import { permanentError, type ReconcileResult } from '../../controller/reconcile-result.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { R, ServingErrors } from '../shared/resources.ts';
import { applyChild } from '../shared/apply-child.ts';
import { isClusterLocal } from '../shared/urls.ts';
import { resolveTraffic, statusTraffic, type TrafficProblem } from './resources/traffic.ts';
import { makeIngress } from './resources/make-ingress.ts';
import { computeRouteStatus, immediateIngressStatus } from './resources/route-status.ts';

export class RouteReconciler {
  constructor(private readonly ctx: ReconcilerContext) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const route = this.ctx.listers.routes.get(namespace, name);
    if (!route || route.metadata.deletionTimestamp) return;
    const { domain, ingressReadiness } = this.ctx.network;
    const clusterLocal = isClusterLocal(route);
    const now = this.ctx.clock.now();
    const res = resolveTraffic(route, {
      configuration: (n) => this.ctx.listers.configurations.get(namespace, n),
      revision: (n) => this.ctx.listers.revisions.get(namespace, n),
    });
    let ingress: KIngress | undefined = this.ctx.listers.ingresses.get(namespace, name);
    let problem: TrafficProblem | undefined = res.ok ? undefined : res.problem;
    if (res.ok) {
      try {
        const a = await applyChild(this.ctx.store, R.ingresses, route, makeIngress(route, res.targets, domain, clusterLocal), ingress);
        ingress = a.obj;
        if (a.action === 'created') void this.ctx.recorder.event(route, 'Normal', 'Created', `Created Ingress "${name}"`);
      } catch (e) {
        if (!isSluiceError(e, ServingErrors.NotOwned)) throw e;
        problem = { status: 'False', reason: 'NotOwned', message: errorMessage(e) };
        ingress = undefined;
      }
      if (ingress && ingressReadiness === 'immediate') {
        ingress = (await updateStatus(this.ctx.store, R.ingresses, ingress, immediateIngressStatus(ingress, now))) ?? ingress;
      }
    }
    const traffic = res.ok ? statusTraffic(route, res.targets, domain, clusterLocal) : route.status?.traffic;
    const status = computeRouteStatus(route, { traffic, problem, ingress, domain, clusterLocal, now });
    await updateStatus(this.ctx.store, R.routes, route, status);
    if (problem?.status === 'False' && ['InvalidTraffic', 'NotOwned'].includes(problem.reason)) {
      void this.ctx.recorder.event(route, 'Warning', problem.reason, problem.message);
      throw permanentError(problem.message, { reason: problem.reason });
    }
  }
}
