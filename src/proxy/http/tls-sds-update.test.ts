/**
 * Integration: certificate updates over SDS apply to a running TLS listener without a restart
 * (the SNI contexts are rebuilt), and a secret whose key does not match its certificate or whose
 * PEM does not parse is NACKed with a message naming the field, the previous certificate serving on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { TypeUrl } from '../../xds/protos.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { freePort, pushAndWait, startProxy, startUpstream, waitFor } from '../testing/harness.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../testing/resources.ts';
import { selfSigned } from '../testing/self-signed.ts';

const secret = (name: string, c: { certPem: string; keyPem: string }) => ({ name, tls_certificate: { certificate_chain: { inline_string: c.certPem }, private_key: { inline_string: c.keyPem } } });

test('TLS listener: an SDS certificate update is served without a restart; a bad one is NACKed and the previous serves on', async (t) => {
  const u = await startUpstream();
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  const [one, two, other] = await Promise.all([selfSigned(['a.example.test']), selfSigned(['a.example.test']), selfSigned(['x.example.test'])]);
  const l = hcmListener('tls', port, 'r') as any;
  l.filter_chains[0].transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.DownstreamTlsContext, common_tls_context: {
    tls_certificate_sds_secret_configs: [{ name: 'a/cert' }], alpn_protocols: ['http/1.1'] } } };
  xds.set(TypeUrl.Cluster, [edsCluster('c')]);
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('c', [u.port])]);
  xds.set(TypeUrl.RouteConfiguration, [routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'c' }] }])]);
  xds.set(TypeUrl.Secret, [secret('a/cert', one)]);
  xds.set(TypeUrl.Listener, [l]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); await u.close(); });
  await p.whenReady(5000);

  // Both certificates are self-signed with the same subject, so the check is by fingerprint (chain
  // verification by a CA is what test/e2e/gateway-https.test.ts does).
  const served = () => new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'a.example.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
      s.end();
    });
    s.on('error', reject);
  });
  const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
  assert.equal(await served(), fp(one.certPem), 'the first certificate');

  await pushAndWait(xds, TypeUrl.Secret, [secret('a/cert', two)]);
  let now = '';
  await waitFor('the new certificate is served', async () => (now = await served()) === fp(two.certPem));
  assert.equal(now, fp(two.certPem), 'updated in place: same listener, same port');

  const mismatch = await pushAndWait(xds, TypeUrl.Secret, [secret('a/cert', { certPem: two.certPem, keyPem: other.keyPem })], { expectNack: true });
  assert.match(mismatch ?? '', /Secret "a\/cert": tls_certificate\.private_key: does not belong to the certificate/);
  const garbled = await pushAndWait(xds, TypeUrl.Secret, [secret('a/cert', { certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', keyPem: two.keyPem })], { expectNack: true });
  assert.match(garbled ?? '', /Secret "a\/cert": tls_certificate\.certificate_chain: does not parse as an X\.509 certificate/);
  assert.equal(await served(), fp(two.certPem), 'the last accepted certificate keeps serving');
});
