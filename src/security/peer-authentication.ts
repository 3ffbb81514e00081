/**
 * PeerAuthentication → the mTLS mode a workload's inbound port enforces, with Istio's precedence
 * (istio pilot/pkg/security/authn and the PeerAuthentication reference):
 *
 *  - mesh level: a policy in the root namespace (default `istio-system`) without a selector;
 *  - namespace level: a policy in the workload's namespace without a selector (or with empty matchLabels);
 *  - workload level: a policy in the workload's namespace whose `selector.matchLabels` match the
 *    workload's labels (a selector policy in the root namespace applies only to root-namespace workloads);
 *  - port level: `portLevelMtls` of the workload-level policy, keyed by the workload's port.
 *
 * The most specific level whose mode is not UNSET wins; UNSET (or no `mtls`) inherits from the
 * level above; with nothing set the mode is PERMISSIVE. When several policies exist at one level,
 * the oldest (creationTimestamp, then name) is used, as Istio does.
 */
import type { PeerAuthentication, MutualTLSMode } from '../api/types/istio.ts';
import { SecurityErrors, type SecurityProblem } from './security-errors.ts';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';

export interface MtlsQuery {
  rootNamespace?: string;
  policies: readonly PeerAuthentication[];
  workload: { namespace: string; labels: Record<string, string> };
  port: number;
}

export interface MtlsDecision {
  mode: MtlsMode;
  /** Which level decided: `port`, `workload`, `namespace`, `mesh` or `default` (nothing set). */
  level: 'port' | 'workload' | 'namespace' | 'mesh' | 'default';
  /** `namespace/name` of the deciding policy. */
  policy?: string;
}

const MODES: readonly MutualTLSMode[] = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

function hasSelector(p: PeerAuthentication): boolean {
  return Object.keys(p.spec?.selector?.matchLabels ?? {}).length > 0;
}

function selects(p: PeerAuthentication, labels: Record<string, string>): boolean {
  const want = p.spec?.selector?.matchLabels ?? {};
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

function oldest(ps: PeerAuthentication[]): PeerAuthentication | undefined {
  return [...ps].sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    return ta - tb || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  })[0];
}

function setMode(m: MutualTLSMode | undefined): MtlsMode | undefined {
  return m === 'STRICT' || m === 'PERMISSIVE' || m === 'DISABLE' ? m : undefined;
}

const ref = (p: PeerAuthentication) => `${p.metadata.namespace}/${p.metadata.name}`;

/** The mode with the level and policy that decided it (for status, logs and `sluice describe`). */
export function explainMtlsMode(q: MtlsQuery): MtlsDecision {
  const root = q.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const { namespace, labels } = q.workload;
  const inNs = q.policies.filter((p) => p.metadata.namespace === namespace);
  const workloadPolicy = oldest(inNs.filter((p) => hasSelector(p) && selects(p, labels)));
  const nsPolicy = oldest(inNs.filter((p) => !hasSelector(p)));
  const meshPolicy = namespace === root ? nsPolicy : oldest(q.policies.filter((p) => p.metadata.namespace === root && !hasSelector(p)));

  if (workloadPolicy) {
    const portMode = setMode(workloadPolicy.spec?.portLevelMtls?.[String(q.port)]?.mode);
    if (portMode) return { mode: portMode, level: 'port', policy: ref(workloadPolicy) };
    const m = setMode(workloadPolicy.spec?.mtls?.mode);
    if (m) return { mode: m, level: 'workload', policy: ref(workloadPolicy) };
  }
  if (nsPolicy && namespace !== root) {
    const m = setMode(nsPolicy.spec?.mtls?.mode);
    if (m) return { mode: m, level: 'namespace', policy: ref(nsPolicy) };
  }
  if (meshPolicy) {
    const m = setMode(meshPolicy.spec?.mtls?.mode);
    if (m) return { mode: m, level: 'mesh', policy: ref(meshPolicy) };
  }
  return { mode: 'PERMISSIVE', level: 'default' };
}

/** STRICT, PERMISSIVE or DISABLE for one inbound port of one workload. */
export function effectiveMtlsMode(q: MtlsQuery): MtlsMode {
  return explainMtlsMode(q).mode;
}

/**
 * Whether an inbound connection may proceed under `mode`:
 * STRICT needs TLS with a client certificate that verified against the mesh root; PERMISSIVE
 * takes plaintext or verified mTLS (a TLS connection without a verified peer is refused, as
 * Istio's mTLS filter chain requires the client certificate); DISABLE takes plaintext only.
 */
export function acceptsConnection(mode: MtlsMode, conn: { tls: boolean; peerVerified: boolean }): boolean {
  switch (mode) {
    case 'STRICT': return conn.tls && conn.peerVerified;
    case 'PERMISSIVE': return !conn.tls || conn.peerVerified;
    case 'DISABLE': return !conn.tls;
  }
}

/** Problems with a PeerAuthentication that would make sluice enforce something else than written. */
export function validatePeerAuthentication(p: PeerAuthentication): SecurityProblem[] {
  const out: SecurityProblem[] = [];
  const resource = `PeerAuthentication ${ref(p)}`;
  const bad = (field: string, message: string) => out.push({ resource, field, message, severity: 'error', code: SecurityErrors.AuthzInvalid });
  const mode = p.spec?.mtls?.mode;
  if (mode !== undefined && !MODES.includes(mode)) bad('spec.mtls.mode', `unknown mode ${JSON.stringify(mode)}; use one of ${MODES.join(', ')}`);
  const ports = p.spec?.portLevelMtls ?? {};
  if (Object.keys(ports).length > 0 && !hasSelector(p)) bad('spec.portLevelMtls', 'portLevelMtls needs a workload selector (spec.selector.matchLabels), as in Istio');
  for (const [port, v] of Object.entries(ports)) {
    const n = Number(port);
    if (!/^\d+$/.test(port) || n < 1 || n > 65535) bad(`spec.portLevelMtls[${port}]`, `port ${JSON.stringify(port)} must be a number in 1..65535`);
    if (v?.mode !== undefined && !MODES.includes(v.mode)) bad(`spec.portLevelMtls[${port}].mode`, `unknown mode ${JSON.stringify(v.mode)}; use one of ${MODES.join(', ')}`);
  }
  return out;
}
