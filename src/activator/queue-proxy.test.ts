import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, realClock } from '../lib/clock.ts';
import type { PodStat } from '../autoscaler/revision-autoscaler.ts';
import { ConcurrencyMeter } from './concurrency-meter.ts';
import { QueueProxy } from './queue-proxy.ts';
import { deadPort, gate, request, testPod, until } from './test-servers.ts';

test('meter: time-weighted average concurrency and rps over the interval', () => {
  const m = new ConcurrencyMeter(0);
  m.start(0); m.start(0); // two requests the whole second
  m.start(500); m.end(1000); // one for half of it
  assert.deepEqual(m.report(1000), { concurrency: 2.5, rps: 3 }, '2 × 1 s + 1 × 0.5 s over 1 s, 3 arrivals');
  m.end(1500); m.end(1500);
  assert.deepEqual(m.report(2000), { concurrency: 1, rps: 0 }, 'two requests for half a second, no arrivals');
  assert.deepEqual(m.report(3000), { concurrency: 0, rps: 0 }, 'idle second reports zeros');
  assert.equal(m.current, 0, 'nothing in flight');
});

test('queue-proxy forwards to the pod and streams the answer back', async () => {
  const pod = await testPod('pod');
  const qp = new QueueProxy({ name: 'default/pod', target: { host: '127.0.0.1', port: pod.port }, containerConcurrency: 0, clock: realClock });
  const port = await qp.listen(0);
  try {
    const r = await request(port, { method: 'POST', path: '/x', body: 'abc', headers: { host: 'svc.example' } });
    assert.equal(r.status, 200, 'answered');
    assert.equal(r.body, 'pod:POST /x abc', 'body and path intact');
  } finally { await qp.close(); await pod.close(); }
});

test('containerConcurrency 1 with queue depth 1: one in the pod, one waits, the next gets 503; stats count the pod', async () => {
  const clock = new FakeClock();
  const g = gate();
  const pod = await testPod('pod', { hold: () => g.wait() });
  const stats: PodStat[] = [];
  const qp = new QueueProxy({ name: 'default/pod', target: { host: '127.0.0.1', port: pod.port }, containerConcurrency: 1, queueDepth: 1, clock, onStats: (s) => stats.push(s) });
  const port = await qp.listen(0);
  try {
    const first = request(port, { method: 'POST', body: '1' });
    await until('first in the pod', () => g.waiting() === 1);
    const second = request(port, { method: 'POST', body: '2' });
    await until('second queued', () => qp.queued === 1);
    const third = await request(port, { method: 'POST', body: '3' });
    assert.equal(third.status, 503, 'overflow → 503');
    assert.equal(third.headers['x-sluice-error'], 'SLUICE_E_POD_OVERLOADED', 'error code header');
    assert.match(third.body, /containerConcurrency 1/, 'the body says why');
    clock.advance(1000);
    assert.deepEqual(stats.at(-1), { concurrency: 2, rps: 2 }, 'one request in the pod and one queued all second; two arrivals (the rejected one not counted)');
    g.open();
    assert.equal((await first).body, 'pod:POST / 1', 'first answered');
    await until('second in the pod', () => g.waiting() === 1 && pod.seen.length === 2);
    g.open();
    assert.equal((await second).body, 'pod:POST / 2', 'second answered after the first');
    assert.equal(pod.maxConcurrent, 1, 'never more than one request in the pod');
    assert.equal(pod.seen.length, 2, 'the rejected request never reached the pod');
  } finally { await qp.close(); await pod.close(); }
});

test('a pod that is not listening → 502 naming the pod', async () => {
  const port0 = await deadPort();
  const qp = new QueueProxy({ name: 'default/gone', target: { host: '127.0.0.1', port: port0 }, containerConcurrency: 0, clock: realClock });
  const port = await qp.listen(0);
  try {
    const r = await request(port, {});
    assert.equal(r.status, 502, 'bad gateway');
    assert.match(r.body, /pod default\/gone did not accept the connection/, 'names the pod');
  } finally { await qp.close(); }
});

test('a refusing or retired pod hands the request to the activator, which never sends it back to that pod', async () => {
  const { Activator } = await import('./activator.ts');
  const clock = new FakeClock();
  let backends: { id: string; host: string; port: number }[] = [];
  const fns = new Set<(k: string) => void>();
  const act = new Activator({ clock, backends: { backends: () => backends, onChange: (f) => { fns.add(f); return () => fns.delete(f); } } });
  const { port: actPort } = await act.listen(0);
  const dead = await deadPort();
  const qp = new QueueProxy({ name: 'default/old', target: { host: '127.0.0.1', port: dead }, containerConcurrency: 0, clock: realClock, fallback: () => ({ host: '127.0.0.1', port: actPort }) });
  const qpPort = await qp.listen(0);
  const fresh = await testPod('fresh');
  const REV = { 'knative-serving-namespace': 'default', 'knative-serving-revision': 'r-00001' };
  try {
    // Stale Endpoints still list the old pod: the activator must not bounce the request back to it.
    backends = [{ id: 'default/old', host: '127.0.0.1', port: qpPort }];
    const answer = request(qpPort, { method: 'POST', headers: REV, body: 'x' });
    await until('handed to the activator and buffered', () => act.queued('default/r-00001') === 1);
    backends = [{ id: 'default/old', host: '127.0.0.1', port: qpPort }, { id: 'default/fresh', host: '127.0.0.1', port: fresh.port }];
    for (const f of fns) f('default/r-00001');
    const r = await answer;
    assert.equal(r.status, 200, 'answered');
    assert.equal(r.body, 'fresh:POST / x', 'by the new pod, body intact');
    qp.retire();
    const again = await request(qpPort, { method: 'POST', headers: REV, body: 'y' });
    assert.equal(again.body, 'fresh:POST / y', 'a retired pod hands every request on');
    assert.deepEqual(fresh.seen, ['POST / x', 'POST / y'], 'each request reached a pod exactly once');
  } finally { await qp.close(); await act.close(); await fresh.close(); }
});

test('accept (the activator in-process): admitted like a listener request, unreached when the pod never got it', async () => {
  const clock = new FakeClock();
  const g = gate();
  const pod = await testPod('pod', { hold: () => g.wait() });
  const qp = new QueueProxy({ name: 'default/pod', target: { host: '127.0.0.1', port: pod.port }, containerConcurrency: 1, clock });
  // A front server stands in for the activator: it hands each request to qp.accept.
  const outcomes: string[] = [];
  const front = (await import('node:http')).createServer((req, res) => {
    void qp.accept(req, res, { headers: { 'k-proxy-request': 'activator' } }).then((o) => {
      outcomes.push(o.kind);
      if (o.kind === 'unreached') { req.resume(); res.writeHead(599).end('handed back'); }
    });
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  const fport = (front.address() as { port: number }).port;
  try {
    const a = request(fport, { method: 'POST', body: 'a' });
    const b = request(fport, { method: 'POST', body: 'b' });
    await until('one in the pod, one queued', () => g.waiting() === 1 && qp.queued === 1);
    assert.equal(qp.inPod, 1, 'containerConcurrency 1 holds for in-process requests too');
    g.open();
    await until('second in the pod', () => pod.seen.length === 2 && g.waiting() === 1);
    g.open();
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual([ra.status, rb.status], [200, 200], 'both answered by the pod');
    assert.deepEqual(pod.seen, ['POST / a', 'POST / b'], 'each reached the pod once');
    assert.ok(pod.seenHeaders.every((h) => h['k-proxy-request'] === 'activator'), 'extra headers reach the pod');
    clock.advance(1000);
    assert.equal(qp.report().rps, 2, 'both in-process requests counted in the pod\'s stats');
    qp.retire();
    const gone = await request(fport, { method: 'POST', body: 'c' });
    assert.equal(gone.status, 599, 'a retired pod hands the request back to the caller');
    assert.equal(pod.seen.length, 2, 'the retired pod never got it');
    assert.deepEqual(outcomes, ['done', 'done', 'unreached'], 'outcomes');
  } finally { await qp.close(); await pod.close(); await new Promise<void>((r) => { front.close(() => r()); front.closeAllConnections(); }); }
});

test('accept: a pod that refuses the connection → unreached (safe to send elsewhere)', async () => {
  const qp = new QueueProxy({ name: 'default/dead', target: { host: '127.0.0.1', port: await deadPort() }, containerConcurrency: 0, clock: realClock });
  const front = (await import('node:http')).createServer((req, res) => {
    void qp.accept(req, res).then((o) => { res.writeHead(o.kind === 'unreached' ? 599 : 200).end(o.kind); });
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  try {
    const r = await request((front.address() as { port: number }).port, { method: 'POST', body: 'x' });
    assert.equal(r.status, 599, 'unreached');
  } finally { await qp.close(); await new Promise<void>((r) => { front.close(() => r()); front.closeAllConnections(); }); }
});

test('an idle keep-alive socket to the pod is dropped before a pod with a 5 s keep-alive would close it', async () => {
  const pod = await testPod('pod');
  const qp = new QueueProxy({ name: 'default/pod', target: { host: '127.0.0.1', port: pod.port }, containerConcurrency: 0, clock: realClock });
  const port = await qp.listen(0);
  try {
    const r = await request(port, { method: 'POST', body: 'a' });
    assert.equal(r.status, 200, 'answered');
    const agent = (qp as unknown as { agent: import('node:http').Agent }).agent;
    const free = () => Object.values(agent.freeSockets).flat().length;
    assert.equal(free(), 1, 'the socket to the pod is kept for reuse');
    await until('idle socket dropped', () => free() === 0, 4000);
  } finally { await qp.close(); await pod.close(); }
});

test('retiring (the pod is stopping) drops the idle sockets to the pod at once', async () => {
  const pod = await testPod('pod');
  const qp = new QueueProxy({ name: 'default/pod', target: { host: '127.0.0.1', port: pod.port }, containerConcurrency: 0, clock: realClock });
  const port = await qp.listen(0);
  try {
    assert.equal((await request(port, { method: 'POST', body: 'a' })).status, 200, 'answered');
    const agent = (qp as unknown as { agent: import('node:http').Agent }).agent;
    assert.equal(Object.values(agent.freeSockets).flat().length, 1, 'one idle socket kept');
    qp.retire();
    assert.equal(qp.isRetired, true, 'retired');
    await until('idle socket closed', () => Object.values(agent.freeSockets).flat().length === 0, 1000);
    assert.deepEqual(pod.seen, ['POST / a'], 'nothing else reached the pod');
  } finally { await qp.close(); await pod.close(); }
});
