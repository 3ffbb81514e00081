/**
 * The activator's AuthorizationPolicy check (Activator's `authorize`): a request for revision
 * `ns/name` is decided against the policies selecting the revision's pods (their labels are the
 * runtime's, makePodMeta), with the activator's identity as the source (security/workload-authz.ts).
 * Only with the mesh on: without it no pod has an inbound listener enforcing policies either.
 */
import type { IncomingMessage } from 'node:http';
import type { Revision } from '../api/types/knative.ts';
import type { AuthzDecision } from '../security/authorization.ts';
import { activatorPrincipal, type WorkloadAuthz } from '../security/workload-authz.ts';
import { makePodMeta, templateHash } from '../runtime/make-pod.ts';

export interface ActivatorAuthzOptions {
  /** proxy.mesh: false = no check. */
  mesh: boolean;
  authz: WorkloadAuthz;
  /** The mesh CA's trust domain (read per request: the CA starts after the activator). */
  trustDomain(): string;
  /** The revision (for its pods' labels and declared port); undefined while unknown. */
  revision(namespace: string, name: string): Revision | undefined;
}

/** The labels the runtime gives the revision's pods (without a revision: Knative's revision labels only). */
export function revisionPodLabels(namespace: string, name: string, rev: Revision | undefined): Record<string, string> {
  if (!rev) return { app: name, 'serving.knative.dev/revision': name };
  return makePodMeta(rev, { namespace, name: '', port: 0, templateHash: templateHash(rev.metadata.uid ?? rev.metadata.name ?? ''), nodeName: '' }).metadata.labels ?? {};
}

export function activatorAuthorizer(o: ActivatorAuthzOptions): ((revisionKey: string, req: IncomingMessage) => AuthzDecision) | undefined {
  if (!o.mesh) return undefined;
  return (key, req) => {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const rev = o.revision(ns, name);
    const xff = req.headers['x-forwarded-for'];
    const remoteIp = typeof xff === 'string' && xff ? xff.split(',')[0]!.trim() : undefined;
    return o.authz.decide(ns, revisionPodLabels(ns, name, rev), {
      source: { principal: activatorPrincipal(o.trustDomain()), ip: req.socket?.localAddress ?? '127.0.0.1', ...(remoteIp ? { remoteIp } : {}) },
      host: req.headers.host ?? '',
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      // The workload's port as policies name it (the container's declared port, Knative's default 8080).
      port: rev?.spec?.containers?.[0]?.ports?.[0]?.containerPort ?? 8080,
      headers: req.headers,
    });
  };
}
