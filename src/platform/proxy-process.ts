/**
 * A supervised `sluice proxy` child process: writes its bootstrap into the state dir, starts it,
 * waits for its ports file, restarts it with backoff if it dies (pods and the control plane keep
 * running — the lesson "the proxy restarts alone"), and drains it on stop (SIGTERM, then SIGKILL
 * after the grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backoffDelay } from '../lib/backoff.ts';
import { SluiceError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';

const SLUICE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/sluice.js');

export interface ProxyProcessOptions {
  name: string; // 'gateway' | 'mesh'
  stateDir: string;
  bootstrap: Record<string, unknown>;
  startTimeoutMs?: number;
  stopGraceMs?: number;
}
export interface ProxyPorts { http_port: number; https_port: number; admin_port: number; pid: number }

export class ProxyProcess {
  private child?: ChildProcess;
  private stopping = false;
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;
  readonly bootstrapPath: string;
  readonly portsPath: string;
  readonly logPath: string;
  ports?: ProxyPorts;

  constructor(private readonly o: ProxyProcessOptions) {
    const dir = path.join(o.stateDir, 'proxies');
    fs.mkdirSync(dir, { recursive: true });
    this.bootstrapPath = path.join(dir, `${o.name}.bootstrap.json`);
    this.portsPath = path.join(dir, `${o.name}.ports.json`);
    this.logPath = path.join(dir, `${o.name}.log`);
  }

  async start(): Promise<ProxyPorts> {
    fs.writeFileSync(this.bootstrapPath, JSON.stringify({ ...this.o.bootstrap, ports_file: this.portsPath }, null, 2) + '\n');
    this.ports = await this.spawnOnce();
    return this.ports;
  }

  get pid(): number | undefined { return this.child?.pid; }

  private spawnOnce(): Promise<ProxyPorts> {
    fs.rmSync(this.portsPath, { force: true });
    const out = fs.openSync(this.logPath, 'a');
    const child = spawn(process.execPath, [SLUICE_BIN, 'proxy', '--bootstrap', this.bootstrapPath], {
      // The IPC channel is how the proxy learns that the control process died (even by SIGKILL):
      // it drains and exits on 'disconnect' instead of serving on as an orphan.
      stdio: ['ignore', out, out, 'ipc'],
      env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_PROXY_LOG_LEVEL ?? 'warn' },
    });
    fs.closeSync(out);
    this.child = child;
    const startedAt = Date.now();
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopping) return;
      // Exits soon after start count toward backoff; a long healthy run resets it.
      if (Date.now() - startedAt > 60_000) this.restarts = 0;
      const delay = backoffDelay(this.restarts++, { baseMs: 200, maxMs: 10_000 });
      log.warn({ proxy: this.o.name, code, signal, restartInMs: delay, log: this.logPath }, 'proxy exited; restarting');
      this.restartTimer = setTimeout(() => {
        this.spawnOnce().then((p) => { this.ports = p; }, (e) => log.error({ err: e, proxy: this.o.name }, 'proxy restart failed'));
      }, delay);
      this.restartTimer.unref();
    });
    const timeout = this.o.startTimeoutMs ?? 30_000;
    return new Promise<ProxyPorts>((resolve, reject) => {
      const t0 = Date.now();
      const poll = () => {
        if (this.child !== child) {
          return reject(new SluiceError('SLUICE_E_PROXY_START', `${this.o.name} proxy exited during start; see ${this.logPath}: ${tail(this.logPath)}`));
        }
        try {
          const p = JSON.parse(fs.readFileSync(this.portsPath, 'utf8')) as ProxyPorts;
          if (p.pid === child.pid) return resolve(p);
        } catch { /* not written yet */ }
        if (Date.now() - t0 > timeout) {
          child.kill('SIGKILL');
          return reject(new SluiceError('SLUICE_E_PROXY_START', `${this.o.name} proxy did not report its ports within ${timeout} ms; see ${this.logPath}`));
        }
        setTimeout(poll, 20);
      };
      poll();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), this.o.stopGraceMs ?? 5_000);
      child.once('exit', () => { clearTimeout(kill); resolve(); });
      child.kill('SIGTERM');
    });
  }
}

function tail(file: string): string {
  try { return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | '); } catch { return ''; }
}
