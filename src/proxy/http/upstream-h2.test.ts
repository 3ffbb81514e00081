/** Integration: clusters that ask for HTTP/2 upstream talk h2c to a real node:http2 server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { TypeUrl } from '../../xds/protos.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { configure, freePort, request, startProxy, waitFor } from '../testing/harness.ts';
import { edsCluster, loadAssignment, routeConfig } from '../testing/resources.ts';
import type { ProxyInstance } from '../proxy-instance.ts';

interface H2Upstream { port: number; sessions: Set<http2.ServerHttp2Session>; seen: { version: string; path: string; host: string; te?: string }[]; close(): Promise<void> }

async function h2Upstream(): Promise<H2Upstream> {
  const u: H2Upstream = { port: 0, sessions: new Set(), seen: [], close: async () => {} };
  const server = http2.createServer();
  server.on('session', (s) => { u.sessions.add(s); s.on('close', () => u.sessions.delete(s)); });
  server.on('request', (req, res) => {
    u.seen.push({ version: req.httpVersion, path: req.url, host: req.authority, te: req.headers.te as string | undefined });
    req.resume();
    req.on('end', () => {
      if (req.url === '/grpc') {
        res.writeHead(200, { 'content-type': 'application/grpc' });
        res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' });
        res.end('payload');
        return;
      }
      res.writeHead(201, { 'x-upstream': 'h2', 'set-cookie': ['a=1', 'b=2'] });
      res.end(`h2:${req.method}:${req.url}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  u.port = (server.address() as net.AddressInfo).port;
  u.close = () => new Promise<void>((r) => { for (const s of u.sessions) s.destroy(); server.close(() => r()); });
  return u;
}

const h2Cluster = (idleNanos?: number) => edsCluster('a', { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
  '@type': TypeUrl.HttpProtocolOptions,
  ...(idleNanos ? { common_http_protocol_options: { idle_timeout: { nanos: idleNanos } } } : {}),
  explicit_http_config: { http2_protocol_options: {} },
} } });

async function setup(t: { after(fn: () => Promise<void> | void): void }, cluster: object, upstreamPort: number): Promise<{ p: ProxyInstance; port: number }> {
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [cluster], [loadAssignment('a', [upstreamPort])]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); });
  await p.whenReady(5000);
  return { p, port };
}

test('http2_protocol_options: HTTP/1.1 downstream requests reach an h2c upstream over one session', async (t) => {
  const u = await h2Upstream();
  t.after(() => u.close());
  const { p, port } = await setup(t, h2Cluster(), u.port);
  assert.equal(p.store.config.clusters.get('a')!.http2, 'always');
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => request(port, `/x${i}?q=1`, { host: 'svc.example.com' })));
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 201, `request ${i} status`);
    assert.equal(r.body, `h2:GET:/x${i}?q=1`);
    assert.equal(r.headers['x-upstream'], 'h2');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2'], 'repeated headers survive');
    assert.ok(r.headers['x-envoy-upstream-service-time'] !== undefined, 'service time header set');
  }
  const post = await request(port, '/post', { method: 'POST', body: 'hello', host: 'svc.example.com' });
  assert.equal(post.body, 'h2:POST:/post');
  assert.ok(u.seen.every((s) => s.version === '2.0'), 'every upstream request was HTTP/2');
  assert.equal(u.seen[0]!.host, 'svc.example.com', ':authority carries the Host');
  assert.equal(u.sessions.size, 1, 'requests are multiplexed on one upstream session');
  assert.equal(p.stats.cluster('a').upstream_cx_total, 1);
  assert.equal(p.stats.cluster('a').upstream_rq_2xx, 6);
});

test('HTTP/2 upstream: gRPC-style trailers reach an HTTP/2 downstream client', async (t) => {
  const u = await h2Upstream();
  t.after(() => u.close());
  const { port } = await setup(t, h2Cluster(), u.port);
  const client = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const got = await new Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const s = client.request({ ':path': '/grpc', ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' });
    let status = 0, body = '', trailers: http2.IncomingHttpHeaders = {};
    s.on('response', (h) => { status = Number(h[':status']); });
    s.on('trailers', (tr) => { trailers = tr; });
    s.setEncoding('utf8');
    s.on('data', (c) => (body += c));
    s.on('end', () => resolve({ status, body, trailers }));
    s.on('error', reject);
    s.end('req');
  });
  assert.equal(got.status, 200);
  assert.equal(got.body, 'payload');
  assert.equal(got.trailers['grpc-status'], '0', 'trailers forwarded');
  assert.equal(u.seen[0]!.te, 'trailers', 'te: trailers forwarded to the upstream');
});

test('HTTP/2 upstream: the session closes after the cluster idle timeout; a dead host → 503 UF', async (t) => {
  const u = await h2Upstream();
  t.after(() => u.close());
  const { p, port } = await setup(t, h2Cluster(300_000_000), u.port);
  assert.equal((await request(port, '/a')).status, 201);
  assert.equal(u.sessions.size, 1, 'one session open');
  await waitFor('idle upstream session closed', () => u.sessions.size === 0, 3000);
  await waitFor('cx_active back to 0', () => p.stats.cluster('a').upstream_cx_active === 0, 2000);
  assert.equal(p.stats.cluster('a').upstream_cx_idle_timeout, 1);
  assert.equal((await request(port, '/b')).status, 201, 'a new session after the idle close');
  await u.close();
  const dead = await request(port, '/c');
  assert.equal(dead.status, 503);
  assert.equal(dead.body, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure');
});

test('HTTP/2 upstream under concurrency: refused streams (max concurrent streams) are re-sent; max_requests_per_connection rotates sessions', async (t) => {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 4 } }, (req, res) => { req.resume(); req.on('end', () => setTimeout(() => res.end('ok'), 5)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  t.after(() => new Promise<void>((r) => { for (const s of sessions) s.destroy(); server.close(() => r()); }));
  const cluster = edsCluster('a', { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': TypeUrl.HttpProtocolOptions, explicit_http_config: { http2_protocol_options: {} }, common_http_protocol_options: { max_requests_per_connection: { value: 10 } } } } });
  const { p, port } = await setup(t, cluster, (server.address() as net.AddressInfo).port);
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => request(port, `/r${i}`)));
  assert.deepEqual(results.map((r) => r.status), Array(30).fill(200), 'every request succeeded');
  const s = p.stats.cluster('a');
  assert.ok(s.upstream_cx_total >= 3, `sessions rotated after 10 streams (opened ${s.upstream_cx_total})`);
  assert.equal(s.upstream_rq_2xx, 30);
});
