/**
 * AuthorizationPolicy enforcement for a workload outside the mesh proxy: the activator. While a
 * revision is in the activator's path (no pod, or too little spare capacity for its target burst
 * capacity), the activator hands requests to the pod's queue-proxy in-process, past the pod's
 * mesh inbound listener. As in Knative + Istio, where the pod's sidecar then sees the
 * activator's identity, the activator evaluates the pod's AuthorizationPolicies with itself as
 * the source: principal `TRUST_DOMAIN/ns/knative-serving/sa/activator` (namespace
 * `knative-serving`, Knative's system namespace). A policy that allows only namespace `a`
 * therefore denies requests arriving through the activator until it also allows
 * `knative-serving` (Knative's documented advice for Istio AuthorizationPolicies).
 *
 * The decision is the inbound listener's: the same policy selection and last-valid semantics
 * (a policy with errors keeps the version the translation last enforced; a new invalid one is not
 * enforced), the same RBAC filters (`toRbacFilters`) and the same evaluator the mesh proxy runs
 * (`evaluateRbacFilters`). Only AuthorizationPolicies are evaluated (no PeerAuthentication: the
 * activator's hop is inside the control process).
 */
import type { AuthorizationPolicy } from '../api/types/istio.ts';
import { validatePolicy, type AuthzDecision, type AuthzRequest } from './authorization.ts';
import { evaluateRbacFilters } from './envoy-rbac-eval.ts';
import { toRbacFilters, type RbacFilter } from './envoy-rbac.ts';
import { DEFAULT_ROOT_NAMESPACE } from './peer-authentication.ts';
import { SecurityErrors } from './security-errors.ts';
import { spiffeIdFor, type WorkloadIdentity } from './ca.ts';

/** The activator's mesh identity: Knative's system namespace and the activator's service account. */
export const ACTIVATOR_IDENTITY: WorkloadIdentity = { namespace: 'knative-serving', serviceAccount: 'activator' };

/** The principal policies see for requests through the activator (`td/ns/knative-serving/sa/activator`). */
export function activatorPrincipal(trustDomain: string): string {
  return spiffeIdFor(trustDomain, ACTIVATOR_IDENTITY).slice('spiffe://'.length);
}

const hasErrors = new WeakMap<AuthorizationPolicy, boolean>();
/** As the translation (mesh-security.ts `enforced`): errors other than unsupported features make a policy invalid. */
function invalid(p: AuthorizationPolicy): boolean {
  let b = hasErrors.get(p);
  if (b === undefined) {
    b = validatePolicy(p).some((x) => x.severity === 'error' && x.code !== SecurityErrors.AuthzUnsupported);
    hasErrors.set(p, b);
  }
  return b;
}

/**
 * The enforced versions of `list`: each valid policy; for an invalid one the last valid version
 * in `lastGood` (keyed `AuthorizationPolicy|ns/name`, the translation's map) or nothing.
 * `remember` = also record valid ones in `lastGood` (when it is this module's own map).
 */
export function enforcedPolicies(list: readonly AuthorizationPolicy[], lastGood: Map<string, unknown> | undefined, remember = false): AuthorizationPolicy[] {
  const out: AuthorizationPolicy[] = [];
  for (const p of list) {
    const key = `AuthorizationPolicy|${p.metadata.namespace}/${p.metadata.name}`;
    if (!invalid(p)) { if (remember) lastGood?.set(key, p); out.push(p); continue; }
    const prev = lastGood?.get(key) as AuthorizationPolicy | undefined;
    if (prev) out.push(prev);
  }
  return out;
}

export interface WorkloadAuthzOptions {
  /** The current AuthorizationPolicies of a namespace (an informer's lister). */
  policies(namespace: string): readonly AuthorizationPolicy[];
  /**
   * The translation's last valid policy versions (MeshSecurityInput.lastGoodPolicies), read only.
   * Undefined = this module keeps its own, with the same rule.
   */
  lastGoodPolicies?(): Map<string, unknown> | undefined;
  rootNamespace?: string;
}

export type WorkloadAuthzRequest = Omit<AuthzRequest, 'namespace' | 'workloadLabels'>;

/**
 * Decides requests to a workload (namespace + pod labels) from the current policies, level
 * triggered: every decision reads the lister; the RBAC filters are cached per namespace and
 * labels while the policies (by resourceVersion) stay the same.
 */
export class WorkloadAuthz {
  private readonly own = new Map<string, unknown>();
  private readonly cache = new Map<string, { sig: string; filters: Map<string, RbacFilter[]> }>();

  constructor(private readonly o: WorkloadAuthzOptions) {}

  private get root(): string { return this.o.rootNamespace ?? DEFAULT_ROOT_NAMESPACE; }

  /** The RBAC filters the workload's inbound listener gets (same inputs, same function). */
  filters(namespace: string, labels: Record<string, string>): RbacFilter[] {
    const list = namespace === this.root ? [...this.o.policies(namespace)] : [...this.o.policies(namespace), ...this.o.policies(this.root)];
    const shared = this.o.lastGoodPolicies?.();
    const sig = list.map((p) => `${p.metadata.namespace}/${p.metadata.name}@${p.metadata.resourceVersion ?? ''}@${p.metadata.uid ?? ''}`).join('|') + (shared ? '' : '|own');
    let c = this.cache.get(namespace);
    if (!c || c.sig !== sig) this.cache.set(namespace, (c = { sig, filters: new Map() }));
    const lk = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let f = c.filters.get(lk);
    if (!f) {
      const enforced = enforcedPolicies(list, shared ?? this.own, !shared);
      f = toRbacFilters(enforced, { namespace, labels }, { rootNamespace: this.root });
      c.filters.set(lk, f);
    }
    return f;
  }

  decide(namespace: string, labels: Record<string, string>, r: WorkloadAuthzRequest): AuthzDecision {
    return evaluateRbacFilters(this.filters(namespace, labels), { ...r, namespace, workloadLabels: labels });
  }
}
