import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResource, encodeResource, TypeUrl } from '../xds/protos.ts';
import { expectedIdentities, inboundChains, inboundMtlsTransportSocket, upstreamMtlsTransportSocket } from './mesh-xds.ts';

const ID = 'spiffe://cluster.local/ns/web/sa/default';
const roundTrip = (typeUrl: string, ts: Record<string, any>) => {
  const { '@type': t, ...msg } = ts.typed_config;
  assert.equal(t, typeUrl);
  return decodeResource(typeUrl, encodeResource(typeUrl, msg));
};

test('inbound mTLS: workload certificate and ROOTCA over ADS, client certificate required; encodes as DownstreamTlsContext', () => {
  const d = roundTrip(TypeUrl.DownstreamTlsContext, inboundMtlsTransportSocket(ID));
  assert.deepEqual(d.require_client_certificate, { value: true });
  assert.deepEqual(d.common_tls_context.tls_certificate_sds_secret_configs.map((s: any) => s.name), [ID]);
  assert.equal(d.common_tls_context.validation_context_sds_secret_config.name, 'ROOTCA');
  assert.ok(d.common_tls_context.validation_context_sds_secret_config.sds_config.ads);
});

test('inbound chains per PeerAuthentication mode; a listener with them encodes', () => {
  assert.deepEqual(inboundChains('STRICT', ID).map((c) => [c.filter_chain_match.transport_protocol, !!c.transport_socket]), [['tls', true]]);
  assert.deepEqual(inboundChains('DISABLE', ID).map((c) => [c.filter_chain_match.transport_protocol, !!c.transport_socket]), [['raw_buffer', false]]);
  assert.deepEqual(inboundChains('PERMISSIVE', ID).map((c) => [c.filter_chain_match.transport_protocol, !!c.transport_socket]), [['tls', true], ['raw_buffer', false]]);
  const listener = { name: 'inbound|8080', address: { socket_address: { address: '127.0.0.1', port_value: 8080 } }, filter_chains: inboundChains('PERMISSIVE', ID) };
  const back = decodeResource(TypeUrl.Listener, encodeResource(TypeUrl.Listener, listener));
  assert.deepEqual(back.filter_chains.map((c: any) => c.filter_chain_match.transport_protocol), ['tls', 'raw_buffer']);
  assert.equal(back.filter_chains[0].transport_socket.typed_config['@type'], TypeUrl.DownstreamTlsContext);
});

test('upstream mTLS: expected SPIFFE ids as URI SAN matchers; encodes as UpstreamTlsContext', () => {
  const ids = expectedIdentities('cluster.local', 'web', ['default', 'api', 'default']);
  assert.deepEqual(ids, ['spiffe://cluster.local/ns/web/sa/api', 'spiffe://cluster.local/ns/web/sa/default']);
  const u = roundTrip(TypeUrl.UpstreamTlsContext, upstreamMtlsTransportSocket('spiffe://cluster.local/ns/a/sa/default', ids, { sni: 'outbound_.8080_._.web' }));
  assert.equal(u.sni, 'outbound_.8080_._.web');
  assert.deepEqual(u.common_tls_context.tls_certificate_sds_secret_configs.map((s: any) => s.name), ['spiffe://cluster.local/ns/a/sa/default']);
  const cvc = u.common_tls_context.combined_validation_context;
  assert.deepEqual(cvc.default_validation_context.match_typed_subject_alt_names, ids.map((id) => ({ san_type: 'URI', matcher: { exact: id } })));
  assert.equal(cvc.validation_context_sds_secret_config.name, 'ROOTCA');
  const any = roundTrip(TypeUrl.UpstreamTlsContext, upstreamMtlsTransportSocket('c', []));
  assert.equal(any.common_tls_context.validation_context_sds_secret_config.name, 'ROOTCA');
  assert.equal(any.common_tls_context.combined_validation_context, undefined);
});
