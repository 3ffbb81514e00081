// sluice/work: a tunable workload.
//   WORK_LATENCY_MS     wait this long per request (no CPU)
//   WORK_CPU_MS         burn this much CPU per request
//   WORK_WARMUP_S       for this many seconds after start ...
//   WORK_WARMUP_FACTOR  ... CPU per request is multiplied by this factor (JIT / cache warm-up)
//   WORK_ERROR_RATE     fraction of requests answered 500 (0..1)
import { createServer } from 'node:http';

function num(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`work: ${name}="${v}" is not a non-negative number`);
    process.exit(2);
  }
  return n;
}
const latencyMs = num('WORK_LATENCY_MS', 0);
const cpuMs = num('WORK_CPU_MS', 0);
const warmupS = num('WORK_WARMUP_S', 0);
const warmupFactor = num('WORK_WARMUP_FACTOR', 1);
const errorRate = num('WORK_ERROR_RATE', 0);
const started = Date.now();

function burn(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

const server = createServer((req, res) => {
  req.resume();
  const warming = (Date.now() - started) / 1000 < warmupS;
  const cpu = cpuMs * (warming ? warmupFactor : 1);
  const finish = () => {
    if (cpu > 0) burn(cpu);
    const fail = errorRate > 0 && Math.random() < errorRate;
    const body = JSON.stringify({ ok: !fail, cpuMs: cpu, latencyMs, warming, revision: process.env.K_REVISION || '' });
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (latencyMs > 0) setTimeout(finish, latencyMs);
  else finish();
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1', () => {
  console.log(`work: listening on ${server.address().port} (cpu ${cpuMs} ms, latency ${latencyMs} ms, warm-up ${warmupS} s x${warmupFactor}, errors ${errorRate})`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
});
