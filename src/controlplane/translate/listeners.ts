/**
 * Listener resources: an HTTP connection manager fed by RDS over ADS, with the fault filter
 * (so VirtualService fault injection applies) and the router; optional TLS filter chains chosen
 * by SNI, with certificates fetched over SDS. Mesh-proxy listeners are per pod: an inbound one
 * (queue-proxy role, to the pod's process) and an egress one (the pod's HTTP proxy, routed by the
 * namespace's egress RouteConfiguration).
 */
import { TypeUrl } from '../../xds/protos.ts';
import { ADS_SOURCE } from './istio-values.ts';
import { sdsConfig, TLS_TRANSPORT } from './secrets.ts';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const FAULT_FILTER = 'envoy.filters.http.fault';
export const ROUTER_FILTER = 'envoy.filters.http.router';

export interface HcmOptions {
  statPrefix: string;
  routeConfigName: string;
  /** Gateways take the client address from the connection; mesh listeners trust the pod. */
  useRemoteAddress: boolean;
}

export function httpConnectionManager(o: HcmOptions): object {
  return {
    name: HCM_FILTER,
    typed_config: {
      '@type': TypeUrl.HttpConnectionManager,
      stat_prefix: o.statPrefix,
      codec_type: 'AUTO',
      rds: { route_config_name: o.routeConfigName, config_source: ADS_SOURCE },
      http_filters: [
        { name: FAULT_FILTER, typed_config: { '@type': TypeUrl.Fault } },
        { name: ROUTER_FILTER, typed_config: { '@type': TypeUrl.Router } },
      ],
      use_remote_address: { value: o.useRemoteAddress },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
    },
  };
}

export interface TlsChain {
  /** SNI names (empty = any). */
  serverNames: string[];
  certSecrets: string[];
  /** Set for MUTUAL: client certificates are required and verified against this CA secret. */
  caSecret?: string;
  tlsParams?: Record<string, unknown>;
}

export function downstreamTls(t: TlsChain): object {
  const common: Record<string, unknown> = {
    tls_certificate_sds_secret_configs: t.certSecrets.map(sdsConfig),
    alpn_protocols: ['h2', 'http/1.1'],
  };
  if (t.caSecret) common.validation_context_sds_secret_config = sdsConfig(t.caSecret);
  if (t.tlsParams) common.tls_params = t.tlsParams;
  return {
    name: TLS_TRANSPORT,
    typed_config: { '@type': TypeUrl.DownstreamTlsContext, common_tls_context: common, ...(t.caSecret ? { require_client_certificate: { value: true } } : {}) },
  };
}

export interface ListenerSpec {
  name: string;
  address: string;
  port: number;
  chains: { tls?: TlsChain; hcm: HcmOptions }[];
}

export function buildListener(l: ListenerSpec): object {
  return {
    name: l.name,
    address: { socket_address: { address: l.address, port_value: l.port } },
    filter_chains: l.chains.map((c) => ({
      ...(c.tls && c.tls.serverNames.length ? { filter_chain_match: { server_names: c.tls.serverNames } } : {}),
      filters: [httpConnectionManager(c.hcm)],
      ...(c.tls ? { transport_socket: downstreamTls(c.tls) } : {}),
    })),
  };
}

/** Names of the mesh proxy's per-pod resources. */
export function inboundListenerName(podName: string, podNs: string): string { return `inbound|${podName}.${podNs}`; }
export function inboundRouteName(podName: string, podNs: string): string { return `inbound|${podName}.${podNs}`; }
export function egressListenerName(podName: string, podNs: string): string { return `egress|${podName}.${podNs}`; }
export function egressRouteName(ns: string): string { return `egress|${ns}`; }
export function gatewayRouteName(kind: 'http' | 'https', port: number): string { return `${kind}.${port}`; }
