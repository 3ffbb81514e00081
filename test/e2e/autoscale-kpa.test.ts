/**
 * Concurrency autoscaling end to end, against `node bin/sluice.js up` with a test-shortened
 * autoscaler config (stable window 6 s, grace period 1 s, tick 1 s):
 *  - an idle service scales to zero after the grace period and its process is gone (/proc);
 *  - the next request through the gateway is answered 200 with the right body (the activator
 *    buffers it, the autoscaler scales from zero, the activator forwards it);
 *  - a bounded load ramp (count- and time-bounded clients) adds pods, and they go after it.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayGet, ksvc, processAlive, revisionScale, scaleTrail, SERVICES, startSluice, until, type Sluice } from './autoscale-harness.ts';

const AUTOSCALER = [
  '  stable-window: 6s',
  '  scale-to-zero-grace-period: 1s',
  '  tick-interval: 1s',
  '',
].join('\n');

let s: Sluice;
before(async () => { s = await startSluice(AUTOSCALER, { logLevel: 'info' }); });
after(async () => { await s?.stop(); });

async function serviceReady(name: string): Promise<string> {
  return until(`service ${name} Ready`, async () => {
    const r = await s.api('GET', `${SERVICES}/${name}`);
    const ready = r.body?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
    return ready ? (new URL(r.body.status.url as string).host) : undefined;
  }, 90_000);
}

test('an idle service scales to zero, its process ends, and the next request is answered through the activator', async () => {
  const created = await s.api('POST', SERVICES, ksvc('hello', 'sluice/hello', { env: { TARGET: 'Autoscale' } }));
  assert.equal(created.status, 201, `service created: ${JSON.stringify(created.body)}`);
  // The first pod's pids, collected from creation on: on a loaded machine the Route can turn
  // Ready only after the idle revision already went to zero (stable window 6 s + grace 1 s).
  const first = new Set<number>();
  const collect = setInterval(() => { for (const p of s.podPids('hello-00001')) first.add(p); }, 50);
  let host: string;
  try {
    host = await serviceReady('hello');
    await until('the first pod process', () => first.size > 0);
  } finally { clearInterval(collect); }
  const pids = [...first];
  assert.ok(pids.length > 0, 'the first pod process was seen');

  // No traffic: after a stable window of no load and the grace period, desired and actual go to 0.
  await until('scale to zero', async () => { const sc = await revisionScale(s, 'hello-00001'); return sc.desired === 0 && sc.actual === 0; }, 60_000);
  await until('pod processes gone', () => pids.every((p) => !processAlive(p)), 30_000);
  assert.deepEqual(pids.filter(processAlive), [], 'no pod process of the revision is left');
  // The runtime drops a pod's pid record when it reaps the process ('exit' event), which comes
  // after the process turned into a zombie (what processAlive already counts as gone): on a
  // loaded machine the record can outlive the zombie check by a moment. That lag, not a
  // re-scale, is what failed here once; a re-scale would show a pid outside the first pod's.
  const fresh = () => s.podPids('hello-00001').filter((p) => !pids.includes(p));
  await until('the runtime forgot the pids', () => s.podPids('hello-00001').length === 0 || fresh().length > 0, 15_000).catch(() => {});
  assert.deepEqual(fresh(), [], `no new pod started at zero (desired scale trail: ${scaleTrail(s, 'hello-00001')})`);
  assert.deepEqual(s.podPids('hello-00001'), [], `the runtime forgot the pids of the stopped pods (desired scale trail: ${scaleTrail(s, 'hello-00001')})`);

  // The first request after scale to zero: buffered by the activator and answered by a new pod.
  const r = await gatewayGet(s.endpoints.gateway!, host, '/');
  assert.equal(r.status, 200, `answered 200, got ${r.status}: ${r.body}`);
  assert.equal(r.body, 'Hello Autoscale!\n', 'the right body');
  const sc = await revisionScale(s, 'hello-00001');
  assert.ok((sc.desired ?? 0) >= 1, `desired scale is at least 1 after the request, got ${sc.desired}`);
  assert.ok(s.podPids('hello-00001').length >= 1, 'a pod process runs again');
});

test('a bounded load ramp adds pods and they are removed after it', async () => {
  // Each request takes 300 ms; target concurrency 1 per pod (70 % → 0.7): 6 clients ask for more pods.
  const created = await s.api('POST', SERVICES, ksvc('ramp', 'sluice/work', {
    env: { WORK_LATENCY_MS: '300' },
    annotations: { 'autoscaling.knative.dev/target': '1', 'autoscaling.knative.dev/max-scale': '4' },
  }));
  assert.equal(created.status, 201, `service created: ${JSON.stringify(created.body)}`);
  const host = await serviceReady('ramp');

  let maxActual = 0;
  let maxPids = 0;
  const seenPids = new Set<number>();
  const watch = setInterval(() => {
    for (const p of s.podPids('ramp-00001')) seenPids.add(p);
    maxPids = Math.max(maxPids, s.podPids('ramp-00001').length);
    revisionScale(s, 'ramp-00001').then((sc) => { maxActual = Math.max(maxActual, sc.actual ?? 0); }, () => {});
  }, 200);
  const statuses: number[] = [];
  try {
    const deadline = Date.now() + 15_000;
    const client = async (): Promise<void> => {
      for (let i = 0; i < 60 && Date.now() < deadline; i++) {
        const r = await gatewayGet(s.endpoints.gateway!, host, '/', 20_000).catch(() => ({ status: 0, body: '' }));
        statuses.push(r.status);
        if (maxActual >= 2 && Date.now() > deadline - 10_000) break; // enough shown: end the ramp early
      }
    };
    await Promise.all(Array.from({ length: 6 }, client));
  } finally { clearInterval(watch); }
  const ok = statuses.filter((x) => x === 200).length;
  assert.ok(ok >= statuses.length * 0.9, `almost every request answered 200 (${ok} of ${statuses.length})`);
  assert.ok(maxActual >= 2 || maxPids >= 2, `the load added pods (most ready pods seen: ${maxActual}, most pod processes: ${maxPids})`);

  // After the ramp: the stable window passes without load and the extra pods are removed.
  await until('pods removed after the ramp', async () => { const sc = await revisionScale(s, 'ramp-00001'); return (sc.actual ?? 9) <= 1 && (sc.desired ?? 9) <= 1; }, 60_000);
  await until('extra pod processes gone', () => s.podPids('ramp-00001').length <= 1, 30_000);
  const alive = [...seenPids].filter(processAlive);
  assert.ok(alive.length <= 1, `at most one pod process left after the ramp, found ${alive.length}`);
});
