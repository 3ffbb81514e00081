/**
 * Hand-built xDS resources and a harness (ADS server + push pipeline + a translator whose output
 * the test sets directly) for the protocol tests and the push benchmark. Resources are shaped the
 * way proxyless gRPC accepts them (api_listener with an HttpConnectionManager, EDS clusters).
 */
import { FakeClock, type Clock } from '../../lib/clock.ts';
import { TypeUrl } from '../../xds/protos.ts';
import { AdsServer } from './ads-server.ts';
import { emptyResourceSet, type ResourceSet } from './snapshot.ts';
import type { ProxyInfo } from './node-info.ts';
import { PushPipeline, type PipelineEvents, type ScopeTranslator } from '../pipeline/push-pipeline.ts';

export function edsCluster(name: string, extra: Record<string, unknown> = {}): object {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name }, connect_timeout: { seconds: 1 }, lb_policy: 'ROUND_ROBIN', ...extra };
}

export function loadAssignment(cluster: string, ports: number[], host = '127.0.0.1'): object {
  return {
    cluster_name: cluster,
    endpoints: [{
      locality: { region: 'local' },
      load_balancing_weight: { value: 1 },
      lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: host, port_value: p } } }, health_status: 'HEALTHY' })),
    }],
  };
}

/** A proxyless-gRPC style listener: api_listener → HttpConnectionManager → RDS `routeName`. */
export function apiListener(name: string, routeName: string): object {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': TypeUrl.HttpConnectionManager,
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeName },
        http_filters: [{ name: 'router', typed_config: { '@type': TypeUrl.Router } }],
      },
    },
  };
}

/** A route configuration with one virtual host for `domains`, splitting across weighted clusters. */
export function weightedRoute(name: string, domains: string[], split: { cluster: string; weight: number }[]): object {
  const action = split.length === 1
    ? { cluster: split[0].cluster }
    : { weighted_clusters: { clusters: split.map((s) => ({ name: s.cluster, weight: { value: s.weight } })) } };
  return { name, virtual_hosts: [{ name: `${name}-vh`, domains, routes: [{ match: { prefix: '' }, route: action }] }] };
}

/** A ResourceSet for one service `svc`: cluster, endpoints, listener, route. */
export function serviceResources(svc: string, ports: number[], into: ResourceSet = emptyResourceSet()): ResourceSet {
  into[TypeUrl.Cluster].set(svc, edsCluster(svc));
  into[TypeUrl.ClusterLoadAssignment].set(svc, loadAssignment(svc, ports));
  into[TypeUrl.Listener].set(svc, apiListener(svc, `${svc}-route`));
  into[TypeUrl.RouteConfiguration].set(`${svc}-route`, weightedRoute(`${svc}-route`, [svc], [{ cluster: svc, weight: 100 }]));
  return into;
}

/** A translator whose per-scope output the test sets; counts full and endpoint-only computations. */
export class SettableTranslator implements ScopeTranslator {
  readonly sets = new Map<string, ResourceSet>();
  full = 0;
  edsOnly = 0;
  scopeKey(p: ProxyInfo, _apiListeners: readonly string[] = []): string { return `${p.role}/${p.namespace ?? '*'}`; }
  set(scope: string): ResourceSet {
    let s = this.sets.get(scope);
    if (!s) { s = emptyResourceSet(); this.sets.set(scope, s); }
    return s;
  }
  translate(p: ProxyInfo, _apiListeners: readonly string[] = []): Partial<ResourceSet> {
    this.full++;
    const s = this.sets.get(this.scopeKey(p));
    if (!s) return {};
    // A copy, as a real translation builds new objects on every call.
    const out = emptyResourceSet();
    for (const [t, m] of Object.entries(s)) out[t as keyof ResourceSet] = new Map(m);
    return out;
  }
  translateEndpoints(p: ProxyInfo, clusterNames: string[]): Map<string, object> {
    this.edsOnly++;
    const cla = this.sets.get(this.scopeKey(p))?.[TypeUrl.ClusterLoadAssignment] ?? new Map();
    return new Map(clusterNames.filter((n) => cla.has(n)).map((n) => [n, cla.get(n)!]));
  }
}

export interface Harness {
  clock: Clock;
  fake?: FakeClock;
  translator: SettableTranslator;
  pipeline: PushPipeline;
  server: AdsServer;
  address: string;
  /** Flushes the debouncer now (FakeClock harness) after `notify`. */
  change(kind?: string, endpointsOnly?: boolean): void;
  close(): Promise<void>;
}

export async function startHarness(opts: { clock?: Clock; ackTimeoutMs?: number; events?: PipelineEvents; debounceAfterMs?: number; debounceMaxMs?: number; debounceLeading?: boolean; maxConcurrentPushes?: number; translator?: SettableTranslator } = {}): Promise<Harness> {
  const fake = opts.clock ? undefined : new FakeClock();
  const clock = opts.clock ?? fake!;
  const translator = opts.translator ?? new SettableTranslator();
  const pipeline = new PushPipeline({ clock, translator, events: opts.events, debounceAfterMs: opts.debounceAfterMs, debounceMaxMs: opts.debounceMaxMs, debounceLeading: opts.debounceLeading, maxConcurrentPushes: opts.maxConcurrentPushes });
  const server = new AdsServer({ clock, listener: pipeline, ackTimeoutMs: opts.ackTimeoutMs ?? 0 });
  const address = await server.start();
  return {
    clock, fake, translator, pipeline, server, address,
    change(kind = 'test/things', endpointsOnly = false) {
      pipeline.notify({ kind, key: 'x', endpointsOnly });
      pipeline.flushNow();
    },
    async close() { pipeline.stop(); await server.stop(); },
  };
}
