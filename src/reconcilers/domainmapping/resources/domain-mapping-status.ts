/**
 * The DomainMapping's status (pure), with Knative's conditions and reasons
 * (serving/pkg/apis/serving/v1beta1/domainmapping_lifecycle.go):
 *
 * - url / address.url: `https://DOMAIN` with spec.tls, else `http://DOMAIN`;
 * - CertificateProvisioned: True `TLSNotEnabled` without spec.tls; True
 *   `CertificateExternallyProvided` with it, unless the control plane refused the Secret (missing,
 *   malformed, expired, key mismatch), which it reports on the Ingress as ConfigurationSupported
 *   False naming `spec.tls[...]`: then False `CertificateProvisionFailed` with that message;
 * - DomainClaimed: True, or False `DomainAlreadyClaimed` when another namespace owns the domain;
 * - ReferenceResolved: True, or False `ResolveFailed` with the resolver's message;
 * - IngressReady: mirrored from the Ingress's Ready for its current generation
 *   (`IngressNotConfigured` until then), False `NotOwned` when another object holds the name;
 * - Ready from all four.
 */
import type { Condition } from '../../../api/meta.ts';
import type { DomainMapping, DomainMappingStatus } from '../../../api/types/knative.ts';
import type { KIngress } from '../../../api/types/ingress.ts';
import { domainMappingConditions as dc, getCondition, ConditionTypes as CT } from '../../../api/conditions.ts';

/** The condition the control plane sets on an Ingress for fields it refused (controlplane/status/object-status.ts). */
const SUPPORTED_CONDITION = 'ConfigurationSupported';

export interface DomainMappingState {
  claimed: boolean;
  /** Set once the claim is held: the outcome of resolving spec.ref. */
  ref?: { ok: true } | { ok: false; message: string };
  /** The mapping's Ingress as it is now (after any write). */
  ingress?: KIngress;
  /** Why no Ingress could be written: another object holds the name (reason NotOwned) or the Route has no traffic yet. */
  ingressProblem?: { status: 'False' | 'Unknown'; reason: string; message: string };
  now: number;
}

/** The parts of the Ingress's ConfigurationSupported message about its TLS entries, or undefined. */
export function tlsProblems(ing: KIngress | undefined): string | undefined {
  if (!ing || (ing.status?.observedGeneration ?? -1) !== (ing.metadata.generation ?? 0)) return undefined;
  const c = getCondition(ing.status?.conditions, SUPPORTED_CONDITION);
  if (!c || c.status !== 'False' || !c.message) return undefined;
  // The message joins `field: problem` entries with '; ' (a problem may itself contain '; ').
  const parts = c.message.split(/; (?=spec\.|\.\.\. and )/).filter((p) => p.startsWith('spec.tls'));
  return parts.length > 0 ? parts.join('; ') : undefined;
}

function ingressReady(conds: Condition[], ing: KIngress | undefined, now: number): Condition[] {
  const ready = ing && (ing.status?.observedGeneration ?? -1) === (ing.metadata.generation ?? 0) ? getCondition(ing.status?.conditions, CT.ready) : undefined;
  if (!ing || !ready) return dc.markUnknown(conds, CT.ingressReady, 'IngressNotConfigured', 'Ingress has not yet been reconciled.', now);
  if (ready.status === 'True') return dc.markTrue(conds, CT.ingressReady, now);
  if (ready.status === 'False') return dc.markFalse(conds, CT.ingressReady, ready.reason ?? 'IngressNotReady', ready.message ?? 'Ingress failed.', now);
  return dc.markUnknown(conds, CT.ingressReady, ready.reason ?? 'IngressNotConfigured', ready.message ?? 'Ingress has not yet been reconciled.', now);
}

export function computeDomainMappingStatus(dm: DomainMapping, st: DomainMappingState): DomainMappingStatus {
  const { now } = st;
  const prev = dm.status ?? {};
  let conds = dc.initialize(prev.conditions, now);
  const tls = !!dm.spec?.tls?.secretName;
  const url = `${tls ? 'https' : 'http'}://${dm.metadata.name ?? ''}`;
  if (!tls) conds = dc.markTrue(conds, CT.certificateProvisioned, now, 'TLSNotEnabled', 'autoTLS is not enabled');
  else {
    const bad = st.claimed ? tlsProblems(st.ingress) : undefined;
    conds = bad
      ? dc.markFalse(conds, CT.certificateProvisioned, 'CertificateProvisionFailed', `Secret "${dm.spec!.tls!.secretName}" cannot be served: ${bad}`, now)
      : dc.markTrue(conds, CT.certificateProvisioned, now, 'CertificateExternallyProvided', 'TLS certificate was provided externally');
  }
  if (!st.claimed) {
    conds = dc.markFalse(conds, CT.domainClaimed, 'DomainAlreadyClaimed', 'The domain name is already in use by another DomainMapping', now);
    conds = dc.markUnknown(conds, CT.ingressReady, 'IngressNotConfigured', 'Ingress has not yet been reconciled.', now);
  } else {
    conds = dc.markTrue(conds, CT.domainClaimed, now);
    if (st.ref && !st.ref.ok) conds = dc.markFalse(conds, CT.referenceResolved, 'ResolveFailed', st.ref.message, now);
    else if (st.ref?.ok) conds = dc.markTrue(conds, CT.referenceResolved, now);
    const p = st.ingressProblem;
    if (p) {
      conds = p.status === 'False'
        ? dc.markFalse(conds, CT.ingressReady, p.reason, p.message, now)
        : dc.markUnknown(conds, CT.ingressReady, p.reason, p.message, now);
    } else {
      conds = ingressReady(conds, st.ingress, now);
    }
  }
  return { ...prev, observedGeneration: dm.metadata.generation, conditions: conds, url, address: { url } };
}
