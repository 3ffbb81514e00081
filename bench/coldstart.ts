/**
 * Cold-start benchmark (`npm run bench:coldstart`): scale-from-zero requests to sluice/hello
 * through the real `sluice up` (gateway → activator → autoscaler → runtime → pod), beside a bare
 * `node` start-to-listen of the same app file in the same run.
 *
 * Services are created in batches (BENCH_COLDSTART_BATCH, default 10) so the machine never runs
 * more than a batch of idle pods: each batch's services become Ready (first pod), then scale to
 * zero (autoscaler config: stable window 2 s, grace 0 s), their processes end, and after a short
 * settle (the gateway now routes them to the activator) each gets exactly one request, one after
 * another. A sample is the time from sending the request (fresh connection) to the last byte of
 * the answer, which must be 200 "Hello World!". Bare samples (spawn → the app's "listening"
 * line, then one TCP connect) alternate with the cold requests.
 *
 * Where the time goes: the control process logs one line per request that waited in the
 * activator ("activator: waiting request answered") with the phases of its cold start in ms
 * after arrival — scale-up decided, pod created (reconcile → runtime), process spawned (the
 * control process has its pid: from the runtime's launcher process, src/runtime/launcher.ts),
 * pod ready (first readiness probe success), request sent on by the activator, first byte back.
 * The bench reads those lines and reports p50/p90/p99 per phase beside the end-to-end numbers,
 * and keeps each request's phases in the results file (`cold_samples`).
 *
 * Prints a table, writes bench/results/coldstart.json (with cores, memory and the 1-minute load
 * average before, during and after), and ends with one JSON line: coldstart_p50_ms,
 * coldstart_p99_ms, bare_median_ms, ratio (cold median / bare median).
 * BENCH_COLDSTART_OUT names another results file (e.g. to keep a before/after pair).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_IMAGES } from '../src/runtime/image-table.ts';
import { freePort } from '../src/runtime/runtime.ts';
import { REPO, gatewayGet, ksvc, processAlive, revisionScale, SERVICES, startSluice, until, type Sluice } from '../test/e2e/autoscale-harness.ts';

const SAMPLES = Math.max(1, Number(process.env.BENCH_COLDSTART_SAMPLES ?? 50));
const BATCH = Math.max(1, Number(process.env.BENCH_COLDSTART_BATCH ?? 10));
const SETTLE_MS = Number(process.env.BENCH_COLDSTART_SETTLE_MS ?? 1500);
const TIMEOUT_MS = 120_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

/** Spawn → the app's own "listening" line (printed in its listen callback), then one connect. */
async function bareStart(): Promise<number> {
  const [file, app] = BUILTIN_IMAGES['sluice/hello']!.command;
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(file!, [app!], { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  try {
    const t = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bare node app did not listen in time')), 20_000);
      let buf = '';
      child.stdout!.on('data', (d) => { buf += String(d); if (buf.includes('listening')) { clearTimeout(timer); resolve(performance.now() - t0); } });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bare node app exited with ${code}`)); });
    });
    if (!(await tryConnect(port))) throw new Error('bare node app printed "listening" but refused a connection');
    return t;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

async function serviceHost(s: Sluice, name: string): Promise<string> {
  return until(`service ${name} Ready`, async () => {
    const r = await s.api('GET', `${SERVICES}/${name}`);
    const ok = r.body?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
    return ok ? new URL(r.body.status.url as string).host : undefined;
  }, TIMEOUT_MS, 200);
}

async function main(): Promise<void> {
  const load0 = os.loadavg()[0]!;
  const s = await startSluice(['  stable-window: 2s', '  scale-to-zero-grace-period: 0s', '  tick-interval: 1s', ''].join('\n'), { prefix: 'sluice-bench-coldstart-', logLevel: 'info' });
  const cold: number[] = [];
  const bare: number[] = [];
  const coldNames: string[] = [];
  const loads: number[] = [];
  try {
    await bareStart(); // warm-up, discarded
    for (let start = 0; start < SAMPLES; start += BATCH) {
      const names = Array.from({ length: Math.min(BATCH, SAMPLES - start) }, (_, i) => `cold-${start + i + 1}`);
      for (const n of names) {
        const r = await s.api('POST', SERVICES, ksvc(n, 'sluice/hello'));
        if (r.status !== 201) throw new Error(`create ${n}: ${r.status} ${JSON.stringify(r.body)}`);
      }
      const hosts = new Map<string, string>();
      for (const n of names) hosts.set(n, await serviceHost(s, n));
      // Every pod of the batch has run; wait for scale to zero and for the processes to end.
      const pids = new Set<number>();
      await until(`batch ${start / BATCH + 1} scaled to zero`, async () => {
        for (const n of names) for (const p of s.podPids(`${n}-00001`)) pids.add(p);
        for (const n of names) {
          const sc = await revisionScale(s, `${n}-00001`);
          if (sc.desired !== 0 || sc.actual !== 0) return false;
        }
        return [...pids].every((p) => !processAlive(p));
      }, TIMEOUT_MS, 250);
      await new Promise((r) => setTimeout(r, SETTLE_MS)); // the gateway gets the activator routes
      for (const n of names) {
        if (s.podPids(`${n}-00001`).length > 0) throw new Error(`${n} has a pod before its cold request`);
        bare.push(await bareStart());
        const t0 = performance.now();
        const r = await gatewayGet(s.endpoints.gateway!, hosts.get(n)!, '/', TIMEOUT_MS);
        const ms = performance.now() - t0;
        if (r.status !== 200 || r.body !== 'Hello World!\n') throw new Error(`${n}: cold request answered ${r.status} ${JSON.stringify(r.body)}`);
        cold.push(ms);
        coldNames.push(n);
        loads.push(os.loadavg()[0]!);
        console.error(`sample ${cold.length}/${SAMPLES}: cold ${ms.toFixed(1)} ms, bare ${bare.at(-1)!.toFixed(1)} ms`);
      }
      // Free the batch's pods before the next one.
      for (const n of names) await s.api('DELETE', `${SERVICES}/${n}`);
    }
  } finally {
    await s.stop();
  }
  // The activator's per-request phase lines for the cold services.
  const phaseNames = ['decided', 'podCreated', 'spawned', 'ready', 'forwarded', 'firstByte'] as const;
  const phases: Record<string, number[]> = Object.fromEntries(phaseNames.map((n) => [n, []]));
  const phasesByService = new Map<string, Record<string, number | undefined>>();
  for (const line of s.output().split('\n')) {
    if (!line.includes('waiting request answered') || !line.includes('"default/cold-')) continue;
    try {
      const j = JSON.parse(line) as { revision: string; phases: Record<string, number | undefined> };
      for (const n of phaseNames) { const v = j.phases[n]; if (typeof v === 'number') phases[n]!.push(v); }
      phasesByService.set(j.revision.replace(/^default\//, '').replace(/-00001$/, ''), j.phases);
    } catch { /* not JSON */ }
  }
  const phaseStats = Object.fromEntries(phaseNames.filter((n) => phases[n]!.length > 0).map((n) => [n, {
    n: phases[n]!.length, p50_ms: +median(phases[n]!).toFixed(1), p90_ms: +pct(phases[n]!, 90).toFixed(1), p99_ms: +pct(phases[n]!, 99).toFixed(1),
  }]));
  const result = {
    bench: 'coldstart',
    samples: cold.length,
    coldstart_p50_ms: +median(cold).toFixed(1),
    coldstart_p90_ms: +pct(cold, 90).toFixed(1),
    coldstart_p99_ms: +pct(cold, 99).toFixed(1),
    coldstart_max_ms: +Math.max(...cold).toFixed(1),
    bare_median_ms: +median(bare).toFixed(1),
    bare_p99_ms: +pct(bare, 99).toFixed(1),
    ratio: +(median(cold) / median(bare)).toFixed(3),
    target_p99_ms: 250,
    target_ratio: 1.5,
    cores: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_mb: Math.round(os.totalmem() / 1024 / 1024),
    loadavg_1m_before: +load0.toFixed(2),
    loadavg_1m_after: +os.loadavg()[0]!.toFixed(2),
    loadavg_1m_during: loads.length ? { min: +Math.min(...loads).toFixed(2), median: +median(loads).toFixed(2), max: +Math.max(...loads).toFixed(2) } : undefined,
    phases_after_arrival: phaseStats,
    node: process.version,
    at: new Date().toISOString(),
  };
  console.log('');
  console.log('                          p50      p99');
  console.log(`cold request (sluice) ${result.coldstart_p50_ms.toFixed(1).padStart(8)} ${result.coldstart_p99_ms.toFixed(1).padStart(8)} ms   (target p99 <= 250)`);
  console.log(`bare node start       ${result.bare_median_ms.toFixed(1).padStart(8)} ${result.bare_p99_ms.toFixed(1).padStart(8)} ms`);
  console.log(`ratio (medians)       ${result.ratio.toFixed(3).padStart(8)}   (target <= 1.5)`);
  console.log('phases after arrival at the activator (ms):');
  for (const [n, st] of Object.entries(phaseStats)) console.log(`  ${n.padEnd(12)} ${String(st.p50_ms).padStart(8)} ${String(st.p90_ms).padStart(8)} ${String(st.p99_ms).padStart(8)}   (p50 p90 p99, n=${st.n})`);
  console.log(`load average (1 min): before ${result.loadavg_1m_before}, during ${JSON.stringify(result.loadavg_1m_during)}, after ${result.loadavg_1m_after}; ${result.cores} cores`);
  fs.mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(REPO, 'bench', 'results', process.env.BENCH_COLDSTART_OUT ?? 'coldstart.json'), JSON.stringify({ ...result, cold_ms: cold.map((x) => +x.toFixed(1)), bare_ms: bare.map((x) => +x.toFixed(1)),
    // Per cold request, in order: its service and its phases (ms after arrival at the activator).
    cold_samples: coldNames.map((n, i) => ({ service: n, cold_ms: +cold[i]!.toFixed(1), phases: phasesByService.get(n) })) }, null, 2) + '\n');
  console.log(JSON.stringify(result));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
