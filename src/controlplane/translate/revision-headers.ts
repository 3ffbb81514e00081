/**
 * The Knative revision headers (`Knative-Serving-Namespace`, `Knative-Serving-Revision`) for a
 * destination that is a Knative revision's service. Knative's ingress sets them on every split;
 * the activator uses them to know which revision a request is for. A VirtualService or a mesh
 * egress route can also send traffic to a revision service (`hello-00001.ns.svc...`), and when
 * that revision is in activator mode (no pods, or too little spare capacity) its endpoints are
 * the activator's, so those routes must carry the headers too. The revision is known from the
 * Endpoints' `serving.knative.dev/revision` label; other services get no headers.
 */
import { Labels } from '../../api/types/knative.ts';
import { headerValues } from './http-match.ts';
import { parseServiceHost } from './hosts.ts';
import type { TranslateContext } from './context.ts';

export const REVISION_NAMESPACE_HEADER = 'Knative-Serving-Namespace';
export const REVISION_NAME_HEADER = 'Knative-Serving-Revision';

/** `request_headers_to_add` entries naming the revision behind `fqdn`, or [] when it is not one. */
export function revisionHeaders(ctx: TranslateContext, fqdn: string): object[] {
  const svc = parseServiceHost(fqdn, ctx.opts.clusterDomain);
  if (!svc) return [];
  const ep = ctx.state.endpoints.get(`${svc.namespace}/${svc.name}`);
  const rev = ep?.metadata.labels?.[Labels.revision];
  if (!rev) return [];
  return headerValues({ [REVISION_NAMESPACE_HEADER]: svc.namespace, [REVISION_NAME_HEADER]: rev }, 'OVERWRITE_IF_EXISTS_OR_ADD');
}
