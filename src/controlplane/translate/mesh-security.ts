/**
 * Mesh security in the translation (pure: inputs, the CA's current certificates and `now` in,
 * Envoy objects out), built from the pieces in src/security:
 *
 *  - inbound listeners of mesh pods: filter chains per PeerAuthentication mode at the pod's port
 *    (STRICT = mTLS only, DISABLE = plaintext only, PERMISSIVE = both, told apart by
 *    filter_chain_match.transport_protocol), each with the pod's AuthorizationPolicies as
 *    envoy.filters.http.rbac filters before the router;
 *  - SDS Secrets: one certificate per workload identity (SPIFFE id, see cert-rotator.ts) and
 *    ROOTCA, registered only when a listener or cluster uses them;
 *  - upstream clusters to mesh pods (from the gateway, with the gateway's identity, and from a
 *    pod's egress, with the pod's identity): Istio's auto mTLS — a TLS transport socket that
 *    applies to endpoints labelled `tlsMode: istio` (mesh pods whose port is not DISABLE), with
 *    the destination's SPIFFE ids as the only accepted server SANs; other endpoints (the
 *    activator, DISABLE pods) stay plaintext.
 *
 * The certificates come in as MeshSecurityInput (the control plane's CA and rotator own them);
 * an identity without a current certificate is reported through `want` (the caller issues it
 * and translates again) and, meanwhile, gets no TLS chain: a STRICT pod is not served until its
 * certificate exists (fail closed), a PERMISSIVE one serves plaintext only.
 */
import type { Pod } from '../../api/types/core.ts';
import type { AuthorizationPolicy, PeerAuthentication } from '../../api/types/istio.ts';
import { spiffeIdFor, type WorkloadIdentity } from '../../security/ca.ts';
import { ROOTCA_SECRET_NAME, certificateSecret, rootCaSecret, workloadSecretName } from '../../security/cert-rotator.ts';
import { toRbacFilters } from '../../security/envoy-rbac.ts';
import { validatePolicy } from '../../security/authorization.ts';
import { SecurityErrors } from '../../security/security-errors.ts';
import { explainMtlsMode, validatePeerAuthentication, type MtlsMode } from '../../security/peer-authentication.ts';
import { inboundChains, upstreamMtlsTransportSocket } from '../../security/mesh-xds.ts';
import { TypeUrl } from '../../xds/protos.ts';
import type { TranslateContext } from './context.ts';
import { clusterRefs } from './consistency.ts';
import { ADS_SOURCE } from './istio-values.ts';
import { FAULT_FILTER, HCM_FILTER, ROUTER_FILTER } from './listeners.ts';
import { PodAnnotations } from './types.ts';

type Obj = Record<string, any>;

/** Istio's ingress gateway principal, so policies written for Istio (`from: principals`) work as is. */
export const GATEWAY_IDENTITY: WorkloadIdentity = { namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' };
export const TLS_MODE_KEY = 'tlsMode';
export const TLS_MODE_ISTIO = 'istio';
/** filter_metadata key Envoy matches transport_socket_matches against. */
export const SOCKET_MATCH_FILTER = 'envoy.transport_socket_match';
const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
/** The SERVING_PORT annotation of runtime/make-pod.ts: the pod's queue-proxy listener. */
export const SERVING_PORT_ANNOTATION = 'sluice.dev/serving-port';

export interface WorkloadCertificate { chainPem: string; keyPem: string; notAfter: number }

export interface MeshSecurityInput {
  trustDomain: string;
  /** The trust anchor (ROOTCA). */
  rootPem: string;
  /** Current workload certificates by SPIFFE id. */
  certs: ReadonlyMap<string, WorkloadCertificate>;
  /** The gateway's identity (default Istio's ingress gateway service account). */
  gatewayIdentity?: WorkloadIdentity;
  /** Sink for identities the translation needed without a valid certificate. */
  want?(id: WorkloadIdentity): void;
  /**
   * The last valid version of each PeerAuthentication / AuthorizationPolicy (`Kind|ns/name`), kept
   * by the caller across translations: a policy updated with an error (unknown field, bad value)
   * keeps its previous version enforced; a new invalid one is not enforced. Absent = invalid
   * policies are never enforced.
   */
  lastGoodPolicies?: Map<string, PeerAuthentication | AuthorizationPolicy>;
}

/** What the control plane passes (a snapshot, or a function giving the current one). */
export type MeshSecuritySource = MeshSecurityInput | (() => MeshSecurityInput | undefined);

const attached = new WeakMap<TranslateContext, MeshSecurityInput>();

export function resolveMeshSecurity(src: MeshSecuritySource | undefined): MeshSecurityInput | undefined {
  return typeof src === 'function' ? src() : src;
}
export function attachMeshSecurity(ctx: TranslateContext, input: MeshSecurityInput | undefined): void {
  if (input) attached.set(ctx, input);
}
export function meshSecurityOf(ctx: TranslateContext): MeshSecurityInput | undefined {
  return attached.get(ctx);
}

export function podIdentity(pod: Pod): WorkloadIdentity {
  return { namespace: pod.metadata.namespace ?? 'default', serviceAccount: pod.spec?.serviceAccountName || 'default' };
}

/**
 * Registers the identity's certificate secret and ROOTCA; returns the certificate's SDS name, or
 * undefined (reported through `want`) when there is no certificate valid at `ctx.now`.
 */
export function useIdentity(ctx: TranslateContext, sec: MeshSecurityInput, id: WorkloadIdentity): string | undefined {
  const spiffe = spiffeIdFor(sec.trustDomain, id);
  const cert = sec.certs.get(spiffe);
  if (!cert || cert.notAfter <= ctx.now) { sec.want?.(id); return undefined; }
  const name = workloadSecretName(spiffe);
  if (!ctx.secrets.has(name)) ctx.secrets.set(name, certificateSecret(name, cert));
  if (!ctx.secrets.has(ROOTCA_SECRET_NAME)) ctx.secrets.set(ROOTCA_SECRET_NAME, rootCaSecret(sec.rootPem));
  return name;
}

function policiesFor<T extends PeerAuthentication | AuthorizationPolicy>(ctx: TranslateContext, byNs: ReadonlyMap<string, readonly T[]>, ns: string): T[] {
  const root = ctx.opts.rootNamespace;
  return ns === root ? [...(byNs.get(ns) ?? [])] : [...(byNs.get(ns) ?? []), ...(byNs.get(root) ?? [])];
}

/** The runtime's annotation of the container's declared port (runtime/make-pod.ts). */
export const DECLARED_PORT_ANNOTATION = 'sluice.dev/declared-port';

/**
 * The port PeerAuthentication's portLevelMtls is keyed by: the container's declared port (Istio
 * keys by the workload's container port; Knative's default is 8080), else the pod's own port.
 */
export function workloadPort(pod: Pod): number {
  const d = Number(pod.metadata.annotations?.[DECLARED_PORT_ANNOTATION]);
  if (Number.isInteger(d) && d > 0) return d;
  const a = Number(pod.metadata.annotations?.[PodAnnotations.podPort]);
  if (Number.isInteger(a) && a > 0) return a;
  return pod.spec?.containers?.[0]?.ports?.[0]?.containerPort ?? 0;
}

// Problems are reported once per policy object per translation.
const reported = new WeakMap<TranslateContext, Set<object>>();
function reportOnce(ctx: TranslateContext, o: object, fn: () => void): void {
  let s = reported.get(ctx);
  if (!s) reported.set(ctx, (s = new Set()));
  if (s.has(o)) return;
  s.add(o);
  fn();
}

/**
 * The versions of `list` that are enforced: each valid policy (remembered as the last good
 * version), or for one with errors its last good version if there is one; errors are reported on
 * the policy's status saying which version is enforced.
 */
type Finding = { field: string; message: string; severity: 'error' | 'warning'; code: string };
/** Validation per policy object (objects are immutable snapshots: one validation each). */
const validated = new WeakMap<object, Finding[]>();

function enforced<T extends PeerAuthentication | AuthorizationPolicy>(ctx: TranslateContext, list: readonly T[], validate: (p: T) => { field: string; message: string; severity: 'error' | 'warning'; code: string }[]): T[] {
  const sec = meshSecurityOf(ctx);
  const out: T[] = [];
  for (const p of list) {
    const key = `${p.kind}|${p.metadata.namespace}/${p.metadata.name}`;
    let problems = validated.get(p);
    if (!problems) validated.set(p, (problems = validate(p)));
    // Unsupported features (CUSTOM) stay enforced: their rules fail closed in toRbacFilters.
    const bad = problems.some((x) => x.severity === 'error' && x.code !== SecurityErrors.AuthzUnsupported);
    const prev = sec?.lastGoodPolicies?.get(key) as T | undefined;
    reportOnce(ctx, p, () => {
      const kept = !bad ? '' : prev ? `; the previous version (resourceVersion ${prev.metadata.resourceVersion ?? 'unknown'}) stays enforced until this is fixed` : '; this policy is not enforced until it is fixed';
      for (const x of problems) ctx.problems.add(p, x.field, `${x.message} (${x.code})${x.severity === 'error' ? kept : ''}`, x.severity);
    });
    if (!bad) { sec?.lastGoodPolicies?.set(key, p); out.push(p); } else if (prev) out.push(prev);
  }
  return out;
}

/** The mTLS mode of a mesh pod's inbound port, reporting invalid PeerAuthentications on their status. */
export function podMtlsMode(ctx: TranslateContext, pod: Pod): MtlsMode {
  const ns = pod.metadata.namespace ?? 'default';
  const pas = enforced(ctx, policiesFor(ctx, ctx.state.peerAuthenticationsByNamespace, ns), validatePeerAuthentication);
  return explainMtlsMode({ rootNamespace: ctx.opts.rootNamespace, policies: pas, workload: { namespace: ns, labels: pod.metadata.labels ?? {} }, port: workloadPort(pod) }).mode;
}

/** RBAC filters for a pod's inbound connection manager, reporting invalid AuthorizationPolicies. */
export function podRbacFilters(ctx: TranslateContext, pod: Pod): object[] {
  const ns = pod.metadata.namespace ?? 'default';
  const aps = enforced(ctx, policiesFor(ctx, ctx.state.authorizationPoliciesByNamespace, ns), validatePolicy);
  return toRbacFilters(aps, { namespace: ns, labels: pod.metadata.labels ?? {} }, { rootNamespace: ctx.opts.rootNamespace });
}

/** Where the mesh inbound listener sends a pod's traffic: its queue-proxy (serving) port, else its own. */
export function inboundTargetPort(pod: Pod, podPort: number): number {
  const s = Number(pod.metadata.annotations?.[SERVING_PORT_ANNOTATION]);
  return Number.isInteger(s) && s > 0 && s < 65536 ? s : podPort;
}

function hcm(statPrefix: string, routeConfigName: string, rbac: object[]): object {
  return {
    name: HCM_FILTER,
    typed_config: {
      '@type': TypeUrl.HttpConnectionManager,
      stat_prefix: statPrefix,
      codec_type: 'AUTO',
      rds: { route_config_name: routeConfigName, config_source: ADS_SOURCE },
      http_filters: [
        ...rbac,
        { name: FAULT_FILTER, typed_config: { '@type': TypeUrl.Fault } },
        { name: ROUTER_FILTER, typed_config: { '@type': TypeUrl.Router } },
      ],
      use_remote_address: { value: false },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
    },
  };
}

/**
 * The mesh inbound listener of a pod under mesh security, or undefined when its mode needs a
 * certificate that does not exist yet (STRICT: nothing is served until it does).
 */
export function meshInboundListener(ctx: TranslateContext, sec: MeshSecurityInput, pod: Pod, o: { name: string; address: string; port: number; routeConfigName: string; statPrefix: string }): object | undefined {
  const mode = podMtlsMode(ctx, pod);
  const rbac = podRbacFilters(ctx, pod);
  const certName = mode === 'DISABLE' ? undefined : useIdentity(ctx, sec, podIdentity(pod));
  let plans = inboundChains(mode, certName ?? '');
  if (!certName) plans = plans.filter((p) => !p.transport_socket);
  if (plans.length === 0) return undefined;
  const chains = plans.map((p) => ({
    filter_chain_match: p.filter_chain_match,
    filters: [hcm(o.statPrefix, o.routeConfigName, rbac)],
    ...(p.transport_socket ? { transport_socket: p.transport_socket } : {}),
  }));
  return {
    name: o.name,
    address: { socket_address: { address: o.address, port_value: o.port } },
    // By name only: the TlsInspector message is not in the proto set sluice encodes with.
    listener_filters: [{ name: TLS_INSPECTOR }],
    filter_chains: chains,
    traffic_direction: 'INBOUND',
  };
}

/** google.protobuf.Struct in the form the protos encode (well-known type, camelCase). */
function struct(o: Record<string, string>): object {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { stringValue: v }])) };
}

/** lb_endpoint metadata marking a mesh pod that takes mTLS (its port's mode is not DISABLE). */
export function endpointTlsMetadata(ctx: TranslateContext, pod: Pod | undefined): object | undefined {
  if (!pod || !meshSecurityOf(ctx) || pod.metadata.annotations?.[PodAnnotations.inboundPort] === undefined) return undefined;
  if (podMtlsMode(ctx, pod) === 'DISABLE') return undefined;
  return { filter_metadata: { [SOCKET_MATCH_FILTER]: struct({ [TLS_MODE_KEY]: TLS_MODE_ISTIO }) } };
}

/** The mesh inbound port of a pod (what Endpoints addresses become when the mesh fronts the pod). */
export function meshInboundPort(pod: Pod | undefined): number | undefined {
  const n = Number(pod?.metadata.annotations?.[PodAnnotations.inboundPort]);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

/** SPIFFE ids of the pods behind a revision service (`name` = revision): what its clusters accept. */
export function destinationIdentities(ctx: TranslateContext, sec: MeshSecurityInput, host: string): string[] {
  const m = /^([^.]+)\.([^.]+)\.svc\./.exec(host);
  if (!m) return [];
  const [, name, ns] = m;
  const sas = serviceAccountIndex(ctx.state.pods).get(`${ns}/${name}`);
  return sas ? [...sas].sort().map((sa) => spiffeIdFor(sec.trustDomain, { namespace: ns, serviceAccount: sa })) : [];
}

/** `ns/revision` (and `ns/app`) → service accounts of its pods; built once per pod map (MeshState is immutable). */
const saIndexes = new WeakMap<ReadonlyMap<string, Pod>, Map<string, Set<string>>>();
function serviceAccountIndex(pods: ReadonlyMap<string, Pod>): Map<string, Set<string>> {
  let idx = saIndexes.get(pods);
  if (idx) return idx;
  idx = new Map();
  for (const p of pods.values()) {
    const ns = p.metadata.namespace ?? 'default';
    const l = p.metadata.labels ?? {};
    const sa = p.spec?.serviceAccountName || 'default';
    for (const n of new Set([l['serving.knative.dev/revision'], l.app])) {
      if (!n) continue;
      const k = `${ns}/${n}`;
      let set = idx.get(k);
      if (!set) idx.set(k, (set = new Set()));
      set.add(sa);
    }
  }
  saIndexes.set(pods, idx);
  return idx;
}

/**
 * Istio's auto mTLS on an outbound cluster: `transport_socket_matches` with the caller's
 * certificate for `tlsMode: istio` endpoints, plaintext for the rest. Undefined when the caller
 * has no certificate yet (then every endpoint gets plaintext, and STRICT pods refuse it).
 */
export function autoMtlsFields(ctx: TranslateContext, sec: MeshSecurityInput, caller: WorkloadIdentity, host: string): Obj | undefined {
  const cert = useIdentity(ctx, sec, caller);
  if (!cert) return undefined;
  return {
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: struct({ [TLS_MODE_KEY]: TLS_MODE_ISTIO }), transport_socket: upstreamMtlsTransportSocket(cert, destinationIdentities(ctx, sec, host)) },
      { name: 'tlsMode-disabled', match: struct({}), transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ],
  };
}

/** Separator of a per-caller variant of an outbound cluster (the mesh proxy's egress identities). */
export const CALLER_SEP = '|caller=';
export function callerClusterName(base: string, id: WorkloadIdentity): string {
  return `${base}${CALLER_SEP}${id.namespace}/${id.serviceAccount}`;
}
export function isCallerVariant(name: string): boolean {
  return name.includes(CALLER_SEP);
}
export function egressIdentityRouteName(base: string, id: WorkloadIdentity): string {
  return `${base}|sa=${id.serviceAccount}`;
}

// Renamed copies, per source object and new route name: the route name says whose caller
// variant it is (egressIdentityRouteName), so one name always goes with one renaming. While a
// namespace's egress routes are the same object (mesh.ts caches them), every identity's copy is
// the same object too — a pod change no longer deep-copies every namespace's routes per identity.
let renamedRoutes = new WeakMap<object, Map<string, object>>();
let renamedHosts = new WeakMap<object, Map<string, object>>();

/** Forgets the renamed copies (tests compare cached translations with fresh ones). */
export function resetRenamedRoutes(): void {
  renamedRoutes = new WeakMap();
  renamedHosts = new WeakMap();
}

function cachedIn<T extends object>(m: WeakMap<object, Map<string, object>>, src: object, key: string, build: () => T): T {
  let byKey = m.get(src);
  if (!byKey) m.set(src, (byKey = new Map()));
  let v = byKey.get(key) as T | undefined;
  if (!v) byKey.set(key, (v = build()));
  return v;
}

/**
 * A copy of a RouteConfiguration named `name` with every cluster reference renamed (the input is
 * not touched; fields without cluster references are shared with it). `rename` must be the same
 * function for the same `name`: copies are cached by source object and name.
 */
export function renameRouteClusters(rc: object, name: string, rename: (cluster: string) => string): object {
  return cachedIn(renamedRoutes, rc, name, () => {
    const { virtual_hosts: hosts, ...rest } = rc as Obj;
    return { ...rest, name, virtual_hosts: ((hosts ?? []) as object[]).map((vh) => cachedIn(renamedHosts, vh, name, () => renameHost(vh, rename))) };
  });
}

function renameHost(vh: object, rename: (cluster: string) => string): object {
  const copy = JSON.parse(JSON.stringify(vh)) as Obj;
  for (const r of copy.routes ?? []) {
    const a = r.route as Obj | undefined;
    if (!a) continue;
    if (a.cluster) a.cluster = rename(a.cluster);
    for (const wc of a.weighted_clusters?.clusters ?? []) wc.name = rename(wc.name);
    for (const m of a.request_mirror_policies ?? []) m.cluster = rename(m.cluster);
  }
  return copy;
}

/** Cluster names a RouteConfiguration refers to. */
export function routeClusters(rc: object): Set<string> {
  const out = new Set<string>();
  for (const vh of (rc as Obj).virtual_hosts ?? []) for (const c of clusterRefs(vh)) out.add(c);
  return out;
}
