/** Wiring: Configurations, plus the Revisions they control, → ConfigurationReconciler. */
import { Controller } from '../../controller/controller.ts';
import { enqueueSelf, enqueueControllerOf } from '../../controller/owner.ts';
import type { InformerHandle } from '../../controller/informer.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { ConfigurationReconciler } from './reconciler.ts';

export function newConfigurationController(ctx: ReconcilerContext, informers: { configurations: InformerHandle<any>; revisions: InformerHandle<any> }, workers = 2): Controller {
  const r = new ConfigurationReconciler(ctx);
  const c = new Controller({ name: 'configuration', clock: ctx.clock, workers, reconcile: (k) => r.reconcile(k), informers: Object.values(informers) });
  informers.configurations.addHandler(enqueueSelf(c.enqueue));
  informers.revisions.addHandler(enqueueControllerOf('Configuration', c.enqueue));
  return c;
}
