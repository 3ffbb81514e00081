/** Config translation of the mesh TLS fields: transport_protocol chains, transport_socket_matches, SAN matchers, endpoint metadata. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { translateListener } from './listener.ts';
import { translateCluster } from './cluster.ts';
import { translateLoadAssignment } from './endpoints.ts';
import { checkSans } from '../http/upstream-tls.ts';

const D = { upstreamIdleTimeoutMs: 30_000, connectTimeoutMs: 1000, routeTimeoutMs: 0, streamIdleTimeoutMs: 0 };
const hcm = { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TypeUrl.HttpConnectionManager, stat_prefix: 's', rds: { route_config_name: 'r' }, http_filters: [{ name: 'envoy.filters.http.router' }] } };
const tlsSocket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.DownstreamTlsContext, require_client_certificate: { value: true }, common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'wl' }], validation_context_sds_secret_config: { name: 'ROOTCA' } } } };
const listener = (chains: object[]) => ({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 1 } }, filter_chains: chains });
const struct = (o: Record<string, string>) => ({ fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { stringValue: v }])) });

test('listener: TLS and plaintext chains on one port when transport_protocol tells them apart', () => {
  const l = translateListener(listener([
    { filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm], transport_socket: tlsSocket },
    { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [hcm] },
  ]), D);
  assert.deepEqual(l.filterChains.map((c) => [c.transportProtocol, !!c.tls, c.tls?.requireClientCert, c.tls?.validationSecret]), [['tls', true, true, 'ROOTCA'], ['raw_buffer', false, undefined, undefined]]);
  assert.equal(l.tls, true);
  assert.throws(() => translateListener(listener([{ filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm], transport_socket: tlsSocket }, { filters: [hcm] }]), D), /filter_chains: .*raw_buffer/, 'a mixed port needs raw_buffer on its plaintext chain');
  assert.throws(() => translateListener(listener([{ filter_chain_match: { transport_protocol: 'quic' }, filters: [hcm] }]), D), /filter_chains\[0\]\.filter_chain_match\.transport_protocol: must be "tls" or "raw_buffer"/);
  assert.throws(() => translateListener(listener([{ filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm] }]), D), /filter_chains\[0\]\.transport_socket: .*needs a TLS transport socket/);
});

test('cluster: transport_socket_matches give TLS for matching endpoints, with exact SAN matchers; endpoints carry their match metadata', () => {
  const c = translateCluster({
    name: 'c', type: 'EDS', eds_cluster_config: { service_name: 'c' },
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: struct({ tlsMode: 'istio' }), transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTlsContext, common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'me' }],
        combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/a/sa/default' } }] }, validation_context_sds_secret_config: { name: 'ROOTCA' } },
      } } } },
      { name: 'tlsMode-disabled', match: struct({}), transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ],
  }, D);
  assert.deepEqual(c.tlsMatch, { tlsMode: 'istio' });
  assert.deepEqual([c.tls?.certSecret, c.tls?.validationSecret, c.tls?.sanMatches], ['me', 'ROOTCA', [{ type: 'URI', exact: 'spiffe://cluster.local/ns/a/sa/default' }]]);
  assert.throws(() => translateCluster({ name: 'd', type: 'EDS', transport_socket_matches: [{ match: {}, transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTlsContext, common_tls_context: { combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'EMAIL', matcher: { exact: 'x' } }] } } } } } }] }, D), /unsupported SAN type "EMAIL"/);
  const e = translateLoadAssignment({ cluster_name: 'c', endpoints: [{ lb_endpoints: [
    { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 5 } } }, metadata: { filter_metadata: { 'envoy.transport_socket_match': struct({ tlsMode: 'istio' }) } } },
    { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 6 } } } },
  ] }] });
  assert.deepEqual(e.localities[0]!.endpoints.map((x) => x.socketMatch), [{ tlsMode: 'istio' }, undefined]);
});

test('upstream SAN check: one of the expected SANs, by type', () => {
  const want = [{ type: 'URI' as const, exact: 'spiffe://cluster.local/ns/a/sa/default' }];
  assert.equal(checkSans(want, { subjectaltname: 'URI:spiffe://cluster.local/ns/a/sa/default' }), undefined);
  assert.match(String(checkSans(want, { subjectaltname: 'URI:spiffe://cluster.local/ns/b/sa/default' })), /match none of URI:spiffe:\/\/cluster\.local\/ns\/a\/sa\/default/);
  assert.ok(checkSans(want, { subjectaltname: 'DNS:spiffe://cluster.local/ns/a/sa/default' }), 'a DNS SAN does not satisfy a URI matcher');
  assert.equal(checkSans([{ type: 'DNS', exact: 'x.example' }], { subjectaltname: 'DNS:y.example, DNS:x.example' }), undefined);
});
