/**
 * Pure status builders for what the control plane reports on resources:
 *
 * - Knative Ingress: NetworkConfigured (translated), LoadBalancerReady (every gateway proxy ACKed
 *   a generation that carries it) and Ready (from both), with Knative's names; reasons
 *   `NoGateway`, `WaitingForAcks`, `ProxyRejected`. The load balancer addresses are filled when
 *   ready, as Knative's Route reconciler expects.
 * - Istio kinds: `Reconciled` (Istio's distribution condition) True when every connected proxy
 *   ACKed it, False with the proxy's message on a NACK.
 * - Both: `ConfigurationSupported` False listing the fields sluice could not translate (reason
 *   `InvalidConfiguration` when any was refused as an error, else `UnsupportedField`); removed
 *   when there are none. Informational for Ingress (does not block
 *   Ready: the rest of the Ingress is served).
 *
 * Inputs in, a new status out; `now` stamps lastTransitionTime of conditions that change.
 */
import type { Condition } from '../../api/meta.ts';
import { ingressConditions, removeCondition, setCondition } from '../../api/conditions.ts';
import type { IngressStatus, KIngress } from '../../api/types/ingress.ts';
import { verdictMessage, type Verdict } from './readiness.ts';

export interface FieldProblem { field: string; message: string; severity: 'error' | 'warning' }

export const SUPPORTED_CONDITION = 'ConfigurationSupported';
export const RECONCILED_CONDITION = 'Reconciled';

function problemsMessage(problems: readonly FieldProblem[]): string {
  const shown = problems.slice(0, 10).map((p) => `${p.field}: ${p.message}`);
  if (problems.length > 10) shown.push(`... and ${problems.length - 10} more`);
  return shown.join('; ');
}

/**
 * Errors (what sluice refused: a missing or bad certificate Secret, a forbidden reference) come
 * first with reason `InvalidConfiguration`; with only warnings the reason is `UnsupportedField`.
 */
function withProblems(conds: Condition[], problems: readonly FieldProblem[], now: number): Condition[] {
  if (problems.length === 0) return removeCondition(conds, SUPPORTED_CONDITION);
  const errors = problems.filter((p) => p.severity === 'error');
  const ordered = [...errors, ...problems.filter((p) => p.severity !== 'error')];
  const reason = errors.length ? 'InvalidConfiguration' : 'UnsupportedField';
  return setCondition(conds, { type: SUPPORTED_CONDITION, status: 'False', reason, message: problemsMessage(ordered), severity: 'Warning' }, now);
}

export interface IngressStatusInput {
  verdict: Verdict;
  problems: readonly FieldProblem[];
  /** Internal name of the gateway's load balancer, e.g. `sluice-gateway.sluice-system.svc.cluster.local`. */
  loadBalancerDomain: string;
}

export function ingressStatus(ing: KIngress, input: IngressStatusInput, now: number): IngressStatus {
  const prev = ing.status ?? {};
  let conds = ingressConditions.initialize(prev.conditions as Condition[] | undefined, now);
  conds = ingressConditions.markTrue(conds, 'NetworkConfigured', now);
  const v = input.verdict;
  const msg = verdictMessage(v, 'gateway');
  switch (v.state) {
    case 'ready': conds = ingressConditions.markTrue(conds, 'LoadBalancerReady', now); break;
    case 'no-proxy': conds = ingressConditions.markUnknown(conds, 'LoadBalancerReady', 'NoGateway', msg, now); break;
    case 'pending': conds = ingressConditions.markUnknown(conds, 'LoadBalancerReady', 'WaitingForAcks', msg, now); break;
    case 'rejected': conds = ingressConditions.markFalse(conds, 'LoadBalancerReady', 'ProxyRejected', msg, now); break;
  }
  conds = withProblems(conds, input.problems, now);
  const out: IngressStatus = { ...prev, observedGeneration: ing.metadata.generation, conditions: conds };
  if (v.state === 'ready') {
    const lb = { ingress: [{ domainInternal: input.loadBalancerDomain }] };
    out.publicLoadBalancer = lb;
    out.privateLoadBalancer = lb;
  }
  return out;
}

export interface IstioStatusInput { verdict: Verdict; problems: readonly FieldProblem[] }

/** Status for VirtualService, DestinationRule, Gateway, Sidecar, PeerAuthentication, AuthorizationPolicy. */
export function istioStatus(obj: { metadata: { generation?: number }; status?: Record<string, unknown> }, input: IstioStatusInput, now: number): Record<string, unknown> {
  const prev = (obj.status ?? {}) as { conditions?: Condition[] };
  let conds = (prev.conditions ?? []) as Condition[];
  const v = input.verdict;
  const msg = verdictMessage(v, 'connected');
  switch (v.state) {
    case 'ready': conds = setCondition(conds, { type: RECONCILED_CONDITION, status: 'True', reason: 'Applied', message: 'every connected proxy acknowledged this configuration' }, now); break;
    case 'pending': conds = setCondition(conds, { type: RECONCILED_CONDITION, status: 'Unknown', reason: 'WaitingForAcks', message: msg }, now); break;
    case 'rejected': conds = setCondition(conds, { type: RECONCILED_CONDITION, status: 'False', reason: 'ProxyRejected', message: msg }, now); break;
    case 'no-proxy': conds = removeCondition(conds, RECONCILED_CONDITION); break;
  }
  conds = withProblems(conds, input.problems, now);
  return { ...prev, observedGeneration: obj.metadata.generation, conditions: conds };
}

/**
 * True when the stored status already reports the object's current generation as carried by the
 * proxies (Ingress Ready, Istio kinds Reconciled): what a restarted control plane finds.
 */
export function reportedReady(obj: KubeObjectLike): boolean {
  const st = obj.status as { observedGeneration?: number; conditions?: Condition[] } | undefined;
  if (!st || st.observedGeneration === undefined || st.observedGeneration !== obj.metadata.generation) return false;
  const type = obj.kind === 'Ingress' ? 'Ready' : RECONCILED_CONDITION;
  return st.conditions?.some((c) => c.type === type && c.status === 'True') === true;
}

interface KubeObjectLike { kind?: string; metadata: { generation?: number }; status?: unknown }
