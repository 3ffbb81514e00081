/**
 * `sluice proxy`: load the bootstrap, resolve ports, start the worker supervisor and the admin
 * server, write the ports file, and drain gracefully on SIGTERM/SIGINT.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { log } from '../lib/log.ts';
import { applyOverrides, loadBootstrap, type Bootstrap } from './bootstrap.ts';
import { startAdminServer, type AdminServer } from './admin/admin-server.ts';
import { Supervisor } from './workers/supervisor.ts';

export interface RunProxyOptions {
  bootstrap: string;
  concurrency?: number;
  maxMemoryMb?: number;
  httpPort?: number;
  httpsPort?: number;
  adminPort?: number;
  /** Exit the process after a signal-triggered drain (default true; tests pass false). */
  handleSignals?: boolean;
}

export interface RunningProxy {
  bootstrap: Bootstrap;
  adminPort: number;
  httpPort: number;
  httpsPort: number;
  supervisor: Supervisor;
  /** Drains workers, closes the admin server. */
  stop(): Promise<void>;
}

async function freePort(address: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, address, () => resolve()); });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** What `sluice up` reads to fill endpoints.json. */
export interface PortsFile { http_port: number; https_port: number; admin_port: number; pid: number }

export async function runProxy(o: RunProxyOptions): Promise<RunningProxy> {
  let b = applyOverrides(loadBootstrap(o.bootstrap), o);
  // Port 0 is resolved once here so every worker binds the same port (and `sluice up` can read it).
  if (b.role === 'gateway') {
    const httpPort = b.listen.httpPort || (await freePort(b.listen.address));
    let httpsPort = b.listen.httpsPort || (await freePort(b.listen.address));
    while (httpsPort === httpPort) httpsPort = await freePort(b.listen.address);
    b = { ...b, listen: { ...b.listen, httpPort, httpsPort } };
  }
  const supervisor = new Supervisor(b);
  let admin: AdminServer | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await supervisor.drain();
    await admin?.close();
  };
  supervisor.start();
  admin = await startAdminServer(b.admin.address, b.admin.port, supervisor.adminSource(() => { void admin?.close(); }));
  if (b.portsFile) {
    const ports: PortsFile = { http_port: b.listen.httpPort, https_port: b.listen.httpsPort, admin_port: admin.port, pid: process.pid };
    fs.mkdirSync(path.dirname(b.portsFile), { recursive: true });
    const tmp = `${b.portsFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(ports, null, 2) + '\n');
    fs.renameSync(tmp, b.portsFile);
  }
  log.info({ role: b.role, node: b.node.id, admin: admin.port, http: b.listen.httpPort, https: b.listen.httpsPort, workers: b.concurrency }, 'sluice proxy started');
  if (o.handleSignals !== false) {
    const onSignal = (sig: string) => {
      log.info({ signal: sig, drainTimeoutMs: b.drainTimeoutMs }, 'draining proxy');
      stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
    // Started by `sluice up` with an IPC channel: when the control process goes away (a crash,
    // kill -9), the channel closes and the proxy drains instead of serving on as an orphan.
    if (process.channel) process.once('disconnect', () => onSignal('parent exited'));
  }
  return { bootstrap: b, adminPort: admin.port, httpPort: b.listen.httpPort, httpsPort: b.listen.httpsPort, supervisor, stop };
}
