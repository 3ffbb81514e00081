/**
 * Listener (plain object) → ListenerConfig: address, filter chains with their HTTP connection
 * manager (RDS name or inline routes, timeouts, XFF handling, access logs) and downstream TLS by
 * SDS secret names. Pure; throws InvalidResource naming the field.
 */
import { FieldCtx, wrapped, type Obj } from './invalid-resource.ts';
import { translateRouteConfiguration } from './route-config.ts';
import { durationMs, TypeUrl } from '../../xds/protos.ts';
import { compileRbacFilter } from '../../security/envoy-rbac-eval.ts';
import type { AccessLogSink, DownstreamTls, FilterChain, HttpConnectionManagerConfig, ListenerConfig, TranslateDefaults } from './model.ts';

const HCM_NAMES = new Set(['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager']);

function sdsNames(ctx: FieldCtx, field: string, common: Obj | undefined): { certs: string[]; validation?: string; alpn: string[] } {
  const certs: string[] = [];
  for (const [i, c] of ((common?.tls_certificate_sds_secret_configs ?? []) as Obj[]).entries()) {
    if (typeof c.name !== 'string' || !c.name) ctx.fail(`${field}.tls_certificate_sds_secret_configs[${i}].name`, 'secret name is required');
    certs.push(c.name);
  }
  if ((common?.tls_certificates ?? []).length > 0) ctx.fail(`${field}.tls_certificates`, 'inline certificates are not supported; deliver them over SDS');
  const validation = common?.validation_context_sds_secret_config?.name ?? common?.combined_validation_context?.validation_context_sds_secret_config?.name;
  return { certs, validation, alpn: (common?.alpn_protocols ?? []) as string[] };
}

export function downstreamTls(ctx: FieldCtx, field: string, ts: Obj | undefined): DownstreamTls | undefined {
  if (!ts) return undefined;
  const tc = ts.typed_config;
  if (!tc) ctx.fail(`${field}.typed_config`, 'transport socket needs a typed_config');
  if (tc['@type'] !== TypeUrl.DownstreamTlsContext) ctx.fail(`${field}.typed_config`, `expected ${TypeUrl.DownstreamTlsContext}, got ${tc['@type']}`);
  const n = sdsNames(ctx, `${field}.typed_config.common_tls_context`, tc.common_tls_context);
  if (n.certs.length === 0) ctx.fail(`${field}.typed_config.common_tls_context.tls_certificate_sds_secret_configs`, 'a TLS listener needs at least one certificate secret');
  return { certSecrets: n.certs, validationSecret: n.validation, requireClientCert: wrapped<boolean>(tc.require_client_certificate, false), alpn: n.alpn.length ? n.alpn : ['h2', 'http/1.1'] };
}

function accessLogs(ctx: FieldCtx, field: string, list: Obj[] | undefined): AccessLogSink[] {
  return (list ?? []).map((a, i) => {
    const t = a.typed_config?.['@type'];
    if (t === TypeUrl.FileAccessLog) {
      if (typeof a.typed_config.path !== 'string' || !a.typed_config.path) ctx.fail(`${field}[${i}].typed_config.path`, 'path is required');
      return a.typed_config.path === '/dev/stdout' ? { kind: 'stdout' } : { kind: 'file', path: a.typed_config.path };
    }
    if (t === TypeUrl.StdoutAccessLog) return { kind: 'stdout' };
    ctx.fail(`${field}[${i}].typed_config`, `unsupported access logger ${JSON.stringify(t)}`);
  });
}

export function translateHcm(ctx: FieldCtx, field: string, h: Obj, d: TranslateDefaults): HttpConnectionManagerConfig {
  let rdsName: string | undefined;
  let inlineRoutes;
  if (h.rds) {
    rdsName = h.rds.route_config_name;
    if (typeof rdsName !== 'string' || !rdsName) ctx.fail(`${field}.rds.route_config_name`, 'is required');
  } else if (h.route_config) {
    try {
      inlineRoutes = translateRouteConfiguration(h.route_config, d, h.route_config.name ?? `${ctx.name}/inline`);
    } catch (e) {
      ctx.fail(`${field}.route_config`, (e as Error).message);
    }
  } else ctx.fail(field, 'needs rds or route_config');
  const filters: Obj[] = h.http_filters ?? [];
  for (const [i, f] of filters.entries()) {
    const known = ['envoy.filters.http.router', 'envoy.filters.http.fault', 'envoy.filters.http.rbac'];
    if (!known.includes(f.name) && !f.is_optional) ctx.fail(`${field}.http_filters[${i}].name`, `unsupported http filter ${JSON.stringify(f.name)} (mark it is_optional to skip)`);
  }
  const rbacFilters: Obj[] = [];
  for (const [i, f] of filters.entries()) {
    if (f.name !== 'envoy.filters.http.rbac') continue;
    // An RBAC config the evaluator cannot enforce is refused (NACK): fail closed, never open.
    try { compileRbacFilter(f.typed_config ?? {}); } catch (e) { ctx.fail(`${field}.http_filters[${i}].typed_config`, (e as Error).message); }
    rbacFilters.push(f.typed_config);
  }
  return {
    rbacFilters,
    statPrefix: h.stat_prefix ?? ctx.name,
    rdsName,
    inlineRoutes,
    streamIdleTimeoutMs: durationMs(h.stream_idle_timeout, d.streamIdleTimeoutMs),
    idleTimeoutMs: durationMs(h.common_http_protocol_options?.idle_timeout, 3_600_000),
    requestTimeoutMs: durationMs(h.request_timeout, 0),
    useRemoteAddress: wrapped<boolean>(h.use_remote_address, false),
    xffNumTrustedHops: Number(h.xff_num_trusted_hops ?? 0),
    accessLogs: accessLogs(ctx, `${field}.access_log`, h.access_log),
    faultFilter: filters.some((f) => f.name === 'envoy.filters.http.fault'),
  };
}

export function translateListener(l: Obj, d: TranslateDefaults, name = l.name ?? ''): ListenerConfig {
  const ctx: FieldCtx = new FieldCtx('Listener', name);
  const sa = l.address?.socket_address;
  if (!sa) ctx.fail('address.socket_address', 'is required');
  if (typeof sa.address !== 'string' || !sa.address) ctx.fail('address.socket_address.address', 'is required');
  const port = Number(sa.port_value ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) ctx.fail('address.socket_address.port_value', `must be 0–65535, got ${sa.port_value}`);
  const chains: Obj[] = [...(l.filter_chains ?? [])];
  if (l.default_filter_chain) chains.push(l.default_filter_chain);
  if (chains.length === 0) ctx.fail('filter_chains', 'at least one filter chain is required');
  const filterChains: FilterChain[] = chains.map((c, i) => {
    const f = `filter_chains[${i}]`;
    const hcmFilter = ((c.filters ?? []) as Obj[]).find((x) => HCM_NAMES.has(x.name) || x.typed_config?.['@type'] === TypeUrl.HttpConnectionManager);
    if (!hcmFilter) ctx.fail(`${f}.filters`, 'needs an envoy.filters.network.http_connection_manager filter (only HTTP listeners are supported)');
    if (hcmFilter.typed_config?.['@type'] !== TypeUrl.HttpConnectionManager) ctx.fail(`${f}.filters.typed_config`, `expected ${TypeUrl.HttpConnectionManager}`);
    const tp = c.filter_chain_match?.transport_protocol || undefined;
    if (tp !== undefined && tp !== 'tls' && tp !== 'raw_buffer') ctx.fail(`${f}.filter_chain_match.transport_protocol`, `must be "tls" or "raw_buffer", got ${JSON.stringify(tp)}`);
    const tls = downstreamTls(ctx, `${f}.transport_socket`, c.transport_socket);
    if (tp === 'tls' && !tls) ctx.fail(`${f}.transport_socket`, 'a chain matching transport_protocol "tls" needs a TLS transport socket');
    if (tp === 'raw_buffer' && tls) ctx.fail(`${f}.transport_socket`, 'a chain matching transport_protocol "raw_buffer" cannot terminate TLS');
    return {
      serverNames: (c.filter_chain_match?.server_names ?? []) as string[],
      ...(tp ? { transportProtocol: tp } : {}),
      tls,
      hcm: translateHcm(ctx, `${f}.filters.typed_config`, hcmFilter.typed_config, d),
    };
  });
  // TLS and plaintext chains share a port only when the chains say which is which (Envoy's
  // tls_inspector + filter_chain_match.transport_protocol, as Istio's PERMISSIVE inbound ports do).
  const tlsCount = filterChains.filter((c) => c.tls).length;
  if (tlsCount > 0 && tlsCount < filterChains.length && filterChains.some((c) => !c.tls && c.transportProtocol !== 'raw_buffer')) {
    ctx.fail('filter_chains', 'a listener with TLS and plaintext filter chains needs filter_chain_match.transport_protocol "raw_buffer" on its plaintext chains');
  }
  return { name, address: sa.address, port, filterChains, tls: tlsCount > 0 };
}
