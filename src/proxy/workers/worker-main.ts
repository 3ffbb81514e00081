/**
 * Entry point of one proxy worker process: runs a ProxyInstance from the bootstrap the
 * supervisor resolved, reports readiness and RSS, answers stats/config queries, and drains on
 * request (stop accepting, finish in-flight requests, exit).
 */
import cluster from 'node:cluster';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { log } from '../../lib/log.ts';
import type { Bootstrap } from '../bootstrap.ts';
import { ProxyInstance } from '../proxy-instance.ts';
import { STATUS_INTERVAL_MS, WORKER_BOOTSTRAP_ENV, type FromWorker, type ToWorker } from './worker-protocol.ts';

// IPC writes can fail with EPIPE while the supervisor goes away; the disconnect handler drains then.
const send = (m: FromWorker) => { if (process.connected) process.send!(m, undefined, {}, () => {}); };
cluster.worker?.on('error', (e) => log.debug({ err: e.message }, 'worker IPC error'));

function main(): void {
  const raw = process.env[WORKER_BOOTSTRAP_ENV];
  if (!raw || !process.send) {
    process.stderr.write('sluice proxy worker: must be started by the proxy supervisor\n');
    process.exit(2);
  }
  const bootstrap = JSON.parse(raw) as Bootstrap;
  const p = new ProxyInstance(bootstrap);
  collectAfterConfigChanges(p);
  p.start();
  let draining = false;
  const status = () => send({ type: 'status', ready: p.ready, rssMb: Math.round(process.memoryUsage().rss / 1048576), ports: p.listeners.ports() });
  const timer = setInterval(status, STATUS_INTERVAL_MS);
  const drain = async (timeoutMs: number) => {
    if (draining) return;
    draining = true;
    clearInterval(timer);
    log.info({ pid: process.pid, timeoutMs }, 'worker draining');
    await p.drain(timeoutMs).catch((e) => log.error({ err: (e as Error).message }, 'drain failed'));
    send({ type: 'drained' });
    setTimeout(() => process.exit(0), 50);
  };
  process.on('message', (m: ToWorker) => {
    if (m.type === 'drain') void drain(m.timeoutMs);
    else if (m.type === 'query') {
      if (m.what === 'samples') send({ type: 'reply', id: m.id, samples: p.samples() });
      else if (m.what === 'config_dump') send({ type: 'reply', id: m.id, dump: p.configDump() });
      else send({ type: 'reply', id: m.id, info: { pid: process.pid, ready: p.ready, control_plane: p.xds.stats, listeners: p.listeners.ports() } });
    }
  });
  // The supervisor owns signals; a worker ignores SIGINT/SIGTERM sent to the process group and waits for its drain message.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => void drain(bootstrap.drainTimeoutMs));
  process.on('disconnect', () => void drain(bootstrap.drainTimeoutMs));
  status();
}

/**
 * A large xDS update (say 10,000 virtual hosts) decodes into short-lived objects several times
 * the size of the translated config; V8 grows the heap for them and keeps the pages. When the
 * bundled worker runs with --expose-gc, one full collection a second after config changes settle
 * (debounced) hands those pages back, so the worker's RSS reflects the config it holds. A second
 * one SHRINK_AFTER_MS later shrinks the young generation too: V8 shrinks new space only in a
 * collection that sees a low allocation rate over the last few seconds, which the first one,
 * right after decoding, does not (measured: new space 8 MB committed and empty after the first,
 * 1 MB after the second; under traffic it grows back to its cap as needed). It runs only while
 * the worker is idle.
 */
const SHRINK_AFTER_MS = 6000;
const COLLECT_MAX_DELAY_MS = 120_000;
function collectAfterConfigChanges(p: ProxyInstance): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return;
  let timer: NodeJS.Timeout | undefined;
  let shrinkTimer: NodeJS.Timeout | undefined;
  let pendingSince = 0;
  const collect = () => {
    timer = undefined;
    pendingSince = 0;
    // A compacting collection: the decoded update leaves old-space pages sparsely used, and a
    // plain full GC frees only whole empty pages (measured: 10,000 vhosts, old space 43 MB
    // committed for 23 MB live without compaction).
    const t0 = performance.now();
    v8.setFlagsFromString('--compact-on-every-full-gc');
    gc();
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
    log.debug({ memory: process.memoryUsage(), pauseMs: Math.round(performance.now() - t0) }, 'collected after config change');
    scheduleShrink(3);
  };
  // Only while the worker is idle (event loop busy < 2% since the last look): serving traffic
  // keeps the young generation in use anyway, and a full collection would pause requests.
  const scheduleShrink = (tries: number) => {
    if (shrinkTimer) clearTimeout(shrinkTimer);
    let elu = performance.eventLoopUtilization();
    shrinkTimer = setTimeout(() => {
      shrinkTimer = undefined;
      elu = performance.eventLoopUtilization(elu);
      if (elu.utilization < 0.02) gc();
      else if (tries > 1) scheduleShrink(tries - 1);
    }, SHRINK_AFTER_MS);
    shrinkTimer.unref();
  };
  // Debounced: 1 s after the last change, but no later than COLLECT_MAX_DELAY_MS after the first
  // pending one. The cap was 10 s: under steady churn (a new service every 250 ms) each worker
  // then ran a compacting collection of its whole heap every 10 s, a pause (logged below as
  // pauseMs) that the next xDS response, and the Ingress waiting for its ACK, sat behind. V8's
  // own collector bounds the heap meanwhile; this only gives pages back.
  p.store.onChange(() => {
    const now = Date.now();
    if (!pendingSince) pendingSince = now;
    if (timer) clearTimeout(timer);
    if (shrinkTimer) { clearTimeout(shrinkTimer); shrinkTimer = undefined; }
    timer = setTimeout(collect, Math.max(0, Math.min(1000, pendingSince + COLLECT_MAX_DELAY_MS - now)));
    timer.unref();
  });
}

main();
