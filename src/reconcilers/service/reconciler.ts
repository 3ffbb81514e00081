/**
 * Service reconciler: owns one Configuration and one Route of the Service's name, keeps their
 * specs equal to what the Service asks, and mirrors their readiness into ConfigurationsReady,
 * RoutesReady and Ready, with url, traffic and latest revision names.
 */
import type { KService, Configuration, Route } from '../../api/types/knative.ts';
import { ConditionTypes as CT } from '../../api/conditions.ts';
import { isSluiceError, errorMessage } from '../../lib/errors.ts';
import { updateStatus } from '../../controller/status-update.ts';
import { splitKey } from '../../controller/owner.ts';
import { permanentError, type ReconcileResult } from '../../controller/reconcile-result.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { R, ServingErrors } from '../shared/resources.ts';
import { applyChild } from '../shared/apply-child.ts';
import { makeConfiguration } from './resources/make-configuration.ts';
import { makeRoute } from './resources/make-route.ts';
import { computeServiceStatus } from './resources/service-status.ts';

export class ServiceReconciler {
  constructor(private readonly ctx: ReconcilerContext) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const svc = this.ctx.listers.services.get(namespace, name);
    if (!svc || svc.metadata.deletionTimestamp) return; // children go by ownerReference cascade
    let config: Configuration | undefined;
    let route: Route | undefined;
    let failure: { type: string; reason: string; message: string } | undefined;
    try {
      const c = await applyChild(this.ctx.store, R.configurations, svc, makeConfiguration(svc), this.ctx.listers.configurations.get(namespace, name));
      config = c.obj;
      if (c.action === 'created') void this.ctx.recorder.event(svc, 'Normal', 'Created', `Created Configuration "${name}"`);
    } catch (e) {
      if (!isSluiceError(e, ServingErrors.NotOwned)) throw e;
      failure = { type: CT.configurationsReady, reason: 'NotOwned', message: errorMessage(e) };
    }
    try {
      const r = await applyChild(this.ctx.store, R.routes, svc, makeRoute(svc), this.ctx.listers.routes.get(namespace, name));
      route = r.obj;
      if (r.action === 'created') void this.ctx.recorder.event(svc, 'Normal', 'Created', `Created Route "${name}"`);
    } catch (e) {
      if (!isSluiceError(e, ServingErrors.NotOwned)) throw e;
      failure = { type: CT.routesReady, reason: 'NotOwned', message: errorMessage(e) };
    }
    const status = computeServiceStatus(svc, config, route, this.ctx.clock.now(), failure);
    await updateStatus(this.ctx.store, R.services, svc, status);
    if (failure) {
      void this.ctx.recorder.event(svc, 'Warning', 'InternalError', failure.message);
      throw permanentError(failure.message, { reason: failure.reason });
    }
  }
}
