/** Integration: a TLS listener with certificates from SDS, chosen by SNI; ALPN negotiates h2 or http/1.1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { TypeUrl } from '../../xds/protos.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { freePort, startProxy, startUpstream } from '../testing/harness.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../testing/resources.ts';
import { selfSigned } from '../testing/self-signed.ts';

test('TLS listener: SNI picks the SDS certificate; HTTP/1.1 and h2 via ALPN', async (t) => {
  const u = await startUpstream();
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  const [a, b] = await Promise.all([selfSigned(['a.example.com']), selfSigned(['*.b.example.com'])]);
  const secret = (name: string, c: { certPem: string; keyPem: string }) => ({ name, tls_certificate: { certificate_chain: { inline_string: c.certPem }, private_key: { inline_string: c.keyPem } } });
  const l = hcmListener('tls', port, 'r') as any;
  l.filter_chains[0].transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.DownstreamTlsContext, common_tls_context: {
    tls_certificate_sds_secret_configs: [{ name: 'cert-a' }, { name: 'cert-b' }], alpn_protocols: ['h2', 'http/1.1'] } } };
  xds.set(TypeUrl.Cluster, [edsCluster('c')]);
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('c', [u.port])]);
  xds.set(TypeUrl.RouteConfiguration, [routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'c' }] }])]);
  xds.set(TypeUrl.Secret, [secret('cert-a', a), secret('cert-b', b)]);
  xds.set(TypeUrl.Listener, [l]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); await u.close(); });
  await p.whenReady(5000);

  const peer = (servername: string) => new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca: [a.certPem, b.certPem], ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerX509Certificate()?.subjectAltName ?? '');
      s.end();
    });
    s.on('error', reject);
  });
  assert.equal(await peer('a.example.com'), 'DNS:a.example.com');
  assert.equal(await peer('x.b.example.com'), 'DNS:*.b.example.com');

  const h1 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const r = https.request({ host: '127.0.0.1', port, path: '/', servername: 'a.example.com', headers: { host: 'a.example.com' }, ca: a.certPem, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
  assert.deepEqual([h1.status, h1.body], [200, String(u.port)]);

  const client = http2.connect(`https://127.0.0.1:${port}`, { ca: a.certPem, servername: 'a.example.com' });
  t.after(() => client.close());
  const h2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const s = client.request({ ':path': '/' });
    let status = 0, body = '';
    s.on('response', (h) => { status = Number(h[':status']); });
    s.setEncoding('utf8');
    s.on('data', (c) => (body += c));
    s.on('end', () => resolve({ status, body }));
    s.on('error', reject);
    s.end();
  });
  assert.equal(client.alpnProtocol, 'h2');
  assert.deepEqual(h2, { status: 200, body: String(u.port) });
});
