/**
 * HTTP/2 upstream connections of one cluster (the cluster asked for HTTP/2 with
 * http2_protocol_options, as Knative's h2c ports and gRPC services do): one node:http2 client
 * session per host, multiplexing every request to that host, opened through the cluster pool's
 * createConnection (so connection stats and the connect path are shared with HTTP/1.1). A session
 * closes after the cluster's idle timeout with no stream open, is replaced after
 * max_requests_per_connection streams, and is dropped from the pool on GOAWAY or error (its
 * streams finish or fail on their own). Plaintext (h2c, prior knowledge) only: the upstream TLS
 * connector offers HTTP/1.1 by ALPN, so TLS clusters stay on HTTP/1.1.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import type { ClusterStats } from '../stats/proxy-stats.ts';

export interface H2PoolOptions {
  idleTimeoutMs: number;
  /** 0 = unlimited. */
  maxRequestsPerConnection: number;
  connect(host: string, port: number): net.Socket;
}

interface Entry { session: http2.ClientHttp2Session; active: number; started: number; idleTimer?: NodeJS.Timeout }

export class H2SessionPool {
  private readonly sessions = new Map<string, Entry>();
  private readonly all = new Set<http2.ClientHttp2Session>();
  private closed = false;

  constructor(private readonly opts: H2PoolOptions, private readonly stats: ClusterStats) {}

  /** Opens a request stream on the host's session (a new session when there is none usable). */
  request(address: string, port: number, headers: http2.OutgoingHttpHeaders, endStream: boolean, connectTimeoutMs: number): http2.ClientHttp2Stream {
    const e = this.entry(address, port, connectTimeoutMs);
    const key = `${address}:${port}`;
    const stream = e.session.request(headers, { endStream });
    e.active++;
    e.started++;
    if (e.idleTimer) { clearTimeout(e.idleTimer); e.idleTimer = undefined; }
    if (this.opts.maxRequestsPerConnection > 0 && e.started >= this.opts.maxRequestsPerConnection) {
      // That was the session's last stream: new requests open another; this one closes once its
      // streams are done (close() lets open streams finish).
      this.stats.upstream_cx_max_requests++;
      if (this.sessions.get(key) === e) this.sessions.delete(key);
      e.session.close();
    }
    stream.once('close', () => {
      e.active--;
      // A refused stream (sent before the peer's SETTINGS) was no request on this connection.
      if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) e.started--;
      if (e.active === 0 && this.sessions.get(key) === e) this.armIdle(key, e);
    });
    return stream;
  }

  private entry(address: string, port: number, connectTimeoutMs: number): Entry {
    const key = `${address}:${port}`;
    const cur = this.sessions.get(key);
    if (cur && !cur.session.closed && !cur.session.destroyed) return cur;
    const session = http2.connect(`http://${address}:${port}`, { createConnection: () => this.opts.connect(address, port) });
    const e: Entry = { session, active: 0, started: 0 };
    // One connect timer per session (its pending streams fail with the session's error).
    if (connectTimeoutMs > 0) {
      const t = setTimeout(() => {
        if (!session.connecting) return;
        this.stats.upstream_cx_connect_timeout++;
        session.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT_CONNECT' }));
      }, connectTimeoutMs);
      t.unref();
      session.once('connect', () => clearTimeout(t));
      session.once('close', () => clearTimeout(t));
    }
    this.sessions.set(key, e);
    this.all.add(session);
    const drop = () => { if (this.sessions.get(key) === e) this.sessions.delete(key); if (e.idleTimer) clearTimeout(e.idleTimer); };
    session.on('error', drop); // the streams see the failure (connect refused, reset)
    session.on('goaway', drop);
    session.once('close', () => { drop(); this.all.delete(session); });
    if (this.closed) session.close();
    return e;
  }

  private armIdle(key: string, e: Entry): void {
    if (this.opts.idleTimeoutMs <= 0) return;
    e.idleTimer = setTimeout(() => {
      e.idleTimer = undefined;
      if (e.active > 0) return;
      this.stats.upstream_cx_idle_timeout++;
      if (this.sessions.get(key) === e) this.sessions.delete(key);
      e.session.close();
    }, this.opts.idleTimeoutMs);
    e.idleTimer.unref();
  }

  /** Number of open sessions (tests and stats). */
  get size(): number { return this.all.size; }

  /** No new streams; sessions close once their streams finish. */
  retire(): void {
    this.closed = true;
    for (const e of this.sessions.values()) if (e.idleTimer) clearTimeout(e.idleTimer);
    this.sessions.clear();
    for (const s of this.all) s.close();
  }

  destroy(): void {
    this.retire();
    for (const s of this.all) s.destroy();
    this.all.clear();
  }
}
