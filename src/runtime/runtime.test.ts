import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { MemoryStore } from '../store/memory-store.ts';
import type { Revision } from '../api/types/knative.ts';
import type { Pod } from '../api/types/core.ts';
import { Runtime, PODS_RESOURCE } from './runtime.ts';
import { isAlive } from './pid-registry.ts';
import { podLogPath } from './pod-logs.ts';
import { PORT_ANNOTATION } from './make-pod.ts';

function rev(name: string, container: Record<string, unknown>): Revision {
  return {
    apiVersion: 'serving.knative.dev/v1', kind: 'Revision',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { 'serving.knative.dev/service': 'svc', 'serving.knative.dev/configuration': 'svc' } },
    spec: { containers: [{ image: 'sluice/hello', ...container }] },
  };
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setup(opts: Partial<ConstructorParameters<typeof Runtime>[0]> = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'sluice-rt-'));
  const store = new MemoryStore();
  const rt = new Runtime({ store, stateDir, restartBaseMs: 50, restartMaxMs: 200, ...opts });
  await rt.start();
  return { stateDir, store, rt, cleanup: async () => { await rt.stop(); await store.close(); rmSync(stateDir, { recursive: true, force: true }); } };
}

test('a hello pod starts, becomes ready, answers on its PORT, and shows as a Pod object', async () => {
  const { store, rt, stateDir, cleanup } = await setup();
  try {
    const r = rev('svc-00001', { env: [{ name: 'TARGET', value: 'sluice' }] });
    rt.ensure(r, 1);
    const pod = await until('ready pod', async () => {
      const items = (await store.list(PODS_RESOURCE, { namespace: 'default' })).items as Pod[];
      return items.find((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
    });
    assert.equal(pod.status?.phase, 'Running');
    assert.equal(pod.status?.podIP, '127.0.0.1');
    assert.match(pod.metadata.name!, /^svc-00001-deployment-[a-z0-9]{10}-[a-z0-9]{5}$/);
    assert.equal(pod.metadata.labels?.['serving.knative.dev/revision'], 'svc-00001');
    assert.ok(pod.status?.conditions?.every((c) => c.lastTransitionTime));
    const port = Number(pod.metadata.annotations?.[PORT_ANNOTATION]);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), 'Hello sluice!\n');
    const pid = rt.livePids()[0];
    assert.ok(isAlive(pid));
    await rt.remove('default/svc-00001');
    assert.equal(isAlive(pid), false, 'process is gone after remove');
    await until('pod object deleted', async () => (await store.list(PODS_RESOURCE, {})).items.length === 0 || undefined);
    assert.ok(existsSync(podLogPath(stateDir, 'default', pod.metadata.name!)), 'log kept after exit');
    assert.match(readFileSync(podLogPath(stateDir, 'default', pod.metadata.name!), 'utf8'), /listening/);
  } finally { await cleanup(); }
});

test('a crashing container restarts with backoff and reports exit code and last log lines', async () => {
  const { store, rt, cleanup } = await setup();
  try {
    const r = rev('crash-00001', { command: [process.execPath, '-e', 'console.log("booting"); console.error("fatal: no database"); process.exit(3)'] });
    rt.ensure(r, 1);
    const pod = await until('crash loop', async () => {
      const items = (await store.list(PODS_RESOURCE, {})).items as Pod[];
      return items.find((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    });
    const cs = pod.status!.containerStatuses![0];
    assert.equal(cs.lastState?.terminated?.exitCode, 3);
    assert.equal(cs.lastState?.terminated?.reason, 'Error');
    assert.match(cs.lastState?.terminated?.message ?? '', /booting\nfatal: no database/);
    assert.equal(cs.ready, false);
  } finally { await cleanup(); }
});

test('scale down stops the extra pods; a memory limit kills an over-limit process as OOMKilled', async () => {
  const { store, rt, cleanup } = await setup({ rssCheckMs: 20 });
  try {
    const r = rev('scale-00001', {});
    rt.ensure(r, 2);
    await until('two ready', () => rt.pods('default/scale-00001').filter((p) => p.ready).length === 2 || undefined);
    rt.ensure(r, 1);
    await until('one left', () => rt.pods('default/scale-00001').length === 1 || undefined);
    assert.equal(rt.livePids().length, 1);

    const hog = rev('hog-00001', {
      command: [process.execPath, '-e', 'const a=[]; setInterval(()=>{ a.push(Buffer.alloc(8<<20, 1)); }, 5); require("http").createServer().listen(process.env.PORT)'],
      resources: { limits: { memory: '64Mi' } },
    });
    rt.ensure(hog, 1);
    const pod = await until('OOMKilled', async () => {
      const items = (await store.list(PODS_RESOURCE, {})).items as Pod[];
      return items.find((p) => p.metadata.labels?.['serving.knative.dev/revision'] === 'hog-00001' && p.status?.containerStatuses?.[0]?.lastState?.terminated?.reason === 'OOMKilled');
    });
    assert.equal(pod.status!.containerStatuses![0].lastState!.terminated!.exitCode, 137);
  } finally { await cleanup(); }
});

test('start() kills processes recorded by an earlier run on the same state dir', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'sluice-rt-'));
  const store = new MemoryStore();
  try {
    const first = new Runtime({ store, stateDir });
    await first.start();
    first.ensure(rev('old-00001', {}), 1);
    await until('running', () => first.pods('default/old-00001').find((p) => p.ready));
    const pid = first.livePids()[0];
    // Simulate a crashed `sluice up`: the runtime object is dropped without stop().
    const second = new Runtime({ store, stateDir });
    const { killed, deletedPods } = await second.start();
    assert.deepEqual(killed.map((k) => k.pid), [pid]);
    assert.equal(deletedPods, 1);
    await until('old pid gone', () => !isAlive(pid) || undefined);
    await second.stop();
    await first.stop();
  } finally { await store.close(); rmSync(stateDir, { recursive: true, force: true }); }
});

// Used by bench comparisons: a bare node start of the same file must work standalone.
test('the built-in hello app runs standalone with plain node', async () => {
  const { BUILTIN_IMAGES } = await import('./image-table.ts');
  const [file, app] = BUILTIN_IMAGES['sluice/hello'].command;
  const child = spawn(file, [app], { env: { PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d))));
    assert.match(line, /hello: listening on \d+/);
  } finally { child.kill('SIGKILL'); }
});
