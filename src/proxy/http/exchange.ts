/**
 * One downstream request forwarded upstream: picks a host from the cluster's balancer snapshot,
 * streams the body both ways, applies the per-route timeout (504, UT) and per-try timeout, and
 * retries only when the route has a retry_policy (budgeted by the cluster's retry budget and
 * retries breaker, avoiding previous hosts when the route asks). Failures become Envoy's local
 * replies and response flags; every outcome feeds outlier detection and the stats.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Timer } from '../../lib/clock.ts';
import type { Host } from '../lb/load-balancer.ts';
import { retryBackoffMs, shouldRetry, type AttemptOutcome } from '../resilience/retry-policy.ts';
import type { ForwardAction } from '../config/model.ts';
import type { UpstreamCluster } from './upstream-cluster.ts';
import { applyMutation, HOP_BY_HOP, responseHeaderList, toHeaderList, type HeaderList } from './header-ops.ts';
import { Flag, LocalReplyBody } from './response-flags.ts';
import { requestHeadFromObject, type H1Conn, type H1Sink } from './upstream-h1.ts';
import type { RequestContext } from './request-context.ts';

const MAX_RETRY_BUFFER = 1 << 20;

export class Exchange implements H1Sink {
  private attempt = 0;
  private tried?: Set<string>;
  private ureq?: http.ClientRequest;
  /** The attempt's HTTP/2 stream when the cluster speaks HTTP/2 upstream. */
  private ustream?: http2.ClientHttp2Stream;
  private host?: Host;
  private routeTimer?: Timer;
  private tryTimer?: Timer;
  private connectTimer?: Timer;
  private body?: Buffer[];
  private bodyLen = 0;
  private responded = false;
  private done = false;
  private retrying = false;
  /** Set when the proxy itself aborts the upstream request (no outlier signal for that). */
  private aborting = false;
  /** The upstream request headers as a flat list, built once (retries reuse it). */
  private headerList?: HeaderList;
  /** Route idle_timeout: the deadline timer and the last time bytes moved either way. */
  private idleTimer?: Timer;
  private lastActivity = 0;
  /** Transparent re-sends after a stale keep-alive connection was reset before any response byte. */
  private staleResends = 0;
  /** HTTP/2 streams the upstream refused unprocessed (REFUSED_STREAM), re-sent up to 10 times. */
  private refusedResends = 0;
  /**
   * The pooled HTTP/1.1 path (upstream-h1.ts): the request head as one string (built once,
   * retries reuse it; null when node's client must take the request), the attempt's connection,
   * and the attempt's state as fields instead of per-request closures.
   */
  private headH1?: string | null;
  private conn?: H1Conn;
  private h1Waiting = false;
  private h1OnConn?: (c: H1Conn) => void;
  private h1OnDrain?: () => void;
  private h1SentAt = 0;
  private h1Resend = false;
  private attemptSettled = true;
  private pendingHeld = false;

  constructor(private readonly rc: RequestContext, private readonly action: ForwardAction, private readonly uc: UpstreamCluster, private readonly headers: OutgoingHttpHeaders, private readonly path: string) {}

  start(): void {
    const rc = this.rc;
    const { uc, action } = this;
    if (!uc.breaker.tryAcquire('requests')) {
      uc.stats.upstream_rq_pending_overflow++;
      rc.localReply(503, LocalReplyBody.overflow, Flag.UpstreamOverflow, { 'x-envoy-overloaded': 'true' });
      return;
    }
    uc.stats.upstream_rq_active++;
    uc.stats.upstream_rq_total++;
    rc.upstreamCluster = uc.config.name;
    rc.exchange = this;
    if (action.timeoutMs > 0) this.routeTimer = rc.clock.setTimeout(() => this.onRouteTimeout(), action.timeoutMs);
    if (action.idleTimeoutMs !== undefined) this.startIdleTimeout(action.idleTimeoutMs);
    if (action.retry && rc.hasBody()) {
      // Retries need the body again: buffer it (bounded); a larger body disables retries.
      this.body = [];
      rc.req.on('data', (c: Buffer) => {
        if (!this.body) return;
        this.bodyLen += c.length;
        if (this.bodyLen > MAX_RETRY_BUFFER) { this.body = undefined; return; }
        this.body.push(c);
      });
      rc.req.once('end', () => this.send());
      return;
    }
    this.send();
  }

  private canRetryMore(outcome: AttemptOutcome): boolean {
    const p = this.action.retry;
    if (!p || this.rc.closed) return false;
    if (this.rc.hasBody() && !this.body) return false;
    if (!shouldRetry(p, this.attempt, outcome)) return false;
    const uc = this.uc;
    if (uc.budget && !uc.budget.canRetry(uc.stats.upstream_rq_active, uc.breaker.inUse('retries'), uc.stats.upstream_rq_pending_active)) {
      uc.stats.upstream_rq_retry_overflow++;
      return false;
    }
    if (!uc.breaker.tryAcquire('retries')) { uc.stats.upstream_rq_retry_overflow++; return false; }
    return true;
  }

  /** An attempt ended without a response (HTTP/1 or HTTP/2): record it, retry if allowed, else 503 UF/UR. */
  private attemptFailed(uc: UpstreamCluster, host: Host, connectFailure: boolean): void {
    const rc = this.rc;
    if (connectFailure) uc.stats.upstream_cx_connect_fail++;
    const outcome: AttemptOutcome = connectFailure ? { connectFailure: true } : { reset: true };
    uc.onResult(host, outcome);
    if (rc.closed) return;
    if (this.canRetryMore(outcome)) { this.scheduleRetry(); return; }
    if (this.attempt > 1) rc.addFlag(Flag.UpstreamRetryLimitExceeded);
    if (connectFailure) rc.localReply(503, LocalReplyBody.connectFailure, Flag.UpstreamConnectionFailure);
    else rc.localReply(503, LocalReplyBody.reset, Flag.UpstreamRemoteReset);
  }

  private scheduleRetry(): void {
    const p = this.action.retry!;
    this.uc.stats.upstream_rq_retry++;
    this.retrying = true;
    const delay = retryBackoffMs(this.attempt, p.backoffBaseMs, Math.max(p.backoffBaseMs, p.backoffMaxMs), this.rc.rng);
    this.rc.clock.setTimeout(() => {
      this.uc.breaker.release('retries');
      this.retrying = false;
      if (!this.done) this.send();
    }, delay);
  }

  /** One attempt: pick a host, then forward. `resend` re-sends the same attempt after a stale keep-alive reset. */
  private send(resend = false): void {
    const rc = this.rc;
    if (this.done || rc.closed) return;
    const uc = this.uc;
    if (!resend) this.attempt++;
    rc.attempts = this.attempt;
    const exclude = this.action.retry?.previousHosts && this.tried ? this.tried : undefined;
    const pick = uc.pick(this.action.hashHeader || exclude ? { hashKey: this.action.hashHeader ? rc.header(this.action.hashHeader) : undefined, excludeHosts: exclude } : undefined);
    if (pick.kind !== 'complete') {
      rc.localReply(503, LocalReplyBody.noHealthyUpstream, Flag.NoHealthyUpstream);
      return;
    }
    const host = pick.host;
    this.host = host;
    if (this.action.retry?.previousHosts) (this.tried ??= new Set()).add(host.id);
    rc.upstreamHost = host.id;
    host.activeRequests++;
    if (!uc.breaker.tryAcquire('pendingRequests')) {
      host.activeRequests--;
      uc.stats.upstream_rq_pending_overflow++;
      rc.localReply(503, LocalReplyBody.overflow, Flag.UpstreamOverflow, { 'x-envoy-overloaded': 'true' });
      return;
    }
    uc.stats.upstream_rq_pending_active++;
    if (this.headH1 !== null && this.rawH1()) {
      const head = this.headH1 ??= requestHeadFromObject(rc.method, this.path, this.headers as Record<string, string | string[] | number | undefined>, this.needsZeroLength()) ?? null;
      if (head !== null) { this.sendH1(host, rc.clock.now(), resend); return; }
    }
    let pending = true;
    const releasePending = () => {
      if (!pending) return;
      pending = false;
      uc.stats.upstream_rq_pending_active--;
      uc.breaker.release('pendingRequests');
    };
    const sentAt = rc.clock.now();
    if (this.useHttp2()) { this.sendHttp2(host, releasePending, sentAt); return; }
    let settled = false;
    const ureq = http.request({ host: host.address, port: host.port, method: rc.method, path: this.path, headers: (this.headerList ??= this.upstreamHeaderList()) as string[], agent: uc.pool, setHost: false });
    this.ureq = ureq;
    const settle = () => {
      if (settled) return false;
      settled = true;
      releasePending();
      host.activeRequests--;
      if (this.tryTimer) { rc.clock.clearTimeout(this.tryTimer); this.tryTimer = undefined; }
      if (this.connectTimer) { rc.clock.clearTimeout(this.connectTimer); this.connectTimer = undefined; }
      return true;
    };
    ureq.on('socket', (s) => {
      releasePending();
      if ((s as any).connecting) {
        this.connectTimer = rc.clock.setTimeout(() => {
          uc.stats.upstream_cx_connect_timeout++;
          ureq.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT_CONNECT' }));
        }, uc.config.connectTimeoutMs);
        s.once('connect', () => { if (this.connectTimer) { rc.clock.clearTimeout(this.connectTimer); this.connectTimer = undefined; } });
      }
    });
    const perTry = this.action.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) {
      this.tryTimer = rc.clock.setTimeout(() => {
        this.tryTimer = undefined;
        uc.stats.upstream_rq_per_try_timeout++;
        if (!settle()) return;
        ureq.destroy();
        uc.onResult(host, { timeout: true });
        if (this.canRetryMore({ perTryTimeout: true })) { rc.addFlag(Flag.UpstreamRequestTimeout); this.scheduleRetry(); return; }
        uc.stats.upstream_rq_timeout++;
        rc.localReply(504, LocalReplyBody.timeout, Flag.UpstreamRequestTimeout);
      }, perTry);
    }
    ureq.on('error', (err: NodeJS.ErrnoException) => {
      if (this.aborting) { settle(); return; }
      if (!settle()) {
        // Error after the response started: the downstream stream is reset.
        if (this.responded && !rc.closed) { rc.addFlag(Flag.UpstreamRemoteReset); rc.reset(); }
        return;
      }
      if (this.staleKeepAlive(ureq, err)) {
        // The pooled connection had been closed by the upstream (its keep-alive timeout) when the
        // request went out: nothing reached the upstream's application, so the same attempt goes
        // out again on another connection (as node's docs advise), with no failure recorded.
        this.staleResends++;
        uc.stats.upstream_cx_destroy_remote++;
        this.send(true);
        return;
      }
      const connectFailure = err.code === 'ECONNREFUSED' || err.code === 'ETIMEDOUT_CONNECT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH' || err.code === 'EADDRNOTAVAIL' || err.code === 'ECONNRESET' && !ureq.reusedSocket && !(ureq.socket as any)?.bytesWritten;
      this.attemptFailed(uc, host, connectFailure);
    });
    ureq.on('response', (ures) => {
      if (!settle()) { ures.resume(); return; }
      const status = ures.statusCode ?? 502;
      uc.onResult(host, { status });
      uc.stats.countStatus(status);
      if (status >= 500 || this.action.retry?.retriableStatusCodes.includes(status)) {
        if (this.canRetryMore({ status })) { ures.resume(); this.scheduleRetry(); return; }
        if (this.attempt > 1 && this.action.retry) rc.addFlag(Flag.UpstreamRetryLimitExceeded);
      }
      if (this.attempt > 1 && status < 500) uc.stats.upstream_rq_retry_success++;
      this.respond(ures, rc.clock.now() - sentAt);
    });
    if (this.body) ureq.end(this.bodyLen ? Buffer.concat(this.body) : undefined);
    else if (this.attempt === 1 && !resend && rc.hasBody()) {
      if (this.idleTimer) rc.req.on('data', () => { this.lastActivity = rc.clock.now(); });
      rc.req.pipe(ureq);
    } else ureq.end();
  }

  /**
   * A request that failed on a reused keep-alive connection before any response byte, whose
   * body (if any) can be sent again: the upstream closed the idle connection as the request was
   * written (the keep-alive race). Re-sent at most twice per request.
   */
  private staleKeepAlive(ureq: http.ClientRequest, err: NodeJS.ErrnoException): boolean {
    if (!ureq.reusedSocket || this.staleResends >= 2 || this.rc.closed) return false;
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') return false;
    return !this.rc.hasBody() || this.body !== undefined;
  }

  /** The upstream request headers (router-built object) as a flat list, plus framing node would add. */
  private upstreamHeaderList(): HeaderList {
    const list = toHeaderList(this.headers);
    if (this.needsZeroLength()) list.push('content-length', '0');
    return list;
  }

  /**
   * A head written at once, before node knows the body is empty, says so for methods node would
   * otherwise send chunked (the object form sent content-length: 0 for these).
   */
  private needsZeroLength(): boolean {
    const m = this.rc.method;
    return m !== 'GET' && m !== 'HEAD' && m !== 'DELETE' && m !== 'OPTIONS' && m !== 'TRACE' && m !== 'CONNECT'
      && this.headers['content-length'] === undefined && !this.rc.hasBody() && this.body === undefined;
  }

  /** Plaintext HTTP/1.1 upstream whose request body (if any) has a known length: the pooled H1 path. */
  private rawH1(): boolean {
    if (this.uc.config.tls || this.useHttp2()) return false;
    const rc = this.rc;
    return !rc.hasBody() || rc.req.headers['content-length'] !== undefined;
  }

  private sendH1(host: Host, sentAt: number, resend: boolean): void {
    this.h1SentAt = sentAt;
    this.h1Resend = resend;
    this.attemptSettled = false;
    this.pendingHeld = true;
    const onConn = this.h1OnConn ??= (c: H1Conn) => { this.h1Waiting = false; this.h1Start(c); };
    const c = this.uc.pool.h1Pool().acquire(host.address, host.port, onConn);
    if (c) this.h1Start(c);
    else this.h1Waiting = true;
    const perTry = this.action.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0 && !this.attemptSettled) this.tryTimer = this.rc.clock.setTimeout(() => this.onH1TryTimeout(host), perTry);
  }

  private releasePendingH1(): void {
    if (!this.pendingHeld) return;
    this.pendingHeld = false;
    this.uc.stats.upstream_rq_pending_active--;
    this.uc.breaker.release('pendingRequests');
  }

  /** Ends the attempt's bookkeeping once (response head, failure or per-try timeout, whichever first). */
  private settleH1(): boolean {
    if (this.attemptSettled) return false;
    this.attemptSettled = true;
    this.releasePendingH1();
    this.host!.activeRequests--;
    const clock = this.rc.clock;
    if (this.tryTimer) { clock.clearTimeout(this.tryTimer); this.tryTimer = undefined; }
    if (this.connectTimer) { clock.clearTimeout(this.connectTimer); this.connectTimer = undefined; }
    return true;
  }

  /** Drops the attempt's connection (destroyed: it cannot carry another request) or its place in the queue. */
  private abortH1(): void {
    if (this.h1Waiting) { this.h1Waiting = false; this.uc.pool.h1Pool().cancel(this.h1OnConn!); }
    const c = this.conn;
    this.conn = undefined;
    if (c && c.sink === this) c.abort();
  }

  private onH1TryTimeout(host: Host): void {
    const rc = this.rc;
    const uc = this.uc;
    this.tryTimer = undefined;
    uc.stats.upstream_rq_per_try_timeout++;
    if (!this.settleH1()) return;
    this.abortH1();
    uc.onResult(host, { timeout: true });
    if (this.canRetryMore({ perTryTimeout: true })) { rc.addFlag(Flag.UpstreamRequestTimeout); this.scheduleRetry(); return; }
    uc.stats.upstream_rq_timeout++;
    rc.localReply(504, LocalReplyBody.timeout, Flag.UpstreamRequestTimeout);
  }

  /** The attempt has a connection: write the head (and body). */
  private h1Start(c: H1Conn): void {
    const rc = this.rc;
    if (this.attemptSettled || this.done || rc.closed) {
      // The request ended while it waited for a connection: the connection serves the next one.
      c.requestWritten();
      c.pool.release(c);
      return;
    }
    this.releasePendingH1();
    this.conn = c;
    c.attach(this);
    const s = c.socket;
    if (s.connecting) {
      const uc = this.uc;
      this.connectTimer = rc.clock.setTimeout(() => {
        this.connectTimer = undefined;
        uc.stats.upstream_cx_connect_timeout++;
        s.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT_CONNECT' }));
      }, uc.config.connectTimeoutMs);
      s.once('connect', () => { if (this.connectTimer && this.conn === c) { rc.clock.clearTimeout(this.connectTimer); this.connectTimer = undefined; } });
    }
    const head = this.headH1!;
    if (this.body !== undefined) {
      s.cork();
      s.write(head, 'latin1');
      if (this.bodyLen) s.write(Buffer.concat(this.body));
      s.uncork();
      c.requestWritten();
    } else if (this.attempt === 1 && !this.h1Resend && rc.hasBody()) {
      s.write(head, 'latin1');
      if (this.idleTimer) rc.req.on('data', () => { this.lastActivity = rc.clock.now(); });
      rc.req.once('end', () => c.requestWritten());
      rc.req.pipe(s, { end: false });
    } else {
      s.write(head, 'latin1');
      c.requestWritten();
    }
  }

  h1Head(status: number, rawHeaders: string[]): boolean {
    const rc = this.rc;
    const uc = this.uc;
    const skipBody = rc.method === 'HEAD';
    if (!this.settleH1()) return skipBody;
    const host = this.host!;
    uc.onResult(host, { status });
    uc.stats.countStatus(status);
    if (status >= 500 || this.action.retry?.retriableStatusCodes.includes(status)) {
      // Retried: this response's body is read and dropped, the connection stays reusable.
      if (this.canRetryMore({ status })) { this.conn!.sink = undefined; this.scheduleRetry(); return skipBody; }
      if (this.attempt > 1 && this.action.retry) rc.addFlag(Flag.UpstreamRetryLimitExceeded);
    }
    if (this.attempt > 1 && status < 500) uc.stats.upstream_rq_retry_success++;
    if (rc.closed) { this.conn!.sink = undefined; return skipBody; }
    this.forwardHead(status, responseHeaderList(rawHeaders), rc.clock.now() - this.h1SentAt);
    return skipBody;
  }

  h1Body(chunk: Buffer): void {
    const rc = this.rc;
    if (rc.closed) return;
    if (rc.countBytes) rc.bytesSent += chunk.length;
    if (this.idleTimer !== undefined) this.lastActivity = rc.clock.now();
    if (!(rc.res as http.ServerResponse).write(chunk)) {
      if (this.conn!.pauseReading()) (rc.res as http.ServerResponse).once('drain', this.h1OnDrain ??= () => { const c = this.conn; if (c && c.sink === this) c.resumeReading(); });
    }
  }

  h1End(): void {
    if (!this.rc.closed) this.rc.res.end();
  }

  h1Error(err: NodeJS.ErrnoException, responded: boolean, reused: boolean, bytesWritten: number): void {
    const rc = this.rc;
    if (this.aborting) { this.settleH1(); return; }
    if (!this.settleH1()) {
      // Closed mid-response: the downstream stream is reset.
      if (responded && !rc.closed) { rc.addFlag(Flag.UpstreamConnectionTermination); rc.reset(); }
      return;
    }
    const uc = this.uc;
    if (reused && this.staleResends < 2 && !rc.closed && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && (!rc.hasBody() || this.body !== undefined)) {
      // The keep-alive race (see staleKeepAlive): the same attempt goes out on another connection.
      this.staleResends++;
      uc.stats.upstream_cx_destroy_remote++;
      this.send(true);
      return;
    }
    const code = err.code;
    const connectFailure = code === 'ECONNREFUSED' || code === 'ETIMEDOUT_CONNECT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL' || code === 'ECONNRESET' && !reused && !bytesWritten;
    this.attemptFailed(uc, this.host!, connectFailure);
  }

  private respond(ures: http.IncomingMessage, serviceTime: number): void {
    if (this.rc.closed) { ures.resume(); return; }
    this.forwardResponse(ures.statusCode ?? 502, responseHeaderList(ures.rawHeaders), ures, serviceTime);
    ures.on('aborted', () => { this.rc.addFlag(Flag.UpstreamConnectionTermination); });
  }

  /** Writes the response head downstream and forwards the body (one data and one end listener, backpressure by pause/drain). */
  private forwardResponse(status: number, h: HeaderList, body: Readable, serviceTime: number): void {
    const rc = this.rc;
    this.forwardHead(status, h, serviceTime);
    const res = rc.res as unknown as NodeJS.WritableStream & { once(e: 'drain', f: () => void): void };
    const counting = rc.countBytes;
    const idle = this.idleTimer !== undefined;
    body.on('data', (c: Buffer) => {
      if (rc.closed) return;
      if (counting) rc.bytesSent += c.length;
      if (idle) this.lastActivity = rc.clock.now();
      if (!res.write(c)) { body.pause(); res.once('drain', () => body.resume()); }
    });
    body.on('end', () => { if (!rc.closed) res.end(); });
    body.on('error', () => { if (!rc.closed) rc.reset(); });
  }

  /** The response head downstream, with x-envoy-upstream-service-time and the response header mutations. */
  private forwardHead(status: number, h: HeaderList, serviceTime: number): void {
    const rc = this.rc;
    this.responded = true;
    h.push('x-envoy-upstream-service-time', String(serviceTime));
    rc.upstreamServiceTime = serviceTime;
    rc.applyResponseMutationsList(h);
    rc.writeHeadList(status, h);
  }

  private useHttp2(): boolean {
    const mode = this.uc.config.http2;
    // TLS clusters stay on HTTP/1.1: their connector offers only http/1.1 by ALPN.
    if (!mode || this.uc.config.tls) return false;
    return mode === 'always' || this.rc.req.httpVersion === '2.0';
  }

  /** The HTTP/2 request head: pseudo-headers from the request, the router-built headers without Host. */
  private http2Headers(): http2.OutgoingHttpHeaders {
    const src = this.headers;
    const h: http2.OutgoingHttpHeaders = { ':method': this.rc.method, ':path': this.path, ':scheme': 'http', ':authority': String(src.host ?? '') };
    for (const k in src) if (k !== 'host' && src[k] !== undefined) h[k] = src[k];
    // gRPC needs `te: trailers` end to end (the only TE value HTTP/2 allows).
    if (this.rc.req.headers.te === 'trailers') h.te = 'trailers';
    return h;
  }

  /** One attempt over the host's HTTP/2 session: same outcomes, flags and retries as HTTP/1.1. */
  private sendHttp2(host: Host, releasePending: () => void, sentAt: number): void {
    const rc = this.rc;
    const uc = this.uc;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      releasePending();
      host.activeRequests--;
      if (this.tryTimer) { rc.clock.clearTimeout(this.tryTimer); this.tryTimer = undefined; }
      if (this.connectTimer) { rc.clock.clearTimeout(this.connectTimer); this.connectTimer = undefined; }
      return true;
    };
    const bodyStreamed = !this.body && this.attempt === 1 && rc.hasBody();
    const endStream = !this.body?.length && !bodyStreamed;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = uc.pool.h2Sessions().request(host.address, host.port, this.http2Headers(), endStream, uc.config.connectTimeoutMs);
    } catch (e) {
      // The session went away between lookup and request (GOAWAY): a connection failure of this attempt.
      settle();
      uc.stats.upstream_cx_connect_fail++;
      uc.onResult(host, { connectFailure: true });
      if (this.canRetryMore({ connectFailure: true })) { this.scheduleRetry(); return; }
      rc.localReply(503, LocalReplyBody.connectFailure, Flag.UpstreamConnectionFailure);
      return;
    }
    this.ustream = stream;
    releasePending();
    const perTry = this.action.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) {
      this.tryTimer = rc.clock.setTimeout(() => {
        this.tryTimer = undefined;
        uc.stats.upstream_rq_per_try_timeout++;
        if (!settle()) return;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        uc.onResult(host, { timeout: true });
        if (this.canRetryMore({ perTryTimeout: true })) { rc.addFlag(Flag.UpstreamRequestTimeout); this.scheduleRetry(); return; }
        uc.stats.upstream_rq_timeout++;
        rc.localReply(504, LocalReplyBody.timeout, Flag.UpstreamRequestTimeout);
      }, perTry);
    }
    stream.on('error', (err: NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }) => {
      if (this.aborting) { settle(); return; }
      if (!settle()) {
        if (this.responded && !rc.closed) { rc.addFlag(Flag.UpstreamRemoteReset); rc.reset(); }
        return;
      }
      if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && this.refusedResends < 10 && !rc.closed && (!rc.hasBody() || this.body !== undefined)) {
        // REFUSED_STREAM: the upstream did not process it (RFC 9113 §8.7), typically streams sent
        // before the session's SETTINGS (max concurrent streams) arrived. Re-sent as the same attempt.
        // Deferred: opening a stream from inside the session's error callback re-enters nghttp2
        // (seen as a native heap corruption abort under load).
        this.refusedResends++;
        setImmediate(() => this.send(true));
        return;
      }
      const code = err.cause?.code ?? err.code;
      const connectFailure = code === 'ECONNREFUSED' || code === 'ETIMEDOUT_CONNECT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL';
      this.attemptFailed(uc, host, connectFailure);
    });
    stream.on('response', (headers) => {
      if (!settle()) { stream.resume(); return; }
      const status = Number(headers[':status'] ?? 502);
      uc.onResult(host, { status });
      uc.stats.countStatus(status);
      if (status >= 500 || this.action.retry?.retriableStatusCodes.includes(status)) {
        if (this.canRetryMore({ status })) { stream.close(http2.constants.NGHTTP2_CANCEL); this.scheduleRetry(); return; }
        if (this.attempt > 1 && this.action.retry) rc.addFlag(Flag.UpstreamRetryLimitExceeded);
      }
      if (this.attempt > 1 && status < 500) uc.stats.upstream_rq_retry_success++;
      if (rc.closed) { stream.close(http2.constants.NGHTTP2_CANCEL); return; }
      const list: HeaderList = [];
      for (const k in headers) {
        if (k.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(k)) continue;
        const v = headers[k];
        if (v !== undefined) list.push(k, typeof v === 'number' ? String(v) : v);
      }
      stream.on('trailers', (t) => {
        const out: Record<string, string | string[]> = {};
        for (const k in t) if (k.charCodeAt(0) !== 58) { const v = t[k]; if (v !== undefined) out[k] = typeof v === 'number' ? String(v) : v; }
        (rc.res as http.ServerResponse).addTrailers(out);
      });
      stream.on('close', () => {
        // Reset by the upstream mid-body: the downstream stream is reset too.
        if (!stream.readableEnded && !rc.closed && !this.aborting) { rc.addFlag(Flag.UpstreamConnectionTermination); rc.reset(); }
      });
      this.forwardResponse(status, list, stream, rc.clock.now() - sentAt);
    });
    if (this.body) { if (this.body.length) stream.end(Buffer.concat(this.body)); }
    else if (bodyStreamed) {
      if (this.idleTimer) rc.req.on('data', () => { this.lastActivity = rc.clock.now(); });
      rc.req.pipe(stream);
    }
  }

  private abortUpstream(): void {
    this.abortH1();
    this.ureq?.destroy();
    if (this.ustream && !this.ustream.destroyed) this.ustream.close(http2.constants.NGHTTP2_CANCEL);
  }

  /**
   * Route idle_timeout (Envoy: replaces the connection manager's stream_idle_timeout for this
   * route; 0 disables it): with no bytes either way for that long, 408 "stream timeout" (SI)
   * before the response started, a reset after.
   */
  private startIdleTimeout(ms: number): void {
    const rc = this.rc;
    const req = rc.req as { stream?: { setTimeout(ms: number): void } };
    // The connection manager's stream idle timer stops applying to this stream.
    if (req.stream) req.stream.setTimeout(0);
    else (rc.res as http.ServerResponse).on('timeout', () => { /* the route's own idle timer decides */ });
    if (ms <= 0) return;
    this.lastActivity = rc.clock.now();
    const check = () => {
      this.idleTimer = undefined;
      if (this.done || rc.closed) return;
      const idleFor = rc.clock.now() - this.lastActivity;
      if (idleFor < ms) { this.idleTimer = rc.clock.setTimeout(check, ms - idleFor); return; }
      rc.hstats.downstream_rq_idle_timeout++;
      this.aborting = true;
      this.abortUpstream();
      if (this.responded) { rc.addFlag(Flag.StreamIdleTimeout); rc.reset(); return; }
      rc.localReply(408, LocalReplyBody.streamIdle, Flag.StreamIdleTimeout);
    };
    this.idleTimer = rc.clock.setTimeout(check, ms);
  }

  private onRouteTimeout(): void {
    this.routeTimer = undefined;
    const rc = this.rc;
    if (this.done || rc.closed) return;
    this.uc.stats.upstream_rq_timeout++;
    this.aborting = true;
    this.abortUpstream();
    if (this.responded) { rc.addFlag(Flag.UpstreamRequestTimeout); rc.reset(); return; }
    rc.localReply(504, LocalReplyBody.timeout, Flag.UpstreamRequestTimeout);
  }

  /** The downstream request completed (RequestContext calls it once). */
  finish(): void {
    if (this.done) return;
    this.done = true;
    const rc = this.rc;
    if (this.routeTimer) rc.clock.clearTimeout(this.routeTimer);
    if (this.tryTimer) rc.clock.clearTimeout(this.tryTimer);
    if (this.connectTimer) rc.clock.clearTimeout(this.connectTimer);
    if (this.idleTimer) rc.clock.clearTimeout(this.idleTimer);
    if (rc.closed && this.ureq && !this.ureq.destroyed) { this.aborting = true; this.ureq.destroy(); }
    if (rc.closed && this.conn?.sink === this) { this.aborting = true; this.abortH1(); }
    if (this.h1Waiting) this.abortH1();
    if (rc.closed && this.ustream && !this.ustream.destroyed) { this.aborting = true; this.ustream.close(http2.constants.NGHTTP2_CANCEL); }
    this.uc.stats.upstream_rq_active--;
    this.uc.breaker.release('requests');
  }
}

export function applyHeaderList(h: OutgoingHttpHeaders, list: Parameters<typeof applyMutation>[1][]): void {
  for (const m of list) applyMutation(h, m);
}
