/**
 * Pure builders of the Envoy TLS pieces Istio puts on mesh listeners and clusters, for the
 * control plane's translation (the proxy reads the same shapes back):
 *
 *  - inbound (server) side: a DownstreamTlsContext presenting the workload certificate from SDS,
 *    requiring a client certificate verified against `ROOTCA`;
 *  - the filter chains an inbound port needs for its PeerAuthentication mode: STRICT = TLS only,
 *    DISABLE = plaintext only, PERMISSIVE = both, told apart by `filter_chain_match.transport_protocol`
 *    (`tls` / `raw_buffer`, as set by Envoy's tls_inspector);
 *  - outbound (client) side: an UpstreamTlsContext presenting the caller's certificate and
 *    accepting only the expected SPIFFE identities (`match_typed_subject_alt_names`, SAN type URI),
 *    like Istio's ISTIO_MUTUAL clusters.
 *
 * SDS secret names are those of cert-rotator.ts: the workload's SPIFFE id and `ROOTCA`.
 */
import { TypeUrl } from '../xds/protos.ts';
import { ROOTCA_SECRET_NAME } from './cert-rotator.ts';
import type { MtlsMode } from './peer-authentication.ts';

type Obj = Record<string, unknown>;

/** Secrets come over the same ADS stream as everything else. */
export const ADS_CONFIG_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;
export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
/** ALPN Istio offers between proxies (istio-peer-exchange is left out: sluice has no metadata exchange). */
export const MESH_ALPN = ['h2', 'http/1.1'];

const sds = (name: string): Obj => ({ name, sds_config: ADS_CONFIG_SOURCE });

/** `transport_socket` of an inbound filter chain that terminates mesh mTLS. */
export function inboundMtlsTransportSocket(certSecretName: string, opts: { rootSecretName?: string } = {}): Obj {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: {
      '@type': TypeUrl.DownstreamTlsContext,
      require_client_certificate: { value: true },
      common_tls_context: {
        tls_certificate_sds_secret_configs: [sds(certSecretName)],
        validation_context_sds_secret_config: sds(opts.rootSecretName ?? ROOTCA_SECRET_NAME),
        alpn_protocols: MESH_ALPN,
      },
    },
  };
}

export interface InboundChainPlan {
  /** `filter_chain_match` for the chain (tls_inspector's transport protocol). */
  filter_chain_match: { transport_protocol: 'tls' | 'raw_buffer' };
  /** The transport socket to set, or undefined for the plaintext chain. */
  transport_socket?: Obj;
}

/**
 * Filter chains for one inbound port under `mode`; the caller adds its HTTP connection manager
 * (with the RBAC filters of envoy-rbac.ts before the router) to each. The listener needs the
 * `envoy.filters.listener.tls_inspector` listener filter when a `tls` chain is present.
 */
export function inboundChains(mode: MtlsMode, certSecretName: string): InboundChainPlan[] {
  const tlsChain: InboundChainPlan = { filter_chain_match: { transport_protocol: 'tls' }, transport_socket: inboundMtlsTransportSocket(certSecretName) };
  const plain: InboundChainPlan = { filter_chain_match: { transport_protocol: 'raw_buffer' } };
  switch (mode) {
    case 'STRICT': return [tlsChain];
    case 'DISABLE': return [plain];
    case 'PERMISSIVE': return [tlsChain, plain];
  }
}

/**
 * `transport_socket` of an outbound cluster to mesh pods: presents `certSecretName`, verifies the
 * server against ROOTCA and, when `expectedSpiffeIds` is not empty, requires one of them as the
 * server's URI SAN (Istio's ISTIO_MUTUAL with the destination's service accounts).
 */
export function upstreamMtlsTransportSocket(certSecretName: string, expectedSpiffeIds: readonly string[] = [], opts: { sni?: string; rootSecretName?: string } = {}): Obj {
  const root = sds(opts.rootSecretName ?? ROOTCA_SECRET_NAME);
  const common: Obj = {
    tls_certificate_sds_secret_configs: [sds(certSecretName)],
    alpn_protocols: MESH_ALPN,
  };
  if (expectedSpiffeIds.length > 0) {
    common.combined_validation_context = {
      default_validation_context: { match_typed_subject_alt_names: expectedSpiffeIds.map((id) => ({ san_type: 'URI', matcher: { exact: id } })) },
      validation_context_sds_secret_config: root,
    };
  } else {
    common.validation_context_sds_secret_config = root;
  }
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: { '@type': TypeUrl.UpstreamTlsContext, common_tls_context: common, ...(opts.sni ? { sni: opts.sni } : {}) },
  };
}

/** The SPIFFE ids an upstream cluster should accept: the service accounts of its endpoints' pods. */
export function expectedIdentities(trustDomain: string, namespace: string, serviceAccounts: Iterable<string>): string[] {
  return [...new Set(serviceAccounts)].sort().map((sa) => `spiffe://${trustDomain}/ns/${namespace}/sa/${sa}`);
}
