import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../lib/clock.ts';
import { PodProcess, type PodState } from './pod-process.ts';
import { freePort } from './runtime.ts';
import { isAlive } from './pid-registry.ts';
import { BUILTIN_IMAGES } from './image-table.ts';

function waitState(states: PodState[], what: string, pred: (s: PodState) => boolean, ms = 10_000): Promise<PodState> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const tick = (): void => {
      const s = states.find(pred);
      if (s) return resolve(s);
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}; states: ${JSON.stringify(states.slice(-3))}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

async function pod(script: string, extra: Partial<ConstructorParameters<typeof PodProcess>[0]> = {}, env: Record<string, string> = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'sluice-pod-'));
  const port = await freePort();
  const states: PodState[] = [];
  const p = new PodProcess({
    namespace: 'default', name: 'p1', port, file: process.execPath, args: ['-e', script],
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env }, stateDir, clock: realClock,
    restartBaseMs: 50, restartMaxMs: 100, onChange: (s) => states.push(s), ...extra,
  });
  p.start();
  return { p, port, states, cleanup: async () => { await p.stop(100); rmSync(stateDir, { recursive: true, force: true }); } };
}

const SERVER = `const h = require('http'); let n = 0;
h.createServer((q, s) => { if (q.url === '/healthz') { n++; s.statusCode = n > Number(process.env.HEALTHY_FOR || 1e9) ? 500 : 200; } s.end('ok'); }).listen(process.env.PORT);`;

test('httpGet readiness with a path becomes ready; the pod answers', async () => {
  const { port, states, cleanup } = await pod(SERVER, { readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 }, declaredPort: 8080 });
  try {
    await waitState(states, 'ready', (s) => s.ready);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'ok');
  } finally { await cleanup(); }
});

test('readiness turns false after failureThreshold failures', async () => {
  const { states, cleanup } = await pod(SERVER, {
    readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 1, failureThreshold: 1 },
  }, { HEALTHY_FOR: '1' });
  try {
    const ready = await waitState(states, 'ready', (s) => s.ready);
    const unready = await waitState(states, 'not ready again', (s) => !s.ready && s.readyChangedAt > ready.readyChangedAt && s.container === 'running');
    assert.equal(unready.restartCount, 0, 'readiness failures never restart');
  } finally { await cleanup(); }
});

test('a failing liveness probe restarts the container', async () => {
  const { states, cleanup } = await pod(SERVER, {
    livenessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 1, failureThreshold: 1 },
  }, { HEALTHY_FOR: '0' });
  try {
    const s = await waitState(states, 'restart', (x) => x.restartCount >= 1);
    assert.match(s.lastTermination?.message ?? '', /Liveness probe failed/);
  } finally { await cleanup(); }
});

test('graceful stop: SIGTERM drains the built-in app at once; an app ignoring SIGTERM is killed after the grace period', async () => {
  const hello = BUILTIN_IMAGES['sluice/hello'].command;
  const a = await pod('', { file: hello[0], args: hello.slice(1) });
  await waitState(a.states, 'hello ready', (s) => s.ready);
  const pidA = a.p.pid!;
  const t0 = Date.now();
  await a.p.stop(20_000);
  assert.ok(Date.now() - t0 < 5_000, 'drained well before the grace period');
  assert.equal(a.states.at(-1)?.lastTermination?.exitCode, 0);
  assert.equal(isAlive(pidA), false);
  await a.cleanup();

  const b = await pod(`process.on('SIGTERM', () => console.log('ignoring SIGTERM')); require('http').createServer().listen(process.env.PORT);`);
  await waitState(b.states, 'stubborn ready', (s) => s.ready);
  const pidB = b.p.pid!;
  await b.p.stop(300);
  const last = b.states.at(-1)!;
  assert.equal(last.finished, true);
  assert.equal(last.lastTermination?.exitCode, 137, 'SIGKILL after the grace period');
  assert.match(last.lastTermination?.message ?? '', /ignoring SIGTERM/);
  assert.equal(isAlive(pidB), false);
  await b.cleanup();
});

test('with a drain delay the pod keeps answering after it is marked not ready, then exits', async () => {
  const hello = BUILTIN_IMAGES['sluice/hello'].command;
  const a = await pod('', { file: hello[0], args: hello.slice(1), drainDelayMs: 300 });
  try {
    await waitState(a.states, 'ready', (s) => s.ready);
    const stopped = a.p.stop(5_000);
    assert.equal(a.states.at(-1)?.ready, false, 'out of the endpoints at once');
    assert.equal((await fetch(`http://127.0.0.1:${a.port}/`)).status, 200, 'still serving while draining');
    await stopped;
    assert.equal(a.states.at(-1)?.finished, true);
  } finally { await a.cleanup(); }
});

test('exec readiness probe, and a startup probe that holds readiness until it passes', async () => {
  const a = await pod(SERVER, { readinessProbe: { exec: { command: [process.execPath, '-e', 'process.exit(process.env.PORT ? 0 : 1)'] }, periodSeconds: 1 } });
  try { await waitState(a.states, 'exec-probe ready', (s) => s.ready); } finally { await a.cleanup(); }

  const flag = join(tmpdir(), `sluice-startup-${process.pid}-${Date.now()}`);
  const b = await pod(SERVER, { startupProbe: { exec: { command: ['/bin/sh', '-c', `test -e ${flag}`] }, periodSeconds: 10, failureThreshold: 3 } });
  try {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.states.some((s) => s.ready), false, 'not ready while the startup probe fails');
    writeFileSync(flag, '');
    await waitState(b.states, 'ready after startup', (s) => s.ready);
  } finally { rmSync(flag, { force: true }); await b.cleanup(); }
});

test('a missing executable is a StartError with exit code 127', async () => {
  const { states, cleanup } = await pod('', { file: '/nonexistent/app' });
  try {
    const s = await waitState(states, 'start error', (x) => x.lastTermination !== undefined);
    assert.equal(s.lastTermination?.reason, 'StartError');
    assert.equal(s.lastTermination?.exitCode, 127);
    assert.match(s.lastTermination?.message ?? '', /executable file not found/);
  } finally { await cleanup(); }
});
