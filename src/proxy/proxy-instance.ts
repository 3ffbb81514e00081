/**
 * One complete data plane: xDS client → config store → clusters and listeners → router, plus
 * stats. A worker process runs one; tests run one in-process against the test xDS server.
 */
import type { Clock } from '../lib/clock.ts';
import { realClock } from '../lib/clock.ts';
import type { Rng } from '../lib/rng.ts';
import { mathRng } from '../lib/rng.ts';
import { log } from '../lib/log.ts';
import { TypeUrl } from '../xds/protos.ts';
import type { Bootstrap } from './bootstrap.ts';
import { ConfigStore } from './config/config-store.ts';
import type { AccessLogSink } from './config/model.ts';
import { AccessLogger } from './http/access-log.ts';
import { ClusterManager } from './http/cluster-manager.ts';
import { ListenerManager } from './http/listener-manager.ts';
import { Router, type RouterDeps } from './http/router.ts';
import { ProxyStats, type StatSample } from './stats/proxy-stats.ts';
import { AdsClient } from './xds-client/ads-client.ts';

export interface ProxyInstanceOptions { clock?: Clock; rng?: Rng }

export class ProxyInstance {
  readonly stats = new ProxyStats();
  readonly store: ConfigStore;
  readonly xds: AdsClient;
  readonly clusters: ClusterManager;
  readonly listeners: ListenerManager;
  private readonly accessLogger = new AccessLogger();
  private readonly startedAt: number;
  private applying: Promise<void> = Promise.resolve();
  private readyListeners = false;
  private readonly clock: Clock;

  constructor(readonly bootstrap: Bootstrap, o: ProxyInstanceOptions = {}) {
    const clock = (this.clock = o.clock ?? realClock);
    const rng = o.rng ?? mathRng;
    this.startedAt = clock.now();
    this.clusters = new ClusterManager(this.stats, clock, rng);
    let xds: AdsClient | undefined;
    this.store = new ConfigStore({
      defaults: bootstrap.defaults,
      clock,
      initialFetchTimeoutMs: bootstrap.xds.initialFetchTimeoutMs,
      subscribe: (t, names) => xds?.subscribe(t, names),
    });
    const extraSinks: AccessLogSink[] = [];
    if (bootstrap.accessLog.stdout) extraSinks.push({ kind: 'stdout' });
    if (bootstrap.accessLog.path) extraSinks.push({ kind: 'file', path: bootstrap.accessLog.path });
    const deps: RouterDeps = {
      clusters: this.clusters,
      stats: this.stats,
      clock,
      rng,
      routeTable: (name) => this.store.config.routes.get(name),
      accessLogger: this.accessLogger,
      extraSinks,
    };
    const router = new Router(deps);
    this.listeners = new ListenerManager(
      { role: bootstrap.role, address: bootstrap.listen.address, httpPort: bootstrap.listen.httpPort, httpsPort: bootstrap.listen.httpsPort },
      router, deps, this.stats,
    );
    this.listeners.drainTimeoutMs = bootstrap.drainTimeoutMs;
    const store = this.store;
    this.xds = xds = new AdsClient({
      addresses: bootstrap.xds.addresses,
      node: bootstrap.node,
      delta: bootstrap.xds.delta,
      keepaliveMs: bootstrap.xds.keepaliveMs,
      keepaliveTimeoutMs: bootstrap.xds.keepaliveTimeoutMs,
      livenessTimeoutMs: bootstrap.xds.livenessTimeoutMs,
      reconnectBaseMs: bootstrap.xds.reconnectBaseMs,
      reconnectMaxMs: bootstrap.xds.reconnectMaxMs,
      clock,
      rng,
      handler: {
        onUpdate: (u) => {
          const r = store.onUpdate(u);
          if (r.error || u.decodeErrors.length) this.stats.server.control_plane_rq_nack++;
          else this.stats.server.control_plane_rq_ack++;
          return r;
        },
        onConnectionChange: (c) => { store.onConnectionChange(c); this.stats.server.control_plane_connected_state = c ? 1 : 0; },
      },
    });
    store.onChange((cfg) => {
      // Clusters first so a new listener never routes to a cluster that is not there yet.
      this.clusters.apply(cfg);
      this.applying = this.applying.then(() => this.listeners.apply(cfg)).then(() => {
        if (store.ready && !this.readyListeners) {
          this.readyListeners = true;
          log.info({ listeners: this.listeners.ports() }, 'initial configuration applied');
        }
      });
    });
  }

  start(): void {
    this.xds.subscribe(TypeUrl.Cluster, '*');
    this.xds.subscribe(TypeUrl.Listener, '*');
    this.xds.start();
  }

  /** True once the first CDS and LDS are applied, clusters and listeners warmed, and listeners bound. */
  get ready(): boolean { return this.readyListeners; }

  /** Resolves when ready (or rejects after `timeoutMs`). */
  async whenReady(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.ready) {
      if (Date.now() > until) throw new Error(`proxy not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.applying;
  }

  /** Waits until pending listener changes are applied. */
  settled(): Promise<void> { return this.applying; }

  samples(): StatSample[] {
    this.stats.server.live = this.ready ? 1 : 0;
    this.stats.server.memory_allocated = process.memoryUsage().rss;
    this.stats.server.uptime = Math.floor((this.clock.now() - this.startedAt) / 1000);
    return this.stats.samples();
  }

  configDump(): object { return this.store.dump(); }

  /** Graceful: stop accepting, let in-flight requests finish (bounded), then stop xDS and pools. */
  async drain(timeoutMs = this.bootstrap.drainTimeoutMs): Promise<void> {
    await this.listeners.drainAll(timeoutMs);
    await this.stop();
  }

  async stop(): Promise<void> {
    this.xds.stop();
    this.listeners.destroy();
    this.clusters.destroy();
    await this.accessLogger.close();
  }
}
