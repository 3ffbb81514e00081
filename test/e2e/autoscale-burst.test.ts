/**
 * Target burst capacity end to end, against `node bin/sluice.js up`: a revision whose pods have
 * spare capacity for its target burst serves directly (Endpoints annotated
 * `sluice.dev/activator-mode: serve`); a burst the pods cannot absorb puts the activator in the
 * path (proxy), the activator load-balances across the pods while the autoscaler adds pods, and
 * once the new capacity covers load + burst capacity the traffic moves back to the pods. Every
 * request is answered 200 and reaches a pod exactly once (the app logs each request id and the
 * path it came by: `K-Proxy-Request: activator` or direct).
 *
 * Numbers: target 2 per pod (70 % → 1.4), target-burst-capacity 3, min-scale 2, max-scale 8.
 * Idle: 2 × 2 − 3 − 0 = 1 ≥ 0 → serve. Ten clients (~10 concurrent): 4 − 3 − 10 < 0 → proxy,
 * desired ceil(10 / 1.4) = 8 → 16 − 3 − 10 = 3 ≥ 0 → serve again.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { revisionScale, SERVICES, startSluice, until, type Sluice } from './autoscale-harness.ts';

const AUTOSCALER = ['  stable-window: 6s', '  tick-interval: 1s', ''].join('\n');
const MODE = 'sluice.dev/activator-mode';
const REV = 'burst-00001';

// The pod: logs "<request id> <activator|direct> <pid>" per request (O_APPEND lines), answers after 150 ms.
const APP = `
const http = require('node:http'); const fs = require('node:fs');
const file = process.env.LOG_FILE;
const server = http.createServer((req, res) => {
  req.resume();
  const id = String(req.headers['x-request-id'] || '-');
  fs.appendFileSync(file, id + ' ' + (req.headers['k-proxy-request'] === 'activator' ? 'activator' : 'direct') + ' ' + process.pid + '\\n');
  setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok ' + id); }, 150);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

let s: Sluice;
before(async () => { s = await startSluice(AUTOSCALER, { logLevel: 'info', prefix: 'sluice-autoscale-burst-' }); });
after(async () => { await s?.stop(); });

function get(host: string, id: string): Promise<{ status: number; body: string }> {
  const u = new URL(s.endpoints.gateway!);
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), path: '/', headers: { host, 'x-request-id': id }, agent: false, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ status: -1, body: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: -1, body: e.message }));
    req.end();
  });
}

/** The autoscaler's "activator mode changed" and "desired scale changed" log lines for the revision, short. */
function decisionTrail(): string {
  const out: string[] = [];
  for (const line of s.output().split('\n')) {
    if (!line.includes(REV) || !/activator mode changed|desired scale changed/.test(line)) continue;
    try {
      const j = JSON.parse(line);
      out.push(`${new Date(j.time).toISOString().slice(11, 23)} ${j.msg.startsWith('autoscaler: activator') ? `mode ${j.from ?? '-'}→${j.to} (ebc ${j.excessBurstCapacity})` : `scale ${j.from ?? '-'}→${j.to}`}`);
    } catch { /* not JSON */ }
  }
  return out.join(', ');
}

async function mode(): Promise<string | undefined> {
  const r = await s.api('GET', `/api/v1/namespaces/default/endpoints/${REV}`);
  return r.body?.metadata?.annotations?.[MODE];
}

test('a burst goes through the activator, then moves to the pods directly, with no request lost or sent twice', async () => {
  const logFile = path.join(s.dir, 'requests.log');
  fs.writeFileSync(logFile, '');
  const created = await s.api('POST', SERVICES, {
    apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'burst', namespace: 'default' },
    spec: { template: {
      metadata: { annotations: {
        'autoscaling.knative.dev/target': '2', 'autoscaling.knative.dev/target-burst-capacity': '3',
        'autoscaling.knative.dev/min-scale': '2', 'autoscaling.knative.dev/max-scale': '8',
      } },
      spec: { containers: [{ image: 'sluice/work', command: [process.execPath], args: ['-e', APP], env: [{ name: 'LOG_FILE', value: logFile }] }] },
    } },
  });
  assert.equal(created.status, 201, `service created: ${JSON.stringify(created.body)}`);
  const host = await until('service burst Ready', async () => {
    const r = await s.api('GET', `${SERVICES}/burst`);
    return r.body?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True' ? new URL(r.body.status.url as string).host : undefined;
  }, 90_000);
  await until('two ready pods', async () => (await revisionScale(s, REV)).actual === 2, 60_000);
  await until('serve mode with two idle pods (2 × 2 − 3 ≥ 0)', async () => (await mode()) === 'serve', 30_000);

  // The mode trail, sampled while the load runs.
  // Knative's rule has no hysteresis: with the excess burst capacity near 0 the mode may flip
  // more than once; the load runs until the pods have served alone for 3 s (or 60 s passed).
  const trail: string[] = ['serve'];
  let lastChangeAt = Date.now();
  let servedAgainAt = 0; // when the poller first saw the activator leave the path
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const m = await mode().catch(() => undefined);
      if (m && trail.at(-1) !== m) {
        trail.push(m);
        lastChangeAt = Date.now();
        if (trail.length === 3) servedAgainAt = lastChangeAt;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const results = new Map<string, { status: number; body: string }>();
  const sentAt = new Map<string, number>();
  let n = 0;
  const deadline = Date.now() + 60_000;
  const client = async (c: number): Promise<void> => {
    for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
      // Enough shown: the activator took the burst, the pods took it back and kept it for 3 s.
      if (trail.length >= 3 && trail.at(-1) === 'serve' && Date.now() - lastChangeAt > 3000) return;
      const id = `c${c}-${i}-${n++}`;
      sentAt.set(id, Date.now());
      results.set(id, await get(host, id));
    }
  };
  try {
    await Promise.all(Array.from({ length: 10 }, (_, c) => client(c)));
  } finally {
    polling = false;
    await poller;
  }
  assert.deepEqual(trail.slice(0, 3), ['serve', 'proxy', 'serve'], `the activator went into the path and out again (Endpoints trail ${trail.join(' → ')}; autoscaler: ${decisionTrail()})`);

  const bad = [...results].filter(([id, r]) => r.status !== 200 || r.body !== `ok ${id}`);
  const kinds = new Map<string, number>();
  for (const [, r] of bad) { const k = `${r.status} ${r.body.slice(0, 90).trim()}`; kinds.set(k, (kinds.get(k) ?? 0) + 1); }
  assert.deepEqual(bad.slice(0, 5), [], `every request answered 200 by a pod with its own id (${bad.length} of ${results.size} not: ${[...kinds].map(([k, n]) => `${n}× ${k}`).join('; ')}; modes ${trail.join(' → ')})`);

  await until('the pods logged every request', () => fs.readFileSync(logFile, 'utf8').trim().split('\n').length >= results.size, 10_000).catch(() => {});
  const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' '));
  const seen = new Map<string, number>();
  for (const [id] of lines) seen.set(id!, (seen.get(id!) ?? 0) + 1);
  const twice = [...seen].filter(([, k]) => k > 1);
  assert.deepEqual(twice, [], 'no request reached a pod twice');
  const missing = [...results.keys()].filter((id) => !seen.has(id));
  assert.deepEqual(missing, [], 'every answered request was handled by a pod');

  const via = lines.filter((l) => l[1] === 'activator').length;
  // Requests sent once the Endpoints said serve again (the gateway follows within a push).
  const directAfter = lines.filter((l) => l[1] === 'direct' && (sentAt.get(l[0]!) ?? 0) > servedAgainAt).length;
  assert.ok(via > 0, `part of the burst went through the activator (${via} of ${lines.length})`);
  assert.ok(directAfter > 0, `after the activator left the path, requests went to the pods directly (${directAfter}; modes ${trail.join(' → ')})`);
  assert.ok(new Set(lines.filter((l) => l[1] === 'activator').map((l) => l[2])).size >= 2, 'the activator spread its share over several pods');

  console.error(`burst: ${results.size} requests, ${via} through the activator, ${directAfter} direct after it left, modes ${trail.join(" → ")}`);
  const metrics = await s.api('GET', '/metrics/autoscaler');
  const count = new RegExp(`activator_request_count\\{namespace_name="default",revision_name="${REV}"\\} (\\d+)`).exec(String(metrics.body));
  assert.ok(count && Number(count[1]) === via, `activator_request_count matches what the pods saw through the activator (${count?.[1]} vs ${via})`);
});
