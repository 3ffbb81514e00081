/**
 * The live state of one upstream cluster: its hosts (kept across endpoint updates so in-flight
 * counters and outlier history survive), the current load-balancer snapshot (rebuilt on every
 * host-set or health change; DESIGN.md: the picker is an immutable snapshot), circuit breakers,
 * retry budget, outlier detector (only when configured) and connection pool.
 * A removed endpoint leaves the snapshot at once, so it gets no new picks; requests already on it
 * finish on their own sockets.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../../lib/clock.ts';
import type { Rng } from '../../lib/rng.ts';
import type { Host, LoadBalancer, LbOptions, PickContext, PickResult } from '../lb/load-balancer.ts';
import { localityKey } from '../lb/load-balancer.ts';
import { loadBalancerFactory } from '../lb/registry.ts';
import { CircuitBreaker } from '../resilience/circuit-breaker.ts';
import { OutlierDetector } from '../resilience/outlier-detector.ts';
import { RetryBudget } from '../resilience/retry-budget.ts';
import type { ClusterConfig, EndpointsConfig, SecretConfig } from '../config/model.ts';
import { upstreamTlsOptions, type UpstreamTlsOptions } from './upstream-tls.ts';
import { socketMatches } from '../config/struct-strings.ts';
import type { ClusterStats } from '../stats/proxy-stats.ts';
import { createPool, samePoolOptions, type PoolAgent, type PoolOptions } from './upstream-pool.ts';

interface MutableHost extends Host { edsHealthy: boolean }

export class UpstreamCluster {
  config: ClusterConfig;
  private hosts = new Map<string, MutableHost>();
  private lb: LoadBalancer;
  breaker: CircuitBreaker;
  budget?: RetryBudget;
  private outlier?: OutlierDetector;
  pool: PoolAgent;
  private poolOpts: PoolOptions;
  private endpoints?: EndpointsConfig;
  /** TLS for upstream connections (from the cluster's transport socket and SDS), if any. */
  private tls?: UpstreamTlsOptions;
  /** Endpoints (`address:port`) whose transport-socket-match metadata selects the TLS socket. */
  private tlsHosts = new Set<string>();
  /** The secrets the pool's TLS was built from (the cluster manager re-applies on SDS changes). */
  secretsSeen?: ReadonlyMap<string, SecretConfig>;

  constructor(config: ClusterConfig, readonly stats: ClusterStats, private readonly clock: Clock, private readonly rng: Rng, secrets: ReadonlyMap<string, SecretConfig>) {
    this.config = config;
    this.breaker = new CircuitBreaker(config.circuitBreakers, `cluster ${config.name}`);
    this.budget = config.circuitBreakers.retryBudget ? new RetryBudget(config.circuitBreakers.retryBudget) : undefined;
    this.poolOpts = this.poolOptions(config, secrets);
    this.tls = config.tls ? upstreamTlsOptions(config, secrets) : undefined;
    this.secretsSeen = secrets;
    this.pool = this.makePool();
    this.lb = loadBalancerFactory(config.lbPolicy).build([], {}, rng);
    this.setupOutlier();
  }

  private poolOptions(c: ClusterConfig, _secrets: ReadonlyMap<string, SecretConfig>): PoolOptions {
    return { idleTimeoutMs: c.idleTimeoutMs, maxRequestsPerConnection: c.maxRequestsPerConnection, maxConnections: c.circuitBreakers.maxConnections };
  }

  /**
   * The pool is always a plain http.Agent (the router speaks node:http to it); upstream TLS is
   * done in its createConnection, per endpoint: every endpoint when the cluster has a TLS
   * transport socket, or only the endpoints whose metadata matches transport_socket_matches
   * (Istio's auto mTLS: mesh pods get mTLS, the activator and DISABLE pods plaintext).
   */
  private makePool(): PoolAgent {
    const pool = createPool(this.poolOpts, this.stats);
    const t = this.tls;
    if (!t) return pool;
    const plain = (pool as unknown as { createConnection(o: object, cb?: unknown): net.Socket }).createConnection.bind(pool);
    (pool as unknown as { createConnection(o: object, cb?: unknown): net.Socket }).createConnection = (options: Record<string, any>) => {
      const raw = plain(options);
      if (!this.useTls(options.host, options.port)) return raw;
      const sock = tls.connect({ ...t.connect, socket: raw, ...(t.connect.servername ? {} : { servername: undefined }) });
      sock.on('error', () => undefined); // the request sees the failure; raw's listeners count it
      return sock;
    };
    return pool;
  }

  /** The endpoints transport_socket_matches selects TLS for (recomputed when the endpoints or the cluster change). */
  private refreshTlsHosts(): void {
    const m = this.config.tlsMatch;
    const out = new Set<string>();
    if (m) for (const loc of this.endpoints?.localities ?? []) for (const ep of loc.endpoints) if (socketMatches(m, ep.socketMatch)) out.add(`${ep.address}:${ep.port}`);
    this.tlsHosts = out;
  }

  private useTls(host: string, port: number | string): boolean {
    if (!this.config.tlsMatch) return true;
    return this.tlsHosts.has(`${host}:${port}`);
  }

  private setupOutlier(): void {
    this.outlier?.stop();
    this.outlier = undefined;
    const oc = this.config.outlier;
    if (!oc) return;
    const od = new OutlierDetector(oc, this.clock, this.rng);
    od.onChange(() => { this.refreshHealth(); });
    od.updateHosts([...this.hosts.values()]);
    od.start();
    this.outlier = od;
  }

  /** Applies a new cluster config (pool and breakers are replaced only if their settings changed). */
  update(config: ClusterConfig, secrets: ReadonlyMap<string, SecretConfig>): void {
    const prev = this.config;
    this.config = config;
    if (JSON.stringify(prev.circuitBreakers) !== JSON.stringify(config.circuitBreakers)) {
      this.breaker = new CircuitBreaker(config.circuitBreakers, `cluster ${config.name}`);
      this.budget = config.circuitBreakers.retryBudget ? new RetryBudget(config.circuitBreakers.retryBudget) : undefined;
    }
    const po = this.poolOptions(config, secrets);
    const t = config.tls ? upstreamTlsOptions(config, secrets) : undefined;
    this.secretsSeen = secrets;
    // New certificates (rotation) or settings: new connections use a new pool; requests on the
    // old pool's connections finish there.
    if (!samePoolOptions(po, this.poolOpts) || (t?.key ?? '') !== (this.tls?.key ?? '')) {
      const old = this.pool;
      this.poolOpts = po;
      this.tls = t;
      this.pool = this.makePool();
      old.retire();
    }
    if (JSON.stringify(prev.tlsMatch) !== JSON.stringify(config.tlsMatch)) this.refreshTlsHosts();
    if (JSON.stringify(prev.outlier) !== JSON.stringify(config.outlier)) this.setupOutlier();
    if (prev.lbPolicy !== config.lbPolicy || JSON.stringify(prev.ringHash) !== JSON.stringify(config.ringHash)) this.rebuild();
  }

  setEndpoints(e: EndpointsConfig | undefined): void {
    if (e === this.endpoints) return;
    this.endpoints = e;
    const next = new Map<string, MutableHost>();
    for (const loc of e?.localities ?? []) {
      const [region, zone, subZone] = loc.locality.split('/');
      for (const ep of loc.endpoints) {
        const id = `${ep.address}:${ep.port}`;
        const old = this.hosts.get(id);
        const h: MutableHost = old && old.weight === ep.weight && old.priority === loc.priority && localityKey(old.locality) === localityKey({ region, zone, subZone })
          ? old
          : { id, address: ep.address, port: ep.port, weight: ep.weight, priority: loc.priority, locality: { region, zone, subZone }, healthy: ep.healthy, activeRequests: old?.activeRequests ?? 0, edsHealthy: ep.healthy };
        h.edsHealthy = ep.healthy;
        next.set(id, h);
      }
    }
    this.hosts = next;
    this.refreshTlsHosts();
    this.outlier?.updateHosts([...next.values()]);
    this.refreshHealth();
  }

  private refreshHealth(): void {
    for (const h of this.hosts.values()) h.healthy = h.edsHealthy && !(this.outlier?.isEjected(h.id) ?? false);
    this.rebuild();
  }

  private rebuild(): void {
    const hosts = [...this.hosts.values()];
    const opts: LbOptions = {};
    if (this.config.ringHash) opts.ringSize = { min: this.config.ringHash.minRingSize, max: this.config.ringHash.maxRingSize };
    if (this.config.lbPolicy === 'LOCALITY_WEIGHTED') {
      const w = new Map<string, number>();
      for (const loc of this.endpoints?.localities ?? []) {
        const [region, zone, subZone] = loc.locality.split('/');
        w.set(localityKey({ region, zone, subZone }), loc.weight);
      }
      opts.localityWeights = w;
    }
    this.lb = loadBalancerFactory(this.config.lbPolicy).build(hosts, opts, this.rng);
    this.stats.membership_total = hosts.length;
    this.stats.membership_healthy = hosts.filter((h) => h.healthy).length;
    const os = this.outlier?.stats();
    this.stats.outlier_detection_ejections_active = os?.ejections_active ?? 0;
    this.stats.outlier_detection_ejections_total = os?.ejections_total ?? 0;
  }

  pick(ctx?: PickContext): PickResult { return this.lb.pick(ctx); }

  onResult(host: Host, outcome: { status?: number; connectFailure?: boolean; timeout?: boolean; reset?: boolean }): void {
    this.outlier?.onResult(host, outcome);
  }

  /** Removal: no new requests are routed here; in-flight ones finish on their sockets. */
  close(): void {
    this.outlier?.stop();
    this.pool.retire();
  }

  /** Hard stop (proxy shutdown). */
  destroy(): void {
    this.outlier?.stop();
    this.pool.destroy();
  }
}
