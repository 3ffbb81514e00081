/** Test harness: a test xDS server, an in-process proxy bootstrapped against it, and upstream servers. */
import http from 'node:http';
import net from 'node:net';
import { parseBootstrap, type Bootstrap } from '../bootstrap.ts';
import { ProxyInstance } from '../proxy-instance.ts';
import { TestXdsServer } from './test-xds-server.ts';

export interface Upstream { server: http.Server; port: number; hits: number; sockets: Set<net.Socket>; close(): Promise<void> }

/** An HTTP upstream that answers with `handler` (default: 200 with its port as body) and counts requests and sockets. */
export async function startUpstream(handler?: (req: http.IncomingMessage, res: http.ServerResponse, u: Upstream) => void): Promise<Upstream> {
  const u = { hits: 0, sockets: new Set<net.Socket>() } as Upstream;
  u.server = http.createServer((req, res) => {
    u.hits++;
    if (handler) handler(req, res, u);
    else { req.resume(); res.end(String(u.port)); }
  });
  u.server.keepAliveTimeout = 60_000;
  u.server.on('connection', (s) => { u.sockets.add(s); s.on('close', () => u.sockets.delete(s)); });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', () => r()));
  u.port = (u.server.address() as net.AddressInfo).port;
  u.close = () => new Promise<void>((r) => { u.server.closeAllConnections(); for (const s of u.sockets) s.destroy(); u.server.close(() => r()); });
  return u;
}

export function testBootstrap(xdsAddress: string, over: Record<string, any> = {}): Bootstrap {
  return parseBootstrap({
    node: { id: 'test-proxy', cluster: 'test', metadata: { role: 'test' } },
    xds_server: { address: xdsAddress, reconnect_base_ms: 50, reconnect_max_ms: 200, initial_fetch_timeout_ms: 2000, ...(over.xds_server ?? {}) },
    admin: { port: 0 },
    role: 'mesh',
    ...over,
    ...(over.xds_server ? {} : {}),
  }, '(test)');
}

export async function startProxy(xds: TestXdsServer, over: Record<string, any> = {}): Promise<ProxyInstance> {
  const b = testBootstrap(xds.address, over);
  const p = new ProxyInstance(b);
  p.start();
  return p;
}

/** One request through the proxy; resolves with status, headers and body. */
export function request(port: number, path: string, opts: { host?: string; method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? 'example.com', ...opts.headers }, agent: opts.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

/** Polls `cond` every 10 ms until true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/**
 * A loopback port that refuses connections, for "connect failure" cases. A port freed by
 * freePort() is not safe for that: under a parallel test run another process's listen(0) may
 * take it, or the kernel may hand it out as an ephemeral source port (a self-connect on
 * loopback), and the failure becomes a reset. Privileged ports outside the ephemeral range are
 * never handed out by the OS, so the first one that is checked to refuse is used.
 */
export async function refusedPort(): Promise<number> {
  for (const port of [1, 3, 5, 7, 9, 11, 13]) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
    if (refused) return port;
  }
  throw new Error('refusedPort: no privileged loopback port in 1..13 refuses connections');
}

/** Sets resources on the test server and waits until the proxy ACKs (or NACKs) the push for that type. */
export async function pushAndWait(xds: TestXdsServer, typeUrl: Parameters<TestXdsServer['set']>[0], objs: object[], opts: { expectNack?: boolean; timeoutMs?: number } = {}): Promise<string | undefined> {
  const before = xds.requests.length;
  const pushedBefore = xds.pushes.length;
  xds.set(typeUrl, objs);
  const nonces = new Set(xds.pushes.slice(pushedBefore).filter((x) => x.typeUrl === typeUrl).map((x) => x.nonce));
  let detail: string | undefined;
  await waitFor(`${opts.expectNack ? 'NACK' : 'ACK'} of ${typeUrl}`, () => {
    const r = xds.requests.slice(before).find((q) => q.typeUrl === typeUrl && nonces.has(q.nonce));
    if (!r) return false;
    detail = r.errorDetail;
    return true;
  }, opts.timeoutMs ?? 5000);
  if (!!detail !== !!opts.expectNack) throw new Error(opts.expectNack ? `expected a NACK for ${typeUrl}, got an ACK` : `expected an ACK for ${typeUrl}, got NACK: ${detail}`);
  return detail;
}

/** Standard one-listener setup: listener `l` on `port` with route config `r`, the given clusters and endpoints. */
export async function configure(xds: TestXdsServer, port: number, routes: object, clusters: object[], endpoints: object[]): Promise<void> {
  const { TypeUrl } = await import('../../xds/protos.ts');
  const { hcmListener } = await import('./resources.ts');
  xds.set(TypeUrl.Cluster, clusters);
  xds.set(TypeUrl.ClusterLoadAssignment, endpoints);
  xds.set(TypeUrl.RouteConfiguration, [routes]);
  xds.set(TypeUrl.Listener, [hcmListener('l', port, (routes as { name: string }).name)]);
}
