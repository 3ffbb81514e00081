/**
 * The router filter: matches the request to a virtual host and route of the listener's route
 * table, then answers locally (no route → 404 NR, direct responses, redirects, fault aborts) or
 * forwards to a cluster chosen by weight through an Exchange. Route tables and clusters are read
 * from the current configuration on every request, so an xDS update takes effect for the next
 * request without touching requests in flight.
 */
import { randomUUID } from 'node:crypto';
import http, { type OutgoingHttpHeaders } from 'node:http';
import type { Clock } from '../../lib/clock.ts';
import type { Rng } from '../../lib/rng.ts';
import type { AccessLogSink, ForwardAction, HttpConnectionManagerConfig, RedirectAction, RouteTable, WeightedCluster } from '../config/model.ts';
import { matchRoute, selectVirtualHost } from '../config/route-matcher.ts';
import type { HttpStats, ProxyStats } from '../stats/proxy-stats.ts';
import type { AccessLogger } from './access-log.ts';
import type { ClusterManager } from './cluster-manager.ts';
import { Exchange } from './exchange.ts';
import { applyMutation, hasMutation, upstreamRequestHeaders } from './header-ops.ts';
import { RequestContext, type DownstreamRequest, type DownstreamResponse } from './request-context.ts';
import { Flag, LocalReplyBody } from './response-flags.ts';
import { evaluateRbacFilters } from '../../security/envoy-rbac-eval.ts';
import type { AuthzRequest } from '../../security/authorization-rules.ts';

export interface RouterDeps {
  clusters: ClusterManager;
  stats: ProxyStats;
  clock: Clock;
  rng: Rng;
  routeTable(name: string): RouteTable | undefined;
  accessLogger: AccessLogger;
  /** Access log sinks from the bootstrap, added to every listener's. */
  extraSinks: readonly AccessLogSink[];
}

export class Router {
  constructor(private readonly d: RouterDeps) {}

  handle(req: DownstreamRequest, res: DownstreamResponse, hcm: HttpConnectionManagerConfig, hstats: HttpStats, tls: boolean): void {
    const d = this.d;
    const rc = new RequestContext(req, res, hcm, hstats, d.clock, d.rng, d.accessLogger, d.extraSinks);
    const table = hcm.inlineRoutes ?? (hcm.rdsName ? d.routeTable(hcm.rdsName) : undefined);
    const path = req.url ?? '/';
    const hostHeader = (req.headers[':authority'] as string | undefined) ?? req.headers.host;
    if (hcm.rbacFilters.length > 0 && !rbacAllows(hcm, req, hostHeader ?? '', path)) {
      rc.localReply(403, 'RBAC: access denied', Flag.RbacAccessDenied);
      return;
    }
    const vh = table && selectVirtualHost(table, hostHeader);
    const route = vh && matchRoute(vh, path, req.headers);
    if (!route) {
      hstats.no_route++;
      rc.localReply(404, undefined, Flag.NoRouteFound);
      return;
    }
    rc.table = table;
    rc.vh = vh;
    rc.route = route;
    rc.requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
    const fault = hcm.faultFilter ? route.fault : undefined;
    if (fault) {
      if (fault.delayMs !== undefined && d.rng.next() * 100 < fault.delayPercent) {
        rc.addFlag(Flag.FaultInjectedDelay);
        d.clock.setTimeout(() => { if (!rc.closed) this.afterFault(rc, tls, path, hostHeader); }, fault.delayMs);
        return;
      }
    }
    this.afterFault(rc, tls, path, hostHeader);
  }

  private afterFault(rc: RequestContext, tls: boolean, path: string, hostHeader: string | undefined): void {
    const route = rc.route!;
    const fault = rc.hcm.faultFilter ? route.fault : undefined;
    if (fault?.abortStatus !== undefined && this.d.rng.next() * 100 < fault.abortPercent) {
      rc.localReply(fault.abortStatus, LocalReplyBody.faultAbort, Flag.FaultInjectedAbort);
      return;
    }
    const a = route.action;
    switch (a.kind) {
      case 'direct': {
        rc.localReply(a.status, a.body, undefined);
        return;
      }
      case 'redirect': {
        rc.localReply(a.status, undefined, undefined, { location: redirectLocation(a, tls, hostHeader ?? '', path, route.match.kind === 'prefix' ? route.match.value : '') });
        return;
      }
      case 'route':
        this.forward(rc, a, tls, path, hostHeader);
    }
  }

  private forward(rc: RequestContext, a: ForwardAction, tls: boolean, path: string, hostHeader: string | undefined): void {
    const d = this.d;
    const picked = pickWeightedCluster(a, d.rng);
    const clusterName = picked.name;
    const uc = d.clusters.get(clusterName);
    if (!uc) {
      rc.hstats.no_cluster++;
      rc.upstreamCluster = clusterName;
      rc.localReply(503, undefined, Flag.NoClusterFound);
      return;
    }
    const req = rc.req;
    const h = upstreamRequestHeaders(req.headers);
    const remote = req.socket?.remoteAddress ?? '';
    const xff = h['x-forwarded-for'];
    h['x-forwarded-for'] = xff ? `${xff}, ${remote}` : remote;
    if (rc.hcm.useRemoteAddress || h['x-forwarded-proto'] === undefined) h['x-forwarded-proto'] = tls ? 'https' : 'http';
    h['x-request-id'] = rc.requestId;
    if (a.timeoutMs > 0) h['x-envoy-expected-rq-timeout-ms'] = String(a.timeoutMs);
    if (a.hostRewrite) h.host = a.hostRewrite;
    else if (h.host === undefined && hostHeader) h.host = hostHeader;
    const route = rc.route!;
    if (hasMutation(rc.table!.requestHeaders)) applyMutation(h, rc.table!.requestHeaders);
    if (hasMutation(rc.vh!.requestHeaders)) applyMutation(h, rc.vh!.requestHeaders);
    if (hasMutation(route.requestHeaders)) applyMutation(h, route.requestHeaders);
    if (picked.requestHeaders) applyMutation(h, picked.requestHeaders);
    if (picked.responseHeaders) rc.weightedCluster = picked;
    let upstreamPath = path;
    if (a.prefixRewrite !== undefined && route.match.kind !== 'regex') {
      upstreamPath = a.prefixRewrite + path.slice(route.match.value.length);
      if (!upstreamPath.startsWith('/')) upstreamPath = '/' + upstreamPath;
    }
    for (const m of a.mirrors) if (d.rng.next() * 100 < m.percent) this.mirror(rc, m.cluster, h, upstreamPath);
    new Exchange(rc, a, uc, h, upstreamPath).start();
  }

  /** Fire-and-forget shadow copy (bodyless requests only: the body is streamed, not buffered). */
  private mirror(rc: RequestContext, cluster: string, h: OutgoingHttpHeaders, path: string): void {
    if (rc.hasBody()) return;
    const uc = this.d.clusters.get(cluster);
    if (!uc) return;
    const pick = uc.pick();
    if (pick.kind !== 'complete') return;
    const headers = { ...h, host: `${h.host ?? ''}-shadow` };
    const r = http.request({ host: pick.host.address, port: pick.host.port, method: rc.method, path, headers, agent: uc.pool, setHost: false }, (res) => res.resume());
    r.on('error', () => { /* a shadow request's failure never affects the real one */ });
    r.end();
  }
}

/** Runs the connection manager's RBAC filters (the security helper's evaluator) on the request. */
function rbacAllows(hcm: HttpConnectionManagerConfig, req: DownstreamRequest, host: string, path: string): boolean {
  const sock = req.socket as import('node:tls').TLSSocket | undefined;
  const peer = typeof sock?.getPeerX509Certificate === 'function' ? sock.getPeerX509Certificate() : undefined;
  const uri = /URI:spiffe:\/\/([^,\s]+)/.exec(peer?.subjectAltName ?? '')?.[1];
  const xff = req.headers['x-forwarded-for'];
  const remoteIp = typeof xff === 'string' ? xff.split(',')[0]!.trim() : undefined;
  const r: AuthzRequest = {
    namespace: '', workloadLabels: {},
    source: { principal: uri, ip: sock?.remoteAddress ?? '', remoteIp },
    host, method: req.method ?? 'GET', path, port: sock?.localPort ?? 0, headers: req.headers,
    destinationIp: sock?.localAddress, sni: (sock as { servername?: string } | undefined)?.servername || undefined,
  };
  return evaluateRbacFilters(hcm.rbacFilters, r).allowed;
}

export function pickWeighted(a: ForwardAction, rng: Rng): string {
  return pickWeightedCluster(a, rng).name;
}

/** The weighted cluster entry for one request (its own header mutations travel with it). */
export function pickWeightedCluster(a: ForwardAction, rng: Rng): WeightedCluster {
  const cs = a.clusters;
  if (cs.length === 1) return cs[0]!;
  let r = rng.next() * a.totalWeight;
  for (const c of cs) {
    r -= c.weight;
    if (r < 0) return c;
  }
  return cs[cs.length - 1]!;
}

export function redirectLocation(a: RedirectAction, tls: boolean, host: string, path: string, matchedPrefix: string): string {
  const scheme = a.scheme ?? (tls ? 'https' : 'http');
  let hostname = host;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon > 0 && !host.endsWith(']')) { hostname = host.slice(0, colon); port = host.slice(colon + 1); }
  if (a.host) hostname = a.host;
  if (a.port) port = String(a.port);
  else if (a.scheme && a.scheme !== (tls ? 'https' : 'http')) port = '';
  const q = path.indexOf('?');
  const query = q < 0 || a.stripQuery ? '' : path.slice(q);
  let p = q < 0 ? path : path.slice(0, q);
  if (a.path) p = a.path;
  else if (a.prefixRewrite !== undefined) p = a.prefixRewrite + p.slice(matchedPrefix.length);
  const defPort = (scheme === 'https' && port === '443') || (scheme === 'http' && port === '80');
  return `${scheme}://${hostname}${port && !defPort ? `:${port}` : ''}${p}${a.path && a.path.includes('?') ? '' : query}`;
}
