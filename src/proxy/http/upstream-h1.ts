/**
 * HTTP/1.1 to plaintext upstreams without node's ClientRequest/IncomingMessage: one pooled
 * net.Socket per connection with its own llhttp parser (node's HTTPParser, as node:http's client
 * uses it), the request head written as one string, response body chunks handed straight to the
 * exchange. node's client costs a ClientRequest (an OutgoingMessage with its header state and
 * listeners), an Agent round (addRequest, 'socket' events, free-list bookkeeping), an
 * IncomingMessage readable stream and several ticks per request; under load that was the
 * largest share of the proxy worker's JavaScript time.
 *
 * Pool semantics follow the Agent it replaces for these requests (upstream-pool.ts): keep-alive,
 * LIFO reuse, at most maxConnections connections (further requests wait for one), idle timeout
 * (shortened by the upstream's Keep-Alive hint), max requests per connection, retire (idle
 * connections close now, busy ones after their response), and the same upstream_cx_* counters.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { ClusterStats } from '../stats/proxy-stats.ts';
import type { PoolOptions } from './upstream-pool.ts';

/** node's llhttp binding, as node:http's client and server use it (public module, undocumented API). */
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: any };
const kOnHeaders = (HTTPParser as any).kOnHeaders | 0;
const kOnHeadersComplete = (HTTPParser as any).kOnHeadersComplete | 0;
const kOnBody = (HTTPParser as any).kOnBody | 0;
const kOnMessageComplete = (HTTPParser as any).kOnMessageComplete | 0;
const kOnExecute = (HTTPParser as any).kOnExecute | 0;
const RESPONSE = (HTTPParser as any).RESPONSE as number;

/** What a pooled connection reports to the request it carries. */
export interface H1Sink {
  /** A final (non-1xx) response head. Returns true when the response has no body (HEAD). */
  h1Head(status: number, rawHeaders: string[]): boolean;
  h1Body(chunk: Buffer): void;
  h1End(): void;
  /**
   * The connection failed or closed before the response completed. `responded` says whether the
   * head had arrived; `reused` whether the connection had carried an earlier request.
   */
  h1Error(err: NodeJS.ErrnoException, responded: boolean, reused: boolean, bytesWritten: number): void;
}

/** Header values as node's ClientRequest accepts them (it throws on anything else). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INVALID_NAME = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * The request head as one latin1 string, from the router's header object (`zeroLength` adds
 * content-length: 0), or undefined when a header name or value is one node's client would refuse
 * (the caller then takes node's path, which reports it as before).
 */
export function requestHeadFromObject(method: string, path: string, h: Readonly<Record<string, string | string[] | number | undefined>>, zeroLength: boolean): string | undefined {
  if (INVALID_VALUE.test(path) || path.includes(' ')) return undefined;
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    if (INVALID_NAME.test(k)) return undefined;
    if (typeof v === 'string') {
      if (INVALID_VALUE.test(v)) return undefined;
      head += `${k}: ${v}\r\n`;
    } else if (typeof v === 'number') head += `${k}: ${v}\r\n`;
    else {
      for (const x of v) {
        if (INVALID_VALUE.test(x)) return undefined;
        head += `${k}: ${x}\r\n`;
      }
    }
  }
  if (zeroLength) head += 'content-length: 0\r\n';
  return head + '\r\n';
}

export class H1Conn {
  readonly socket: net.Socket;
  private readonly parser: any;
  sink?: H1Sink;
  /** Requests completed on this connection. */
  requests = 0;
  /** Whether the current request had the connection from the free list. */
  reused = false;
  free = false;
  private responded = false;
  private informational = false;
  private skipBody = false;
  private keepAlive = true;
  /** The request (head and body) is fully handed to the socket; only then can the connection be reused. */
  requestDone = false;
  private responseDone = false;
  private err?: NodeJS.ErrnoException;
  private headers?: string[];
  timeoutMs: number;
  /** The TCP handle the parser reads from directly (node:http's server does the same), if any. */
  private handle?: { readStart(): number; readStop(): number };
  private readPaused = false;

  constructor(readonly pool: H1Pool, readonly key: string, host: string, port: number) {
    this.timeoutMs = pool.opts.idleTimeoutMs;
    this.socket = pool.connect(host, port);
    const parser = new HTTPParser();
    parser.initialize(RESPONSE, {}, 0, 0);
    parser[kOnHeaders] = (h: string[]) => { this.headers = this.headers ? this.headers.concat(h) : h; };
    parser[kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, _sm: unknown, _upg: boolean, shouldKeepAlive: boolean) => this.onHead(headers, status, shouldKeepAlive);
    parser[kOnBody] = (b: Buffer) => { if (!this.informational) this.sink?.h1Body(b); };
    parser[kOnMessageComplete] = () => this.onMessageComplete();
    this.parser = parser;
    const s = this.socket;
    const h = (s as unknown as { _handle?: { isStreamBase?: boolean; _consumed?: boolean; readStart(): number; readStop(): number } })._handle;
    if (h?.isStreamBase && !h._consumed) {
      // The parser consumes the handle's reads in C++: no Buffer, 'data' event and execute()
      // call per read. Read errors and EOF still reach the socket ('error', 'end').
      h._consumed = true;
      parser.consume(h);
      this.handle = h;
      parser[kOnExecute] = (r: number | Error) => {
        (s as unknown as { _unrefTimer(): void })._unrefTimer();
        if (r instanceof Error) s.destroy(Object.assign(r, { code: (r as NodeJS.ErrnoException).code ?? 'HPE_INVALID' }));
      };
      s.resume();
    } else {
      s.on('data', (d: Buffer) => {
        const r = this.parser.execute(d);
        if (r instanceof Error) s.destroy(Object.assign(r, { code: (r as NodeJS.ErrnoException).code ?? 'HPE_INVALID' }));
      });
    }
    s.on('end', () => {
      // A body delimited by the connection's end completes here.
      if (this.responded && !this.responseDone) this.parser.finish();
      s.destroy();
    });
    s.on('error', (e: NodeJS.ErrnoException) => { this.err ??= e; });
    s.on('timeout', () => {
      // The socket timeout stays armed while a request is on it; only an idle connection closes.
      if (!this.free) return;
      pool.stats.upstream_cx_idle_timeout++;
      s.destroy();
    });
    s.once('close', () => this.onClose());
  }

  /** Assigns the connection to a request. */
  attach(sink: H1Sink): void {
    this.sink = sink;
    this.free = false;
    this.reused = this.requests > 0;
    this.responded = false;
    this.responseDone = false;
    this.requestDone = false;
    this.informational = false;
    this.skipBody = false;
    this.headers = undefined;
  }

  /** Backpressure from the downstream: stop reading the response. Returns false when already paused. */
  pauseReading(): boolean {
    if (this.readPaused) return false;
    this.readPaused = true;
    if (this.handle) this.handle.readStop(); else this.socket.pause();
    return true;
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (this.socket.destroyed) return;
    if (this.handle) this.handle.readStart(); else this.socket.resume();
  }

  /** The request is abandoned (timeout, downstream gone): the connection cannot be reused. */
  abort(): void {
    this.sink = undefined;
    this.socket.destroy();
  }

  private onHead(headers: string[] | undefined, status: number, shouldKeepAlive: boolean): number {
    const raw = headers ?? this.headers ?? [];
    this.headers = undefined;
    if (status >= 100 && status < 200 && status !== 101) {
      // 1xx informational (100 Continue, 103 Early Hints): the final response follows.
      this.informational = true;
      return 1;
    }
    this.responded = true;
    this.keepAlive = shouldKeepAlive;
    // The upstream's Keep-Alive hint: expire before it would close the idle connection.
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'keep-alive') continue;
      const hint = /^timeout=(\d+)/.exec(raw[i + 1]!)?.[1];
      if (hint) {
        const hintMs = Number(hint) * 1000 - 1000;
        if (hintMs <= 0) this.keepAlive = false;
        else if (hintMs < this.timeoutMs) this.timeoutMs = hintMs;
      }
      break;
    }
    const sink = this.sink;
    this.skipBody = sink ? sink.h1Head(status, raw) : false;
    return this.skipBody ? 1 : 0;
  }

  private onMessageComplete(): void {
    if (this.informational) { this.informational = false; return; }
    if (!this.responded) return;
    this.responseDone = true;
    this.requests++;
    const sink = this.sink;
    this.sink = undefined;
    sink?.h1End();
    this.pool.release(this);
  }

  /** Whether the connection can carry another request. */
  reusable(): boolean {
    if (!this.keepAlive || !this.requestDone || this.socket.destroyed || this.pool.retired) return false;
    const max = this.pool.opts.maxRequestsPerConnection;
    if (max > 0 && this.requests >= max) {
      this.pool.stats.upstream_cx_max_requests++;
      return false;
    }
    return true;
  }

  private onClose(): void {
    this.pool.closed(this);
    const sink = this.sink;
    this.sink = undefined;
    if (!sink) return;
    const err = this.err ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    sink.h1Error(err, this.responded, this.reused, this.socket.bytesWritten ?? 0);
  }

  /** Marks the request written; a response that already completed returns the connection now. */
  requestWritten(): void {
    this.requestDone = true;
  }
}

interface Waiter { key: string; host: string; port: number; cb: (c: H1Conn) => void }

export class H1Pool {
  private readonly freeConns = new Map<string, H1Conn[]>();
  private total = 0;
  private waiters: Waiter[] = [];
  retired = false;

  constructor(readonly opts: PoolOptions, readonly stats: ClusterStats, readonly connect: (host: string, port: number) => net.Socket) {}

  /**
   * A connection to host:port for one request: a free one now (LIFO), a new one while under
   * maxConnections, else the callback runs when one frees up. Returns the connection when it was
   * available at once (the callback is then not called).
   */
  acquire(host: string, port: number, cb: (c: H1Conn) => void): H1Conn | undefined {
    const key = `${host}:${port}`;
    const list = this.freeConns.get(key);
    if (list) {
      while (list.length) {
        const c = list.pop()!;
        if (c.socket.destroyed) continue;
        c.socket.ref();
        return c;
      }
    }
    if (this.total < this.opts.maxConnections) return this.create(key, host, port);
    this.waiters.push({ key, host, port, cb });
    return undefined;
  }

  /** Drops a queued request (it ended before a connection was free). */
  cancel(cb: (c: H1Conn) => void): void {
    const i = this.waiters.findIndex((w) => w.cb === cb);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  private create(key: string, host: string, port: number): H1Conn {
    this.total++;
    return new H1Conn(this, key, host, port);
  }

  /** A response completed: the connection goes to a waiting request, back to the pool, or closes. */
  release(c: H1Conn): void {
    if (!c.reusable()) { c.socket.destroy(); return; }
    // Paused by the previous response's downstream (its last chunk filled the buffer): a pooled
    // connection must read, to see the next response or the upstream closing it.
    c.resumeReading();
    if (this.waiters.length) {
      const i = this.waiters.findIndex((w) => w.key === c.key);
      if (i >= 0) {
        const w = this.waiters.splice(i, 1)[0]!;
        w.cb(c);
        return;
      }
      // Waiters for other hosts only: this connection makes room for theirs.
      c.socket.destroy();
      return;
    }
    c.free = true;
    if (c.socket.timeout !== c.timeoutMs) c.socket.setTimeout(c.timeoutMs);
    c.socket.unref();
    let list = this.freeConns.get(c.key);
    if (!list) { list = []; this.freeConns.set(c.key, list); }
    list.push(c);
  }

  closed(c: H1Conn): void {
    this.total--;
    if (c.free) {
      c.free = false;
      const list = this.freeConns.get(c.key);
      const i = list ? list.indexOf(c) : -1;
      if (i >= 0) list!.splice(i, 1);
      if (list && !list.length) this.freeConns.delete(c.key);
    }
    if (this.waiters.length && this.total < this.opts.maxConnections) {
      const w = this.waiters.shift()!;
      w.cb(this.create(w.key, w.host, w.port));
    }
  }

  /** Stops reuse: idle connections close now, busy ones after their response. */
  retire(): void {
    this.retired = true;
    for (const list of [...this.freeConns.values()]) for (const c of [...list]) c.socket.destroy();
    this.freeConns.clear();
  }

  destroy(): void {
    this.retire();
    this.waiters = [];
  }
}
