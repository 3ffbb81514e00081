/**
 * The accepted xDS resources and the active configuration derived from them. Validates each
 * update with the pure translators (a resource that fails is refused and NACKed; its previous
 * version keeps serving), keeps clusters warming until their ClusterLoadAssignment arrives and
 * listeners until their RouteConfiguration arrives (or initial_fetch_timeout passes), asks the
 * xDS client for the EDS/RDS/SDS names the accepted clusters and listeners need, and publishes a
 * new immutable ProxyConfig to its listeners after every change.
 */
import type { Clock, Timer } from '../../lib/clock.ts';
import { isoTime } from '../../lib/clock.ts';
import { decodeResource, TypeUrl } from '../../xds/protos.ts';
import type { XdsHandler, XdsResult, XdsUpdate } from '../xds-client/ads-client.ts';
import { translateCluster } from './cluster.ts';
import { translateLoadAssignment, translateSecret } from './endpoints.ts';
import { translateListener } from './listener.ts';
import type { ClusterConfig, EndpointsConfig, ListenerConfig, RouteTable, SecretConfig, TranslateDefaults, VirtualHost } from './model.ts';
import { translateRouteConfiguration } from './route-config.ts';
import { translateVirtualHost, VhdsHosts } from './vhds.ts';
import { log } from '../../lib/log.ts';

export interface ProxyConfig {
  readonly listeners: ReadonlyMap<string, ListenerConfig>;
  readonly routes: ReadonlyMap<string, RouteTable>;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly endpoints: ReadonlyMap<string, EndpointsConfig>;
  readonly secrets: ReadonlyMap<string, SecretConfig>;
}

interface Accepted<T> { value: T; version: string; bytes: Uint8Array; updatedAt: number; warmingSince?: number }

type Translate = (raw: Record<string, any>, d: TranslateDefaults, name: string) => unknown;
const TRANSLATORS: Record<string, Translate> = {
  [TypeUrl.Listener]: translateListener,
  [TypeUrl.RouteConfiguration]: (r, d, n) => { const t = translateRouteConfiguration(r, d, n); return r.vhds ? { ...t, vhds: true } : t; },
  [TypeUrl.VirtualHost]: translateVirtualHost,
  [TypeUrl.Cluster]: translateCluster,
  [TypeUrl.ClusterLoadAssignment]: (r, _d, n) => translateLoadAssignment(r, n),
  [TypeUrl.Secret]: (r, _d, n) => translateSecret(r, n),
};

export interface ConfigStoreOptions {
  defaults: TranslateDefaults;
  clock: Clock;
  initialFetchTimeoutMs: number;
  /** The xDS client's subscribe (EDS/RDS/SDS by name; VHDS wildcard). */
  subscribe(typeUrl: string, names: '*' | Iterable<string>): void;
  /** Default true. false: every update re-derives the whole configuration and re-indexes every VHDS host (the reference for tests and bench:proxy-config). */
  incremental?: boolean;
}

export class ConfigStore implements XdsHandler {
  private readonly accepted = new Map<string, Map<string, Accepted<any>>>();
  private readonly seenTypes = new Set<string>();
  private active: ProxyConfig = { listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map(), secrets: new Map() };
  private readonly subs: ((c: ProxyConfig) => void)[] = [];
  private readonly vhds: VhdsHosts;
  private vhdsSubscribed = false;
  private warmTimer?: Timer;
  /**
   * What changed since the last recompute: per type, the names upserted or removed ('all' = every
   * name, e.g. the warming timer). recompute() re-derives only what those can affect, so one new
   * service (a cluster, its endpoints, a virtual host) costs the gateway O(that service), not a
   * pass over every cluster and endpoint set it holds.
   */
  private changed = new Map<string, Set<string> | 'all'>();
  /** Clusters waiting for their endpoints (or the initial fetch timeout). */
  private warmingClusters = new Set<string>();
  private warmingListeners = false;
  private isReady = false;
  connected = false;
  lastNack?: { typeUrl: string; message: string; at: string };

  constructor(private readonly o: ConfigStoreOptions) {
    this.vhds = new VhdsHosts({ fromScratch: o.incremental === false });
    for (const t of Object.keys(TRANSLATORS)) this.accepted.set(t, new Map());
  }

  get config(): ProxyConfig { return this.active; }
  get ready(): boolean { return this.isReady; }
  onChange(cb: (c: ProxyConfig) => void): void { this.subs.push(cb); }

  onConnectionChange(connected: boolean): void { this.connected = connected; }

  onUpdate(u: XdsUpdate): XdsResult {
    const translate = TRANSLATORS[u.typeUrl];
    if (!translate) return { rejected: new Set(), error: `unsupported type ${u.typeUrl}` };
    const map = this.accepted.get(u.typeUrl)!;
    const errors: string[] = [];
    const rejected = new Set<string>();
    const now = this.o.clock.now();
    const staged = new Map<string, Accepted<any>>();
    for (const r of u.upserts) {
      try {
        const value = translate(r.resource, this.o.defaults, r.name);
        staged.set(r.name, { value, version: r.version, bytes: r.bytes, updatedAt: now });
      } catch (e) {
        rejected.add(r.name);
        errors.push((e as Error).message);
      }
    }
    if (u.typeUrl === TypeUrl.VirtualHost) {
      // A domain already served by another host of the same route configuration is refused.
      const refused = this.vhds.apply(u.removals, new Map([...staged].map(([n, a]) => [n, a.value as VirtualHost])));
      for (const [n, why] of refused) { staged.delete(n); rejected.add(n); errors.push(why); }
    }
    for (const [n, a] of staged) map.set(n, a);
    for (const n of u.removals) map.delete(n);
    this.noteChanged(u.typeUrl, [...staged.keys(), ...u.removals]);
    this.seenTypes.add(u.typeUrl);
    this.updateSubscriptions(u.typeUrl);
    this.recompute();
    const error = errors.length ? errors.join('; ') : undefined;
    if (error) this.lastNack = { typeUrl: u.typeUrl, message: error, at: isoTime(now) };
    return { rejected, error };
  }

  private noteChanged(type: string, names: Iterable<string>): void {
    const cur = this.changed.get(type);
    if (cur === 'all') return;
    const set = cur ?? new Set<string>();
    for (const n of names) set.add(n);
    this.changed.set(type, set);
  }

  private updateSubscriptions(changed: string): void {
    // Only cluster, listener and route changes change what is asked for (endpoint updates, the
    // most frequent, skip the lists entirely).
    if (changed !== TypeUrl.Cluster && changed !== TypeUrl.Listener && changed !== TypeUrl.RouteConfiguration) return;
    const clusters = [...this.accepted.get(TypeUrl.Cluster)!.values()].map((a) => a.value as ClusterConfig);
    const listeners = [...this.accepted.get(TypeUrl.Listener)!.values()].map((a) => a.value as ListenerConfig);
    if (changed === TypeUrl.Cluster) {
      this.o.subscribe(TypeUrl.ClusterLoadAssignment, new Set(clusters.filter((c) => c.type === 'EDS').map((c) => c.edsServiceName)));
    }
    if (changed === TypeUrl.Listener) {
      const rds = new Set<string>();
      for (const l of listeners) for (const fc of l.filterChains) if (fc.hcm.rdsName) rds.add(fc.hcm.rdsName);
      this.o.subscribe(TypeUrl.RouteConfiguration, rds);
    }
    if (changed === TypeUrl.RouteConfiguration && !this.vhdsSubscribed && [...this.accepted.get(TypeUrl.RouteConfiguration)!.values()].some((a) => (a.value as RouteTable).vhds)) {
      // Envoy subscribes to a route configuration's virtual hosts once it names VHDS.
      this.vhdsSubscribed = true;
      this.o.subscribe(TypeUrl.VirtualHost, '*');
    }
    if (changed === TypeUrl.Listener || changed === TypeUrl.Cluster) {
      const sds = new Set<string>();
      for (const l of listeners) for (const fc of l.filterChains) {
        for (const s of fc.tls?.certSecrets ?? []) sds.add(s);
        if (fc.tls?.validationSecret) sds.add(fc.tls.validationSecret);
      }
      for (const c of clusters) {
        if (c.tls?.certSecret) sds.add(c.tls.certSecret);
        if (c.tls?.validationSecret) sds.add(c.tls.validationSecret);
      }
      this.o.subscribe(TypeUrl.Secret, sds);
    }
  }

  private warm(a: Accepted<any>, isWarm: boolean, now: number): boolean {
    if (isWarm) { a.warmingSince = undefined; return true; }
    a.warmingSince ??= now;
    return now - a.warmingSince >= this.o.initialFetchTimeoutMs;
  }

  /**
   * Derives the active configuration from what is accepted, honouring warming. Incremental: each
   * part of the new ProxyConfig is a copy of the previous one with only the changed names
   * re-derived (Map copies, no per-entry work), and parts nothing touched are the previous
   * objects. `full` re-derives everything (the warming timer; tests).
   */
  recompute(full = this.o.incremental === false): void {
    const now = this.o.clock.now();
    const changed = this.changed;
    this.changed = new Map();
    const get = (t: string) => this.accepted.get(t)!;
    const touched = (t: string): Set<string> | 'all' | undefined => (full ? 'all' : changed.get(t));
    const prev = this.active;

    // Endpoints and secrets: plain copies of what is accepted.
    const copyOf = <T>(t: string, before: ReadonlyMap<string, T>): ReadonlyMap<string, T> => {
      const names = touched(t);
      if (!names) return before;
      if (names === 'all') return new Map([...get(t)].map(([n, a]) => [n, a.value as T]));
      const out = new Map(before);
      for (const n of names) { const a = get(t).get(n); if (a) out.set(n, a.value as T); else out.delete(n); }
      return out;
    };
    const endpoints = copyOf<EndpointsConfig>(TypeUrl.ClusterLoadAssignment, prev.endpoints);
    const secrets = copyOf<SecretConfig>(TypeUrl.Secret, prev.secrets);

    // Routes: few route configurations; a VHDS one is re-assembled from its (incremental) index.
    let routes = prev.routes;
    if (full || touched(TypeUrl.RouteConfiguration) || touched(TypeUrl.VirtualHost)) {
      const r = new Map<string, RouteTable>();
      for (const [n, a] of get(TypeUrl.RouteConfiguration)) {
        const rt = a.value as RouteTable;
        if (!rt.vhds) { r.set(n, rt); continue; }
        // Warm once the first VHDS answer arrived (its listeners wait, as for RDS).
        if (!this.seenTypes.has(TypeUrl.VirtualHost)) continue;
        try { r.set(n, this.vhds.table(rt)); } catch (e) {
          log.warn({ routeConfig: n, err: (e as Error).message }, 'proxy: VHDS hosts conflict with the route configuration\'s own; serving its own hosts only');
          r.set(n, rt);
        }
      }
      routes = r;
    }

    // Clusters: the changed ones, and those still warming (each recompute, as a full one would:
    // endpoints may have arrived, or their initial fetch timeout passed). A removed endpoint set
    // can un-warm any cluster using it: then every cluster is looked at.
    let clusters = prev.clusters;
    const clusterNames = touched(TypeUrl.Cluster);
    const epNames = touched(TypeUrl.ClusterLoadAssignment);
    const epRemoved = epNames === 'all' || (epNames !== undefined && [...epNames].some((n) => !get(TypeUrl.ClusterLoadAssignment).has(n)));
    if (clusterNames === 'all' || epRemoved || (clusterNames && clusterNames.size > 0) || this.warmingClusters.size > 0) {
      const all = clusterNames === 'all' || epRemoved;
      const out = new Map(all ? [] : prev.clusters);
      const look = all ? get(TypeUrl.Cluster).keys() : new Set([...(clusterNames ?? []), ...this.warmingClusters]);
      if (all) this.warmingClusters.clear(); // removed clusters leave it too
      for (const n of look) {
        const a = get(TypeUrl.Cluster).get(n);
        out.delete(n);
        this.warmingClusters.delete(n);
        if (!a) continue;
        const c = a.value as ClusterConfig;
        if (this.warm(a, c.type === 'STATIC' || !!c.inlineEndpoints || endpoints.has(c.edsServiceName), now)) out.set(n, c);
        else {
          this.warmingClusters.add(n);
          const before = prev.clusters.get(n);
          if (before) out.set(n, before);
        }
      }
      clusters = out;
    }

    // Listeners: few; re-derived when they, their routes or secrets changed, or one is warming.
    let listeners = prev.listeners;
    if (full || touched(TypeUrl.Listener) || routes !== prev.routes || secrets !== prev.secrets || this.warmingListeners) {
      const out = new Map<string, ListenerConfig>();
      this.warmingListeners = false;
      for (const [n, a] of get(TypeUrl.Listener)) {
        const l = a.value as ListenerConfig;
        const needs = l.filterChains.every((fc) => !fc.hcm.rdsName || routes.has(fc.hcm.rdsName))
          && l.filterChains.every((fc) => !fc.tls || fc.tls.certSecrets.every((s) => secrets.has(s)));
        if (this.warm(a, needs, now)) out.set(n, l);
        else {
          this.warmingListeners = true;
          const before = prev.listeners.get(n);
          if (before) out.set(n, before);
        }
      }
      listeners = out;
    }

    const warming = this.warmingClusters.size > 0 || this.warmingListeners;
    this.active = { listeners, routes, clusters, endpoints, secrets };
    if (warming && !this.warmTimer) {
      this.warmTimer = this.o.clock.setTimeout(() => { this.warmTimer = undefined; this.recompute(true); }, Math.max(10, this.o.initialFetchTimeoutMs));
    }
    if (!this.isReady && this.seenTypes.has(TypeUrl.Listener) && this.seenTypes.has(TypeUrl.Cluster) && !warming) this.isReady = true;
    for (const cb of this.subs) cb(this.active);
  }

  /** Envoy-shaped /config_dump: every accepted resource with its version and update time. */
  dump(): object {
    const section = (t: string, type: string, key: string) => ({
      '@type': `type.googleapis.com/envoy.admin.v3.${type}`,
      [key]: [...this.accepted.get(t)!].map(([name, a]) => ({ name, version_info: a.version, last_updated: isoTime(a.updatedAt), ...(a.warmingSince !== undefined ? { warming: true } : {}), resource: { '@type': t, ...decodeResource(t, a.bytes) } })),
    });
    return {
      configs: [
        section(TypeUrl.Cluster, 'ClustersConfigDump', 'dynamic_active_clusters'),
        section(TypeUrl.ClusterLoadAssignment, 'EndpointsConfigDump', 'dynamic_endpoint_configs'),
        section(TypeUrl.Listener, 'ListenersConfigDump', 'dynamic_listeners'),
        section(TypeUrl.RouteConfiguration, 'RoutesConfigDump', 'dynamic_route_configs'),
        {
          '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
          dynamic_active_secrets: [...this.accepted.get(TypeUrl.Secret)!].map(([name, a]) => ({ name, version_info: a.version, last_updated: isoTime(a.updatedAt) })),
        },
      ],
      last_nack: this.lastNack,
    };
  }
}
