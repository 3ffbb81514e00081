/**
 * Wiring: DomainMappings (keyed by domain), the Ingresses they control (named after the domain,
 * and any same-named Ingress whose deletion frees the name), and the Services and Routes their
 * spec.ref names → DomainMappingReconciler.
 */
import { Controller } from '../../controller/controller.ts';
import type { InformerHandle, InformerHandlers } from '../../controller/informer.ts';
import type { Lister } from '../../controller/lister.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { DomainMapping } from '../../api/types/knative.ts';
import type { ReconcilerContext } from '../shared/context.ts';
import { DomainMappingReconciler } from './reconciler.ts';

function handlers<T extends KubeObject>(fire: (o: T) => void): InformerHandlers<T> {
  return { add: fire, update: (_a, b) => fire(b), delete: fire };
}

export function newDomainMappingController(ctx: ReconcilerContext, informers: {
  domainMappings: InformerHandle<any>; ingresses: InformerHandle<any>; services: InformerHandle<any>; routes: InformerHandle<any>;
}, workers = 2): Controller {
  const mappings = informers.domainMappings.lister as Lister<DomainMapping>;
  const r = new DomainMappingReconciler(ctx, mappings);
  const c = new Controller({ name: 'domainmapping', clock: ctx.clock, workers, reconcile: (k) => r.reconcile(k), informers: Object.values(informers) });
  informers.domainMappings.addHandler(handlers<DomainMapping>((o) => { if (o.metadata.name) c.enqueue(o.metadata.name); }));
  // Route Ingresses are named after Routes (DNS labels, no dots); only domain-named ones matter here.
  informers.ingresses.addHandler(handlers<KubeObject>((o) => { const n = o.metadata.name ?? ''; if (n.includes('.')) c.enqueue(n); }));
  // A Service or Route named by some mapping's spec.ref (a ksvc's Route has the ksvc's name).
  const referencing = handlers<KubeObject>((o) => {
    const ns = o.metadata.namespace ?? '';
    for (const dm of mappings.list(ns, undefined, (m) => m.spec?.ref?.name === o.metadata.name)) c.enqueue(dm.metadata.name ?? '');
  });
  informers.services.addHandler(referencing);
  informers.routes.addHandler(referencing);
  return c;
}
