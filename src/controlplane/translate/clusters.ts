/**
 * Cluster resources. Outbound clusters are EDS over ADS with sluice's defaults from the lessons
 * table — least request (power of two choices), 1 s connect timeout, 30 s upstream idle timeout,
 * a retry budget instead of a retry count, no outlier detection — each overridden only by what a
 * DestinationRule asks for. Inbound clusters (mesh proxy → pod) are STATIC to 127.0.0.1:podPort.
 */
import type { ClientTLSSettings, DestinationRule, TrafficPolicy } from '../../api/types/istio.ts';
import { TypeUrl } from '../../xds/protos.ts';
import type { ClusterUse, TranslateContext } from './context.ts';
import { ADS_SOURCE, duration, parseDurationMs } from './istio-values.ts';
import { resolveCredential, sdsConfig, TLS_TRANSPORT } from './secrets.ts';
import { autoMtlsFields, GATEWAY_IDENTITY, meshSecurityOf } from './mesh-security.ts';

/** Envoy's "no limit" for circuit breakers, as Istio sets by default (Envoy's own 1024 throttles a busy gateway). */
export const UNLIMITED = 4294967295;

function lbFields(policy: TrafficPolicy | undefined, ctx: TranslateContext): Record<string, unknown> {
  const lb = policy?.loadBalancer;
  const out: Record<string, unknown> = {};
  const loc = lb?.localityLbSetting;
  if (loc && loc.enabled !== false) out.common_lb_config = { locality_weighted_lb_config: {} };
  if (lb?.consistentHash) {
    const min = lb.consistentHash.ringHash?.minimumRingSize ?? lb.consistentHash.minimumRingSize;
    out.lb_policy = 'RING_HASH';
    if (min) out.ring_hash_lb_config = { minimum_ring_size: { value: min } };
    return out;
  }
  let simple = lb?.simple === undefined || lb.simple === 'UNSPECIFIED' || lb.simple === 'PASSTHROUGH' ? ctx.opts.lbPolicy : lb.simple;
  if (simple === 'LEAST_CONN') simple = 'LEAST_REQUEST'; // Istio's mapping: least connections is least request
  out.lb_policy = simple;
  // The same choice as an extension list too: proxyless gRPC clients (grpc-js-xds) read only
  // load_balancing_policy and take the first policy they know, falling back to round robin.
  if (simple === 'LEAST_REQUEST') {
    out.load_balancing_policy = { policies: [
      { typed_extension_config: { name: 'envoy.load_balancing_policies.least_request', typed_config: { '@type': TypeUrl.LeastRequestLb, choice_count: { value: 2 } } } },
      { typed_extension_config: { name: 'envoy.load_balancing_policies.round_robin', typed_config: { '@type': TypeUrl.RoundRobinLb } } },
    ] };
  }
  return out;
}

function upstreamTls(ctx: TranslateContext, rule: DestinationRule, tls: ClientTLSSettings | undefined, field: string): object | undefined {
  if (!tls || tls.mode === undefined || tls.mode === 'DISABLE' || tls.mode === 'ISTIO_MUTUAL') return undefined;
  const mutual = tls.mode === 'MUTUAL';
  const verify = !tls.insecureSkipVerify;
  let refs: { certSecret?: string; caSecret?: string } = {};
  if (tls.credentialName) refs = resolveCredential(ctx, rule, `${field}.credentialName`, tls.credentialName, { cert: mutual, ca: verify });
  else if (mutual) ctx.problems.add(rule, `${field}.credentialName`, 'tls mode MUTUAL needs credentialName (a Secret with tls.crt, tls.key and ca.crt)', 'error');
  else if (verify) ctx.problems.add(rule, `${field}.credentialName`, 'tls mode SIMPLE without credentialName: the server certificate is not verified (set credentialName to a Secret with ca.crt, or insecureSkipVerify: true)');
  const common: Record<string, unknown> = {};
  if (refs.certSecret) common.tls_certificate_sds_secret_configs = [sdsConfig(refs.certSecret)];
  if (refs.caSecret) {
    if (tls.subjectAltNames?.length) {
      common.combined_validation_context = {
        default_validation_context: { match_typed_subject_alt_names: tls.subjectAltNames.map((s) => ({ san_type: 'DNS', matcher: { exact: s } })) },
        validation_context_sds_secret_config: sdsConfig(refs.caSecret),
      };
    } else common.validation_context_sds_secret_config = sdsConfig(refs.caSecret);
  }
  return {
    name: TLS_TRANSPORT,
    typed_config: { '@type': TypeUrl.UpstreamTlsContext, common_tls_context: common, ...(tls.sni ? { sni: tls.sni } : {}) },
  };
}

function ms(text: string | undefined): number | undefined {
  return parseDurationMs(text);
}

// Clusters without TLS depend only on their name, the rule shaping them and the options; they
// are kept per rule object (or NO_RULE), so unchanged clusters are neither rebuilt nor
// reallocated from one translation to the next. Cached objects are shared and never mutated.
const NO_RULE = {};
const cache = new WeakMap<object, Map<string, object>>();
const MAX_CACHED = 200_000;

/** The Cluster resource for an outbound cluster a route uses. */
export function buildOutboundCluster(ctx: TranslateContext, use: ClusterUse): object {
  const base = buildOutboundClusterPlain(ctx, use);
  // Under mesh security the gateway reaches mesh pods with Istio's auto mTLS, presenting the
  // gateway identity (unless a DestinationRule sets the TLS mode itself).
  const sec = meshSecurityOf(ctx);
  const mode = use.policy?.tls?.mode;
  if (!sec || ctx.proxy.role !== 'gateway' || (mode !== undefined && mode !== 'ISTIO_MUTUAL')) return base;
  const mtls = autoMtlsFields(ctx, sec, sec.gatewayIdentity ?? GATEWAY_IDENTITY, use.host);
  return mtls ? { ...base, ...mtls } : base;
}

function buildOutboundClusterPlain(ctx: TranslateContext, use: ClusterUse): object {
  const tls = use.policy?.tls;
  if (tls?.mode && tls.mode !== 'DISABLE') return buildUncached(ctx, use); // registers secrets and problems
  const owner = use.rule ?? NO_RULE;
  let m = cache.get(owner);
  if (!m) cache.set(owner, (m = new Map()));
  const key = `${use.name}|${ctx.optsKey}`;
  let c = m.get(key);
  if (!c) {
    if (m.size >= MAX_CACHED) m.clear();
    m.set(key, (c = buildUncached(ctx, use)));
  }
  return c;
}

// The fields of a cluster that depend only on its policy and the options (everything but its
// name, its EDS service name and its TLS), built once per policy object and options and shared
// by every cluster with that policy: 10,000 default clusters held ~20 identical small objects each.
const NO_POLICY = {};
const policyFields = new WeakMap<object, Map<string, Readonly<Record<string, unknown>>>>();

function sharedFields(ctx: TranslateContext, p: TrafficPolicy | undefined): Readonly<Record<string, unknown>> {
  let m = policyFields.get(p ?? NO_POLICY);
  if (!m) policyFields.set(p ?? NO_POLICY, (m = new Map()));
  let f = m.get(ctx.optsKey);
  if (!f) m.set(ctx.optsKey, (f = buildPolicyFields(ctx, p)));
  return f;
}

function buildUncached(ctx: TranslateContext, use: ClusterUse): object {
  const cluster: Record<string, unknown> = {
    name: use.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: use.name },
    ...sharedFields(ctx, use.policy),
  };
  if (use.rule) {
    const ts = upstreamTls(ctx, use.rule, use.policy?.tls, tlsFieldPath(use));
    if (ts) cluster.transport_socket = ts;
  }
  return cluster;
}

function buildPolicyFields(ctx: TranslateContext, p: TrafficPolicy | undefined): Readonly<Record<string, unknown>> {
  const tcp = p?.connectionPool?.tcp;
  const http = p?.connectionPool?.http;
  const od = p?.outlierDetection;
  const http_opts: Record<string, unknown> = { idle_timeout: duration(ms(http?.idleTimeout) ?? ctx.opts.upstreamIdleTimeoutMs) };
  const mcd = ms(tcp?.maxConnectionDuration);
  if (mcd !== undefined) http_opts.max_connection_duration = duration(mcd);
  if (http?.maxRequestsPerConnection) http_opts.max_requests_per_connection = { value: http.maxRequestsPerConnection };
  const threshold: Record<string, unknown> = {
    priority: 'DEFAULT',
    max_connections: { value: tcp?.maxConnections ?? UNLIMITED },
    max_pending_requests: { value: http?.http1MaxPendingRequests ?? UNLIMITED },
    max_requests: { value: http?.http2MaxRequests ?? UNLIMITED },
  };
  // A retry budget bounds retries by the load actually in flight (lessons table); a rule that
  // sets maxRetries gets that fixed cap instead, since Envoy ignores max_retries under a budget.
  if (http?.maxRetries !== undefined) threshold.max_retries = { value: http.maxRetries };
  else threshold.retry_budget = { budget_percent: { value: ctx.opts.retryBudget.percent }, min_retry_concurrency: { value: ctx.opts.retryBudget.minConcurrency } };
  const cluster: Record<string, unknown> = {
    connect_timeout: duration(ms(tcp?.connectTimeout) ?? ctx.opts.connectTimeoutMs),
    ...lbFields(p, ctx),
    common_http_protocol_options: http_opts,
    circuit_breakers: { thresholds: [threshold] },
  };
  if (tcp?.tcpKeepalive) {
    const ka: Record<string, unknown> = {};
    if (tcp.tcpKeepalive.probes) ka.keepalive_probes = { value: tcp.tcpKeepalive.probes };
    const t = ms(tcp.tcpKeepalive.time);
    if (t !== undefined) ka.keepalive_time = { value: Math.max(1, Math.round(t / 1000)) };
    const i = ms(tcp.tcpKeepalive.interval);
    if (i !== undefined) ka.keepalive_interval = { value: Math.max(1, Math.round(i / 1000)) };
    cluster.upstream_connection_options = { tcp_keepalive: ka };
  }
  if (od) {
    // Off unless asked; when asked, at most 10 % of a cluster ejected by default (lessons table).
    const c5 = od.consecutive5xxErrors ?? (od.consecutiveGatewayErrors === undefined ? 5 : 0);
    const cg = od.consecutiveGatewayErrors ?? 0;
    const o: Record<string, unknown> = {
      ...(c5 > 0 ? { consecutive_5xx: { value: c5 } } : {}),
      enforcing_consecutive_5xx: { value: c5 > 0 ? 100 : 0 },
      ...(cg > 0 ? { consecutive_gateway_failure: { value: cg } } : {}),
      enforcing_consecutive_gateway_failure: { value: cg > 0 ? 100 : 0 },
      enforcing_success_rate: { value: 0 },
      interval: duration(ms(od.interval) ?? 10_000),
      base_ejection_time: duration(ms(od.baseEjectionTime) ?? 30_000),
      max_ejection_percent: { value: od.maxEjectionPercent ?? ctx.opts.maxEjectionPercent },
    };
    if (od.splitExternalLocalOriginErrors) {
      o.split_external_local_origin_errors = true;
      o.consecutive_local_origin_failure = { value: od.consecutiveLocalOriginFailures ?? 5 };
    }
    cluster.outlier_detection = o;
    if (od.minHealthPercent !== undefined) {
      const clc = (cluster.common_lb_config as Record<string, unknown> | undefined) ?? {};
      cluster.common_lb_config = { ...clc, healthy_panic_threshold: { value: od.minHealthPercent } };
    }
  }
  return Object.freeze(cluster);
}

/** Where the effective tls block came from, for problem field paths. */
function tlsFieldPath(use: ClusterUse): string {
  const spec = use.rule?.spec;
  const si = use.subset ? spec?.subsets?.findIndex((s) => s.name === use.subset) ?? -1 : -1;
  if (si >= 0 && spec?.subsets?.[si].trafficPolicy?.tls) return `spec.subsets[${si}].trafficPolicy.tls`;
  const pi = spec?.trafficPolicy?.portLevelSettings?.findIndex((p) => String(p.port?.number) === use.port) ?? -1;
  if (pi >= 0 && spec?.trafficPolicy?.portLevelSettings?.[pi].tls) return `spec.trafficPolicy.portLevelSettings[${pi}].tls`;
  return 'spec.trafficPolicy.tls';
}

/** The STATIC cluster from the mesh proxy's inbound listener to the pod's process. */
export function buildInboundCluster(ctx: TranslateContext, name: string, podPort: number): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: duration(ctx.opts.connectTimeoutMs),
    lb_policy: 'ROUND_ROBIN',
    common_http_protocol_options: { idle_timeout: duration(ctx.opts.upstreamIdleTimeoutMs) },
    circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: { value: UNLIMITED }, max_pending_requests: { value: UNLIMITED }, max_requests: { value: UNLIMITED }, max_retries: { value: UNLIMITED } }] },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: podPort } } } }] }],
    },
  };
}
