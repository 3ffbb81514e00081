/**
 * How pod processes are spawned. Two ways, same contract (`Spawner`):
 *
 * - `directSpawner`: child_process.spawn in this process, as before.
 * - `ProcessLauncher`: one small helper process (launcher-main.mjs, plain node, started once
 *   with the runtime) spawns pods on request over Node IPC and reports their pid and exit.
 *   fork() copies the parent's page tables, so a spawn from the control process (hundreds of
 *   MB of heap, busy with the store and xDS) blocked its event loop for 10-50 ms per pod, right
 *   on the cold-start path of a request waiting in the activator; the launcher is small and
 *   idle, and the control process only writes one IPC message. The launcher is platform
 *   plumbing like a container runtime's shim: it runs no application code and starts nothing
 *   ahead of a request (no pre-started pods).
 *
 * The launcher's pods are its children, so it reports their exit codes. Should it die, every
 * pod it started is killed (their exits are reported as SIGKILL, so they restart like crashed
 * containers) and later spawns fall back to `directSpawner`; if the control process dies, the
 * launcher kills its pods' process groups and exits, so pods never outlive sluice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { log } from '../lib/log.ts';
import { procStartTime } from './pid-registry.ts';
import { errorMessage } from '../lib/errors.ts';

export interface SpawnSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** File the process's stdout and stderr append to. */
  logPath: string;
}

export interface SpawnEvents {
  /**
   * The process runs (exec succeeded or is under way). `viaLauncher`: it is the launcher's child,
   * not this process's; `startTime`: its kernel start time, read while it could not be reaped.
   */
  spawned(pid: number, info: { viaLauncher: boolean; startTime?: string }): void;
  /** It could not be started (`code` is the errno name, e.g. ENOENT). */
  failed(e: { code: string; message: string }): void;
  /** It ended, after `spawned`. */
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * Signals the process's group, only while its parent has not reaped it: a pid is never
 * signalled after it may have been given to another process.
 */
export interface SpawnHandle { kill(sig: NodeJS.Signals): void }

export interface Spawner {
  spawn(spec: SpawnSpec, ev: SpawnEvents): SpawnHandle;
}

/** child_process.spawn in this process; `spawned` is called before `spawn` returns. */
export const directSpawner: Spawner = {
  spawn(spec, ev): SpawnHandle {
    const fd = openSync(spec.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    let done = false;
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      ev.failed({ code: e.code ?? 'EIO', message: e.message });
    });
    child.once('exit', (code, signal) => {
      if (done) return;
      done = true;
      // Just reaped, in this same turn: the group may hold grandchildren, none may survive.
      if (child.pid !== undefined) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already empty */ } }
      ev.exited(code, signal);
    });
    if (child.pid !== undefined) ev.spawned(child.pid, { viaLauncher: false });
    return {
      kill(sig) {
        const pid = child.pid;
        if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        try { process.kill(-pid, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
      },
    };
  },
};

type LauncherMsg =
  | { t: 'ready' }
  | { t: 'spawned'; id: number; pid: number; startTime?: string }
  | { t: 'error'; id: number; code: string; message: string }
  | { t: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };

const LAUNCHER_MAIN = fileURLToPath(new URL('./launcher-main.mjs', import.meta.url));

/**
 * Spawns through the launcher process once it has said it is ready; before that (its own start,
 * ~0.1 s after the runtime's) and after it is gone, through `directSpawner`.
 */
export class ProcessLauncher implements Spawner {
  private child: ChildProcess | undefined;
  private ready = false;
  private closing = false;
  private seq = 0;
  private readonly pending = new Map<number, { ev: SpawnEvents; pid?: number; startTime?: string }>();
  private readyWaiters: (() => void)[] = [];

  /** Starts the launcher process (idempotent). Resolves once it is ready or has failed to start. */
  start(): Promise<void> {
    if (this.child || this.closing) return this.whenReady();
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [LAUNCHER_MAIN], {
        // Its own process group: a terminal's Ctrl-C reaches sluice, which drains pods itself.
        detached: true,
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
    } catch (e) {
      log.warn({ err: errorMessage(e) }, 'runtime: could not start the process launcher; pods are spawned from the control process');
      this.settleReady();
      return Promise.resolve();
    }
    this.child = child;
    this.refresh();
    child.on('message', (m: LauncherMsg) => this.onMessage(m));
    child.once('error', (e) => {
      log.warn({ err: errorMessage(e) }, 'runtime: process launcher failed; pods are spawned from the control process');
      this.gone();
    });
    child.once('exit', (code, signal) => {
      if (!this.closing) log.warn({ code, signal }, 'runtime: the process launcher exited; its pods are killed and restart, new pods are spawned from the control process');
      this.gone();
    });
    return this.whenReady();
  }

  private whenReady(): Promise<void> {
    if (this.ready || !this.child || this.closing) return Promise.resolve();
    const p = new Promise<void>((r) => this.readyWaiters.push(r));
    this.refresh();
    return p;
  }

  private settleReady(): void {
    const ws = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of ws) w();
    this.refresh();
  }

  /**
   * The launcher keeps this process alive only while something waits on it (its start, or a
   * process it runs), as a child process handle would; an idle launcher does not.
   */
  private refresh(): void {
    const c = this.child;
    if (!c) return;
    const busy = this.pending.size > 0 || this.readyWaiters.length > 0;
    const ch = c.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (busy) { c.ref(); ch?.ref?.(); } else { c.unref(); ch?.unref?.(); }
  }

  /** Whether spawns go through the launcher process now. */
  get active(): boolean { return this.ready && !!this.child && !this.closing; }

  spawn(spec: SpawnSpec, ev: SpawnEvents): SpawnHandle {
    const child = this.child;
    if (!this.active || !child) return directSpawner.spawn(spec, ev);
    const id = ++this.seq;
    this.pending.set(id, { ev });
    this.refresh();
    let fallback: SpawnHandle | undefined;
    const handle: SpawnHandle = {
      kill: (sig) => {
        if (fallback) { fallback.kill(sig); return; }
        // The launcher signals it only if it has not reaped it; once the launcher is gone,
        // `gone()` has dealt with it.
        if (this.pending.has(id) && this.child === child && child.connected) child.send({ t: 'kill', id, signal: sig });
      },
    };
    child.send({ t: 'spawn', id, file: spec.file, args: spec.args, env: spec.env, cwd: spec.cwd, log: spec.logPath }, (err) => {
      if (!err) return;
      const p = this.pending.get(id);
      if (!p || p.pid !== undefined) return;
      this.pending.delete(id);
      this.refresh();
      // The message never got out: start it here instead.
      fallback = directSpawner.spawn(spec, p.ev);
    });
    return handle;
  }

  private onMessage(m: LauncherMsg): void {
    if (m.t === 'ready') { this.ready = true; this.settleReady(); return; }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.t === 'spawned') { p.pid = m.pid; p.startTime = m.startTime; p.ev.spawned(m.pid, { viaLauncher: true, startTime: m.startTime }); return; }
    this.pending.delete(m.id);
    this.refresh();
    if (m.t === 'error') p.ev.failed({ code: m.code, message: m.message });
    else p.ev.exited(m.code, m.signal);
  }

  /**
   * The launcher is gone: its pods cannot be watched any more, so they are killed and reported.
   * They are init's children now and may be reaped at any moment, so each is only signalled
   * while /proc still shows the process the launcher started (same kernel start time).
   */
  private gone(): void {
    if (!this.child) return;
    this.child = undefined;
    this.ready = false;
    this.settleReady();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.pid === undefined) { p.ev.failed({ code: 'ELAUNCHER', message: "sluice's process launcher exited before the process started" }); continue; }
      if (p.startTime !== undefined && procStartTime(p.pid) === p.startTime) {
        try { process.kill(-p.pid, 'SIGKILL'); } catch { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
      }
      p.ev.exited(null, 'SIGKILL');
    }
  }

  /** Ends the launcher (it kills what it still runs). Pods should be stopped first. */
  async close(): Promise<void> {
    const child = this.child;
    this.closing = true;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try { child.disconnect(); } catch { /* already */ }
    const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 2000);
    await exited;
    clearTimeout(t);
  }

  /**
   * Synchronous last resort (process 'exit' hook): the launcher sees its IPC channel close when
   * this process ends, then kills and reaps its pods itself; only if it cannot be told is it
   * left to notice alone.
   */
  killNow(): void {
    this.closing = true;
    try { this.child?.disconnect(); } catch { /* already */ }
  }
}
