// sluice/hello: Knative's helloworld sample. Answers "Hello <TARGET or World>!" on $PORT.
// Plain CommonJS on node:http so a pod starts at bare-node speed: no tsx, no dependencies, and
// no ESM loader (an .mjs entry point costs Node 20 ~5-10 ms more CPU before the first line runs).
'use strict';
const { createServer } = require('node:http');

const target = process.env.TARGET || 'World';
const body = `Hello ${target}!\n`;
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1', () => {
  console.log(`hello: listening on ${server.address().port}`);
});
// Graceful drain: stop accepting, finish in-flight requests, then exit.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
});
