/** Small real HTTP servers for the activator and queue-proxy tests (127.0.0.1, port 0). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { refusedPort } from '../proxy/testing/harness.ts';

export interface TestPod {
  port: number;
  /** Requests seen, in arrival order (method + url + body). */
  seen: string[];
  /** The headers of each request seen, in the same order. */
  seenHeaders: http.IncomingHttpHeaders[];
  /** Most requests in the handler at once. */
  maxConcurrent: number;
  close(): Promise<void>;
}

/**
 * A pod that answers `${name}:${method} ${url} ${body}` after `hold` resolves (default at once).
 * With `breakAfterHeaders`, it destroys the connection mid-answer (a pod failing a request).
 */
export async function testPod(name: string, opts: { hold?: () => Promise<void>; breakMidway?: boolean } = {}): Promise<TestPod> {
  const pod: TestPod = { port: 0, seen: [], seenHeaders: [], maxConcurrent: 0, close: async () => {} };
  let now = 0;
  const server = http.createServer((req, res) => {
    now++;
    pod.maxConcurrent = Math.max(pod.maxConcurrent, now);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      pod.seen.push(`${req.method} ${req.url} ${body}`);
      pod.seenHeaders.push(req.headers);
      await (opts.hold?.() ?? Promise.resolve());
      now--;
      if (opts.breakMidway) { res.writeHead(200, { 'content-length': '100' }); res.write('partial'); res.destroy(); return; }
      res.writeHead(200, { 'content-type': 'text/plain', 'x-pod': name });
      res.end(`${name}:${req.method} ${req.url} ${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  pod.port = (server.address() as AddressInfo).port;
  pod.close = () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
  return pod;
}

/** A port nothing listens on and the OS never hands out (see refusedPort). */
export const deadPort = refusedPort;

/** One HTTP request; resolves with status, body and headers (never rejects on HTTP errors). */
export function request(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A gate tests open by hand: `wait()` resolves after `open()`. */
export function gate(): { wait: () => Promise<void>; open: () => void; waiting: () => number } {
  let release: () => void = () => {};
  let count = 0;
  let p = new Promise<void>((r) => { release = r; });
  return {
    wait: () => { count++; return p.then(() => { count--; }); },
    open: () => { release(); p = new Promise<void>((r) => { release = r; }); },
    waiting: () => count,
  };
}

export async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
