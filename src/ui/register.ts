/**
 * Mounts the dashboard at /ui on the API server. The page is served without a token (it holds
 * no data); the API requests it makes carry the operator's bearer token and pass the access gate
 * like any other client's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.ts';

export const UI_PATH = '/ui';

const body = Buffer.from(DASHBOARD_HTML, 'utf8');

/** What the dashboard needs of the API server (ApiServer.addRoute). */
export interface RouteMount {
  addRoute(prefix: string, handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void, opts?: { public?: boolean }): void;
}

export function registerDashboard(api: RouteMount): void {
  api.addRoute(UI_PATH, (req, res, url) => {
    const method = req.method ?? 'GET';
    if (url.pathname !== UI_PATH && url.pathname !== `${UI_PATH}/`) return plain(res, 404, `not found: ${url.pathname} (the dashboard is at ${UI_PATH}/)\n`);
    if (method !== 'GET' && method !== 'HEAD') return plain(res, 405, `method ${method} not allowed on ${UI_PATH}\n`, { Allow: 'GET, HEAD' });
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': body.length,
      'Content-Security-Policy': DASHBOARD_CSP,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : body);
  }, { public: true });
}

function plain(res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(text);
}
