/** Integration: the pooled HTTP/1.1 upstream path (upstream-h1.ts) through a running proxy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { configure, freePort, request, startProxy, startUpstream, waitFor } from '../testing/harness.ts';
import { edsCluster, loadAssignment, routeConfig } from '../testing/resources.ts';
import type { ProxyInstance } from '../proxy-instance.ts';
import { requestHeadFromObject } from './upstream-h1.ts';

async function setup(t: { after(fn: () => Promise<void> | void): void }, upstreamPort: number, clusterExtra: Record<string, unknown> = {}): Promise<{ p: ProxyInstance; port: number }> {
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [edsCluster('a', clusterExtra)], [loadAssignment('a', [upstreamPort])]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); });
  await p.whenReady(5000);
  return { p, port };
}

/** A raw TCP upstream: `answer` gets each request's bytes and the socket. */
async function rawUpstream(t: { after(fn: () => Promise<void> | void): void }, answer: (data: string, s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const req = buf;
      buf = '';
      answer(req, s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => { server.close(() => r()); }));
  return (server.address() as net.AddressInfo).port;
}

test('request head: one string, repeated headers as repeated lines; invalid values refused', () => {
  assert.equal(requestHeadFromObject('GET', '/a?b=1', { host: 'x', 'x-a': ['1', '2'], 'x-n': 3, 'x-u': undefined }, false), 'GET /a?b=1 HTTP/1.1\r\nhost: x\r\nx-a: 1\r\nx-a: 2\r\nx-n: 3\r\n\r\n', 'the head as written to the socket');
  assert.equal(requestHeadFromObject('POST', '/', { host: 'x' }, true), 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n', 'an empty body says so');
  assert.equal(requestHeadFromObject('GET', '/', { 'x-a': 'bad\r\nvalue' }, false), undefined, 'a value with CR/LF is refused (node client path then reports it)');
  assert.equal(requestHeadFromObject('GET', '/', { 'bad name': 'v' }, false), undefined, 'a name that is not a token is refused');
  assert.equal(requestHeadFromObject('GET', '/a b', {}, false), undefined, 'a path with a space is refused');
});

test('HEAD, POST bodies, chunked and close-delimited responses, 100 Continue before the answer', async (t) => {
  const a = await startUpstream((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/chunked') { res.writeHead(200, { 'content-type': 'text/plain' }); res.write('one,'); setTimeout(() => res.end('two'), 20); return; }
      if (req.url === '/head') { res.writeHead(200, { 'content-length': '42', 'x-m': req.method! }); res.end(); return; }
      res.writeHead(201, { 'content-type': 'text/plain', 'x-len': String(req.headers['content-length']) });
      res.end(`${req.method} ${body}`);
    });
  });
  t.after(() => a.close());
  const { port } = await setup(t, a.port);
  const post = await request(port, '/echo', { method: 'POST', body: 'hello body', headers: { 'content-type': 'text/plain' } });
  assert.deepEqual([post.status, post.body, post.headers['x-len']], [201, 'POST hello body', '10'], 'the POST body reached the upstream with its length');
  const chunked = await request(port, '/chunked');
  assert.deepEqual([chunked.status, chunked.body], [200, 'one,two'], 'a chunked upstream response is forwarded whole');
  const head = await request(port, '/head', { method: 'HEAD' });
  assert.deepEqual([head.status, head.body, head.headers['x-m']], [200, '', 'HEAD'], 'HEAD: no body expected after a content-length');
  const after = await request(port, '/echo');
  assert.deepEqual([after.status, after.body], [201, 'GET '], 'the connection is still usable after HEAD');

  let n = 0;
  const rawPort = await rawUpstream(t, (req, s) => {
    n++;
    if (req.startsWith('GET /close')) { s.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil close'); return; }
    s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal');
  });
  const raw = await setup(t, rawPort);
  const cont = await request(raw.port, '/continue');
  assert.deepEqual([cont.status, cont.body], [200, 'final'], 'a 1xx informational response is skipped, the final one forwarded');
  const close = await request(raw.port, '/close');
  assert.deepEqual([close.status, close.body], [200, 'until close'], 'a body delimited by the connection close is forwarded whole');
  assert.equal(n, 2, 'one upstream request each');
});

test('an upstream closing mid-body resets the downstream response (UC)', async (t) => {
  const rawPort = await rawUpstream(t, (_req, s) => { s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial'); setTimeout(() => s.destroy(), 30); });
  const { p, port } = await setup(t, rawPort);
  const outcome = await new Promise<string>((resolve) => {
    const r = http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'x' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve('complete'));
      res.on('error', () => resolve('reset'));
      res.on('aborted', () => resolve('reset'));
    });
    r.on('error', () => resolve('reset'));
  });
  assert.equal(outcome, 'reset', 'the downstream sees the truncated response as a reset, not a complete body');
  assert.equal(p.stats.cluster('a').upstream_rq_2xx, 1, 'the response head counted');
});

test('max_connections 1: concurrent requests wait for the one connection; max_requests_per_connection closes it', async (t) => {
  const a = await startUpstream((req, res) => { req.resume(); setTimeout(() => res.end(req.url), 20); });
  t.after(() => a.close());
  const { p, port } = await setup(t, a.port, {
    circuit_breakers: { thresholds: [{ max_connections: { value: 1 } }] },
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', common_http_protocol_options: { max_requests_per_connection: { value: 3 } } } },
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
  t.after(() => agent.destroy());
  const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => request(port, `/r${i}`, { agent })));
  assert.deepEqual(rs.map((r) => [r.status, r.body]), Array.from({ length: 6 }, (_, i) => [200, `/r${i}`]), 'every queued request was served with its own response');
  const cs = p.stats.cluster('a');
  assert.equal(cs.upstream_cx_total, 2, 'six concurrent requests, one connection at a time, three requests each: two connections (without the queue, six)');
  assert.equal(cs.upstream_cx_max_requests, 2, 'each connection closed at its request limit');
  await waitFor('upstream connections closed', () => cs.upstream_cx_active === 0, 3000);
  assert.equal(cs.upstream_rq_pending_active, 0, 'no request left pending');
});

test('a large response to a slow downstream reader: reading pauses and resumes, the connection serves the next request', async (t) => {
  const big = Buffer.alloc(4 << 20, 'x');
  let connections = 0;
  const a = await startUpstream((req, res) => {
    req.resume();
    if (req.url === '/big') { res.writeHead(200, { 'content-length': big.length }); res.end(big); } else res.end('small');
  });
  a.server.on('connection', () => { connections++; });
  t.after(() => a.close());
  const { port } = await setup(t, a.port);
  const received = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/big', headers: { host: 'x' } }, (res) => {
      let n = 0;
      res.pause();
      // Nothing read for a while: the proxy's downstream buffer fills and it stops reading upstream.
      setTimeout(() => { res.on('data', (c: Buffer) => { n += c.length; }); res.on('end', () => resolve(n)); res.resume(); }, 300);
      res.on('error', reject);
    }).on('error', reject);
  });
  assert.equal(received, big.length, 'the whole body arrived after the pause');
  const next = await request(port, '/small');
  assert.deepEqual([next.status, next.body], [200, 'small'], 'the pooled connection still reads responses');
  assert.equal(connections, 1, 'the same upstream connection carried both requests');
});

test('retries on the pooled path: a 503 body is dropped and its connection reused; a per-try timeout retries on a fresh connection', async (t) => {
  let n = 0;
  const a = await startUpstream((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      n++;
      if (req.url === '/flaky' && n === 1) { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('first attempt failed, this body must not reach the client'); return; }
      if (req.url === '/slow' && n === 1) return; // never answers: the per-try timeout fires
      res.end(`ok ${req.method} ${body}`);
    });
  });
  t.after(() => a.close());
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  const retry = { retry_on: '5xx,reset', num_retries: { value: 2 }, per_try_timeout: { nanos: 200_000_000 }, retry_back_off: { base_interval: { nanos: 1_000_000 } } };
  await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a', retry }] }]), [edsCluster('a')], [loadAssignment('a', [a.port])]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); });
  await p.whenReady(5000);
  const flaky = await request(port, '/flaky', { method: 'POST', body: 'payload' });
  assert.deepEqual([flaky.status, flaky.body], [200, 'ok POST payload'], 'the retry carried the buffered body and only its response reached the client');
  assert.equal(n, 2, 'two attempts');
  const cs = p.stats.cluster('a');
  assert.equal(cs.upstream_cx_total, 1, 'the 503 response was read to its end and its connection reused');
  n = 0;
  const slow = await request(port, '/slow');
  assert.deepEqual([slow.status, slow.body], [200, 'ok GET '], 'the second attempt answered after the first timed out');
  assert.equal(cs.upstream_rq_per_try_timeout, 1, 'one per-try timeout');
  assert.equal(cs.upstream_rq_retry, 2, 'one retry each');
  await waitFor('no request left active', () => cs.upstream_rq_active === 0 && cs.upstream_rq_pending_active === 0, 2000);
});
