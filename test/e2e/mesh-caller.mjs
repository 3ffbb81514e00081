// A test app for the mesh e2e tests: GET /call?host=H&path=P calls http://H/P through the pod's
// egress listener (SLUICE_EGRESS, Host-header routing; with &via=proxy as an HTTP proxy client of
// HTTP_PROXY, absolute-form URL) and answers
// `{ status, body }` of that call; any other path answers 200 "caller <namespace>".
import { createServer, request } from 'node:http';

const egress = process.env.SLUICE_EGRESS || '';
const [egressHost, egressPort] = egress.split(':');
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/call') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`caller ${process.env.POD_NAMESPACE || process.env.K_SERVICE || ''}\n`);
    return;
  }
  const host = url.searchParams.get('host') || '';
  const p = url.searchParams.get('path') || '/';
  const proxy = url.searchParams.get('via') === 'proxy' ? new URL(process.env.HTTP_PROXY || 'http://invalid') : undefined;
  const opts = proxy
    ? { host: proxy.hostname, port: Number(proxy.port), path: `http://${host}${p}`, headers: { host }, agent: false }
    : { host: egressHost, port: Number(egressPort), path: p, headers: { host }, agent: false };
  const out = request(opts, (r) => {
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (d) => { body += d; });
    r.on('end', () => {
      const text = JSON.stringify({ status: r.statusCode, body, egress });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  out.on('error', (e) => {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: e.message, egress }));
  });
  out.end();
});
server.listen(Number(process.env.PORT || 8080), '127.0.0.1');
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections?.(); });
