/**
 * `npm run bench:proxy-config`: what the proxy does to apply one change to a large configuration
 * (the gateway's side of a new Knative service becoming ready), with the incremental config store
 * beside the reference store (`incremental: false`: every update re-derives the whole
 * configuration and indexes every VHDS host again, as before), fed the same updates in the same
 * run, alternately.
 *
 * State: N services, each a cluster, its endpoints and one VHDS virtual host (three domains, as a
 * Knative Ingress has), behind one listener and one VHDS route configuration. Then K new services
 * (one Cluster, one ClusterLoadAssignment and one VirtualHost update each) and K endpoint changes
 * of existing services (one ClusterLoadAssignment update). Times ConfigStore.onUpdate (decode is
 * not included: the xDS client decodes before it) and prints medians and p90 per update kind.
 * Writes bench/results/proxy-config.json (cores, load average) and ends with one JSON line.
 *
 *   node --import tsx bench/proxy-config.ts [--services 1000,5000] [--changes 200]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { realClock } from '../src/lib/clock.ts';
import { TypeUrl } from '../src/xds/protos.ts';
import { ConfigStore } from '../src/proxy/config/config-store.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../src/proxy/testing/resources.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const DEFAULTS = { upstreamIdleTimeoutMs: 60_000, connectTimeoutMs: 1_000, routeTimeoutMs: 15_000, streamIdleTimeoutMs: 300_000 };

const program = new Command().option('--services <list>', 'services loaded first (comma-separated sizes, each a run)', '1000,5000').option('--changes <n>', 'new services and endpoint changes timed', '200').parse();
const SIZES = String(program.opts().services).split(',').map(Number);
let N = 0;
const K = Number(program.opts().changes);

const cluster = (i: number) => edsCluster(`outbound|80||svc-${i}.ns-${i % 10}.svc.cluster.local`);
const endpoints = (i: number, port: number) => loadAssignment(`outbound|80||svc-${i}.ns-${i % 10}.svc.cluster.local`, [port]);
const vhost = (i: number) => ({
  ...(routeConfig('x', [{ name: `svc-${i}`, domains: [`svc-${i}.ns-${i % 10}.example.com`, `svc-${i}.ns-${i % 10}.example.com:*`, `svc-${i}.ns-${i % 10}.svc`], routes: [{ prefix: '/', weighted: [[`outbound|80||svc-${i}.ns-${i % 10}.svc.cluster.local`, 100]] }] }]) as { virtual_hosts: object[] }).virtual_hosts[0],
  name: `gw/svc-${i}`,
});

let v = 0;
function update(typeUrl: string, resources: object[], removals: string[] = []) {
  v++;
  return {
    typeUrl, removals, decodeErrors: [], versionInfo: String(v),
    upserts: resources.map((r) => ({ name: (r as { name?: string }).name ?? (r as { cluster_name: string }).cluster_name, version: String(v), resource: r as Record<string, any>, bytes: new Uint8Array() })),
  };
}

function store(incremental: boolean): ConfigStore {
  const s = new ConfigStore({ defaults: DEFAULTS as never, clock: realClock, initialFetchTimeoutMs: 15_000, subscribe: () => {}, incremental });
  s.onUpdate(update(TypeUrl.Cluster, Array.from({ length: N }, (_, i) => cluster(i))));
  s.onUpdate(update(TypeUrl.ClusterLoadAssignment, Array.from({ length: N }, (_, i) => endpoints(i, 10_000 + i))));
  s.onUpdate(update(TypeUrl.Listener, [hcmListener('http', 8080, 'gw')]));
  s.onUpdate(update(TypeUrl.RouteConfiguration, [{ name: 'gw', virtual_hosts: [], vhds: { config_source: { ads: {}, resource_api_version: 'V3' } } }]));
  s.onUpdate(update(TypeUrl.VirtualHost, Array.from({ length: N }, (_, i) => vhost(i))));
  if (!s.ready || s.config.clusters.size !== N || s.config.routes.get('gw')?.exact.size !== 2 * N) throw new Error('bench state did not load');
  return s;
}

function run(): Record<string, Record<string, { p50_ms: number; p90_ms: number }>> {
  const stores = { incremental: store(true), reference: store(false) };
  type Kind = 'new_service' | 'endpoints_change';
  const times: Record<keyof typeof stores, Record<Kind, number[]>> = { incremental: { new_service: [], endpoints_change: [] }, reference: { new_service: [], endpoints_change: [] } };
  const timed = (s: ConfigStore, us: object[]): number => {
    const t0 = performance.now();
    for (const u of us) { const r = s.onUpdate(u as never); if (r.error) throw new Error(r.error); }
    return performance.now() - t0;
  };
  for (let k = 0; k < K; k++) {
    const i = N + k;
    const add = [update(TypeUrl.Cluster, [cluster(i)]), update(TypeUrl.ClusterLoadAssignment, [endpoints(i, 20_000 + k)]), update(TypeUrl.VirtualHost, [vhost(i)])];
    const change = [update(TypeUrl.ClusterLoadAssignment, [endpoints(k % N, 30_000 + k)])];
    // Alternate which store goes first, so both see the same heap and GC conditions on average.
    const order = k % 2 ? (['incremental', 'reference'] as const) : (['reference', 'incremental'] as const);
    for (const name of order) times[name].new_service.push(timed(stores[name], add));
    for (const name of order) times[name].endpoints_change.push(timed(stores[name], change));
  }
  const q = (xs: number[], p: number) => { const a = [...xs].sort((x, y) => x - y); return +a[Math.min(a.length - 1, Math.floor(p * a.length))]!.toFixed(3); };
  const summary = Object.fromEntries(Object.entries(times).map(([name, byKind]) => [name, Object.fromEntries(Object.entries(byKind).map(([kind, xs]) => [kind, { p50_ms: q(xs, 0.5), p90_ms: q(xs, 0.9) }]))]));
  process.stdout.write(`proxy config apply at ${N} services (${K} changes each; ConfigStore.onUpdate, ms per change)\n`);
  process.stdout.write(`${'change'.padEnd(18)} ${'incremental p50/p90'.padEnd(22)} reference p50/p90\n`);
  for (const kind of ['new_service', 'endpoints_change'] as Kind[]) {
    const a = summary.incremental[kind] as { p50_ms: number; p90_ms: number }, b = summary.reference[kind] as { p50_ms: number; p90_ms: number };
    process.stdout.write(`${kind.padEnd(18)} ${`${a.p50_ms} / ${a.p90_ms}`.padEnd(22)} ${b.p50_ms} / ${b.p90_ms}\n`);
  }
  return summary as never;
}

const runs = SIZES.map((n) => { N = n; return { services: n, summary: run() }; });
const result = { date: new Date().toISOString(), machine: { cores: os.cpus().length, loadavg: os.loadavg().map((x) => +x.toFixed(2)), node: process.version }, changes: K, runs };
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench/results/proxy-config.json'), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(Object.fromEntries(runs.flatMap((r) => [
  [`new_service_incremental_p50_ms_${r.services}`, r.summary.incremental.new_service.p50_ms], [`new_service_reference_p50_ms_${r.services}`, r.summary.reference.new_service.p50_ms],
  [`endpoints_change_incremental_p50_ms_${r.services}`, r.summary.incremental.endpoints_change.p50_ms], [`endpoints_change_reference_p50_ms_${r.services}`, r.summary.reference.endpoints_change.p50_ms],
]))) + '\n');
