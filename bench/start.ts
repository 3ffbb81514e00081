/**
 * Start benchmark (`npm run bench:start`): Service create → Ready=True for sluice/hello,
 * beside a bare `node` start-to-listen of the same app file, on this machine in the same run.
 *
 * sluice path (in-process, like `sluice up` without proxies): the SQLite store (the default
 * backend; BENCH_START_STORE=memory for the memory store) + the serving component with
 * ingressReadiness 'immediate'. Timed from just before store.create(Service) to the watch
 * event that carries the Service's Ready=True. Bare path: spawn the same built-in hello app (BUILTIN_IMAGES) with a free
 * PORT, timed until the app prints its "listening" line (from its listen callback), then checked
 * with one TCP connect.
 * Samples alternate bare / sluice, sequentially; one warm-up of each is discarded.
 * Prints a table, writes bench/results/start.json (with cores and memory), ends with one JSON line.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/open-store.ts';
import type { Store } from '../src/store/store.ts';
import type { KubeObject } from '../src/api/meta.ts';
import { getCondition } from '../src/api/conditions.ts';
import { createServingComponent } from '../src/reconcilers/serving-component.ts';
import { R } from '../src/reconcilers/shared/resources.ts';
import { BUILTIN_IMAGES } from '../src/runtime/image-table.ts';
import { freePort } from '../src/runtime/runtime.ts';
import { isAlive } from '../src/runtime/pid-registry.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = Math.max(10, Number(process.env.BENCH_START_SAMPLES ?? 15));
const BACKEND = (process.env.BENCH_START_STORE ?? 'sqlite') as 'sqlite' | 'memory';
const TIMEOUT_MS = 20_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

/** Spawn → the app's own "listening" line on stdout (printed in the listen callback): no probe loop competing for CPU. */
async function bareStart(): Promise<number> {
  const [file, app] = BUILTIN_IMAGES['sluice/hello'].command;
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(file, [app], { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  try {
    const listening = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('bare node app did not listen in time')), TIMEOUT_MS);
      let buf = '';
      child.stdout!.on('data', (d) => {
        buf += String(d);
        if (buf.includes('listening')) { clearTimeout(t); resolve(performance.now() - t0); }
      });
      child.once('exit', (code) => { clearTimeout(t); reject(new Error(`bare node app exited with ${code}`)); });
    });
    if (!(await tryConnect(port))) throw new Error('bare node app printed "listening" but refused a connection');
    return listening;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

function waitReady(store: Store, name: string): Promise<KubeObject> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { w.stop(); reject(new Error(`Service ${name} not Ready within ${TIMEOUT_MS} ms`)); }, TIMEOUT_MS);
    const w = store.watch(R.services, { namespace: 'default' }, (ev) => {
      if (ev.object.metadata.name !== name) return;
      if (getCondition(ev.object.status?.conditions, 'Ready')?.status === 'True') { clearTimeout(t); w.stop(); resolve(ev.object); }
    });
  });
}

async function main(): Promise<void> {
  const load0 = os.loadavg()[0];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-start-'));
  const store = openStore({ backend: BACKEND, path: path.join(stateDir, 'state.db') });
  const serving = createServingComponent({ ingressReadiness: 'immediate' });
  await serving.start({ store, stateDir });
  const bare: number[] = [];
  const ready: number[] = [];
  const stages: { pod_started_ms: number; pod_ready_ms: number; revision_ready_ms: number }[] = [];
  try {
    for (let i = -1; i < SAMPLES; i++) {
      const b = await bareStart();
      const name = `bench-${i + 1}`;
      const svc = {
        apiVersion: 'serving.knative.dev/v1', kind: 'Service',
        metadata: { name, namespace: 'default' },
        spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } },
      };
      const wall0 = Date.now();
      const t0 = performance.now();
      const done = waitReady(store, name);
      await store.create(R.services, svc);
      await done;
      const r = performance.now() - t0;
      const rev = await store.get(R.revisions, 'default', `${name}-00001`);
      const pods = (await store.list(R.pods, { namespace: 'default', labelSelector: `serving.knative.dev/service=${name}` })).items;
      const podReady = getCondition(pods[0]?.status?.conditions, 'Ready')?.lastTransitionTime;
      const podStarted = (pods[0]?.status as { containerStatuses?: { state?: { running?: { startedAt?: string } } }[] } | undefined)?.containerStatuses?.[0]?.state?.running?.startedAt;
      const revReady = getCondition(rev?.status?.conditions, 'Ready')?.lastTransitionTime;
      const pids = serving.runtime!.livePids();
      await store.delete(R.services, 'default', name);
      const end = Date.now() + TIMEOUT_MS;
      while (pids.some(isAlive) && Date.now() < end) await new Promise((res) => setTimeout(res, 5));
      if (i < 0) continue; // warm-up
      bare.push(b);
      ready.push(r);
      stages.push({ pod_started_ms: podStarted ? Date.parse(podStarted) - wall0 : NaN, pod_ready_ms: podReady ? Date.parse(podReady) - wall0 : NaN, revision_ready_ms: revReady ? Date.parse(revReady) - wall0 : NaN });
      console.error(`sample ${i + 1}/${SAMPLES}: bare ${b.toFixed(1)} ms, sluice ${r.toFixed(1)} ms`);
    }
  } finally {
    await serving.stop();
    await store.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  const result = {
    bench: 'start',
    store: BACKEND,
    samples: SAMPLES,
    ready_median_ms: +median(ready).toFixed(1),
    ready_p90_ms: +pct(ready, 90).toFixed(1),
    bare_median_ms: +median(bare).toFixed(1),
    bare_p90_ms: +pct(bare, 90).toFixed(1),
    ratio: +(median(ready) / median(bare)).toFixed(3),
    pod_started_median_ms: median(stages.map((s) => s.pod_started_ms)),
    pod_ready_median_ms: median(stages.map((s) => s.pod_ready_ms)),
    revision_ready_median_ms: median(stages.map((s) => s.revision_ready_ms)),
    target_ratio: 1.5,
    cores: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_mb: Math.round(os.totalmem() / 1024 / 1024),
    loadavg_1m_before: +load0.toFixed(2),
    loadavg_1m_after: +os.loadavg()[0].toFixed(2),
    node: process.version,
    at: new Date().toISOString(),
  };
  console.log('');
  console.log('                       median      p90');
  console.log(`bare node start      ${result.bare_median_ms.toFixed(1).padStart(8)} ${result.bare_p90_ms.toFixed(1).padStart(8)} ms`);
  console.log(`create -> Ready      ${result.ready_median_ms.toFixed(1).padStart(8)} ${result.ready_p90_ms.toFixed(1).padStart(8)} ms`);
  console.log(`  stages after create (medians): pod spawned ${result.pod_started_median_ms} ms, pod Ready ${result.pod_ready_median_ms} ms, revision Ready ${result.revision_ready_median_ms} ms`);
  console.log(`ratio                ${result.ratio.toFixed(3).padStart(8)}   (target <= 1.5)`);
  fs.mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(REPO, 'bench', 'results', 'start.json'), JSON.stringify({ ...result, ready_ms: ready.map((x) => +x.toFixed(1)), bare_ms: bare.map((x) => +x.toFixed(1)) }, null, 2) + '\n');
  console.log(JSON.stringify(result));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
