/**
 * One pod: a child process in its own process group, with the kubelet's behaviour:
 * readiness probing (aggressive until the first success, like Knative's queue-proxy, then every
 * periodSeconds with failure/success thresholds), liveness probing (restart on failure),
 * restart with exponential backoff (10 s doubling to 5 min, reason CrashLoopBackOff; the first
 * restart is immediate; the backoff resets after 10 min of running), an RSS watchdog for
 * memory limits (OOMKilled), logs appended to a file, and graceful termination (SIGTERM to the
 * group, SIGKILL after the grace period; the built-in apps drain and exit early).
 */
import { closeSync, existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Clock, Timer } from '../lib/clock.ts';
import type { Probe } from '../api/types/core.ts';
import { openPodLog, tailLines } from './pod-logs.ts';
import { readRss } from './memory-limit.ts';
import { runProbe, probeTiming } from './probe.ts';
import { directSpawner, type SpawnHandle, type Spawner } from './launcher.ts';

export interface ContainerTermination {
  exitCode: number;
  signal?: string;
  reason: 'Error' | 'Completed' | 'OOMKilled' | 'StartError';
  message: string;
  startedAt: number;
  finishedAt: number;
}

export interface PodState {
  namespace: string;
  name: string;
  port: number;
  createdAt: number;
  pid?: number;
  container: 'waiting' | 'running' | 'terminated';
  waitingReason?: string;
  waitingMessage?: string;
  startedAt?: number;
  ready: boolean;
  readyChangedAt: number;
  restartCount: number;
  lastTermination?: ContainerTermination;
  terminating: boolean;
  /** Set once the process is gone for good (after stop). */
  finished: boolean;
}

export interface PodProcessOptions {
  namespace: string;
  name: string;
  port: number;
  file: string;
  args: string[];
  env: Record<string, string>;
  workingDir?: string;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  /** Holds readiness and liveness probing until it succeeds; failureThreshold failures restart. */
  startupProbe?: Probe;
  declaredPort?: number;
  memoryLimitBytes?: number;
  stateDir: string;
  clock: Clock;
  /** Interval of the aggressive probing before the first readiness success (default 5 ms). */
  fastProbeMs?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  rssCheckMs?: number;
  /** Time between leaving the Endpoints and SIGTERM (default 0; Knative's queue-proxy drains). */
  drainDelayMs?: number;
  /** How many log lines a termination message carries (default 10). */
  messageLines?: number;
  onChange: (s: PodState) => void;
  /** How the process is started (default: child_process.spawn in this process). */
  spawner?: Spawner;
  /** The process runs; `info` says whose child it is and its kernel start time when known. */
  onSpawn?: (pid: number, info: { viaLauncher: boolean; startTime?: string }) => void;
  onReap?: (pid: number) => void;
}

const RESET_BACKOFF_AFTER_MS = 10 * 60_000;

export class PodProcess {
  readonly state: PodState;
  private readonly o: PodProcessOptions;
  /** The process from the spawn request until its exit (pid once it runs). */
  private child: { pid?: number; exited: boolean; handle?: SpawnHandle } | undefined;
  private logOffset = 0;
  private logPath = '';
  private timers = new Set<Timer>();
  private crashes = 0;
  private probeGen = 0;
  private oomKilled = false;
  private probeNote: string | undefined;
  private stopWaiters: (() => void)[] = [];

  constructor(o: PodProcessOptions) {
    this.o = o;
    const now = o.clock.now();
    this.state = {
      namespace: o.namespace, name: o.name, port: o.port, createdAt: now, container: 'waiting',
      waitingReason: 'ContainerCreating', ready: false, readyChangedAt: now, restartCount: 0,
      terminating: false, finished: false,
    };
  }

  private after(ms: number, fn: () => void): void {
    const t = this.o.clock.setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  private changed(): void { this.o.onChange({ ...this.state }); }

  start(): void {
    if (this.state.terminating) return;
    const log = openPodLog(this.o.stateDir, this.o.namespace, this.o.name);
    closeSync(log.fd);
    this.logPath = log.path;
    this.logOffset = log.size;
    this.oomKilled = false;
    this.probeNote = undefined;
    const proc: { pid?: number; exited: boolean; handle?: SpawnHandle } = { exited: false };
    this.child = proc;
    let startedAt = this.o.clock.now();
    proc.handle = (this.o.spawner ?? directSpawner).spawn({ file: this.o.file, args: this.o.args, env: this.o.env, cwd: this.o.workingDir, logPath: log.path }, {
      spawned: (pid, info) => {
        if (proc.exited || this.child !== proc) return;
        proc.pid = pid;
        this.o.onSpawn?.(pid, info);
        if (this.state.terminating) { this.kill('SIGKILL'); return; } // stopped before it ran: nothing to drain
        startedAt = this.o.clock.now();
        Object.assign(this.state, { pid, container: 'running', waitingReason: undefined, waitingMessage: undefined, startedAt });
        this.changed();
        const gen = ++this.probeGen;
        this.startRssWatch(gen, pid);
        if (this.o.startupProbe) this.startStartup(gen);
        else this.startProbes(gen);
      },
      failed: (e) => {
        if (proc.exited) return;
        proc.exited = true;
        const why = e.code !== 'ENOENT' ? e.message
          : this.o.workingDir && !existsSync(this.o.workingDir) ? `workingDir "${this.o.workingDir}" does not exist` : 'executable file not found';
        this.onExit(proc, 127, null, startedAt, `exec: "${this.o.file}": ${why}`);
      },
      exited: (code, signal) => {
        if (proc.exited) return;
        proc.exited = true;
        this.onExit(proc, code, signal, startedAt);
      },
    });
  }

  private startProbes(gen: number): void {
    this.startReadiness(gen);
    this.startLiveness(gen);
  }

  private probe(p: Probe | undefined): ReturnType<typeof runProbe> {
    return runProbe(p, this.o.port, this.o.declaredPort, { env: this.o.env, cwd: this.o.workingDir });
  }

  /** Startup probe: probed at the fast interval until success, then readiness and liveness take over. */
  private startStartup(gen: number): void {
    const p = this.o.startupProbe!;
    const t = probeTiming(p, { periodS: 10 });
    const fast = this.o.fastProbeMs ?? 5;
    let fails = 0;
    const tick = async (): Promise<void> => {
      if (gen !== this.probeGen || this.state.terminating) return;
      const r = await this.probe(p);
      if (gen !== this.probeGen || this.state.terminating) return;
      if (r.ok) { this.startProbes(gen); return; }
      // Failures count per period (Kubernetes' failureThreshold × periodSeconds budget).
      const elapsed = this.o.clock.now() - (this.state.startedAt ?? 0) - t.initialDelayMs;
      fails = Math.floor(elapsed / t.periodMs);
      if (fails >= t.failureThreshold) {
        this.probeNote = `Startup probe failed: ${r.message}`;
        this.kill('SIGKILL');
        return;
      }
      this.after(fast, () => void tick());
    };
    if (t.initialDelayMs > 0) this.after(t.initialDelayMs, () => void tick());
    else void tick();
  }

  private setReady(ready: boolean): void {
    if (this.state.ready === ready) return;
    this.state.ready = ready;
    this.state.readyChangedAt = this.o.clock.now();
    this.changed();
  }

  private startReadiness(gen: number): void {
    const t = probeTiming(this.o.readinessProbe, { periodS: 10 });
    const fast = this.o.fastProbeMs ?? 5;
    let everReady = false, fails = 0, oks = 0;
    const tick = async (): Promise<void> => {
      if (gen !== this.probeGen || this.state.terminating) return;
      const r = await this.probe(this.o.readinessProbe);
      if (gen !== this.probeGen || this.state.terminating) return;
      if (r.ok) {
        fails = 0; oks++;
        if (!everReady || oks >= t.successThreshold) { everReady = true; this.setReady(true); }
      } else {
        oks = 0; fails++;
        if (everReady && fails >= t.failureThreshold) this.setReady(false);
      }
      this.after(everReady ? t.periodMs : fast, () => void tick());
    };
    if (t.initialDelayMs > 0) this.after(t.initialDelayMs, () => void tick());
    else void tick();
  }

  private startLiveness(gen: number): void {
    const p = this.o.livenessProbe;
    if (!p) return;
    const t = probeTiming(p, { periodS: 10 });
    let fails = 0;
    const tick = async (): Promise<void> => {
      if (gen !== this.probeGen || this.state.terminating) return;
      const r = await this.probe(p);
      if (gen !== this.probeGen || this.state.terminating) return;
      fails = r.ok ? 0 : fails + 1;
      if (fails >= t.failureThreshold) {
        this.probeNote = `Liveness probe failed: ${r.ok ? '' : r.message}; container restarted.`;
        this.kill('SIGKILL');
        return;
      }
      this.after(t.periodMs, () => void tick());
    };
    this.after(Math.max(t.initialDelayMs, t.periodMs), () => void tick());
  }

  private startRssWatch(gen: number, pid: number): void {
    const limit = this.o.memoryLimitBytes;
    if (!limit) return;
    const every = this.o.rssCheckMs ?? 1000;
    const check = (): void => {
      if (gen !== this.probeGen) return;
      const rss = readRss(pid);
      if (rss !== undefined && rss > limit) {
        this.oomKilled = true;
        this.kill('SIGKILL');
        return;
      }
      this.after(every, check);
    };
    this.after(every, check);
  }

  /** Signals the process group through its spawner, which knows whether the pid is still its child's. */
  private kill(sig: NodeJS.Signals): void {
    const c = this.child;
    if (!c || c.pid === undefined || c.exited) return;
    c.handle?.kill(sig);
  }

  private onExit(child: { pid?: number }, code: number | null, signal: NodeJS.Signals | null, startedAt: number, spawnError?: string): void {
    // The spawner has already killed what was left of the process group (grandchildren), in
    // the same turn it reaped the process.
    if (child.pid !== undefined) this.o.onReap?.(child.pid);
    this.probeGen++;
    const now = this.o.clock.now();
    const exitCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
    const logLines = spawnError ? [spawnError] : tailLines(this.logPath, this.o.messageLines ?? 10, this.logOffset);
    let reason: ContainerTermination['reason'] = exitCode === 0 ? 'Completed' : 'Error';
    if (this.oomKilled) reason = 'OOMKilled';
    if (spawnError) reason = 'StartError';
    let message = logLines.join('\n');
    if (this.probeNote) message = `${this.probeNote}${message ? '\n' + message : ''}`;
    if (this.oomKilled) message = `memory limit of ${this.o.memoryLimitBytes} bytes exceeded (RSS)${message ? '\n' + message : ''}`;
    const term: ContainerTermination = { exitCode, signal: signal ?? undefined, reason, message, startedAt, finishedAt: now };
    this.child = undefined;
    Object.assign(this.state, { pid: undefined, lastTermination: term, ready: false });
    this.state.readyChangedAt = now;
    if (this.state.terminating) {
      this.state.container = 'terminated';
      this.state.finished = true;
      this.changed();
      for (const t of this.timers) this.o.clock.clearTimeout(t);
      this.timers.clear();
      const ws = this.stopWaiters;
      this.stopWaiters = [];
      for (const w of ws) w();
      return;
    }
    if (now - startedAt >= RESET_BACKOFF_AFTER_MS) this.crashes = 0;
    const base = this.o.restartBaseMs ?? 10_000;
    const max = this.o.restartMaxMs ?? 300_000;
    const delay = this.crashes === 0 ? 0 : Math.min(max, base * 2 ** (this.crashes - 1));
    this.crashes++;
    this.state.restartCount++;
    this.state.container = 'waiting';
    this.state.waitingReason = delay > 0 ? 'CrashLoopBackOff' : 'ContainerCreating';
    this.state.waitingMessage = delay > 0 ? `back-off ${Math.round(delay / 1000)}s restarting failed container=user-container pod=${this.o.name}` : undefined;
    this.changed();
    this.after(delay, () => this.start());
  }

  /** Graceful stop: not ready at once, SIGTERM to the group (after drainDelayMs), SIGKILL `graceMs` later. */
  stop(graceMs: number): Promise<void> {
    if (this.state.finished) return Promise.resolve();
    const p = new Promise<void>((r) => this.stopWaiters.push(r));
    if (this.state.terminating) return p;
    this.state.terminating = true;
    this.state.ready = false;
    this.state.readyChangedAt = this.o.clock.now();
    for (const t of this.timers) this.o.clock.clearTimeout(t);
    this.timers.clear();
    if (!this.child) {
      // Waiting to restart (or never started): nothing to signal.
      this.state.finished = true;
      this.state.container = 'terminated';
      this.changed();
      const ws = this.stopWaiters; this.stopWaiters = [];
      for (const w of ws) w();
      return p;
    }
    this.changed();
    const term = (): void => {
      this.kill('SIGTERM');
      this.after(graceMs, () => this.kill('SIGKILL'));
    };
    // Drain: the pod is already out of the Endpoints (not ready); it keeps serving for
    // drainDelayMs so proxies that still hold the old endpoint list do not hit a closed port.
    const drain = this.o.drainDelayMs ?? 0;
    if (drain > 0) this.after(drain, term);
    else term();
    return p;
  }

  /** Immediate SIGKILL of the whole group (shutdown of last resort). */
  killNow(): void {
    this.state.terminating = true;
    for (const t of this.timers) this.o.clock.clearTimeout(t);
    this.timers.clear();
    this.kill('SIGKILL');
  }

  get pid(): number | undefined { return this.child?.pid; }
}

function signalNumber(s: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[s] ?? 0;
}
