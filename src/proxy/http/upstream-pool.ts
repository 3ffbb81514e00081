/**
 * The upstream connection pool of one cluster: a keep-alive node:http(s) Agent with sluice's
 * defaults (DESIGN.md: idle upstream connections close after 30 s instead of Envoy's 1 h),
 * max requests per connection, a cap on total connections (the connections circuit breaker), and
 * connection counters for /stats. node:http's Agent is used because the router streams node
 * request/response objects both ways (and passes Upgrade through) without adapting interfaces.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { ClusterStats } from '../stats/proxy-stats.ts';
import { H2SessionPool } from './upstream-h2.ts';
import { H1Pool } from './upstream-h1.ts';

export interface PoolOptions {
  idleTimeoutMs: number;
  maxRequestsPerConnection: number; // 0 = unlimited
  maxConnections: number;
  tls?: { ca?: string; cert?: string; key?: string; servername?: string; alpn?: string[] };
}

const REQS = Symbol('sluiceRequests');
/** The parts of node's Agent (documented and undocumented) the addRequest fast path uses. */
interface FastPathAgent {
  freeSockets: Record<string, net.Socket[] | undefined>;
  sockets: Record<string, net.Socket[] | undefined>;
  options: { timeout?: number };
  reuseSocket(socket: net.Socket, req: http.ClientRequest): void;
}
type CountedSocket = net.Socket & { [REQS]?: number };

function mixin<T extends typeof http.Agent>(Base: T) {
  return class PoolAgent extends (Base as typeof http.Agent) {
    constructor(private readonly opts: PoolOptions, private readonly stats: ClusterStats) {
      super({
        keepAlive: true,
        // Node destroys a free (idle) keep-alive socket when this socket timeout fires.
        timeout: opts.idleTimeoutMs,
        maxTotalSockets: opts.maxConnections,
        maxSockets: opts.maxConnections,
        maxFreeSockets: opts.maxConnections,
        scheduling: 'lifo',
        ...(opts.tls ? { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key, servername: opts.tls.servername, ALPNProtocols: opts.tls.alpn?.length ? opts.tls.alpn : ['http/1.1'] } : {}),
      } as http.AgentOptions);
    }

    override createConnection(options: any, cb?: any): any {
      const sock = (super.createConnection as any)(options, cb) as CountedSocket;
      sock.setNoDelay(true);
      this.stats.upstream_cx_total++;
      this.stats.upstream_cx_active++;
      sock.once('close', () => { this.stats.upstream_cx_active--; });
      // The socket timeout stays armed while a reused socket carries a request; node's Agent
      // closes the socket only when it is idle in the free list, and only that is an idle timeout.
      sock.on('timeout', () => { if (Object.values(this.freeSockets).some((l) => l?.includes(sock))) this.stats.upstream_cx_idle_timeout++; });
      return sock;
    }

    /**
     * node's Agent.addRequest, its common case done directly: a free keep-alive socket to the host
     * is pooled, so the request takes it (lifo, as configured). node's version first merges the
     * request's and the agent's options into a fresh null-prototype object of ~20 properties, about
     * 3 KB per request and the largest single allocation on the proxy's request path (sampling heap
     * profile under load), only to compute the pool key and in case it must connect. No free
     * socket, TLS pools (whose key includes TLS options) and unusual options go through node's.
     * Skipped from node's path: asyncResetHandle (async_hooks bookkeeping; the proxy uses none).
     */
    addRequest(req: http.ClientRequest & { timeout?: number }, options: any): void {
      const self = this as unknown as FastPathAgent;
      if (!this.opts.tls && typeof options === 'object' && options !== null && !options.localAddress && !options.socketPath && options.family === undefined) {
        const name = `${options.host || 'localhost'}:${options.port || ''}:`;
        const free = self.freeSockets[name];
        if (free) {
          while (free.length && free[0]!.destroyed) free.shift();
          const socket = free.pop();
          if (!free.length) delete self.freeSockets[name];
          if (socket) {
            self.reuseSocket(socket, req);
            (self.sockets[name] ??= []).push(socket);
            req.onSocket(socket);
            const agentTimeout = self.options.timeout || 0;
            if (req.timeout !== undefined && req.timeout !== agentTimeout) socket.setTimeout(req.timeout);
            return;
          }
        }
      }
      (http.Agent.prototype as unknown as { addRequest(r: http.ClientRequest, o: unknown): void }).addRequest.call(this, req, options);
    }

    retired = false;
    /** Stops reuse: idle sockets close now, busy ones when their request ends. */
    retire(): void {
      this.retired = true;
      for (const list of Object.values(this.freeSockets)) for (const s of list ?? []) s.destroy();
      this.h2?.retire();
      this.h1?.retire();
    }

    private h2?: H2SessionPool;
    /** HTTP/2 sessions to this cluster's hosts, over this pool's connections (created on first use). */
    h2Sessions(): H2SessionPool {
      return (this.h2 ??= new H2SessionPool({
        idleTimeoutMs: this.opts.idleTimeoutMs,
        maxRequestsPerConnection: this.opts.maxRequestsPerConnection,
        connect: (host, port) => (this as unknown as { createConnection(o: object): net.Socket }).createConnection({ host, port }),
      }, this.stats));
    }

    private h1?: H1Pool;
    /** Plaintext HTTP/1.1 connections without node's client (upstream-h1.ts), created on first use. */
    h1Pool(): H1Pool {
      return (this.h1 ??= new H1Pool(this.opts, this.stats, (host, port) => (this as unknown as { createConnection(o: object): net.Socket }).createConnection({ host, port, timeout: this.opts.idleTimeoutMs })));
    }

    override destroy(): void {
      this.h1?.destroy();
      this.h2?.destroy();
      super.destroy();
    }

    override keepSocketAlive(socket: CountedSocket): any {
      if (this.retired) return false;
      const n = (socket[REQS] = (socket[REQS] ?? 0) + 1);
      if (this.opts.maxRequestsPerConnection > 0 && n >= this.opts.maxRequestsPerConnection) {
        this.stats.upstream_cx_max_requests++;
        return false;
      }
      // node's Agent.keepSocketAlive, except that it reads the Keep-Alive hint from rawHeaders:
      // node's reads `res.headers`, which builds the whole header object of every response.
      socket.setKeepAlive(true, (this as unknown as { keepAliveMsecs: number }).keepAliveMsecs);
      socket.unref();
      let timeout = this.opts.idleTimeoutMs;
      const raw = (socket as unknown as { _httpMessage?: { res?: { rawHeaders: string[] } } })._httpMessage?.res?.rawHeaders;
      if (raw) {
        for (let i = 0; i < raw.length; i += 2) {
          if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'keep-alive') continue;
          const hint = /^timeout=(\d+)/.exec(raw[i + 1]!)?.[1];
          if (hint) {
            // Expire before the upstream's announced timeout, so the upstream never closes first.
            const hintMs = Number(hint) * 1000 - 1000;
            if (hintMs <= 0) return false;
            if (hintMs < timeout) timeout = hintMs;
          }
          break;
        }
      }
      if (socket.timeout !== timeout) socket.setTimeout(timeout);
      return true;
    }
  };
}

const HttpPoolAgent = mixin(http.Agent);
const HttpsPoolAgent = mixin(https.Agent as unknown as typeof http.Agent);

export type PoolAgent = http.Agent & { retire(): void; h2Sessions(): H2SessionPool; h1Pool(): H1Pool };
export function createPool(opts: PoolOptions, stats: ClusterStats): PoolAgent {
  return (opts.tls ? new HttpsPoolAgent(opts, stats) : new HttpPoolAgent(opts, stats)) as PoolAgent;
}

/** True when the pool's settings differ enough that a new Agent is needed. */
export function samePoolOptions(a: PoolOptions, b: PoolOptions): boolean {
  return a.idleTimeoutMs === b.idleTimeoutMs && a.maxRequestsPerConnection === b.maxRequestsPerConnection && a.maxConnections === b.maxConnections
    && JSON.stringify(a.tls ?? null) === JSON.stringify(b.tls ?? null);
}
