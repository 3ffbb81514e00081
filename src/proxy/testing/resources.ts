/** Builders of Envoy resources (plain objects, proto field names) for the proxy's tests and bench. */
import { TypeUrl, msDuration } from '../../xds/protos.ts';

export function hcmListener(name: string, port: number, rds: string, extra: Record<string, unknown> = {}): object {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager,
          stat_prefix: name,
          rds: { route_config_name: rds, config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
          ...extra,
        },
      }],
    }],
  };
}

export interface RouteSpec { prefix?: string; path?: string; regex?: string; cluster?: string; weighted?: [string, number][]; timeoutMs?: number; retry?: object; extra?: object }

export function routeConfig(name: string, vhosts: { name: string; domains: string[]; routes: RouteSpec[] }[]): object {
  return {
    name,
    virtual_hosts: vhosts.map((v) => ({
      name: v.name,
      domains: v.domains,
      routes: v.routes.map((r) => ({
        match: r.regex ? { safe_regex: { regex: r.regex } } : r.path ? { path: r.path } : { prefix: r.prefix ?? '/' },
        route: {
          ...(r.weighted ? { weighted_clusters: { clusters: r.weighted.map(([n, w]) => ({ name: n, weight: { value: w } })) } } : { cluster: r.cluster }),
          ...(r.timeoutMs !== undefined ? { timeout: msDuration(r.timeoutMs) } : {}),
          ...(r.retry ? { retry_policy: r.retry } : {}),
        },
        ...(r.extra ?? {}),
      })),
    })),
  };
}

export function edsCluster(name: string, extra: Record<string, unknown> = {}): object {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } }, connect_timeout: msDuration(1000), ...extra };
}

export function loadAssignment(name: string, ports: number[], weights?: number[]): object {
  return {
    cluster_name: name,
    endpoints: [{
      locality: { zone: 'z1' },
      lb_endpoints: ports.map((p, i) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } }, ...(weights ? { load_balancing_weight: { value: weights[i] } } : {}) })),
    }],
  };
}
