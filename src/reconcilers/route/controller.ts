/**
 * Wiring: Routes, their Ingresses, and the Configurations and Revisions their traffic names
 * (found by scanning the namespace's routes, Knative's tracker in miniature) → RouteReconciler.
 */
import { Controller } from '../../controller/controller.ts';
import { enqueueSelf, enqueueControllerOf } from '../../controller/owner.ts';
import type { InformerHandle, InformerHandlers } from '../../controller/informer.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { Route } from '../../api/types/knative.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { RouteReconciler } from './reconciler.ts';

function referencing(ctx: ReconcilerContext, field: 'configurationName' | 'revisionName', enqueue: (k: string) => void): InformerHandlers<KubeObject> {
  const fire = (o: KubeObject): void => {
    const ns = o.metadata.namespace ?? '';
    for (const r of ctx.listers.routes.list(ns) as Route[]) {
      if (r.spec?.traffic?.some((t) => t[field] === o.metadata.name)) enqueue(`${ns}/${r.metadata.name}`);
    }
  };
  return { add: fire, update: (_a, b) => fire(b), delete: fire };
}

export function newRouteController(ctx: ReconcilerContext, informers: { routes: InformerHandle<any>; ingresses: InformerHandle<any>; configurations: InformerHandle<any>; revisions: InformerHandle<any> }, workers = 2): Controller {
  const r = new RouteReconciler(ctx);
  const c = new Controller({ name: 'route', clock: ctx.clock, workers, reconcile: (k) => r.reconcile(k), informers: Object.values(informers) });
  informers.routes.addHandler(enqueueSelf(c.enqueue));
  informers.ingresses.addHandler(enqueueControllerOf('Route', c.enqueue));
  informers.configurations.addHandler(referencing(ctx, 'configurationName', c.enqueue));
  informers.revisions.addHandler(referencing(ctx, 'revisionName', c.enqueue));
  return c;
}
