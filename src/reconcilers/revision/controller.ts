/** Wiring: Revisions, their Pods (by label) and Endpoints, and the scale source → RevisionReconciler. */
import { Controller } from '../../controller/controller.ts';
import { enqueueSelf, enqueueControllerOf, enqueueByLabel } from '../../controller/owner.ts';
import type { InformerHandle } from '../../controller/informer.ts';
import { Labels, type Route } from '../../api/types/knative.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { RevisionReconciler } from './reconciler.ts';
import type { ScaleSource } from './scale-source.ts';

export function newRevisionController(ctx: ReconcilerContext, informers: { revisions: InformerHandle<any>; pods: InformerHandle<any>; endpoints: InformerHandle<any>; routes: InformerHandle<any> }, runtime: Runtime, scale: ScaleSource, workers = 4): { controller: Controller; unsubscribe: () => void } {
  const r = new RevisionReconciler(ctx, runtime, scale);
  const c = new Controller({ name: 'revision', clock: ctx.clock, workers, reconcile: (k) => r.reconcile(k), informers: Object.values(informers) });
  informers.revisions.addHandler(enqueueSelf(c.enqueue));
  informers.pods.addHandler(enqueueByLabel(Labels.revision, c.enqueue));
  informers.endpoints.addHandler(enqueueControllerOf('Revision', c.enqueue));
  // A deleted Pod object whose process still runs (kubectl delete pod): stop it; the
  // revision's next reconcile starts a replacement.
  informers.pods.addHandler({ delete: (p) => runtime.podDeleted(p.metadata.namespace ?? '', p.metadata.name ?? '') });
  // Routing state (active / reserve) follows the Routes' traffic: re-decide the revisions a
  // Route names, before and after each change.
  const named = (r: Route | undefined): string[] => [...(r?.status?.traffic ?? []), ...(r?.spec?.traffic ?? [])].flatMap((t) => (t.revisionName ? [t.revisionName] : []));
  const fire = (a: Route | undefined, b: Route | undefined): void => {
    const ns = (b ?? a)?.metadata.namespace ?? '';
    for (const n of new Set([...named(a), ...named(b)])) c.enqueue(`${ns}/${n}`);
  };
  informers.routes.addHandler({ add: (r: Route) => fire(undefined, r), update: (a: Route, b: Route) => fire(a, b), delete: (r: Route) => fire(r, undefined) });
  const unsubscribe = scale.subscribe?.(c.enqueue) ?? (() => {});
  return { controller: c, unsubscribe };
}
