/** The bench's upstream: a fast static HTTP server on the given ports (one process). */
import http from 'node:http';

const body = Buffer.from('hello from upstream\n');
const ports = process.argv.slice(2).map(Number);
for (const port of ports) {
  const s = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'x-upstream-port': String(port) });
    res.end(body);
  });
  s.keepAliveTimeout = 65_000;
  s.listen(port, '127.0.0.1', () => process.send?.({ listening: port }));
}
