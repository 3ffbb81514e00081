/**
 * The push pipeline: change events → debounce → merged ChangeSet → one recomputation per proxy
 * scope → per-proxy push queue (merging, concurrency-limited) → the connection's flow control.
 *
 * Scopes: proxies with the same scope key (role + namespace + sidecar hash, decided by the
 * translator) share one translation and one Snapshot; a scope's snapshot lives while a proxy of
 * that scope is connected. An endpoint-only change set recomputes just ClusterLoadAssignments
 * (when the translator can), reusing every other type of the scope's previous snapshot.
 *
 * Two debounce lanes, each with the same quiet period and maximum: route-affecting changes
 * (Ingresses, VirtualServices, ...) and endpoint-only ones (Endpoints, pod labels). Endpoint churn
 * (pods starting every few milliseconds under a deploy wave) never restarts the quiet period a
 * route change waits for, and a route change never waits for endpoint churn to go quiet — with
 * one lane, a steady stream of pod events held every new route until debounce-max. A full flush
 * carries (takes) whatever endpoint changes are pending; Istio's PILOT_ENABLE_EDS_DEBOUNCE=false
 * goes further and pushes EDS undebounced. Deleted Endpoints go in the full lane, so a removed
 * service's routes and its endpoints leave together.
 *
 * Generations: every flush is a generation. A scope whose content did not change still moves its
 * proxies to the new generation (no bytes sent), so "proxy applied generation G" means the proxy
 * runs everything flushed up to G. With two lanes that is not everything observed before G (a
 * route change may still wait in its lane while an endpoint flush makes G), so readiness takes
 * an object's generation from the flush that carries it (PipelineEvents.onFlush).
 */
import type { Clock, Timer } from '../../lib/clock.ts';
import { errorMessage } from '../../lib/errors.ts';
import { log } from '../../lib/log.ts';
import { TypeUrl, type ResourceTypeUrl } from '../../xds/protos.ts';
import { buildSnapshot, type ResourceSet, type Snapshot } from '../xds/snapshot.ts';
import type { AdsListener } from '../xds/ads-server.ts';
import type { ProxyConnection } from '../xds/proxy-connection.ts';
import type { ProxyInfo } from '../xds/node-info.ts';
import { Debouncer, DEFAULT_DEBOUNCE } from './debouncer.ts';
import { describeChangeSet, mergeChangeSets, type Change, type ChangeSet } from './change-set.ts';
import { PushQueue } from './push-queue.ts';
import { shortType, XdsMetrics } from './xds-metrics.ts';

/** What the pipeline needs from translation (the control plane adapts translate/ to this). */
export interface ScopeTranslator {
  /**
   * Proxies with equal keys receive identical configuration. `apiListeners`: listener names a
   * proxyless client asked for by name (sorted; empty for wildcard subscribers).
   */
  scopeKey(proxy: ProxyInfo, apiListeners: readonly string[]): string;
  /** Every resource of the proxy's scope. */
  translate(proxy: ProxyInfo, apiListeners: readonly string[]): Partial<ResourceSet>;
  /** Only ClusterLoadAssignments for the named clusters (optional: without it every change is full). */
  translateEndpoints?(proxy: ProxyInfo, clusterNames: string[]): Map<string, object>;
}

export interface PipelineEvents {
  /** A proxy runs generation `generation` (every response ACKed). */
  onApplied?(conn: ProxyConnection, generation: number): void;
  onNack?(conn: ProxyConnection, type: string, version: string, message: string): void;
  onConnect?(conn: ProxyConnection): void;
  onDisconnect?(conn: ProxyConnection): void;
  /** A flush was computed: generation, what changed, when it was flushed. */
  onFlush?(generation: number, cs: ChangeSet, at: number): void;
  /** Every proxy connected at the flush applied `generation` (or went away). */
  onConverged?(generation: number, tookMs: number): void;
  /** Translation or encoding of a scope failed; its proxies keep their previous configuration. */
  onScopeError?(scopeKey: string, error: unknown): void;
}

export interface PipelineOptions {
  clock: Clock;
  translator: ScopeTranslator;
  debounceAfterMs?: number;
  debounceMaxMs?: number;
  /** Flush a change that finds its lane idle at once (default true; see Debouncer). */
  debounceLeading?: boolean;
  /** With the leading edge, flush continuing changes every debounceAfterMs instead of at quiet (see Debouncer). */
  debounceThrottle?: boolean;
  maxConcurrentPushes?: number;
  metrics?: XdsMetrics;
  events?: PipelineEvents;
}

interface Scope { key: string; proxy: ProxyInfo; apiListeners: readonly string[]; snapshot?: Snapshot; conns: Set<ProxyConnection> }
interface Convergence { firstAt: number; flushedAt: number; waiting: Set<ProxyConnection> }

const EDS_ONLY = new Set<ResourceTypeUrl>([TypeUrl.ClusterLoadAssignment]);

export class PushPipeline implements AdsListener {
  readonly metrics: XdsMetrics;
  private readonly opts: PipelineOptions;
  private readonly clock: Clock;
  /** Route-affecting changes (everything that is not endpoint-only). */
  private readonly debouncer: Debouncer;
  /** Endpoint-only changes. */
  private readonly edsDebouncer: Debouncer;
  private readonly queue: PushQueue;
  private readonly scopes = new Map<string, Scope>();
  private readonly scopeOf = new Map<ProxyConnection, Scope>();
  private readonly converging = new Map<number, Convergence>();
  private gen = 0;
  /** The last flush's non-gateway scopes, computed one timer tick after its gateway scopes (see flush). */
  private deferred: { run: () => void; timer: Timer } | undefined;
  /** Stats of the last flush, for tests and the bench. */
  lastFlush: { generation: number; scopes: number; edsOnly: boolean; changedScopes: number } | undefined;

  constructor(opts: PipelineOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.metrics = opts.metrics ?? new XdsMetrics();
    const debounce = { afterMs: opts.debounceAfterMs ?? DEFAULT_DEBOUNCE.afterMs, maxMs: opts.debounceMaxMs ?? DEFAULT_DEBOUNCE.maxMs, leading: opts.debounceLeading ?? DEFAULT_DEBOUNCE.leading, throttle: opts.debounceThrottle ?? DEFAULT_DEBOUNCE.throttle };
    this.debouncer = new Debouncer(this.clock, debounce, (cs, at) => {
      const eds = this.edsDebouncer.take();
      this.flush(eds ? mergeChangeSets(cs, eds) : cs, at);
    });
    this.edsDebouncer = new Debouncer(this.clock, debounce, (cs, at) => this.flush(cs, at));
    this.queue = new PushQueue({
      clock: this.clock,
      maxConcurrent: opts.maxConcurrentPushes ?? 100,
      onDequeue: (_c, ms) => this.metrics.queueTime.observe(ms / 1000),
      onPushed: (_c, ms) => this.metrics.sendTime.observe(ms / 1000),
    });
  }

  get generation(): number { return this.gen; }
  connections(): ProxyConnection[] { return [...this.scopeOf.keys()]; }
  scopeCount(): number { return this.scopes.size; }
  /**
   * True while pushes are queued or being written, or a flushed generation still waits for ACKs:
   * background work (the control plane's problem pass) waits for this to clear, so it never holds
   * up a push or the handling of its ACKs.
   */
  get busy(): boolean { return this.deferred !== undefined || this.queue.queued > 0 || this.queue.active > 0 || this.converging.size > 0; }
  /** Resolves when no push is queued or being written. */
  idle(): Promise<void> { return this.queue.idle(); }

  /** Observes a change; it is pushed after the debounce. */
  notify(change: Change): void { (change.endpointsOnly ? this.edsDebouncer : this.debouncer).add(change); }
  /** Pushes pending changes now, both lanes in one flush (shutdown, tests). */
  flushNow(): void {
    const full = this.debouncer.take();
    const eds = this.edsDebouncer.take();
    const cs = full && eds ? mergeChangeSets(full, eds) : full ?? eds;
    if (cs) this.flush(cs, this.clock.now());
    this.runDeferred();
  }

  stop(): void {
    this.debouncer.stop();
    this.edsDebouncer.stop();
    if (this.deferred) this.clock.clearTimeout(this.deferred.timer);
    this.deferred = undefined;
  }

  /** Computes a flush's deferred scopes now (before the next flush, so generations stay in order). */
  private runDeferred(): void {
    const d = this.deferred;
    if (!d) return;
    this.clock.clearTimeout(d.timer);
    d.run();
  }

  // ------------------------------------------------------------------ recomputation

  private computeScope(scope: Scope, cs: ChangeSet | undefined, generation: number): Snapshot | undefined {
    const t = this.opts.translator;
    const prev = scope.snapshot;
    try {
      let next: Snapshot;
      if (cs?.endpointsOnly && prev && t.translateEndpoints) {
        const clusters = prev.names(TypeUrl.Cluster);
        const cla = t.translateEndpoints(scope.proxy, clusters);
        next = buildSnapshot({ [TypeUrl.ClusterLoadAssignment]: cla }, generation, prev, EDS_ONLY);
      } else {
        next = buildSnapshot(t.translate(scope.proxy, scope.apiListeners), generation, prev);
      }
      if (next.sameContent(prev)) next = prev!.withGeneration(generation);
      return next;
    } catch (e) {
      this.metrics.pushContextErrors.inc();
      log.error({ scope: scope.key, err: errorMessage(e) }, 'xds: cannot build configuration for scope; its proxies keep their previous configuration');
      this.opts.events?.onScopeError?.(scope.key, e);
      return undefined;
    }
  }

  /**
   * Computes and queues every scope for one change set. Gateway scopes go first (an Ingress is
   * ready when every gateway ACKed; at 1,000 mesh proxies a gateway queued behind them, by
   * connection order, converged 20–80 ms later), and when a gateway is connected the other
   * scopes are computed one timer tick later: a push is written
   * to its socket only once the code that queued it returns, so the gateway's push (what an
   * Ingress's readiness waits for) used to wait for every mesh scope's translation of the same
   * flush as well. Their proxies are waited for from the start; the next flush runs a pending
   * deferred part first.
   */
  private flush(cs: ChangeSet, at: number): void {
    this.runDeferred();
    const generation = ++this.gen;
    this.metrics.debounceTime.observe((at - cs.firstAt) / 1000);
    const started = this.clock.now();
    const waiting = new Set<ProxyConnection>();
    const stats = { generation, scopes: this.scopes.size, edsOnly: cs.endpointsOnly, changedScopes: 0 };
    const computeAll = (scopes: readonly Scope[]): void => {
      for (const scope of scopes) {
        if (this.scopes.get(scope.key) !== scope) continue; // its last proxy left meanwhile
        const prev = scope.snapshot;
        const next = this.computeScope(scope, cs, generation);
        if (!next) { for (const conn of scope.conns) waiting.delete(conn); continue; }
        if (!prev || next.sameContent(prev) === false) stats.changedScopes++;
        scope.snapshot = next;
        for (const conn of scope.conns) {
          waiting.add(conn);
          this.queue.enqueue(conn, next);
        }
      }
    };
    const gateways: Scope[] = [];
    const others: Scope[] = [];
    for (const s of this.scopes.values()) (s.proxy.role === 'gateway' ? gateways : others).push(s);
    computeAll(gateways);
    if (others.length > 0 && gateways.some((g) => g.conns.size > 0)) {
      for (const scope of others) for (const conn of scope.conns) waiting.add(conn);
      const run = (): void => {
        this.deferred = undefined;
        computeAll(others);
        const conv = this.converging.get(generation);
        if (conv) this.maybeConverged(generation, conv);
        for (const scope of others) for (const conn of scope.conns) if (conn.appliedGeneration >= generation) this.applied(conn, conn.appliedGeneration);
      };
      this.deferred = { run, timer: this.clock.setTimeout(run, 0) };
    } else {
      computeAll(others);
    }
    this.lastFlush = stats;
    log.debug({ generation, changes: describeChangeSet(cs), scopes: this.scopes.size, deferred: this.deferred ? others.length : 0, computeMs: this.clock.now() - started }, 'xds: push');
    this.opts.events?.onFlush?.(generation, cs, at);
    if (waiting.size > 0) this.converging.set(generation, { firstAt: cs.firstAt, flushedAt: at, waiting });
    else this.opts.events?.onConverged?.(generation, at - cs.firstAt);
    for (const conn of waiting) if (conn.appliedGeneration >= generation) this.applied(conn, conn.appliedGeneration);
  }

  private applied(conn: ProxyConnection, generation: number): void {
    for (const [g, c] of this.converging) {
      if (g > generation) continue;
      if (c.waiting.delete(conn)) log.debug({ proxy: conn.proxy.id, generation: g, afterFlushMs: this.clock.now() - c.flushedAt }, 'xds: proxy applied');
      this.maybeConverged(g, c);
    }
  }

  private maybeConverged(g: number, c: Convergence): void {
    if (c.waiting.size > 0) return;
    this.converging.delete(g);
    const took = this.clock.now() - c.firstAt;
    this.metrics.convergenceTime.observe(took / 1000);
    this.opts.events?.onConverged?.(g, took);
  }

  // ------------------------------------------------------------------ AdsListener

  /** Puts `conn` into the scope its proxy and explicit listener names select (computing it if new). */
  private join(conn: ProxyConnection): Scope {
    const apiListeners = conn.explicitListenerNames() ?? [];
    const key = this.opts.translator.scopeKey(conn.proxy, apiListeners);
    let scope = this.scopes.get(key);
    if (!scope) {
      scope = { key, proxy: conn.proxy, apiListeners, conns: new Set() };
      this.scopes.set(key, scope);
    }
    scope.conns.add(conn);
    this.scopeOf.set(conn, scope);
    if (!scope.snapshot) scope.snapshot = this.computeScope(scope, undefined, this.gen);
    return scope;
  }

  private leave(conn: ProxyConnection): Scope | undefined {
    const scope = this.scopeOf.get(conn);
    if (!scope) return undefined;
    this.scopeOf.delete(conn);
    scope.conns.delete(conn);
    if (scope.conns.size === 0) this.scopes.delete(scope.key);
    return scope;
  }

  onConnect(conn: ProxyConnection): void {
    const scope = this.join(conn);
    this.metrics.connected.inc({ protocol: conn.protocol });
    if (scope.snapshot) this.queue.enqueue(conn, scope.snapshot);
    this.opts.events?.onConnect?.(conn);
  }

  /** A proxyless client named other listeners: it moves to the scope that builds them, before its answer is built. */
  onSubscription(conn: ProxyConnection, type: string): void {
    if (type !== TypeUrl.Listener) return;
    const cur = this.scopeOf.get(conn);
    if (!cur) return;
    const key = this.opts.translator.scopeKey(conn.proxy, conn.explicitListenerNames() ?? []);
    if (key === cur.key) return;
    this.leave(conn);
    const scope = this.join(conn);
    if (scope.snapshot) {
      conn.setSnapshot(scope.snapshot);
      this.queue.enqueue(conn, scope.snapshot);
    }
  }

  onDisconnect(conn: ProxyConnection): void {
    if (!this.leave(conn)) return;
    this.queue.remove(conn);
    this.metrics.connected.dec({ protocol: conn.protocol });
    for (const [g, c] of this.converging) { c.waiting.delete(conn); this.maybeConverged(g, c); }
    this.opts.events?.onDisconnect?.(conn);
  }

  onApplied(conn: ProxyConnection, generation: number): void {
    this.applied(conn, generation);
    this.opts.events?.onApplied?.(conn, generation);
  }

  onNack(conn: ProxyConnection, type: string, version: string, message: string): void {
    this.metrics.rejects.inc({ type: shortType(type) });
    log.warn({ proxy: conn.proxy.id, type: shortType(type), version, message }, 'xds: proxy rejected configuration (NACK)');
    this.opts.events?.onNack?.(conn, type, version, message);
  }

  onSent(_conn: ProxyConnection, type: string, bytes: number): void {
    const t = shortType(type);
    this.metrics.pushes.inc({ type: t });
    this.metrics.configSize.observe({ type: t }, bytes);
  }

  onAckTimeout(conn: ProxyConnection, type: string): void {
    this.metrics.ackTimeouts.inc({ type: shortType(type) });
    log.warn({ proxy: conn.proxy.id, type: shortType(type) }, 'xds: no ACK within the flow-control timeout; sending on');
  }
}
