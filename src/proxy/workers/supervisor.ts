/**
 * The proxy's primary process: forks `concurrency` workers (node:cluster, each accepting on the
 * shared listening sockets itself: SCHED_NONE), restarts a worker that dies (with backoff), and
 * replaces a worker whose RSS passes `maxMemoryMb` alone: a new worker starts, the old one drains
 * (stops accepting, finishes in-flight requests) and exits. DESIGN.md lesson: proxy memory is
 * capped and the proxy restarts alone; pods keep running. Serves the admin API by asking workers.
 */
import cluster, { type Worker } from 'node:cluster';
import { backoffDelay } from '../../lib/backoff.ts';
import { log } from '../../lib/log.ts';
import type { Bootstrap } from '../bootstrap.ts';
import type { AdminSource } from '../admin/admin-server.ts';
import type { StatSample } from '../stats/proxy-stats.ts';
import { WORKER_BOOTSTRAP_ENV, type FromWorker, type ToWorker } from './worker-protocol.ts';
import { workerEntry } from './worker-bundle.ts';

interface WorkerState {
  worker: Worker;
  ready: boolean;
  rssMb: number;
  draining: boolean;
  ports: Record<string, number>;
  startedAt: number;
}

export interface SupervisorEvents { onWorkerReplaced?(reason: 'memory' | 'exit', pid: number): void }

export class Supervisor {
  private readonly workers = new Map<number, WorkerState>();
  private stopping = false;
  private crashes = 0;
  private queryId = 0;
  private readonly pending = new Map<number, (m: FromWorker) => void>();
  restarts = { memory: 0, exit: 0 };
  private isDraining = false;
  /** Whether workers run from the esbuild bundle (plain Node) rather than under tsx. */
  bundled = false;

  constructor(private readonly bootstrap: Bootstrap, private readonly events: SupervisorEvents = {}) {}

  start(): void {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const entry = workerEntry();
    this.bundled = entry.bundled;
    cluster.setupPrimary({ exec: entry.exec, execArgv: entry.execArgv, silent: false });
    for (let i = 0; i < this.bootstrap.concurrency; i++) this.fork();
  }

  private fork(): WorkerState {
    const worker = cluster.fork({ [WORKER_BOOTSTRAP_ENV]: JSON.stringify(this.bootstrap) });
    const st: WorkerState = { worker, ready: false, rssMb: 0, draining: false, ports: {}, startedAt: Date.now() };
    this.workers.set(worker.id, st);
    worker.on('message', (m: FromWorker) => this.onMessage(st, m));
    // IPC to a worker that is exiting fails with EPIPE; its 'exit' handler deals with the worker.
    worker.on('error', (e) => log.debug({ pid: worker.process.pid, err: e.message }, 'worker IPC error'));
    worker.on('exit', (code, signal) => this.onExit(st, code, signal));
    return st;
  }

  private onMessage(st: WorkerState, m: FromWorker): void {
    if (m.type === 'status') {
      st.ready = m.ready;
      st.rssMb = m.rssMb;
      st.ports = m.ports;
      if (!st.draining && !this.stopping && m.rssMb > this.bootstrap.maxMemoryMb) this.replaceForMemory(st);
    } else if (m.type === 'reply') {
      this.pending.get(m.id)?.(m);
      this.pending.delete(m.id);
    }
  }

  private replaceForMemory(st: WorkerState): void {
    log.warn({ pid: st.worker.process.pid, rssMb: st.rssMb, maxMemoryMb: this.bootstrap.maxMemoryMb }, 'proxy worker over its memory cap; replacing it alone');
    this.restarts.memory++;
    st.draining = true;
    this.fork();
    this.events.onWorkerReplaced?.('memory', st.worker.process.pid ?? 0);
    this.send(st, { type: 'drain', timeoutMs: this.bootstrap.drainTimeoutMs });
    setTimeout(() => { if (!st.worker.isDead()) st.worker.kill('SIGKILL'); }, this.bootstrap.drainTimeoutMs + 2000).unref();
  }

  private onExit(st: WorkerState, code: number | null, signal: string | null): void {
    this.workers.delete(st.worker.id);
    if (this.stopping || st.draining) return;
    this.restarts.exit++;
    const delay = backoffDelay(this.crashes++, { baseMs: 100, maxMs: 5000 });
    log.error({ pid: st.worker.process.pid, code, signal, restartInMs: delay }, 'proxy worker died; restarting it');
    this.events.onWorkerReplaced?.('exit', st.worker.process.pid ?? 0);
    setTimeout(() => {
      if (this.stopping) return;
      const ns = this.fork();
      // A worker that stays up 30 s resets the crash backoff.
      setTimeout(() => { if (!ns.worker.isDead()) this.crashes = 0; }, 30_000).unref();
    }, delay).unref();
  }

  private send(st: WorkerState, m: ToWorker): void {
    if (st.worker.isConnected()) st.worker.send(m, (e: Error | null) => { if (e) log.debug({ err: e.message }, 'worker IPC send failed'); });
  }

  private query(st: WorkerState, what: 'samples' | 'config_dump' | 'info'): Promise<FromWorker | undefined> {
    const id = ++this.queryId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(id); resolve(undefined); }, 2000);
      this.pending.set(id, (m) => { clearTimeout(timer); resolve(m); });
      this.send(st, { type: 'query', id, what });
    });
  }

  live(): WorkerState[] { return [...this.workers.values()].filter((w) => !w.draining); }
  pids(): number[] { return this.live().map((w) => w.worker.process.pid ?? 0); }
  get ready(): boolean { const l = this.live(); return l.length > 0 && l.every((w) => w.ready); }
  ports(): Record<string, number> { return this.live()[0]?.ports ?? {}; }

  /** Drains every worker (bounded by the drain timeout) and resolves when all exited. */
  async drain(): Promise<void> {
    this.isDraining = true;
    this.stopping = true;
    const all = [...this.workers.values()];
    await Promise.all(all.map((st) => new Promise<void>((resolve) => {
      if (st.worker.isDead()) return resolve();
      st.worker.once('exit', () => resolve());
      st.draining = true;
      this.send(st, { type: 'drain', timeoutMs: this.bootstrap.drainTimeoutMs });
      setTimeout(() => { if (!st.worker.isDead()) st.worker.kill('SIGKILL'); }, this.bootstrap.drainTimeoutMs + 2000).unref();
    })));
  }

  adminSource(onDrained: () => void): AdminSource {
    return {
      samples: async () => {
        const replies = await Promise.all(this.live().map((w) => this.query(w, 'samples')));
        const sets: StatSample[][] = [];
        for (const r of replies) if (r?.type === 'reply' && r.samples) sets.push(r.samples);
        return sets;
      },
      configDump: async () => {
        const w = this.live()[0];
        const r = w ? await this.query(w, 'config_dump') : undefined;
        return r?.type === 'reply' && r.dump ? r.dump : { configs: [] };
      },
      ready: async () => this.ready,
      draining: () => this.isDraining,
      drain: async () => { await this.drain(); onDrained(); },
      serverInfo: async () => {
        const live = this.live();
        const infos = await Promise.all(live.map((w) => this.query(w, 'info')));
        return {
          version: 'sluice-proxy/0.1.0',
          state: this.isDraining ? 'DRAINING' : this.ready ? 'LIVE' : 'PRE_INITIALIZING',
          node: this.bootstrap.node,
          role: this.bootstrap.role,
          concurrency: this.bootstrap.concurrency,
          max_memory_mb: this.bootstrap.maxMemoryMb,
          restarts: this.restarts,
          workers: live.map((w, i) => ({ pid: w.worker.process.pid, rss_mb: w.rssMb, ready: w.ready, draining: w.draining, info: infos[i]?.type === 'reply' ? infos[i].info : undefined })),
        };
      },
    };
  }
}
