/**
 * The proxy's admin server, loopback only (it can drain the proxy and shows its configuration):
 * GET /stats/prometheus (Envoy stat names, summed across workers), GET /stats (text),
 * GET /config_dump, GET /ready (200 "LIVE" once the initial configuration is applied, else 503),
 * POST /drain (also /drain_listeners, Envoy's name), GET /server_info.
 */
import http from 'node:http';
import type net from 'node:net';
import { SluiceError } from '../../lib/errors.ts';
import { ProxyErrors } from '../proxy-errors.ts';
import { renderPrometheus, type StatSample } from '../stats/proxy-stats.ts';

export interface AdminSource {
  /** One sample set per worker (or one for an in-process proxy). */
  samples(): Promise<StatSample[][]>;
  configDump(): Promise<object>;
  ready(): Promise<boolean>;
  draining(): boolean;
  drain(): Promise<void>;
  serverInfo(): Promise<object>;
}

export interface AdminServer { port: number; close(): Promise<void> }

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function startAdminServer(address: string, port: number, src: AdminSource): Promise<AdminServer> {
  if (!LOOPBACK.test(address)) {
    throw new SluiceError(ProxyErrors.BOOTSTRAP, `admin.address ${JSON.stringify(address)} is not a loopback address; the admin server can drain the proxy and must stay on 127.0.0.1 or ::1`);
  }
  const send = (res: http.ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = `${req.method} ${url.pathname}`;
    const handle = async () => {
      switch (route) {
        case 'GET /stats/prometheus':
          return send(res, 200, 'text/plain; version=0.0.4', renderPrometheus(await src.samples()));
        case 'GET /stats': {
          const text = renderPrometheus(await src.samples()).split('\n').filter((l) => l && !l.startsWith('#')).join('\n');
          return send(res, 200, 'text/plain', text + '\n');
        }
        case 'GET /config_dump':
          return send(res, 200, 'application/json', JSON.stringify(await src.configDump(), null, 2));
        case 'GET /ready': {
          if (src.draining()) return send(res, 503, 'text/plain', 'DRAINING\n');
          const ok = await src.ready();
          return send(res, ok ? 200 : 503, 'text/plain', ok ? 'LIVE\n' : 'PRE_INITIALIZING\n');
        }
        case 'POST /drain':
        case 'POST /drain_listeners':
          void src.drain();
          return send(res, 200, 'text/plain', 'OK\n');
        case 'GET /server_info':
          return send(res, 200, 'application/json', JSON.stringify(await src.serverInfo(), null, 2));
        default:
          if (req.method !== 'GET' && ['/drain', '/drain_listeners'].includes(url.pathname)) return send(res, 405, 'text/plain', 'use POST\n');
          return send(res, 404, 'text/plain', 'admin endpoints: /stats/prometheus /stats /config_dump /ready /server_info POST /drain\n');
      }
    };
    handle().catch((e) => send(res, 500, 'text/plain', `${(e as Error).message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new SluiceError(ProxyErrors.LISTEN, `admin server: cannot listen on ${address}:${port}: ${e.message}`, { cause: e })));
    server.listen(port, address, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
