/**
 * One bound listener: plaintext listeners serve HTTP/1.1 and HTTP/2 with prior knowledge (h2c)
 * on the same port by peeking at the connection preface; TLS listeners pick the certificate by
 * SNI from SDS secrets and negotiate h2 or http/1.1 by ALPN. Requests go to the router with the
 * filter chain's connection manager; the config can be swapped without re-binding. Connection
 * and stream idle timeouts follow the connection manager's settings.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { SluiceError } from '../../lib/errors.ts';
import { log } from '../../lib/log.ts';
import { ProxyErrors } from '../proxy-errors.ts';
import type { FilterChain, ListenerConfig, SecretConfig } from '../config/model.ts';
import type { ProxyStats } from '../stats/proxy-stats.ts';
import type { Router, RouterDeps } from './router.ts';
import { handleUpgrade } from './upgrade.ts';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

interface CertEntry { names: string[]; ctx: tls.SecureContext }

export class DownstreamListener {
  config: ListenerConfig;
  private secrets: ReadonlyMap<string, SecretConfig> = new Map();
  private certs: CertEntry[] = [];
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server | http2.Http2SecureServer;
  private readonly outer: net.Server | tls.Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<net.Socket>();
  boundPort = 0;
  draining = false;

  constructor(config: ListenerConfig, private readonly router: Router, private readonly deps: RouterDeps, private readonly stats: ProxyStats) {
    this.config = config;
    const onRequest = (req: any, res: any) => {
      const chain = this.chainFor(req.socket);
      this.router.handle(req, res, chain.hcm, this.stats.httpPrefix(chain.hcm.statPrefix), !!chain.tls);
      if (this.draining && !res.stream) res.setHeader('connection', 'close');
    };
    this.h1 = http.createServer({ keepAlive: true }, onRequest);
    this.h1.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const chain = this.chainFor(socket);
      handleUpgrade(this.deps, req, socket, head, chain.hcm, this.stats.httpPrefix(chain.hcm.statPrefix), !!chain.tls);
    });
    this.h1.on('clientError', (_e, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'); else socket.destroy(); });
    if (config.tls) {
      const secure = http2.createSecureServer({
        allowHTTP1: true,
        ALPNProtocols: [...(config.filterChains[0]!.tls!.alpn)],
        SNICallback: (name, cb) => cb(null, this.contextFor(name)),
      }, onRequest);
      secure.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        const chain = this.chainFor(socket);
        handleUpgrade(this.deps, req, socket, head, chain.hcm, this.stats.httpPrefix(chain.hcm.statPrefix), true);
      });
      this.h2 = secure;
      this.outer = secure;
      secure.on('secureConnection', (s: tls.TLSSocket) => this.track(s, s.alpnProtocol === 'h2'));
    } else {
      this.h2 = http2.createServer({}, onRequest);
      this.outer = net.createServer({ noDelay: true }, (socket) => this.sniff(socket));
    }
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      const hcm = this.config.filterChains[0]!.hcm;
      if (hcm.idleTimeoutMs > 0) session.setTimeout(hcm.idleTimeoutMs, () => { this.stats.httpPrefix(hcm.statPrefix).downstream_cx_idle_timeout++; session.close(); });
      if (this.draining) session.close();
    });
    this.h2.on('stream', (stream: http2.ServerHttp2Stream) => {
      const hcm = this.config.filterChains[0]!.hcm;
      if (hcm.streamIdleTimeoutMs > 0) stream.setTimeout(hcm.streamIdleTimeoutMs, () => { this.stats.httpPrefix(hcm.statPrefix).downstream_rq_idle_timeout++; stream.close(http2.constants.NGHTTP2_CANCEL); });
    });
    this.applyTimeouts();
  }

  private chainFor(socket: net.Socket | undefined): FilterChain {
    const chains = this.config.filterChains;
    if (chains.length === 1) return chains[0]!;
    const sni = (socket as tls.TLSSocket | undefined)?.servername;
    if (sni) {
      for (const c of chains) if (c.serverNames.some((n) => n === sni || (n.startsWith('*.') && sni.endsWith(n.slice(1))))) return c;
    }
    return chains.find((c) => c.serverNames.length === 0) ?? chains[0]!;
  }

  private track(socket: net.Socket, h2: boolean): void {
    const hs = this.stats.httpPrefix(this.config.filterChains[0]!.hcm.statPrefix);
    hs.downstream_cx_total++;
    hs.downstream_cx_active++;
    if (h2) hs.downstream_cx_http2_total++; else hs.downstream_cx_http1_total++;
    this.sockets.add(socket);
    socket.once('close', () => { hs.downstream_cx_active--; this.sockets.delete(socket); });
  }

  /** Plaintext: HTTP/2 prior knowledge starts with the connection preface; anything else is HTTP/1. */
  private sniff(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.once('error', () => socket.destroy());
    socket.once('readable', () => {
      const chunk: Buffer | null = socket.read();
      if (chunk === null) { socket.once('readable', () => this.sniff(socket)); return; }
      socket.unshift(chunk);
      const isH2 = chunk.length >= 3 && chunk.subarray(0, Math.min(chunk.length, H2_PREFACE.length)).equals(H2_PREFACE.subarray(0, Math.min(chunk.length, H2_PREFACE.length)));
      this.track(socket, isH2);
      (isH2 ? this.h2 : this.h1).emit('connection', socket);
    });
  }

  private applyTimeouts(): void {
    const hcm = this.config.filterChains[0]!.hcm;
    this.h1.keepAliveTimeout = hcm.idleTimeoutMs;
    this.h1.requestTimeout = hcm.requestTimeoutMs;
    this.h1.headersTimeout = Math.min(60_000, hcm.requestTimeoutMs || 60_000);
    this.h1.timeout = hcm.streamIdleTimeoutMs;
  }

  private contextFor(name: string): tls.SecureContext | undefined {
    for (const c of this.certs) if (c.names.some((n) => n === name || (n.startsWith('*.') && name.endsWith(n.slice(1))))) return c.ctx;
    return this.certs[0]?.ctx;
  }

  /** Rebuilds SNI certificate contexts from the current SDS secrets. */
  setSecrets(secrets: ReadonlyMap<string, SecretConfig>): void {
    if (!this.config.tls || secrets === this.secrets) return;
    this.secrets = secrets;
    const out: CertEntry[] = [];
    const names = new Set<string>();
    for (const fc of this.config.filterChains) for (const s of fc.tls?.certSecrets ?? []) names.add(s);
    for (const n of names) {
      const s = secrets.get(n);
      if (!s?.certChain || !s.privateKey) continue;
      try {
        const ca = this.config.filterChains[0]!.tls!.validationSecret ? secrets.get(this.config.filterChains[0]!.tls!.validationSecret!)?.trustedCa : undefined;
        const ctx = tls.createSecureContext({ cert: s.certChain, key: s.privateKey, ca });
        const x = new X509Certificate(s.certChain);
        const sans = (x.subjectAltName ?? '').split(',').map((p) => p.trim()).filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4));
        out.push({ names: sans, ctx });
      } catch (e) {
        log.error({ secret: n, err: (e as Error).message }, 'cannot load certificate secret');
      }
    }
    this.certs = out;
    // The default certificate (clients that send no SNI) is the first secret's.
    const first = secrets.get([...names][0] ?? '');
    if (first?.certChain && first.privateKey) (this.outer as tls.Server).setSecureContext({ cert: first.certChain, key: first.privateKey });
  }

  update(config: ListenerConfig): void {
    this.config = config;
    this.applyTimeouts();
  }

  async listen(address: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => reject(new SluiceError(ProxyErrors.LISTEN, `listener ${this.config.name}: cannot listen on ${address}:${port}: ${e.message}`, { cause: e }));
      this.outer.once('error', onErr);
      this.outer.listen({ host: address, port }, () => { this.outer.off('error', onErr); resolve(); });
    });
    this.boundPort = (this.outer.address() as net.AddressInfo).port;
    return this.boundPort;
  }

  /** Stops accepting; in-flight requests finish; idle connections close now, busy ones after their response. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((res) => this.outer.close(() => res()));
    for (const s of this.sessions) s.close();
    this.h1.closeIdleConnections();
    const timer = setTimeout(() => this.destroy(), timeoutMs);
    const idleSweep = setInterval(() => this.h1.closeIdleConnections(), 50);
    await closed;
    clearTimeout(timer);
    clearInterval(idleSweep);
  }

  destroy(): void {
    for (const s of this.sockets) s.destroy();
    for (const s of this.sessions) s.destroy();
    this.outer.close();
  }
}
