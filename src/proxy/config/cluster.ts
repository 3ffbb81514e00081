/**
 * Cluster (plain object) → ClusterConfig: discovery type, connect timeout, balancing policy
 * (lb_policy or load_balancing_policy), circuit breakers with retry budget, outlier detection
 * (only when present: DESIGN.md lesson), connection pool options and upstream TLS by SDS name.
 */
import { FieldCtx, wrapped, type Obj } from './invalid-resource.ts';
import { durationMs, TypeUrl } from '../../xds/protos.ts';
import { translateLoadAssignment } from './endpoints.ts';
import type { CircuitBreakerLimits, ClusterConfig, LbPolicyName, OutlierConfig, SanMatch, TranslateDefaults, UpstreamTls } from './model.ts';
import { structStrings } from './struct-strings.ts';

const LB_POLICIES: Record<string, LbPolicyName> = { ROUND_ROBIN: 'ROUND_ROBIN', LEAST_REQUEST: 'LEAST_REQUEST', RANDOM: 'RANDOM', RING_HASH: 'RING_HASH' };
const LB_TYPED: Record<string, LbPolicyName> = {
  [TypeUrl.RoundRobinLb]: 'ROUND_ROBIN',
  [TypeUrl.LeastRequestLb]: 'LEAST_REQUEST',
  [TypeUrl.RingHashLb]: 'RING_HASH',
  'type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random': 'RANDOM',
};

function lbPolicy(ctx: FieldCtx, c: Obj): { policy: LbPolicyName; ringHash?: ClusterConfig['ringHash'] } {
  const ringCfg = (r: Obj | undefined) => ({ minRingSize: Number(wrapped(r?.minimum_ring_size, 1024)), maxRingSize: Number(wrapped(r?.maximum_ring_size, 8_388_608)) });
  if (c.load_balancing_policy) {
    const list: Obj[] = c.load_balancing_policy.policies ?? [];
    for (const p of list) {
      const tc = p.typed_extension_config?.typed_config;
      const t = tc?.['@type'];
      if (t === TypeUrl.WrrLocalityLb) return { policy: 'LOCALITY_WEIGHTED' };
      if (t && LB_TYPED[t]) return { policy: LB_TYPED[t], ringHash: LB_TYPED[t] === 'RING_HASH' ? ringCfg(tc) : undefined };
    }
    ctx.fail('load_balancing_policy.policies', 'no supported policy (round_robin, least_request, random, ring_hash, wrr_locality)');
  }
  if (c.common_lb_config?.locality_weighted_lb_config) return { policy: 'LOCALITY_WEIGHTED' };
  const name = c.lb_policy ?? 'ROUND_ROBIN';
  const policy = LB_POLICIES[name];
  if (!policy) ctx.fail('lb_policy', `unsupported policy ${JSON.stringify(name)} (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH)`);
  return { policy, ringHash: policy === 'RING_HASH' ? ringCfg(c.ring_hash_lb_config) : undefined };
}

function circuitBreakers(c: Obj): CircuitBreakerLimits {
  const th: Obj | undefined = ((c.circuit_breakers?.thresholds ?? []) as Obj[]).find((t) => (t.priority ?? 'DEFAULT') === 'DEFAULT');
  const rb = th?.retry_budget;
  return {
    maxConnections: wrapped<number>(th?.max_connections, 1024),
    maxPendingRequests: wrapped<number>(th?.max_pending_requests, 1024),
    maxRequests: wrapped<number>(th?.max_requests, 1024),
    maxRetries: wrapped<number>(th?.max_retries, 3),
    // sluice default (DESIGN.md): asked-for retries draw on a budget of 20% of active requests, min 3.
    retryBudget: { budgetPercent: rb ? Number(wrapped(rb.budget_percent, 20)) : 20, minRetryConcurrency: rb ? Number(wrapped(rb.min_retry_concurrency, 3)) : 3 },
  };
}

function outlier(ctx: FieldCtx, o: Obj | undefined): OutlierConfig | undefined {
  if (!o) return undefined;
  const maxPct = Number(wrapped(o.max_ejection_percent, 10));
  if (maxPct < 0 || maxPct > 100) ctx.fail('outlier_detection.max_ejection_percent', `must be 0–100, got ${maxPct}`);
  return {
    consecutive5xx: Number(wrapped(o.consecutive_5xx, 5)),
    consecutiveGatewayFailure: Number(wrapped(o.consecutive_gateway_failure, 5)),
    intervalMs: durationMs(o.interval, 10_000),
    baseEjectionTimeMs: durationMs(o.base_ejection_time, 30_000),
    maxEjectionTimeMs: durationMs(o.max_ejection_time, 300_000),
    maxEjectionPercent: maxPct,
    enforcingConsecutive5xx: Number(wrapped(o.enforcing_consecutive_5xx, 100)),
    enforcingConsecutiveGatewayFailure: Number(wrapped(o.enforcing_consecutive_gateway_failure, 0)),
  };
}

function upstreamTls(ctx: FieldCtx, ts: Obj | undefined): UpstreamTls | undefined {
  if (!ts) return undefined;
  const tc = ts.typed_config;
  if (tc?.['@type'] !== TypeUrl.UpstreamTlsContext) ctx.fail('transport_socket.typed_config', `expected ${TypeUrl.UpstreamTlsContext}, got ${tc?.['@type']}`);
  const common = tc.common_tls_context ?? {};
  const sans: SanMatch[] = [];
  const dvc = common.combined_validation_context?.default_validation_context ?? common.validation_context;
  for (const [i, m] of ((dvc?.match_typed_subject_alt_names ?? []) as Obj[]).entries()) {
    const type = m.san_type;
    if (type !== 'URI' && type !== 'DNS') ctx.fail(`transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[${i}].san_type`, `unsupported SAN type ${JSON.stringify(type)} (URI or DNS)`);
    if (typeof m.matcher?.exact !== 'string' || !m.matcher.exact) ctx.fail(`transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[${i}].matcher`, 'only exact SAN matchers are supported');
    sans.push({ type, exact: m.matcher.exact });
  }
  return {
    certSecret: common.tls_certificate_sds_secret_configs?.[0]?.name,
    validationSecret: common.validation_context_sds_secret_config?.name ?? common.combined_validation_context?.validation_context_sds_secret_config?.name,
    sni: tc.sni || undefined,
    alpn: common.alpn_protocols ?? [],
    ...(sans.length ? { sanMatches: sans } : {}),
  };
}

/**
 * transport_socket_matches (Istio's auto mTLS): the first match whose socket is TLS gives the
 * cluster's TLS and the endpoint metadata it applies to; endpoints without that metadata use the
 * cluster's transport_socket (only plaintext is supported there alongside matches).
 */
function tlsMatches(ctx: FieldCtx, c: Obj): { tls?: UpstreamTls; tlsMatch?: Record<string, string> } {
  const list = (c.transport_socket_matches ?? []) as Obj[];
  if (list.length === 0) return { tls: upstreamTls(ctx, c.transport_socket) };
  if (c.transport_socket && c.transport_socket.name !== 'envoy.transport_sockets.raw_buffer') ctx.fail('transport_socket', 'with transport_socket_matches, only a plaintext default transport socket is supported');
  for (const m of list) {
    const ts = m.transport_socket;
    if (!ts || ts.name === 'envoy.transport_sockets.raw_buffer') continue;
    return { tls: upstreamTls(ctx, ts), tlsMatch: structStrings(m.match) };
  }
  return {};
}

export function translateCluster(c: Obj, d: TranslateDefaults, name = c.name ?? ''): ClusterConfig {
  const ctx: FieldCtx = new FieldCtx('Cluster', name);
  if (!name) ctx.fail('name', 'is required');
  const type = c.type ?? (c.eds_cluster_config ? 'EDS' : 'STATIC');
  if (type !== 'EDS' && type !== 'STATIC') ctx.fail('type', `unsupported discovery type ${JSON.stringify(type)} (EDS or STATIC; sluice does no DNS on the data path)`);
  const { policy, ringHash } = lbPolicy(ctx, c);
  const httpOpts = c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']?.common_http_protocol_options ?? c.common_http_protocol_options;
  const maxReq = wrapped<number>(httpOpts?.max_requests_per_connection, 0) || wrapped<number>(c.max_requests_per_connection, 0);
  const protoOpts = c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  let http2: ClusterConfig['http2'];
  if (protoOpts?.explicit_http_config?.http2_protocol_options || (!protoOpts?.explicit_http_config && c.http2_protocol_options)) http2 = 'always';
  else if (protoOpts?.use_downstream_protocol_config) http2 = protoOpts.use_downstream_protocol_config.http2_protocol_options ? 'downstream' : undefined;
  let inlineEndpoints;
  if (c.load_assignment) {
    try { inlineEndpoints = translateLoadAssignment({ cluster_name: name, ...c.load_assignment }); } catch (e) { ctx.fail('load_assignment', (e as Error).message); }
  } else if (type === 'STATIC') ctx.fail('load_assignment', 'a STATIC cluster needs load_assignment');
  return {
    name,
    type,
    edsServiceName: c.eds_cluster_config?.service_name || name,
    connectTimeoutMs: durationMs(c.connect_timeout, d.connectTimeoutMs),
    lbPolicy: policy,
    ringHash,
    circuitBreakers: circuitBreakers(c),
    outlier: outlier(ctx, c.outlier_detection),
    idleTimeoutMs: durationMs(httpOpts?.idle_timeout, d.upstreamIdleTimeoutMs),
    maxRequestsPerConnection: maxReq,
    ...(http2 ? { http2 } : {}),
    ...tlsMatches(ctx, c),
    inlineEndpoints,
  };
}
