/**
 * Integration: the proxy's mesh TLS features, configured over xDS as the control plane does.
 *  - one port, two filter chains told apart by transport_protocol (PERMISSIVE): plaintext and mTLS;
 *  - a TLS-only port (STRICT) closes plaintext, refuses client certificates of another CA and
 *    clients without one, and the RBAC filter sees the peer's SPIFFE URI SAN (namespace a in, b 403);
 *  - a server name no filter chain claims is closed, never served another chain's certificate;
 *  - upstream mTLS from transport_socket_matches: the client certificate, the SAN match (a
 *    mismatch fails), and plaintext for endpoints without the tlsMode metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { TypeUrl } from '../../xds/protos.ts';
import { loadOrCreateCa, type IssuedCert } from '../../security/ca.ts';
import { toRbacFilters } from '../../security/envoy-rbac.ts';
import { upstreamMtlsTransportSocket } from '../../security/mesh-xds.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { freePort, request, startProxy, startUpstream, waitFor } from '../testing/harness.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../testing/resources.ts';
import { selfSigned } from '../testing/self-signed.ts';

const ADS = { ads: {}, resource_api_version: 'V3' };
const certSecret = (name: string, c: { chainPem?: string; certPem?: string; keyPem: string }) => ({ name, tls_certificate: { certificate_chain: { inline_string: c.chainPem ?? c.certPem }, private_key: { inline_string: c.keyPem } } });
const downstreamTls = (cert: string, validation?: string) => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': TypeUrl.DownstreamTlsContext,
    ...(validation ? { require_client_certificate: { value: true } } : {}),
    common_tls_context: { tls_certificate_sds_secret_configs: [{ name: cert, sds_config: ADS }], ...(validation ? { validation_context_sds_secret_config: { name: validation, sds_config: ADS } } : {}), alpn_protocols: ['h2', 'http/1.1'] },
  },
});
const struct = (o: Record<string, string>) => ({ fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { stringValue: v }])) });

/** A listener with the given chains (each: match, optional TLS, optional extra http filters before the router). */
function listener(name: string, port: number, chains: { tp?: 'tls' | 'raw_buffer'; serverNames?: string[]; tls?: object; rbac?: object[] }[]): object {
  const base = hcmListener(name, port, 'r') as any;
  const hcm = base.filter_chains[0].filters[0];
  return {
    ...base,
    filter_chains: chains.map((c) => ({
      ...(c.tp || c.serverNames ? { filter_chain_match: { ...(c.tp ? { transport_protocol: c.tp } : {}), ...(c.serverNames ? { server_names: c.serverNames } : {}) } } : {}),
      filters: [{ ...hcm, typed_config: { ...hcm.typed_config, http_filters: [...(c.rbac ?? []), ...hcm.typed_config.http_filters] } }],
      ...(c.tls ? { transport_socket: c.tls } : {}),
    })),
  };
}

function tlsGet(port: number, o: tls.ConnectionOptions): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined, ...o }, () => {
      s.write('GET / HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n');
    });
    s.setEncoding('utf8');
    s.setTimeout(5000, () => s.destroy(new Error('timed out')));
    s.on('data', (d: string) => { data += d; });
    s.on('error', reject);
    s.on('close', () => (data ? resolve({ status: data.split('\r\n')[0]!, body: data.split('\r\n\r\n')[1] ?? '' }) : reject(new Error('closed without a response'))));
  });
}

function plainGet(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path: '/', headers: { host: 'example.com' }, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    r.on('error', reject);
    r.end();
  });
}

test('mesh TLS: PERMISSIVE on one port, STRICT with client-cert verification and RBAC by peer identity, unclaimed SNI closed, upstream mTLS with SAN match', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mesh-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ca = await loadOrCreateCa(path.join(dir, 'mesh'));
  const other = await loadOrCreateCa(path.join(dir, 'other'));
  const issue = (c: typeof ca, ns: string): Promise<IssuedCert> => c.issueWorkload({ namespace: ns, serviceAccount: 'default' });
  const [server, clientA, clientB, foreign] = await Promise.all([issue(ca, 'a'), issue(ca, 'a'), issue(ca, 'b'), issue(other, 'a')]);
  const x = await selfSigned(['x.example']);

  const u = await startUpstream();
  const xds = new TestXdsServer();
  await xds.start();
  const [pPermissive, pStrict, pSni, pOut] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const rbac = toRbacFilters([{ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow-a', namespace: 'a' }, spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['a'] } }] }] } }], { namespace: 'a', labels: {} });
  xds.set(TypeUrl.Cluster, [
    edsCluster('c'),
    // Upstream mTLS to the STRICT port: endpoint 1 has tlsMode istio, so it gets TLS with client-a's certificate.
    edsCluster('mtls', { transport_socket_matches: [{ name: 'tlsMode-istio', match: struct({ tlsMode: 'istio' }), transport_socket: upstreamMtlsTransportSocket('client-a', ['spiffe://cluster.local/ns/a/sa/default']) }, { name: 'tlsMode-disabled', match: struct({}), transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } }] }),
    edsCluster('wrong-san', { transport_socket_matches: [{ name: 'tlsMode-istio', match: struct({ tlsMode: 'istio' }), transport_socket: upstreamMtlsTransportSocket('client-a', ['spiffe://cluster.local/ns/other/sa/default']) }] }),
    edsCluster('no-meta', { transport_socket_matches: [{ name: 'tlsMode-istio', match: struct({ tlsMode: 'istio' }), transport_socket: upstreamMtlsTransportSocket('client-a') }] }),
  ]);
  const tlsEndpoint = (name: string, meta: boolean) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: pStrict } } }, ...(meta ? { metadata: { filter_metadata: { 'envoy.transport_socket_match': struct({ tlsMode: 'istio' }) } } } : {}) }] }] });
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('c', [u.port]), tlsEndpoint('mtls', true), tlsEndpoint('wrong-san', true), tlsEndpoint('no-meta', false)]);
  xds.set(TypeUrl.RouteConfiguration, [
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'c' }] }]),
    routeConfig('out', [
      { name: 'ok', domains: ['ok'], routes: [{ prefix: '/', cluster: 'mtls' }] },
      { name: 'san', domains: ['san'], routes: [{ prefix: '/', cluster: 'wrong-san' }] },
      { name: 'plain', domains: ['plain'], routes: [{ prefix: '/', cluster: 'no-meta' }] },
    ]),
  ]);
  xds.set(TypeUrl.Secret, [certSecret('wl', server), certSecret('client-a', clientA), { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: ca.rootPem } } }, certSecret('x', x)]);
  const out = hcmListener('out', pOut, 'out');
  xds.set(TypeUrl.Listener, [
    listener('permissive', pPermissive, [{ tp: 'tls', tls: downstreamTls('wl', 'ROOTCA') }, { tp: 'raw_buffer' }]),
    listener('strict', pStrict, [{ tp: 'tls', tls: downstreamTls('wl', 'ROOTCA'), rbac }]),
    listener('sni', pSni, [{ serverNames: ['x.example'], tls: downstreamTls('x') }]),
    out,
  ]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); await u.close(); });
  await p.whenReady(5000);
  await waitFor('listeners bound', () => Object.keys(p.listeners.ports()).length === 4);

  // PERMISSIVE: plaintext and mTLS on the same port.
  assert.equal(await plainGet(pPermissive), 200, 'plaintext chain');
  const m = await tlsGet(pPermissive, { cert: clientA.chainPem, key: clientA.keyPem, ca: ca.rootPem });
  assert.match(m.status, /^HTTP\/1\.1 200/, 'TLS chain');

  // STRICT: plaintext closed; foreign CA and no certificate refused; RBAC by the peer's namespace.
  await assert.rejects(plainGet(pStrict), /socket hang up|ECONNRESET/, 'plaintext is closed');
  await assert.rejects(tlsGet(pStrict, { cert: foreign.chainPem, key: foreign.keyPem, ca: ca.rootPem, maxVersion: 'TLSv1.2' }), /disconnected before secure TLS|alert|certificate|ECONNRESET/i, 'another CA: refused in the handshake');
  await assert.rejects(tlsGet(pStrict, { ca: ca.rootPem, maxVersion: 'TLSv1.2' }), /disconnected before secure TLS|alert|certificate|ECONNRESET/i, 'no client certificate: refused');
  await assert.rejects(tlsGet(pStrict, { cert: foreign.chainPem, key: foreign.keyPem, ca: ca.rootPem }), /closed without a response|alert|ECONNRESET/i, 'TLS 1.3: no response to a foreign CA');
  const inA = await tlsGet(pStrict, { cert: clientA.chainPem, key: clientA.keyPem, ca: ca.rootPem });
  assert.match(inA.status, /^HTTP\/1\.1 200/, 'namespace a is allowed');
  const inB = await tlsGet(pStrict, { cert: clientB.chainPem, key: clientB.keyPem, ca: ca.rootPem });
  assert.deepEqual([inB.status.split(' ')[1], inB.body], ['403', 'RBAC: access denied'], 'namespace b is denied by RBAC');

  // A server name no chain claims is closed; the claimed one is served.
  await assert.rejects(tlsGet(pSni, { servername: 'y.example', rejectUnauthorized: false }), /disconnected|ECONNRESET|alert/i, 'unclaimed SNI closed');
  assert.match((await tlsGet(pSni, { servername: 'x.example', ca: x.certPem })).status, /^HTTP\/1\.1 200/, 'claimed SNI served');

  // Upstream mTLS: out → (client-a, SAN a) → STRICT port → upstream.
  assert.equal((await request(pOut, '/', { host: 'ok' })).status, 200, 'upstream mTLS with the expected SAN');
  assert.equal((await request(pOut, '/', { host: 'san' })).status, 503, 'a SAN mismatch fails the upstream connection');
  assert.equal((await request(pOut, '/', { host: 'plain' })).status, 503, 'an endpoint without tlsMode gets plaintext, which STRICT refuses');
});
