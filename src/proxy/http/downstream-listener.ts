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
import type { HttpStats, ProxyStats } from '../stats/proxy-stats.ts';
import type { Router, RouterDeps } from './router.ts';
import { handleUpgrade } from './upgrade.ts';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

interface CertEntry { names: string[]; ctx: tls.SecureContext }

const matchesName = (n: string, sni: string) => n === sni || (n.startsWith('*.') && sni.endsWith(n.slice(1)));
/** A TLS record of type handshake (0x16), major version 3: how every ClientHello starts (tls_inspector). */
const looksLikeTls = (b: Buffer) => b.length >= 1 && b[0] === 0x16 && (b.length < 2 || b[1] === 0x03);
const SNIFF_TIMEOUT_MS = 15_000; // Envoy's listener_filters_timeout

export class DownstreamListener {
  config: ListenerConfig;
  private secrets: ReadonlyMap<string, SecretConfig> = new Map();
  private secretsFor?: ListenerConfig;
  /** Certificates per TLS filter chain (same order as config.filterChains). */
  private certs = new Map<FilterChain, CertEntry[]>();
  /**
   * Contexts by `secret|validation secret`, with the SecretConfig and CA they were built from. The
   * proxy's secrets map is a new Map after every xDS update while the SecretConfig objects stay
   * the same until their secret changes: a mesh proxy with a listener per pod rebuilt every
   * listener's contexts on every update (80 % of its CPU at 150 pods), now only changed ones.
   */
  private ctxCache = new Map<string, { secret: SecretConfig; ca: string | undefined; entry: CertEntry }>();
  private defaultCtxOf?: { secret: SecretConfig | undefined; ca: string | undefined };
  private readonly h1: http.Server;
  private readonly h2c: http2.Http2Server;
  private readonly secure?: http2.Http2SecureServer;
  private readonly outer: net.Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<net.Socket>();
  boundPort = 0;
  draining = false;
  /** The plaintext filter chain and its stats, computed once per config (see onRequest). */
  private plainFor?: ListenerConfig;
  private plain?: FilterChain;
  private plainStats?: HttpStats;

  constructor(config: ListenerConfig, private readonly router: Router, private readonly deps: RouterDeps, private readonly stats: ProxyStats) {
    this.config = config;
    const onRequest = (req: any, res: any) => {
      // An absolute-form request (a client using the listener as its HTTP_PROXY) is routed by the
      // URL's authority and path, as Envoy does (allow_absolute_url, on by default for HTTP/1.1).
      const url: string | undefined = req.url;
      if (url && url.charCodeAt(0) !== 47 && /^http:\/\//i.test(url)) {
        try { const u = new URL(url); req.url = u.pathname + u.search; req.headers.host = u.host; } catch { /* the router answers 404 */ }
      }
      let chain: FilterChain | undefined;
      let hstats: HttpStats;
      if ((req.socket as tls.TLSSocket | undefined)?.encrypted) {
        chain = this.chainFor(req.socket);
        if (!chain) { res.destroy(); return; }
        hstats = this.stats.httpPrefix(chain.hcm.statPrefix);
      } else {
        // Plaintext: the chain and its stats are the same for every request until the config changes.
        if (this.plainFor !== this.config) {
          this.plainFor = this.config;
          this.plain = this.chainFor(undefined);
          this.plainStats = this.plain && this.stats.httpPrefix(this.plain.hcm.statPrefix);
        }
        chain = this.plain;
        if (!chain) { res.destroy(); return; }
        hstats = this.plainStats!;
      }
      this.router.handle(req, res, chain.hcm, hstats, !!chain.tls);
      if (this.draining && !res.stream) res.setHeader('connection', 'close');
    };
    const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const chain = this.chainFor(socket);
      if (!chain) { socket.destroy(); return; }
      handleUpgrade(this.deps, req, socket, head, chain.hcm, this.stats.httpPrefix(chain.hcm.statPrefix), !!chain.tls);
    };
    this.h1 = http.createServer({ keepAlive: true }, onRequest);
    this.h1.on('upgrade', onUpgrade);
    this.h1.on('clientError', (_e, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'); else socket.destroy(); });
    this.h2c = http2.createServer({}, onRequest);
    const h2s: (http2.Http2Server | http2.Http2SecureServer)[] = [this.h2c];
    if (config.tls) {
      // Not listening itself: the outer server hands it the connections that start with a TLS
      // ClientHello. The certificate comes from the filter chain the SNI selects; a name no chain
      // claims gets no certificate at all (the handshake fails), never another tenant's.
      const secure = http2.createSecureServer({
        allowHTTP1: true,
        ALPNProtocols: [...(config.filterChains.find((c) => c.tls)!.tls!.alpn)],
        SNICallback: (name, cb) => {
          const ctx = this.contextFor(name);
          if (ctx) cb(null, ctx); else cb(new Error(`no filter chain of listener ${this.config.name} matches server name ${JSON.stringify(name)}`));
        },
      }, onRequest);
      secure.on('upgrade', onUpgrade);
      secure.on('tlsClientError', (e: Error) => log.debug({ listener: this.config.name, err: e.message }, 'TLS handshake refused'));
      secure.on('secureConnection', (s: tls.TLSSocket) => {
        const chain = this.tlsChain(s.servername || undefined);
        // A chain that requires a client certificate takes only peers verified against its CA
        // (when some chains on the port do not require one, the handshake cannot refuse it).
        if (!chain || (chain.tls!.requireClientCert && !s.authorized)) { s.destroy(); return; }
        this.track(s, s.alpnProtocol === 'h2');
      });
      this.secure = secure;
      h2s.push(secure);
      this.applyClientCertPolicy();
    }
    this.outer = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    for (const h2 of h2s) {
      h2.on('session', (session: http2.ServerHttp2Session) => {
        this.sessions.add(session);
        session.once('close', () => this.sessions.delete(session));
        const hcm = this.firstHcm();
        if (hcm.idleTimeoutMs > 0) session.setTimeout(hcm.idleTimeoutMs, () => { this.stats.httpPrefix(hcm.statPrefix).downstream_cx_idle_timeout++; session.close(); });
        if (this.draining) session.close();
      });
      h2.on('stream', (stream: http2.ServerHttp2Stream) => {
        const hcm = this.firstHcm();
        if (hcm.streamIdleTimeoutMs > 0) stream.setTimeout(hcm.streamIdleTimeoutMs, () => { this.stats.httpPrefix(hcm.statPrefix).downstream_rq_idle_timeout++; stream.close(http2.constants.NGHTTP2_CANCEL); });
      });
    }
    this.applyTimeouts();
  }

  private firstHcm(): FilterChain['hcm'] { return this.config.filterChains[0]!.hcm; }

  private plainChain(): FilterChain | undefined {
    return this.config.filterChains.find((c) => !c.tls);
  }

  /** Envoy's filter chain match on server_names: an exact or wildcard name first, then a chain without names. */
  private tlsChain(sni: string | undefined): FilterChain | undefined {
    const chains = this.config.filterChains.filter((c) => c.tls);
    if (sni) {
      const exact = chains.find((c) => c.serverNames.includes(sni));
      if (exact) return exact;
      let best: FilterChain | undefined;
      let bestLen = -1;
      for (const c of chains) for (const n of c.serverNames) if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && n.length > bestLen) { best = c; bestLen = n.length; }
      if (best) return best;
    }
    return chains.find((c) => c.serverNames.length === 0);
  }

  private chainFor(socket: net.Socket | undefined): FilterChain | undefined {
    const chains = this.config.filterChains;
    const s = socket as tls.TLSSocket | undefined;
    if (s?.encrypted) return this.tlsChain(s.servername || undefined) ?? (chains.length === 1 ? chains[0] : undefined);
    return this.plainChain() ?? (chains.length === 1 ? chains[0] : undefined);
  }

  /** requestCert / rejectUnauthorized follow the TLS chains (read by the TLS server per connection). */
  private applyClientCertPolicy(): void {
    if (!this.secure) return;
    const tlsChains = this.config.filterChains.filter((c) => c.tls);
    const some = tlsChains.some((c) => c.tls!.requireClientCert);
    const all = tlsChains.length > 0 && tlsChains.every((c) => c.tls!.requireClientCert);
    const srv = this.secure as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
    srv.requestCert = some;
    // Every chain needs a verified client: refuse in the handshake, like Envoy.
    srv.rejectUnauthorized = all;
  }

  private track(socket: net.Socket, h2: boolean): void {
    const hs = this.stats.httpPrefix(this.firstHcm().statPrefix);
    hs.downstream_cx_total++;
    hs.downstream_cx_active++;
    if (h2) hs.downstream_cx_http2_total++; else hs.downstream_cx_http1_total++;
    this.sockets.add(socket);
    socket.once('close', () => { hs.downstream_cx_active--; this.sockets.delete(socket); });
  }

  /**
   * Every connection: the first bytes say TLS (a ClientHello) or plaintext, like Envoy's
   * tls_inspector; a connection no filter chain takes (plaintext on a TLS-only port, TLS on a
   * plaintext-only one) is closed.
   */
  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.once('error', () => socket.destroy());
    if (!this.config.tls) { this.sniff(socket); return; }
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    const onReadable = () => {
      const chunk: Buffer | null = socket.read();
      if (chunk === null) { socket.once('readable', onReadable); return; }
      socket.setTimeout(0);
      socket.unshift(chunk);
      if (looksLikeTls(chunk)) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        this.secure!.emit('connection', socket);
      } else if (this.plainChain()) {
        this.sniff(socket);
      } else {
        log.debug({ listener: this.config.name }, 'plaintext connection refused: no plaintext filter chain');
        socket.destroy();
      }
    };
    socket.once('readable', onReadable);
  }

  /** Plaintext: HTTP/2 prior knowledge starts with the connection preface; anything else is HTTP/1. */
  private sniff(socket: net.Socket): void {
    socket.once('readable', () => {
      const chunk: Buffer | null = socket.read();
      if (chunk === null) { this.sniff(socket); return; }
      socket.unshift(chunk);
      const isH2 = chunk.length >= 3 && chunk.subarray(0, Math.min(chunk.length, H2_PREFACE.length)).equals(H2_PREFACE.subarray(0, Math.min(chunk.length, H2_PREFACE.length)));
      this.track(socket, isH2);
      (isH2 ? this.h2c : this.h1).emit('connection', socket);
    });
  }

  private applyTimeouts(): void {
    const hcm = this.firstHcm();
    this.h1.keepAliveTimeout = hcm.idleTimeoutMs;
    this.h1.requestTimeout = hcm.requestTimeoutMs;
    this.h1.headersTimeout = Math.min(60_000, hcm.requestTimeoutMs || 60_000);
    this.h1.timeout = hcm.streamIdleTimeoutMs;
  }

  /** The certificate for a ClientHello's server name: its filter chain's, by SAN; none when no chain matches. */
  private contextFor(name: string): tls.SecureContext | undefined {
    const chain = this.tlsChain(name);
    const certs = chain ? this.certs.get(chain) : undefined;
    if (!certs?.length) return undefined;
    return certs.find((c) => c.names.some((n) => matchesName(n, name)))?.ctx ?? certs[0]!.ctx;
  }

  /** Rebuilds the chains' certificate contexts from the current SDS secrets. */
  setSecrets(secrets: ReadonlyMap<string, SecretConfig>): void {
    if (!this.secure || (secrets === this.secrets && this.secretsFor === this.config)) return;
    this.secrets = secrets;
    this.secretsFor = this.config;
    const byChain = new Map<FilterChain, CertEntry[]>();
    const cache = new Map<string, { secret: SecretConfig; ca: string | undefined; entry: CertEntry }>();
    for (const fc of this.config.filterChains) {
      if (!fc.tls) continue;
      const ca = fc.tls.validationSecret ? secrets.get(fc.tls.validationSecret)?.trustedCa : undefined;
      const out: CertEntry[] = [];
      for (const n of fc.tls.certSecrets) {
        const s = secrets.get(n);
        if (!s?.certChain || !s.privateKey) continue;
        const key = `${n}|${fc.tls.validationSecret ?? ''}`;
        const hit = cache.get(key) ?? this.ctxCache.get(key);
        if (hit && hit.secret === s && hit.ca === ca) { cache.set(key, hit); out.push(hit.entry); continue; }
        try {
          const ctx = tls.createSecureContext({ cert: s.certChain, key: s.privateKey, ...(ca ? { ca } : {}) });
          const x = new X509Certificate(s.certChain);
          const sans = (x.subjectAltName ?? '').split(',').map((p) => p.trim()).filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4));
          const entry = { names: sans, ctx };
          cache.set(key, { secret: s, ca, entry });
          out.push(entry);
        } catch (e) {
          log.error({ secret: n, err: (e as Error).message }, 'cannot load certificate secret');
        }
      }
      byChain.set(fc, out);
    }
    this.certs = byChain;
    this.ctxCache = cache;
    // Clients that send no server name get the chain without server_names; when every chain
    // names its servers, such clients get no certificate (the handshake fails), as in Envoy.
    const dflt = this.tlsChain(undefined);
    const dfltSecret = dflt?.tls!.certSecrets.map((n) => secrets.get(n)).find((s) => s?.certChain && s.privateKey);
    const dfltCa = dflt?.tls!.validationSecret ? secrets.get(dflt.tls!.validationSecret)?.trustedCa : undefined;
    if (this.defaultCtxOf && this.defaultCtxOf.secret === dfltSecret && this.defaultCtxOf.ca === dfltCa) return;
    this.defaultCtxOf = { secret: dfltSecret, ca: dfltCa };
    try {
      this.secure.setSecureContext(dfltSecret ? { cert: dfltSecret.certChain, key: dfltSecret.privateKey, ...(dfltCa ? { ca: dfltCa } : {}) } : {});
    } catch (e) {
      log.error({ listener: this.config.name, err: (e as Error).message }, 'cannot load the default certificate');
    }
  }

  update(config: ListenerConfig): void {
    this.config = config;
    this.applyTimeouts();
    this.applyClientCertPolicy();
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
    for (const s of [...this.sockets]) s.destroy();
    for (const s of this.sessions) s.destroy();
    this.outer.close();
  }
}
