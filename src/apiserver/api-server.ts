/**
 * The Kubernetes-compatible API server: node:http with a hand-written dispatcher. The URL space
 * is Kubernetes' own (a fixed grammar of /api, /apis/G/V, namespaces, names, subresources) and
 * parsing it directly is simpler and faster than teaching a general router its rules; no router
 * library is a dependency. Extra prefixes (/metrics, /ui) are mounted with addRoute.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { OPENAPI_V2_PROTOBUF_MEDIA_TYPE, openapiV2Document, openapiV2Protobuf, openapiV3Document, openapiV3Paths } from '../api/openapi.ts';
import { kindById, resourceId, type KindInfo } from '../api/registry.ts';
import { realClock, type Clock } from '../lib/clock.ts';
import { SluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';
import type { ApiAuth } from '../security/api-auth.ts';
import type { Store } from '../store/store.ts';
import { AccessGate, requestAttributes } from './access-gate.ts';
import { createTlsFront, trackInjectedConnections, type TlsFront } from './tls-front.ts';
import { DEFAULT_BODY_LIMIT } from './decode-body.ts';
import { buildDiscovery, versionInfo, wantsAggregated } from './discovery.ts';
import type { HandlerContext, ServerState } from './handler-context.ts';
import { sendJson, sendStatus } from './http-util.ts';
import { NamespaceGuard } from './namespace-guard.ts';
import { parseResourcePath, splitApiPath, type ResourceRequest } from './resource-path.ts';
import { handleGet } from './resource-read.ts';
import { handleCreate, handleDelete, handlePatch, handleUpdate } from './resource-write.ts';
import { ApiServerErrors, methodNotAllowed, notFoundError, toStatus } from './status.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;
/** Serves GET on `.../NAME/SUBRESOURCE` of one kind (e.g. pods/log); errors thrown become Status answers. */
export type SubresourceHandler = (req: IncomingMessage, res: ServerResponse, target: { namespace: string; name: string; url: URL }) => void | Promise<void>;

export interface ApiServerOptions {
  store: Store;
  clock?: Clock;
  /** Request body limit in bytes (default 3 MiB, as Kubernetes). */
  bodyLimit?: number;
  /** Reported in /version. */
  version?: string;
  /**
   * Bearer-token authentication and RBAC (401/403 Status answers). Undefined turns access control
   * off, for in-process unit tests; `sluice up` always passes one.
   */
  auth?: ApiAuth;
  /** How often at most the tokens file is checked for changes (default 1000 ms). */
  authReloadIntervalMs?: number;
  /**
   * Serving certificate and key (PEM). When given, the port also speaks HTTPS (the first byte of
   * each connection decides): kubectl sends tokens only over TLS.
   */
  tls?: { cert: string; key: string };
}

export interface ApiServer {
  server: http.Server;
  /** Creates the built-in namespaces, then listens; resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Mounts a handler for every path under `prefix` (e.g. `/metrics`, `/ui`). Mounted routes need an
   * authenticated user unless `public` is set (for pages that hold no data, such as the /ui shell).
   */
  addRoute(prefix: string, handler: RouteHandler, opts?: { public?: boolean }): void;
  /** Mounts a GET subresource of a kind (`core/pods`, `log`), listed in discovery (e.g. for `kubectl logs`). */
  addSubresource(resource: string, name: string, handler: SubresourceHandler): void;
  /** Stops accepting, ends open watches and idle connections; the store stays open. */
  close(): Promise<void>;
  /** The bound address as `http://host:port` (after listen). */
  url(): string;
  /** The same port as `https://host:port` when `tls` was given (after listen). */
  tlsUrl(): string | undefined;
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const clock = opts.clock ?? realClock;
  const state: ServerState = {
    store: opts.store,
    clock,
    namespaces: new NamespaceGuard(opts.store),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    watches: new Set(),
    watchLines: new Map(),
  };
  const subresources = new Map<string, { kind: KindInfo; name: string; handler: SubresourceHandler }>();
  let discovery = buildDiscovery();
  const version = versionInfo(opts.version ?? '0.1.0');
  const routes: { prefix: string; handler: RouteHandler; public: boolean }[] = [];
  const openapiCache = new Map<string, string>();
  let openapiV2Proto: Buffer | undefined;
  let ready = false;
  let address = '';
  const gate = opts.auth ? new AccessGate(opts.auth, clock, opts.authReloadIntervalMs) : undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    res.on('finish', () => {
      if (log.isLevelEnabled('debug')) log.debug({ method: req.method, url: req.url, code: res.statusCode, ms: Math.round((performance.now() - started) * 100) / 100 }, 'api request');
    });
    dispatch(req, res).catch((e: unknown) => {
      const status = toStatus(e);
      if (status.code >= 500) log.error({ err: e, method: req.method, url: req.url }, 'api request failed');
      sendStatus(res, status);
    });
  };
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, onRequest);
  let tlsFront: TlsFront | undefined;

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sluice');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const route = routes.find((r) => path === r.prefix || path.startsWith(r.prefix.endsWith('/') ? r.prefix : r.prefix + '/'));
    // Access control before routing: 401 without a known token, 403 without a role allowing it.
    // Mounted routes (/metrics...) need an authenticated user only; public ones (/ui) none.
    let parsed: { r?: ResourceRequest; error?: unknown } | undefined;
    if (gate && !route?.public) {
      const who = gate.authenticate(req, path);
      if (who.status) return sendStatus(res, who.status);
      if (who.user && !route) {
        parsed = parseApiPath(path);
        const denied = gate.authorize(who.user, requestAttributes(method, path, url, parsed.r));
        if (denied) return sendStatus(res, denied);
      }
    }
    if (route) return route.handler(req, res, url);
    if (path === '/healthz' || path === '/livez' || path.startsWith('/healthz/') || path.startsWith('/livez/')) return plain(res, 200, 'ok');
    if (path === '/readyz' || path.startsWith('/readyz/')) return ready ? plain(res, 200, 'ok') : plain(res, 503, 'not ready: namespaces not initialised');
    if (path === '/version') return sendJson(res, 200, version);
    if (path.startsWith('/openapi/')) return serveOpenapi(res, path, req.headers.accept);
    if (path === '/api' || path === '/api/') {
      const agg = wantsAggregated(req.headers.accept);
      if (agg) return sendJson(res, 200, discovery.aggregatedCore, { 'Content-Type': agg, Vary: 'Accept' });
      return sendJson(res, 200, discovery.apiVersions(address.replace(/^http:\/\//, '')));
    }
    if (path === '/apis' || path === '/apis/') {
      const agg = wantsAggregated(req.headers.accept);
      if (agg) return sendJson(res, 200, discovery.aggregatedGroups, { 'Content-Type': agg, Vary: 'Accept' });
      return sendJson(res, 200, discovery.apiGroupList);
    }
    const segs = path.split('/').filter((s) => s !== '');
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = discovery.apiGroup.get(segs[1]);
      if (!g) throw notFoundError(`the server could not find the requested resource (${path})`);
      return sendJson(res, 200, g);
    }
    const split = splitApiPath(path);
    if (!split) throw notFoundError(`the server could not find the requested resource (${path})`, undefined, ApiServerErrors.NotFound);
    parsed ??= parseApiPath(path);
    if (parsed.error !== undefined) throw parsed.error;
    const r = parsed.r;
    if (!r) {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      return sendJson(res, 200, discovery.resourceList.get(split.gv));
    }
    if (r.subresource && r.subresource !== 'status' && r.name !== undefined) {
      const sub = subresources.get(`${resourceId(r.kind)}/${r.subresource}`)!;
      if (method !== 'GET') throw methodNotAllowed(method, path);
      return sub.handler(req, res, { namespace: r.namespace, name: r.name, url });
    }
    const ctx: HandlerContext = { req, res, url, r, state };
    if (r.legacyWatch && method !== 'GET') throw methodNotAllowed(method, path);
    switch (method) {
      case 'GET': return handleGet(ctx);
      case 'POST': return handleCreate(ctx);
      case 'PUT': return handleUpdate(ctx);
      case 'PATCH': return handlePatch(ctx);
      case 'DELETE': return handleDelete(ctx);
      default: throw methodNotAllowed(method, path);
    }
  }

  /** The resource a path names (undefined for discovery and non-API paths), or the parse error to answer. */
  function parseApiPath(path: string): { r?: ResourceRequest; error?: unknown } {
    const split = splitApiPath(path);
    if (!split) return {};
    try {
      return { r: parseResourcePath(path, split.gv, split.rest, (k, sub) => subresources.has(`${resourceId(k)}/${sub}`)) };
    } catch (e) {
      return { error: e };
    }
  }

  /** OpenAPI documents are static: built once per path and served from memory. */
  function serveOpenapi(res: ServerResponse, path: string, accept: string | undefined): void {
    if (path === '/openapi/v2' && accept?.includes(OPENAPI_V2_PROTOBUF_MEDIA_TYPE)) {
      // kubectl reads v2 only as protobuf; like kube-openapi, send it as octet-stream (Go's mime
      // parser rejects the '@' in the proper media type).
      openapiV2Proto ??= Buffer.from(openapiV2Protobuf());
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': openapiV2Proto.length, Vary: 'Accept' });
      res.end(openapiV2Proto);
      return;
    }
    let text = openapiCache.get(path);
    if (text === undefined) {
      let doc: unknown;
      if (path === '/openapi/v2') doc = openapiV2Document();
      else if (path === '/openapi/v3' || path === '/openapi/v3/') doc = openapiV3Paths();
      else if (path.startsWith('/openapi/v3/')) doc = openapiV3Document(path.slice('/openapi/v3/'.length));
      if (doc === undefined) throw notFoundError(`the server could not find the requested resource (${path})`);
      text = JSON.stringify(doc);
      openapiCache.set(path, text);
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'public, immutable' });
    res.end(text);
  }

  function plain(res: ServerResponse, code: number, text: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  return {
    server,
    addSubresource(resource, name, handler) {
      const kind = kindById(resource);
      if (!kind) throw new SluiceError(ApiServerErrors.NotFound, `addSubresource: unknown resource "${resource}" (expected an id such as core/pods)`);
      if (name === 'status') throw new SluiceError(ApiServerErrors.BadRequest, 'addSubresource: status is built in');
      subresources.set(`${resource}/${name}`, { kind, name, handler });
      discovery = buildDiscovery([...subresources.values()].map((x) => ({ kind: x.kind, name: x.name, verbs: ['get'] })));
    },
    addRoute(prefix, handler, opts) {
      routes.push({ prefix: prefix.replace(/\/+$/, '') || '/', handler, public: opts?.public === true });
      routes.sort((a, b) => b.prefix.length - a.prefix.length);
    },
    async listen(port, host = '127.0.0.1') {
      await state.namespaces.start();
      ready = true;
      const listener: net.Server = opts.tls ? (tlsFront = createTlsFront(server, opts.tls, onRequest)).front : server;
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(port, host, () => { listener.off('error', reject); resolve(); });
      });
      if (tlsFront) trackInjectedConnections(server, tlsFront.tlsServer);
      const a = listener.address() as AddressInfo;
      address = `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
      return a.port;
    },
    async close() {
      ready = false;
      for (const end of [...state.watches]) end();
      state.namespaces.stop();
      const f = tlsFront;
      const servers: http.Server[] = f ? [server, f.tlsServer] : [server];
      await new Promise<void>((resolve) => {
        // Keep-alive connections turn idle as their last response (ended watches included)
        // finishes: sweep them until the server is closed; after a grace period cut the rest.
        const sweep = setInterval(() => { for (const s of servers) s.closeIdleConnections(); }, 20);
        const cut = setTimeout(() => {
          for (const s of servers) s.closeAllConnections();
          for (const s of f?.pending ?? []) s.destroy();
        }, 2000);
        const done = (): void => { clearInterval(sweep); clearTimeout(cut); resolve(); };
        if (f) {
          // The front owns the port and counts every connection it handed on: it closes last.
          for (const s of servers) s.close(() => undefined);
          for (const s of f.pending) s.destroy();
          f.front.close(done);
        } else {
          server.close(done);
        }
        for (const s of servers) s.closeIdleConnections();
      });
    },
    url: () => address,
    tlsUrl: () => (tlsFront && address ? address.replace(/^http:/, 'https:') : undefined),
  };
}
