/**
 * HTTP/1.1 Upgrade (WebSocket) pass-through: the request is routed like any other, then the
 * proxy opens a raw TCP connection to the chosen host, replays the request head and splices the
 * two sockets together. The upstream's 101 (or refusal) reaches the client unchanged.
 */
import net from 'node:net';
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { HttpConnectionManagerConfig } from '../config/model.ts';
import { matchRoute, selectVirtualHost } from '../config/route-matcher.ts';
import type { HttpStats } from '../stats/proxy-stats.ts';
import { pickWeighted, type RouterDeps } from './router.ts';
import { LocalReplyBody } from './response-flags.ts';

function rawReply(socket: net.Socket, status: number, reason: string, body = '', extra = ''): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`);
}

export function handleUpgrade(d: RouterDeps, req: http.IncomingMessage, socket: net.Socket, head: Buffer, hcm: HttpConnectionManagerConfig, hstats: HttpStats, tls: boolean): void {
  hstats.downstream_rq_total++;
  hstats.downstream_cx_upgrades_total++;
  socket.on('error', () => socket.destroy());
  const table = hcm.inlineRoutes ?? (hcm.rdsName ? d.routeTable(hcm.rdsName) : undefined);
  const path = req.url ?? '/';
  const vh = table && selectVirtualHost(table, req.headers.host);
  const route = vh && matchRoute(vh, path, req.headers);
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (!route || route.action.kind !== 'route') { hstats.no_route++; hstats.countStatus(404); rawReply(socket, 404, 'Not Found'); return; }
  const a = route.action;
  if (!a.upgrades.has(upgrade)) { hstats.countStatus(403); rawReply(socket, 403, 'Forbidden', `upgrade ${upgrade} not enabled on this route`); return; }
  const uc = d.clusters.get(pickWeighted(a, d.rng));
  if (!uc) { hstats.countStatus(503); rawReply(socket, 503, 'Service Unavailable'); return; }
  if (!uc.breaker.tryAcquire('requests')) { hstats.countStatus(503); rawReply(socket, 503, 'Service Unavailable', LocalReplyBody.overflow, 'x-envoy-overloaded: true\r\n'); return; }
  const pick = uc.pick(a.hashHeader ? { hashKey: req.headers[a.hashHeader] as string | undefined } : undefined);
  if (pick.kind !== 'complete') { uc.breaker.release('requests'); hstats.countStatus(503); rawReply(socket, 503, 'Service Unavailable', LocalReplyBody.noHealthyUpstream); return; }
  const host = pick.host;
  host.activeRequests++;
  uc.stats.upstream_rq_total++;
  uc.stats.upstream_rq_active++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    host.activeRequests--;
    uc.stats.upstream_rq_active--;
    uc.breaker.release('requests');
  };
  const up = net.connect({ host: host.address, port: host.port });
  const connectTimer = setTimeout(() => up.destroy(new Error('connect timeout')), uc.config.connectTimeoutMs);
  up.once('connect', () => {
    clearTimeout(connectTimer);
    let upstreamPath = path;
    if (a.prefixRewrite !== undefined && route.match.kind !== 'regex') upstreamPath = a.prefixRewrite + path.slice(route.match.value.length);
    let headText = `${req.method} ${upstreamPath} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!.toLowerCase();
      if (k === 'x-forwarded-for' || (k === 'host' && a.hostRewrite)) continue;
      headText += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    if (a.hostRewrite) headText += `host: ${a.hostRewrite}\r\n`;
    const xff = req.headers['x-forwarded-for'];
    headText += `x-forwarded-for: ${xff ? `${xff}, ` : ''}${socket.remoteAddress ?? ''}\r\n`;
    headText += `x-forwarded-proto: ${tls ? 'https' : 'http'}\r\n`;
    if (!req.headers['x-request-id']) headText += `x-request-id: ${randomUUID()}\r\n`;
    up.write(headText + '\r\n');
    if (head.length) up.write(head);
    socket.pipe(up);
    up.pipe(socket);
  });
  up.on('error', () => {
    clearTimeout(connectTimer);
    if (up.connecting || !released && up.bytesRead === 0 && !up.readable) {
      uc.stats.upstream_cx_connect_fail++;
      uc.onResult(host, { connectFailure: true });
      hstats.countStatus(503);
      if (!socket.destroyed) rawReply(socket, 503, 'Service Unavailable', LocalReplyBody.connectFailure);
    } else socket.destroy();
    release();
  });
  // Upgraded protocols (WebSocket) close as a whole: either side ending tears down both.
  up.on('close', () => { release(); socket.destroy(); });
  up.on('end', () => socket.end());
  socket.on('close', () => { up.destroy(); release(); });
  socket.on('end', () => { up.end(); socket.destroy(); });
}
