/** Wiring: Services, plus the Configurations and Routes they control, → ServiceReconciler. */
import { Controller } from '../../controller/controller.ts';
import { enqueueSelf, enqueueControllerOf } from '../../controller/owner.ts';
import type { InformerHandle } from '../../controller/informer.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { ServiceReconciler } from './reconciler.ts';

export function newServiceController(ctx: ReconcilerContext, informers: { services: InformerHandle<any>; configurations: InformerHandle<any>; routes: InformerHandle<any> }, workers = 2): Controller {
  const r = new ServiceReconciler(ctx);
  const c = new Controller({ name: 'service', clock: ctx.clock, workers, reconcile: (k) => r.reconcile(k), informers: Object.values(informers) });
  informers.services.addHandler(enqueueSelf(c.enqueue));
  informers.configurations.addHandler(enqueueControllerOf('Service', c.enqueue));
  informers.routes.addHandler(enqueueControllerOf('Service', c.enqueue));
  return c;
}
