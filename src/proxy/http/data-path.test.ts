/** Integration: the data path against the test xDS server, real sockets on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { TypeUrl } from '../../xds/protos.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { configure, freePort, pushAndWait, refusedPort, request, startProxy, startUpstream, waitFor, type Upstream } from '../testing/harness.ts';
import { edsCluster, loadAssignment, routeConfig } from '../testing/resources.ts';
import type { ProxyInstance } from '../proxy-instance.ts';

async function setup(t: { after(fn: () => Promise<void> | void): void }, clusters: object[], endpoints: object[], routes: object, over: Record<string, any> = {}): Promise<{ xds: TestXdsServer; p: ProxyInstance; port: number }> {
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  await configure(xds, port, routes, clusters, endpoints);
  const p = await startProxy(xds, over);
  t.after(async () => { await p.stop(); await xds.stop(); });
  await p.whenReady(5000);
  return { xds, p, port };
}

async function upstream(t: { after(fn: () => Promise<void>): void }, h?: Parameters<typeof startUpstream>[0]): Promise<Upstream> {
  const u = await startUpstream(h);
  t.after(() => u.close());
  return u;
}

const agent = () => new http.Agent({ keepAlive: true, maxSockets: 50 });

test('90/10 weighted split over 2,000 requests lands within ±3%', async (t) => {
  const a = await upstream(t), b = await upstream(t);
  const { port } = await setup(t, [edsCluster('a'), edsCluster('b')], [loadAssignment('a', [a.port]), loadAssignment('b', [b.port])],
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', weighted: [['a', 90], ['b', 10]] }] }]));
  const ag = agent();
  t.after(() => ag.destroy());
  for (let i = 0; i < 2000; i += 50) await Promise.all(Array.from({ length: 50 }, () => request(port, '/', { agent: ag })));
  const share = a.hits / 2000;
  assert.equal(a.hits + b.hits, 2000);
  assert.ok(Math.abs(share - 0.9) <= 0.03, `cluster a got ${(share * 100).toFixed(1)}%`);
});

test('a weighted cluster entry adds and removes its own request and response headers (Knative per-split headers)', async (t) => {
  const seen: Record<string, http.IncomingHttpHeaders> = {};
  const mk = (n: string) => upstream(t, (req, res) => { seen[n] = req.headers; req.resume(); res.setHeader('x-up', n); res.end(n); });
  const a = await mk('a'), b = await mk('b');
  const entry = (n: string, w: number) => ({
    name: n, weight: { value: w },
    request_headers_to_add: [{ header: { key: 'Knative-Serving-Revision', value: `rev-${n}` }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    request_headers_to_remove: ['x-drop'],
    response_headers_to_add: [{ header: { key: 'x-split', value: n } }],
  });
  const rc = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [entry('a', 50), entry('b', 50)] } } }] }] };
  const { port } = await setup(t, [edsCluster('a'), edsCluster('b')], [loadAssignment('a', [a.port]), loadAssignment('b', [b.port])], rc);
  const got = new Set<string>();
  for (let i = 0; i < 40 && got.size < 2; i++) {
    const r = await request(port, '/', { headers: { 'knative-serving-revision': 'forged', 'x-drop': '1' } });
    assert.equal(r.status, 200, 'routed');
    assert.equal(r.headers['x-split'], r.body, `the response names the split it came from (${r.body})`);
    assert.equal(seen[r.body]!['knative-serving-revision'], `rev-${r.body}`, 'the split overwrote the client header with its own');
    assert.equal(seen[r.body]!['x-drop'], undefined, 'the split removed x-drop');
    got.add(r.body);
  }
  assert.equal(got.size, 2, 'both splits were seen');
});

test('routing: vhost by domain, no route → 404 NR, direct response, redirect, headers and rewrite', async (t) => {
  let seen: http.IncomingHttpHeaders = {};
  let seenPath = '';
  const a = await upstream(t, (req, res) => { seen = req.headers; seenPath = req.url ?? ''; req.resume(); res.setHeader('x-up', '1'); res.end('ok'); });
  const rc = {
    name: 'r',
    virtual_hosts: [
      { name: 'api', domains: ['api.example.com'], request_headers_to_add: [{ header: { key: 'x-vh', value: 'api' } }], routes: [
        { match: { prefix: '/v1/' }, route: { cluster: 'a', prefix_rewrite: '/', host_rewrite_literal: 'internal' }, response_headers_to_add: [{ header: { key: 'x-route', value: 'v1' } }], response_headers_to_remove: ['x-up'] },
        { match: { path: '/health' }, direct_response: { status: 200, body: { inline_string: 'healthy' } } },
        { match: { prefix: '/old' }, redirect: { path_redirect: '/new', response_code: 'FOUND' } },
      ] },
      { name: 'wild', domains: ['*.example.org'], routes: [{ match: { prefix: '/' }, direct_response: { status: 418 } }] },
    ],
  };
  const { port } = await setup(t, [edsCluster('a')], [loadAssignment('a', [a.port])], rc);
  const r1 = await request(port, '/v1/items?x=1', { host: 'api.example.com', headers: { 'x-forwarded-for': '10.0.0.1' } });
  assert.equal(r1.status, 200);
  assert.equal(r1.body, 'ok');
  assert.equal(seenPath, '/items?x=1');
  assert.equal(seen.host, 'internal');
  assert.equal(seen['x-vh'], 'api');
  assert.equal(seen['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.match(String(seen['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(r1.headers['x-route'], 'v1');
  assert.equal(r1.headers['x-up'], undefined);
  assert.match(String(r1.headers['x-envoy-upstream-service-time']), /^\d+$/);
  const r2 = await request(port, '/health', { host: 'api.example.com' });
  assert.deepEqual([r2.status, r2.body], [200, 'healthy']);
  const r3 = await request(port, '/old/x?q=1', { host: 'api.example.com:8080' });
  assert.equal(r3.status, 302);
  assert.equal(r3.headers.location, 'http://api.example.com:8080/new?q=1');
  assert.equal((await request(port, '/', { host: 'a.example.org' })).status, 418);
  assert.equal((await request(port, '/', { host: 'nope.example.net' })).status, 404);
  assert.equal((await request(port, '/v2', { host: 'api.example.com' })).status, 404);
});

test('no healthy upstream → 503 UH; connect failure → 503 UF', async (t) => {
  const dead = await refusedPort();
  const { port } = await setup(t, [edsCluster('empty'), edsCluster('dead')], [loadAssignment('empty', []), loadAssignment('dead', [dead])],
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/empty', cluster: 'empty' }, { prefix: '/dead', cluster: 'dead' }] }]));
  const r1 = await request(port, '/empty');
  assert.deepEqual([r1.status, r1.body], [503, 'no healthy upstream']);
  const r2 = await request(port, '/dead');
  assert.deepEqual([r2.status, r2.body], [503, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure']);
});

test('no retry policy: a failing upstream sees exactly one attempt; with one: at most num_retries + 1', async (t) => {
  const a = await upstream(t, (req, res) => { req.resume(); res.statusCode = 503; res.end('down'); });
  const { port, p } = await setup(t, [edsCluster('a')], [loadAssignment('a', [a.port])],
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [
      { prefix: '/plain', cluster: 'a' },
      { prefix: '/retry', cluster: 'a', retry: { retry_on: '5xx', num_retries: { value: 2 }, retry_back_off: { base_interval: { nanos: 1_000_000 } } } },
    ] }]));
  const r1 = await request(port, '/plain');
  assert.deepEqual([r1.status, r1.body], [503, 'down']);
  assert.equal(a.hits, 1);
  a.hits = 0;
  const r2 = await request(port, '/retry', { method: 'POST', body: 'payload' });
  assert.equal(r2.status, 503);
  assert.equal(a.hits, 3);
  assert.equal(p.stats.cluster('a').upstream_rq_retry, 2);
});

test('circuit breaker: over max_requests → 503 with x-envoy-overloaded', async (t) => {
  const held: http.ServerResponse[] = [];
  const a = await upstream(t, (req, res) => { req.resume(); held.push(res); });
  const { port } = await setup(t, [edsCluster('a', { circuit_breakers: { thresholds: [{ max_requests: { value: 1 } }] } })], [loadAssignment('a', [a.port])],
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]));
  const first = request(port, '/');
  await waitFor('first request upstream', () => held.length === 1);
  const second = await request(port, '/');
  assert.equal(second.status, 503);
  assert.equal(second.headers['x-envoy-overloaded'], 'true');
  held[0]!.end('done');
  assert.equal((await first).status, 200);
});

test('removing an endpoint stops new picks while its in-flight request completes', async (t) => {
  const held: http.ServerResponse[] = [];
  const a = await upstream(t, (req, res) => { req.resume(); held.push(res); });
  const b = await upstream(t);
  const { port, xds } = await setup(t, [edsCluster('c')], [loadAssignment('c', [a.port, b.port])],
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'c', timeoutMs: 0 }] }]));
  const inflight: Promise<{ status: number; body: string }>[] = [];
  for (let i = 0; i < 10 && held.length === 0; i++) {
    const r = request(port, '/');
    inflight.push(r);
    await Promise.race([r, waitFor('a pick', () => held.length > 0, 200).catch(() => {})]);
  }
  assert.equal(held.length, 1, 'one request is in flight on a');
  await pushAndWait(xds, TypeUrl.ClusterLoadAssignment, [loadAssignment('c', [b.port])]);
  const before = a.hits;
  const bBefore = b.hits;
  for (let i = 0; i < 30; i++) assert.equal((await request(port, '/')).status, 200);
  assert.equal(a.hits, before, 'no new requests reach the removed endpoint');
  assert.equal(b.hits - bBefore, 30);
  held[0]!.end('late');
  const results = await Promise.all(inflight);
  assert.ok(results.some((r) => r.status === 200 && r.body === 'late'), 'the in-flight request completed');
});

test('idle upstream connections close after the cluster idle timeout', async (t) => {
  const a = await upstream(t);
  const cluster = edsCluster('a', { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': TypeUrl.HttpProtocolOptions, common_http_protocol_options: { idle_timeout: { nanos: 300_000_000 } }, explicit_http_config: { http_protocol_options: {} } } } });
  const { port, p } = await setup(t, [cluster], [loadAssignment('a', [a.port])],
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]));
  assert.equal(p.store.config.clusters.get('a')!.idleTimeoutMs, 300);
  await request(port, '/');
  await request(port, '/');
  assert.equal(a.sockets.size, 1, 'the pooled connection is reused');
  await waitFor('idle upstream socket closed', () => a.sockets.size === 0, 3000);
  assert.equal(p.stats.cluster('a').upstream_cx_active, 0);
  assert.equal((await request(port, '/')).status, 200);
});

test('the default upstream idle timeout is 30 s', async (t) => {
  const a = await upstream(t);
  const { p } = await setup(t, [edsCluster('a')], [loadAssignment('a', [a.port])], routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]));
  assert.equal(p.store.config.clusters.get('a')!.idleTimeoutMs, 30_000);
});

test('HTTP/2 prior knowledge (h2c) downstream', async (t) => {
  const a = await upstream(t);
  const { port } = await setup(t, [edsCluster('a')], [loadAssignment('a', [a.port])], routeConfig('r', [{ name: 'v', domains: ['h2.example.com'], routes: [{ prefix: '/', cluster: 'a' }] }]));
  const client = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const body = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const s = client.request({ ':path': '/h2', ':authority': 'h2.example.com' });
    let status = 0, data = '';
    s.on('response', (h) => { status = Number(h[':status']); });
    s.setEncoding('utf8');
    s.on('data', (c) => (data += c));
    s.on('end', () => resolve({ status, body: data }));
    s.on('error', reject);
    s.end();
  });
  assert.deepEqual(body, { status: 200, body: String(a.port) });
});

test('WebSocket upgrade passes through', async (t) => {
  const a = await upstream(t);
  a.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  const { port } = await setup(t, [edsCluster('a')], [loadAssignment('a', [a.port])], routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]));
  const echoed = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/ws', headers: { host: 'x', connection: 'Upgrade', upgrade: 'websocket' } });
    req.on('upgrade', (res, socket) => {
      assert.equal(res.statusCode, 101);
      socket.once('data', (d: Buffer) => { resolve(d.toString()); socket.destroy(); });
      socket.write('hello');
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(echoed, 'echo:hello');
});

test('per-route timeout → 504 upstream request timeout', async (t) => {
  const a = await upstream(t, (req) => { req.resume(); /* never answers */ });
  const { port } = await setup(t, [edsCluster('a')], [loadAssignment('a', [a.port])], routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a', timeoutMs: 200 }] }]));
  const r = await request(port, '/');
  assert.deepEqual([r.status, r.body], [504, 'upstream request timeout']);
});

test('JSON access log lines carry Envoy-style fields and response flags', async (t) => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-access-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'access.log');
  const a = await upstream(t);
  const { port } = await setup(t, [edsCluster('a'), edsCluster('empty')], [loadAssignment('a', [a.port]), loadAssignment('empty', [])],
    routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/ok', cluster: 'a' }, { prefix: '/uh', cluster: 'empty' }] }]), { access_log: { path: file } });
  await request(port, '/ok', { headers: { 'x-request-id': 'req-1' } });
  await request(port, '/uh');
  await request(port, '/nr');
  await waitFor('3 log lines', () => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim().split('\n').length === 3);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.path, l.response_code, l.response_flags]), [['/ok', 200, '-'], ['/uh', 503, 'UH'], ['/nr', 404, 'NR']]);
  assert.equal(lines[0].request_id, 'req-1');
  assert.equal(lines[0].upstream_cluster, 'a');
  assert.equal(lines[0].upstream_host, `127.0.0.1:${a.port}`);
  assert.equal(lines[0].bytes_sent, String(a.port).length);
});

test('RBAC http filter (security evaluator): a DENY policy answers 403, other paths pass', async (t) => {
  const a = await upstream(t);
  const { hcmListener } = await import('../testing/resources.ts');
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  await configure(xds, port, routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ prefix: '/', cluster: 'a' }] }]), [edsCluster('a')], [loadAssignment('a', [a.port])]);
  const rbac = { name: 'envoy.filters.http.rbac', typed_config: { '@type': TypeUrl.Rbac, rules: { action: 'DENY', policies: {
    'ns[default]-policy[deny-admin]-rule[0]': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } } } };
  xds.set(TypeUrl.Listener, [hcmListener('l', port, 'r', { http_filters: [rbac, { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }] })]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); });
  await p.whenReady(5000);
  const denied = await request(port, '/admin/x');
  assert.deepEqual([denied.status, denied.body], [403, 'RBAC: access denied']);
  assert.equal((await request(port, '/public')).status, 200);
  assert.equal(a.hits, 1);
});
