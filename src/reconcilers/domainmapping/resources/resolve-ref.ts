/**
 * spec.ref → the Route that serves it (Knative resolves the Addressable's URL; sluice needs the
 * Route itself, whose resolved traffic the mapping's Ingress copies). A Knative Service resolves
 * to its Route of the same name; a Route to itself. Messages follow Knative's resolver
 * (`services.serving.knative.dev "x" not found`) and say what to do. Pure: lookups in.
 */
import type { DomainMapping, KService, Route } from '../../../api/types/knative.ts';

export type RefResult = { ok: true; route: Route } | { ok: false; message: string };

export interface RefLookups {
  service(name: string): KService | undefined;
  route(name: string): Route | undefined;
}

export function resolveRef(dm: DomainMapping, get: RefLookups): RefResult {
  const ref = dm.spec?.ref;
  const ns = dm.metadata.namespace ?? '';
  if (!ref?.name) return { ok: false, message: 'spec.ref is missing: name a Knative Service or Route of this namespace' };
  if (ref.namespace && ref.namespace !== ns) {
    return { ok: false, message: `spec.ref.namespace "${ref.namespace}" must be the DomainMapping's namespace "${ns}": a mapping can only point at its own namespace` };
  }
  if (ref.apiVersion !== 'serving.knative.dev/v1') {
    return { ok: false, message: `spec.ref.apiVersion "${ref.apiVersion}" is not supported: use serving.knative.dev/v1 (a Knative Service or Route)` };
  }
  if (ref.kind === 'Service') {
    const svc = get.service(ref.name);
    if (!svc) return { ok: false, message: `services.serving.knative.dev "${ref.name}" not found in namespace "${ns}": create the Service or point spec.ref at an existing one` };
    const route = get.route(ref.name);
    if (!route) return { ok: false, message: `address not set for Service "${ref.name}": its Route has not been created yet` };
    return { ok: true, route };
  }
  if (ref.kind === 'Route') {
    const route = get.route(ref.name);
    if (!route) return { ok: false, message: `routes.serving.knative.dev "${ref.name}" not found in namespace "${ns}": create the Route or point spec.ref at an existing one` };
    return { ok: true, route };
  }
  return { ok: false, message: `spec.ref.kind "${ref.kind}" is not supported: use Service or Route` };
}
