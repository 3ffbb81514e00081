/**
 * Streams one HTTP request to a pod's address and its response back, the way the activator and
 * the queue-proxy role hand requests on. Written on node:http rather than a proxy library
 * because both callers need one thing libraries hide: knowing whether the request reached the
 * pod. The request body is only piped once the TCP connection is up, so a refused or failed
 * connect leaves the request untouched and the caller may send it elsewhere (it never reached a
 * pod); any failure after that is answered 502 and never retried (no request is sent twice).
 */
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** Connection-scoped headers a proxy must not pass on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade']);

export function forwardHeaders(h: IncomingHttpHeaders, extra: Record<string, string> = {}): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = new Set(String(h.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return { ...out, ...extra };
}

export type ForwardOutcome =
  | { kind: 'done'; status: number }
  /** The connection to the pod failed before any byte of the request was sent: safe to send elsewhere. */
  | { kind: 'unreached'; error: Error }
  /** The request reached the pod (or may have) and failed; the client got a 502 or a cut response. */
  | { kind: 'failed'; error: Error }
  /** The client went away first. */
  | { kind: 'aborted' };

export interface ForwardTarget { host: string; port: number }

/**
 * Sends `req` to `target` and streams the answer into `res`. With `agent: false` (the activator)
 * every request gets a fresh connection, so "unreached" is unambiguous; the queue-proxy role
 * passes a keep-alive agent and treats "unreached" on a reused socket as failed.
 */
export function forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget, opts: { agent?: http.Agent | false; headers?: Record<string, string>; onResponse?: () => void } = {}): Promise<ForwardOutcome> {
  return new Promise<ForwardOutcome>((resolve) => {
    let settled = false;
    let bodySent = false;
    const finish = (o: ForwardOutcome): void => { if (!settled) { settled = true; resolve(o); } };
    const up = http.request({
      host: target.host, port: target.port, method: req.method, path: req.url,
      headers: forwardHeaders(req.headers, opts.headers), agent: opts.agent ?? false,
    });
    const sendBody = (): void => {
      if (bodySent || up.destroyed) return;
      bodySent = true;
      req.pipe(up);
    };
    up.on('socket', (s) => {
      if ((s as { connecting?: boolean }).connecting) s.once('connect', sendBody);
      else sendBody();
    });
    up.on('response', (pr) => {
      if (res.destroyed) { pr.destroy(); finish({ kind: 'aborted' }); return; }
      opts.onResponse?.();
      res.writeHead(pr.statusCode ?? 502, forwardHeaders(pr.headers));
      pr.pipe(res);
      pr.on('error', (e) => { res.destroy(e); finish({ kind: 'failed', error: e }); });
      res.on('finish', () => finish({ kind: 'done', status: pr.statusCode ?? 502 }));
    });
    up.on('error', (e) => {
      if (settled) return;
      if (!bodySent && !up.reusedSocket) { finish({ kind: 'unreached', error: e }); return; }
      if (!res.headersSent && !res.destroyed) {
        const body = `upstream ${target.host}:${target.port} failed: ${e.message}\n`;
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy(e);
      finish({ kind: 'failed', error: e });
    });
    // The client hung up before the answer was complete: cancel the upstream request.
    res.on('close', () => {
      if (!res.writableFinished) { up.destroy(); finish({ kind: 'aborted' }); }
    });
  });
}

/** A short text answer (activator and queue-proxy errors), with the code in a header for scripts. */
export function plainError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent || res.destroyed) { res.destroy(); return; }
  const body = `${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-sluice-error': code });
  res.end(body);
}
