/** Integration: route idle_timeout and the keep-alive race on pooled upstream connections. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { configure, freePort, request, startProxy, startUpstream } from '../testing/harness.ts';
import { edsCluster, loadAssignment, routeConfig } from '../testing/resources.ts';
import type { ProxyInstance } from '../proxy-instance.ts';

async function setup(t: { after(fn: () => Promise<void> | void): void }, upstreamPort: number, routeExtra: object): Promise<{ p: ProxyInstance; port: number }> {
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  const rc = routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]) as any;
  Object.assign(rc.virtual_hosts[0].routes[0].route, routeExtra);
  await configure(xds, port, rc, [edsCluster('a')], [loadAssignment('a', [upstreamPort])]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); });
  await p.whenReady(5000);
  return { p, port };
}

test('route idle_timeout: an upstream silent for longer → 408 stream timeout (SI), counted', async (t) => {
  const a = await startUpstream((req) => { req.resume(); /* never answers */ });
  t.after(() => a.close());
  const { p, port } = await setup(t, a.port, { timeout: { seconds: 0 }, idle_timeout: { nanos: 200_000_000 } });
  const r = await request(port, '/');
  assert.deepEqual([r.status, r.body], [408, 'stream timeout']);
  assert.equal(p.stats.httpPrefix('l').downstream_rq_idle_timeout, 1, 'downstream_rq_idle_timeout counts it');
});

test('route idle_timeout: bytes moving keep the stream alive past the idle timeout', async (t) => {
  const a = await startUpstream((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const tick = setInterval(() => { res.write('x'); if (++n === 6) { clearInterval(tick); res.end(); } }, 80);
  });
  t.after(() => a.close());
  const { port } = await setup(t, a.port, { timeout: { seconds: 0 }, idle_timeout: { nanos: 250_000_000 } });
  const r = await request(port, '/');
  assert.deepEqual([r.status, r.body], [200, 'xxxxxx'], 'the streamed response completed');
});

test('a pooled connection the upstream closed as the request went out is retried on a new one', async (t) => {
  // Each connection answers its first request with keep-alive, then drops the connection when the
  // next request arrives on it without answering: the keep-alive race, made deterministic.
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    let served = 0;
    s.on('data', () => {
      if (served++ === 0) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      else s.resetAndDestroy();
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { p, port } = await setup(t, (server.address() as net.AddressInfo).port, {});
  const first = await request(port, '/');
  assert.equal(first.status, 200, 'first request served');
  const second = await request(port, '/');
  assert.deepEqual([second.status, second.body], [200, 'ok'], 'second request re-sent on a fresh connection');
  assert.equal(connections, 2, 'a second upstream connection was opened');
  assert.equal(p.stats.cluster('a').upstream_rq_total, 2, 'still one upstream request each');
  assert.equal(p.stats.cluster('a').upstream_cx_destroy_remote, 1);
  server.close();
});

test('pool idle timeout: counts only idle sockets, never closes a busy one', async (t) => {
  const a = await startUpstream((req, res) => { req.resume(); setTimeout(() => res.end('slow'), req.url === '/slow' ? 600 : 0); });
  t.after(() => a.close());
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  const cluster = edsCluster('a', { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', common_http_protocol_options: { idle_timeout: { nanos: 250_000_000 } } } } });
  await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [cluster], [loadAssignment('a', [a.port])]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); });
  await p.whenReady(5000);
  assert.equal((await request(port, '/')).status, 200);
  // The same pooled socket now carries a request longer than the idle timeout.
  const slow = await request(port, '/slow');
  assert.deepEqual([slow.status, slow.body], [200, 'slow'], 'the busy socket was not closed');
  assert.equal(p.stats.cluster('a').upstream_cx_idle_timeout, 0, 'a busy socket timing out is not an idle timeout');
  const { waitFor } = await import('../testing/harness.ts');
  await waitFor('idle socket closed', () => a.sockets.size === 0, 3000);
  assert.equal(p.stats.cluster('a').upstream_cx_idle_timeout, 1);
});
