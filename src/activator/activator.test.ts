import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/clock.ts';
import type { PodStat } from '../autoscaler/revision-autoscaler.ts';
import { Activator } from './activator.ts';
import { QueueProxy } from './queue-proxy.ts';
import type { Backend, BackendSource } from './backends.ts';
import { deadPort, gate, request, testPod, until } from './test-servers.ts';

class FakeBackends implements BackendSource {
  private map = new Map<string, Backend[]>();
  private fns = new Set<(k: string) => void>();
  set(key: string, b: Backend[]): void { this.map.set(key, b); for (const f of this.fns) f(key); }
  backends(key: string): Backend[] { return this.map.get(key) ?? []; }
  onChange(fn: (k: string) => void): () => void { this.fns.add(fn); return () => this.fns.delete(fn); }
}

const REV = { 'knative-serving-namespace': 'default', 'knative-serving-revision': 'hello-00001', host: 'hello.default.example' };

async function setup(opts: { cc?: number; queueLimit?: number; timeoutMs?: number } = {}) {
  const clock = new FakeClock();
  const backends = new FakeBackends();
  const demands: { key: string; stat: PodStat }[] = [];
  const act = new Activator({ clock, backends, onDemand: (key, stat) => demands.push({ key, stat }), containerConcurrency: () => opts.cc ?? 0, queueLimit: opts.queueLimit, timeoutMs: opts.timeoutMs ?? 10_000 });
  const { port } = await act.listen(0);
  return { clock, backends, demands, act, port };
}

test('a buffered request tells the autoscaler at once and is forwarded, body streamed, when a pod becomes ready', async () => {
  const { backends, demands, act, port } = await setup();
  const pod = await testPod('pod-a');
  try {
    const answer = request(port, { method: 'POST', path: '/hi?x=1', headers: REV, body: 'payload' });
    await until('request buffered', () => act.queued('default/hello-00001') === 1);
    assert.deepEqual(demands[0], { key: 'default/hello-00001', stat: { concurrency: 1, rps: 0 } }, 'the autoscaler hears of the request at once');
    assert.equal(pod.seen.length, 0, 'nothing reaches a pod before it is ready');
    backends.set('default/hello-00001', [{ id: 'default/pod-a', host: '127.0.0.1', port: pod.port }]);
    const r = await answer;
    assert.equal(r.status, 200, 'answered by the pod');
    assert.equal(r.body, 'pod-a:POST /hi?x=1 payload', 'path, method and body arrive intact');
    assert.equal(r.headers['x-pod'], 'pod-a', 'response headers pass through');
    assert.deepEqual(pod.seen, ['POST /hi?x=1 payload'], 'the pod saw the request exactly once');
    assert.equal(act.queued('default/hello-00001'), 0, 'queue empty afterwards');
  } finally { await act.close(); await pod.close(); }
});

test('no revision headers → 400 naming the headers; a full queue → 503; a request waiting too long → 504', async () => {
  const { clock, act, port } = await setup({ queueLimit: 1, timeoutMs: 5000 });
  try {
    const noHdr = await request(port, { headers: { host: 'x.example' } });
    assert.equal(noHdr.status, 400, 'no revision → 400');
    assert.match(noHdr.body, /Knative-Serving-Revision/, 'the body names the missing header');
    const waiting = request(port, { headers: REV });
    await until('first buffered', () => act.queued('default/hello-00001') === 1);
    const full = await request(port, { headers: REV });
    assert.equal(full.status, 503, 'queue full → 503');
    assert.equal(full.headers['x-sluice-error'], 'SLUICE_E_ACTIVATOR_QUEUE_FULL', 'error code header');
    assert.match(full.body, /default\/hello-00001 has 1 requests waiting/, 'the body names the revision and the queue');
    clock.advance(5001);
    const timedOut = await waiting;
    assert.equal(timedOut.status, 504, 'timed out → 504');
    assert.match(timedOut.body, /no ready pod within 5000 ms/, 'the body says why');
    assert.equal(act.counts.timedOut, 1, 'one timeout counted');
  } finally { await act.close(); }
});

test('a pod that refuses the connection never got the request: it goes to the next pod, exactly once', async () => {
  const { backends, act, port } = await setup();
  const good = await testPod('good');
  const dead = await deadPort();
  try {
    backends.set('default/hello-00001', [{ id: 'default/dead', host: '127.0.0.1', port: dead }]);
    const answer = request(port, { method: 'PUT', headers: REV, body: 'once' });
    await until('refused and requeued', () => act.counts.resent === 1 && act.queued('default/hello-00001') === 1);
    backends.set('default/hello-00001', [{ id: 'default/dead', host: '127.0.0.1', port: dead }, { id: 'default/good', host: '127.0.0.1', port: good.port }]);
    const r = await answer;
    assert.equal(r.status, 200, 'answered by the good pod');
    assert.deepEqual(good.seen, ['PUT / once'], 'the good pod saw it once');
  } finally { await act.close(); await good.close(); }
});

test('a request that reached a pod and failed is answered 502 and not sent again', async () => {
  const { backends, act, port } = await setup();
  const bad = await testPod('bad', { breakMidway: true });
  const other = await testPod('other');
  try {
    backends.set('default/hello-00001', [{ id: 'default/bad', host: '127.0.0.1', port: bad.port }]);
    const r = await request(port, { headers: REV }).catch((e: Error) => ({ status: -1, body: e.message, headers: {} }));
    assert.notEqual(r.status, 200, `a broken answer is not passed off as success (got ${r.status})`);
    backends.set('default/hello-00001', [{ id: 'default/bad', host: '127.0.0.1', port: bad.port }, { id: 'default/other', host: '127.0.0.1', port: other.port }]);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(bad.seen.length, 1, 'the failing pod saw it once');
    assert.equal(other.seen.length, 0, 'no retry went to another pod');
  } finally { await act.close(); await bad.close(); await other.close(); }
});

test('containerConcurrency 1: the activator never sends a pod more than one request at a time', async () => {
  const { backends, act, port } = await setup({ cc: 1 });
  const g = gate();
  const pod = await testPod('slow', { hold: () => g.wait() });
  try {
    const answers = [1, 2, 3].map((i) => request(port, { method: 'POST', headers: REV, body: String(i) }));
    await until('all buffered', () => act.queued('default/hello-00001') === 3);
    backends.set('default/hello-00001', [{ id: 'default/slow', host: '127.0.0.1', port: pod.port }]);
    for (let i = 0; i < 3; i++) {
      await until(`request ${i + 1} in the pod`, () => pod.seen.length === i + 1 && g.waiting() === 1);
      assert.equal(act.queued('default/hello-00001'), 2 - i, 'the rest stay buffered');
      g.open();
    }
    const rs = await Promise.all(answers);
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200], 'all answered');
    assert.deepEqual(rs.map((r) => r.body), ['slow:POST / 1', 'slow:POST / 2', 'slow:POST / 3'], 'in arrival order');
    assert.equal(pod.maxConcurrent, 1, 'never more than containerConcurrency in the pod');
  } finally { await act.close(); await pod.close(); }
});

test('while requests wait, the activator reports its queue depth every second', async () => {
  const { clock, backends, demands, act, port } = await setup();
  const pod = await testPod('p');
  try {
    const answers = [request(port, { headers: REV }), request(port, { headers: REV })];
    await until('two buffered', () => act.queued('default/hello-00001') === 2);
    clock.advance(1000);
    const last = demands.at(-1)!;
    assert.equal(last.key, 'default/hello-00001', 'reported for the revision');
    assert.ok(last.stat.concurrency > 0 && last.stat.concurrency <= 2, `average queue depth over the second in (0, 2], got ${last.stat.concurrency}`);
    backends.set('default/hello-00001', [{ id: 'default/p', host: '127.0.0.1', port: pod.port }]);
    await Promise.all(answers);
  } finally { await act.close(); await pod.close(); }
});

test('proxy mode: with ready pods the activator load-balances across them within containerConcurrency, each request once', async () => {
  const { backends, act, port } = await setup({ cc: 2 });
  const g = gate();
  const a = await testPod('a', { hold: () => g.wait() });
  const b = await testPod('b', { hold: () => g.wait() });
  try {
    backends.set('default/hello-00001', [{ id: 'default/a', host: '127.0.0.1', port: a.port }, { id: 'default/b', host: '127.0.0.1', port: b.port }]);
    const answers = Array.from({ length: 6 }, (_, i) => request(port, { method: 'POST', headers: REV, body: `r${i}` }));
    await until('both pods full, the rest buffered', () => a.seen.length === 2 && b.seen.length === 2 && act.queued('default/hello-00001') === 2);
    assert.equal(act.counts.buffered, 2, 'only what found no room waited');
    g.open();
    await until('the buffered two reach a pod', () => a.seen.length + b.seen.length === 6);
    g.open();
    const rs = await Promise.all(answers);
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'all answered');
    const bodies = [...a.seen, ...b.seen].map((s) => s.split(' ').at(-1)).sort();
    assert.deepEqual(bodies, ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'], 'each request reached exactly one pod, once');
    assert.ok(a.maxConcurrent <= 2 && b.maxConcurrent <= 2, `never more than containerConcurrency per pod (a ${a.maxConcurrent}, b ${b.maxConcurrent})`);
    assert.ok(a.seen.length >= 2 && b.seen.length >= 2, 'both pods took a share');
    assert.ok([...a.seenHeaders, ...b.seenHeaders].every((h) => h['k-proxy-request'] === 'activator'), 'pods see K-Proxy-Request: activator');
    assert.equal(act.revisionCounts.get('default/hello-00001')?.forwarded, 6, 'per-revision forwarded counter');
  } finally { await act.close(); await a.close(); await b.close(); }
});

test('a pod\'s queue-proxy in the same process gets requests in-process; one that hands a request back never got it', async () => {
  const { clock, backends, act, port } = await setup();
  const a = await testPod('a');
  const b = await testPod('b');
  const qa = new QueueProxy({ name: 'default/a', target: { host: '127.0.0.1', port: a.port }, containerConcurrency: 0, clock });
  const qb = new QueueProxy({ name: 'default/b', target: { host: '127.0.0.1', port: b.port }, containerConcurrency: 0, clock });
  const local = (qp: QueueProxy) => (req: any, res: any, o: any) => qp.accept(req, res, o);
  try {
    // Ports nothing listens on: only the in-process path can reach these pods.
    backends.set('default/hello-00001', [{ id: 'default/a', host: '127.0.0.1', port: await deadPort(), local: local(qa) }]);
    const r1 = await request(port, { method: 'POST', headers: REV, body: 'one' });
    assert.equal(r1.status, 200, 'answered through the in-process queue-proxy');
    assert.deepEqual(a.seen, ['POST / one'], 'pod a saw it once');
    assert.equal(a.seenHeaders[0]?.['k-proxy-request'], 'activator', 'marked as proxied by the activator');
    clock.advance(1000);
    assert.equal(qa.report().rps, 1, 'the pod\'s queue-proxy counted it');
    qa.retire();
    backends.set('default/hello-00001', [
      { id: 'default/a', host: '127.0.0.1', port: await deadPort(), local: local(qa) },
      { id: 'default/b', host: '127.0.0.1', port: await deadPort(), local: local(qb) },
    ]);
    const rs = await Promise.all([1, 2, 3].map((i) => request(port, { method: 'POST', headers: REV, body: `r${i}` })));
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200], 'all answered');
    assert.deepEqual(a.seen, ['POST / one'], 'the retired pod got nothing more');
    assert.deepEqual([...b.seen].sort(), ['POST / r1', 'POST / r2', 'POST / r3'], 'each reached pod b exactly once');
  } finally { await act.close(); await qa.close(); await qb.close(); await a.close(); await b.close(); }
});
