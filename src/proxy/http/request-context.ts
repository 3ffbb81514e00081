/**
 * Per-request state shared by the router and the upstream exchange: the downstream request and
 * response (HTTP/1.1 or the HTTP/2 compatibility API), response flags, timings, the local-reply
 * helper and the one place that finalizes stats and writes the access log line.
 */
import type http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Clock } from '../../lib/clock.ts';
import type { Rng } from '../../lib/rng.ts';
import type { HttpConnectionManagerConfig, Route, RouteTable, VirtualHost, WeightedCluster } from '../config/model.ts';
import type { HttpStats } from '../stats/proxy-stats.ts';
import { formatFlags, type AccessLogger } from './access-log.ts';
import { applyMutation, applyMutationList, hasMutation, headerListToObject, type HeaderList } from './header-ops.ts';

export type DownstreamRequest = http.IncomingMessage | Http2ServerRequest;
export type DownstreamResponse = http.ServerResponse | Http2ServerResponse;

export class RequestContext {
  readonly startMs: number;
  flags?: string[];
  attempts = 0;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamServiceTime?: number;
  status = 0;
  bytesSent = 0;
  closed = false;
  finished = false;
  route?: Route;
  /** The weighted cluster picked for this request, when it has response header mutations. */
  weightedCluster?: WeightedCluster;
  vh?: VirtualHost;
  table?: RouteTable;
  requestId = '';
  readonly countBytes: boolean;
  private doneCbs?: (() => void)[];
  /** The upstream exchange, told when the request completes (a field, not a callback per request). */
  exchange?: { finish(): void };

  constructor(
    readonly req: DownstreamRequest,
    readonly res: DownstreamResponse,
    readonly hcm: HttpConnectionManagerConfig,
    readonly hstats: HttpStats,
    readonly clock: Clock,
    readonly rng: Rng,
    private readonly logger: AccessLogger,
    private readonly extraSinks: HttpConnectionManagerConfig['accessLogs'],
  ) {
    this.startMs = clock.now();
    this.countBytes = hcm.accessLogs.length > 0 || extraSinks.length > 0;
    hstats.downstream_rq_total++;
    hstats.downstream_rq_active++;
    // HTTP/1.1: one listener. node emits 'close' after 'finish' (next tick) or alone when the
    // connection goes first, and writableFinished tells the two apart. The HTTP/2 compatibility
    // response keeps both.
    if ((res as Http2ServerResponse).stream === undefined) res.on('close', () => this.complete(true));
    else {
      res.once('finish', () => this.complete(false));
      res.once('close', () => this.complete(true));
    }
  }

  get method(): string { return this.req.method ?? 'GET'; }

  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
  }

  /** Whether the request carries a body to forward. */
  hasBody(): boolean {
    const h = this.req.headers;
    if (h['content-length'] !== undefined) return h['content-length'] !== '0';
    if (h['transfer-encoding'] !== undefined) return true;
    // HTTP/2: a body is present unless the stream ended with the headers.
    const stream = (this.req as Http2ServerRequest).stream;
    return stream !== undefined && !stream.endAfterHeaders;
  }

  addFlag(f: string): void { (this.flags ??= []).includes(f) || this.flags.push(f); }

  onDone(cb: () => void): void { (this.doneCbs ??= []).push(cb); }

  applyResponseMutations(h: OutgoingHttpHeaders): void {
    if (this.weightedCluster?.responseHeaders) applyMutation(h, this.weightedCluster.responseHeaders);
    if (this.route && hasMutation(this.route.responseHeaders)) applyMutation(h, this.route.responseHeaders);
    if (this.vh && hasMutation(this.vh.responseHeaders)) applyMutation(h, this.vh.responseHeaders);
    if (this.table && hasMutation(this.table.responseHeaders)) applyMutation(h, this.table.responseHeaders);
  }

  applyResponseMutationsList(h: HeaderList): void {
    if (this.weightedCluster?.responseHeaders) applyMutationList(h, this.weightedCluster.responseHeaders);
    if (this.route && hasMutation(this.route.responseHeaders)) applyMutationList(h, this.route.responseHeaders);
    if (this.vh && hasMutation(this.vh.responseHeaders)) applyMutationList(h, this.vh.responseHeaders);
    if (this.table && hasMutation(this.table.responseHeaders)) applyMutationList(h, this.table.responseHeaders);
  }

  /**
   * writeHead with a flat header list: node:http stores it as is (no setHeader per header). The
   * HTTP/2 compatibility response and a response that already has headers set (a draining
   * listener's `connection: close`) take the object form, which merges without losing repeats.
   */
  writeHeadList(status: number, h: HeaderList): void {
    this.status = status;
    const res = this.res as http.ServerResponse;
    if ((this.res as Http2ServerResponse).stream !== undefined || res.hasHeader('connection')) res.writeHead(status, headerListToObject(h));
    else res.writeHead(status, h as string[]);
  }

  writeHead(status: number, h: OutgoingHttpHeaders): void {
    this.status = status;
    (this.res as http.ServerResponse).writeHead(status, h);
  }

  /** Envoy-style local reply (text/plain body, response flag). */
  localReply(status: number, body: string | undefined, flag: string | undefined, extra?: OutgoingHttpHeaders): void {
    if (flag) this.addFlag(flag);
    if (this.closed) return;
    const res = this.res as http.ServerResponse;
    if (res.headersSent) { this.reset(); return; }
    const h: OutgoingHttpHeaders = { ...extra };
    if (body !== undefined) {
      h['content-type'] = 'text/plain';
      h['content-length'] = Buffer.byteLength(body);
    } else h['content-length'] = 0;
    if (this.requestId && this.route) h['x-request-id'] = this.requestId;
    this.applyResponseMutations(h);
    this.writeHead(status, h);
    this.bytesSent += body ? Buffer.byteLength(body) : 0;
    res.end(body);
  }

  /** Resets the downstream stream (the response already started and cannot complete). */
  reset(): void {
    const r = this.res as any;
    if (r.stream) r.stream.close(0x2 /* INTERNAL_ERROR */);
    else r.socket?.destroy();
  }

  private complete(closed: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (closed && !(this.res as http.ServerResponse).writableFinished) {
      this.closed = true;
      if (!this.flags?.length) this.addFlag('DC');
    }
    const hs = this.hstats;
    hs.downstream_rq_active--;
    if (this.status) hs.countStatus(this.status);
    this.exchange?.finish();
    if (this.doneCbs) for (const cb of this.doneCbs) cb();
    if (this.countBytes) this.log();
  }

  private log(): void {
    const req = this.req;
    const sinks = this.hcm.accessLogs.length ? (this.extraSinks.length ? [...this.hcm.accessLogs, ...this.extraSinks] : this.hcm.accessLogs) : this.extraSinks;
    this.logger.write(sinks, {
      start_time: new Date(this.startMs).toISOString(),
      method: this.method,
      path: req.url ?? '',
      protocol: `HTTP/${req.httpVersion}`,
      response_code: this.status,
      response_flags: formatFlags(this.flags),
      bytes_received: Number(req.headers['content-length'] ?? 0),
      bytes_sent: this.bytesSent,
      duration: this.clock.now() - this.startMs,
      upstream_service_time: this.upstreamServiceTime ?? null,
      x_forwarded_for: this.header('x-forwarded-for') ?? null,
      user_agent: this.header('user-agent') ?? null,
      request_id: this.requestId,
      authority: this.header(':authority') ?? this.header('host') ?? null,
      upstream_host: this.upstreamHost ?? null,
      upstream_cluster: this.upstreamCluster ?? null,
      route_name: this.route?.name ?? null,
      downstream_remote_address: req.socket?.remoteAddress ?? null,
      attempts: this.attempts,
    });
  }
}
