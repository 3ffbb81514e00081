/**
 * ConfigStore's incremental recompute against the reference store (`incremental: false`: every
 * update re-derives everything and indexes every VHDS host again): after every update of a random
 * sequence (clusters, endpoints, listeners, route configurations, VHDS hosts; arrivals in any
 * order, removals, warming), both hold the same active configuration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../lib/clock.ts';
import { TypeUrl } from '../../xds/protos.ts';
import { ConfigStore, type ProxyConfig } from './config-store.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../testing/resources.ts';

const DEFAULTS = { upstreamIdleTimeoutMs: 60_000, connectTimeoutMs: 1_000, routeTimeoutMs: 15_000, streamIdleTimeoutMs: 300_000 };

function shape(c: ProxyConfig): object {
  const names = (m: ReadonlyMap<string, unknown>) => [...m.keys()].sort();
  return {
    listeners: [...c.listeners].map(([n, l]) => [n, l]).sort(),
    clusters: names(c.clusters).map((n) => [n, c.clusters.get(n)]),
    endpoints: names(c.endpoints).map((n) => [n, c.endpoints.get(n)]),
    secrets: names(c.secrets),
    routes: names(c.routes).map((n) => {
      const t = c.routes.get(n)!;
      return [n, [...t.exact].map(([d, vh]) => `${d}=${vh.name}`).sort(), t.suffixes.map(([d, vh]) => `${d}=${vh.name}`).sort(), t.any?.name];
    }),
  };
}

test('config store: the incremental recompute gives what re-deriving everything (and indexing every VHDS host again) gives, after every update of a random sequence', () => {
  let seed = 11;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const clock = new FakeClock();
  const store = new ConfigStore({ defaults: DEFAULTS as never, clock, initialFetchTimeoutMs: 5_000, subscribe: () => {} });
  const reference = new ConfigStore({ defaults: DEFAULTS as never, clock, initialFetchTimeoutMs: 5_000, subscribe: () => {}, incremental: false });
  let v = 0;
  const update = (typeUrl: string, upserts: object[], removals: string[] = []) => {
    const u = {
      typeUrl, removals, decodeErrors: [], versionInfo: String(++v),
      upserts: upserts.map((r) => ({ name: (r as { name?: string; cluster_name?: string }).name ?? (r as { cluster_name: string }).cluster_name, version: String(v), resource: r as Record<string, any>, bytes: new Uint8Array() })),
    };
    const a = store.onUpdate(u);
    const b = reference.onUpdate(u);
    assert.equal(a.error, b.error, 'the same updates are refused');
  };
  const vhost = (name: string, domain: string, cluster: string) => ({ ...(routeConfig('x', [{ name, domains: [domain], routes: [{ prefix: '/', cluster }] }]) as { virtual_hosts: object[] }).virtual_hosts[0], name });
  for (let step = 0; step < 1000; step++) {
    const n = `c${rnd(12)}`;
    switch (rnd(9)) {
      case 0: update(TypeUrl.Cluster, [edsCluster(n)]); break;
      case 1: update(TypeUrl.Cluster, [], [n]); break;
      case 2: update(TypeUrl.ClusterLoadAssignment, [loadAssignment(n, [1000 + rnd(4)])]); break;
      case 3: update(TypeUrl.ClusterLoadAssignment, [], [n]); break;
      case 4: update(TypeUrl.Listener, [hcmListener(`l${rnd(2)}`, 8000 + rnd(2), rnd(2) ? 'vh' : 'plain')]); break;
      case 5: update(TypeUrl.RouteConfiguration, [rnd(3) ? { name: 'vh', virtual_hosts: [], vhds: { config_source: { ads: {}, resource_api_version: 'V3' } } } : routeConfig('plain', [{ name: 'p', domains: [`p${rnd(3)}.example`], routes: [{ prefix: '/', cluster: n }] }])]); break;
      case 6: update(TypeUrl.VirtualHost, [vhost(`vh/h${rnd(6)}`, `h${rnd(9)}.example`, n)]); break;
      case 7: update(TypeUrl.VirtualHost, [], [`vh/h${rnd(6)}`]); break;
      default: clock.advance(rnd(3) * 2_000); break; // initial fetch timeouts pass for some
    }
    assert.deepEqual(shape(store.config), shape(reference.config), `step ${step}`);
    assert.equal(store.ready, reference.ready, `step ${step}: ready`);
  }
});
