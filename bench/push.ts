/**
 * bench:push — how fast one change reaches N proxies, and what it costs, with 10,000 services
 * loaded. The control plane (store, informers, translation, pipeline, ADS server) runs in this
 * process; the N simulated proxies run in child processes (`--sim-processes`, default 2; real gRPC
 * ADS streams, one per proxy, each ACKing like Envoy), so the control process's RSS and event loop
 * are its own.
 *
 * Phases, each with a fresh control plane:
 *   1k   services: N delta proxies; change one route; bytes pushed per change.
 *   10k  services: N delta proxies; change one route → convergence p50/p99 (after the debounce),
 *        bytes per change; then a reconnect storm of all N with initial_resource_versions;
 *        then N state-of-the-world proxies and the same change (SotW full push of the type).
 * Services: one Knative Ingress (ClusterLocal + ExternalIP rule, 100 % to one revision) plus that
 * revision's Endpoints each, 10 per namespace. The proxies are mesh proxies of namespace ns-0 (one
 * scope: one translation, N pushes); the changed route is in ns-0, so every proxy receives it.
 * Each phase makes 3 warm-up changes and 5 measured ones; figures are over the measured ones
 * (convergence percentiles over every proxy × change, bytes per change averaged).
 * converge_*: from the moment the debounce fired (translation included) to the proxy receiving
 * the changed route; converge_total_*: from the store write (debounce included);
 * server_converge_ms: pilot_proxy_convergence_time (change observed → every proxy ACKed).
 * cp_cpu_ms_per_change / sim_cpu_ms_per_change: CPU time of the control process / of the simulated
 * proxies from the store write until every proxy has the change (steadier than latencies on a
 * shared machine; the control plane's deferred problem pass, run after convergence, is not in it).
 * --with-gateway: one delta gateway proxy too (every public host in one RouteConfiguration per
 * port); its convergence and bytes per change are reported, results go to push-gateway.json.
 * Delta proxies (mesh and gateway) take their hosts over VHDS, as sluice's proxy does; the SotW
 * phase cannot (VHDS is delta-only) and carries whole RouteConfigurations; --inline-routes turns
 * VHDS off for every proxy, to compare.
 * The load average at the start and end of the run is recorded with the machine.
 *
 *   node --import tsx bench/push.ts [--proxies 1000] [--services 10000] [--debounce-after 100] [--with-gateway] [--inline-routes] [--only-main] [--sim-processes 2] [--cpu-prof-changes DIR]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Session } from 'node:inspector';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryStore } from '../src/store/memory-store.ts';
import { createControlPlane, type ControlPlane } from '../src/controlplane/control-plane.ts';
import { AdsTestClient } from '../src/controlplane/xds/ads-test-client.ts';
import { TypeUrl, VHDS_CLIENT_FEATURE } from '../src/xds/protos.ts';
import type { KubeObject } from '../src/api/meta.ts';
import { log } from '../src/lib/log.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** --cpu-prof-changes DIR: profile the control process over the measured changes of the main phase. */
let profileDir: string | undefined;
let profileServices = 0;
const post = (s: Session, method: string): Promise<unknown> => new Promise((resolve, reject) => s.post(method, (err, res) => (err ? reject(err) : resolve(res))));
const ING = 'networking.internal.knative.dev/ingresses';
const TYPES = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration];
const PER_NS = 10;
const WARMUP = 3;
const MEASURED = 5;
// Times compared across processes (the control plane's flush, each simulator's receipt) are read
// from the wall clock in every process: performance.timeOrigin is fixed at process start and
// drifts from the wall clock (4.7 s on this VM over one run, which made convergence negative).
const epoch = (): number => Date.now();
/** Wall-clock time of a performance.now() reading taken moments ago. */
const wallAt = (perfAt: number): number => Date.now() - (performance.now() - perfAt);

// ------------------------------------------------------------------ child: the simulated proxies

type Msg = { cmd: 'connect'; address: string; n: number; offset?: number; protocol: 'delta' | 'sotw'; ns: string; reconnect?: boolean; gateway?: boolean; inlineRoutes?: boolean } | { cmd: 'watch' } | { cmd: 'close' };

async function childMain(): Promise<void> {
  let clients: AdsTestClient[] = [];
  // The gateway proxy (--with-gateway): every public host in one RouteConfiguration per port.
  let gw: AdsTestClient | undefined;
  let watching: { start: number; got: Map<AdsTestClient, number>; bytes: number; responses: number; timer: NodeJS.Timeout; cpu: NodeJS.CpuUsage; gwAt?: number; gwBytes: number } | undefined;
  // Done when every proxy whose stream is still up has the change (a stream the server cut, e.g.
  // by keepalive on a starved machine, is counted as lost, not waited for: this client does not
  // reconnect), or after 30 s with whatever arrived.
  // Streams still up (kept as a count: checking it on every response must not be O(N)).
  let live = 0;
  const finish = (): void => {
    if (!watching) return;
    clearTimeout(watching.timer);
    const cpu = process.cpuUsage(watching.cpu);
    process.send!({ ev: 'converged', gwAt: watching.gwAt, gwBytes: watching.gwBytes, times: [...watching.got.values()], bytes: watching.bytes, responses: watching.responses, lost: clients.length - live, missing: live - watching.got.size, cpuMs: (cpu.user + cpu.system) / 1000 });
    watching = undefined;
  };
  const maybeDone = (): void => {
    if (watching && watching.got.size >= live && (!gw || gw.ended !== undefined || watching.gwAt !== undefined)) finish();
  };
  const onResponse = (c: AdsTestClient) => (r: { type_url: string; bytes: number; at: number }) => {
    if (!watching) return;
    if (c === gw) {
      watching.gwBytes += r.bytes;
      if ((r.type_url === TypeUrl.RouteConfiguration || r.type_url === TypeUrl.VirtualHost) && watching.gwAt === undefined) { watching.gwAt = wallAt(r.at); maybeDone(); }
      return;
    }
    watching.bytes += r.bytes;
    watching.responses++;
    if ((r.type_url === TypeUrl.RouteConfiguration || r.type_url === TypeUrl.VirtualHost) && !watching.got.has(c)) {
      watching.got.set(c, wallAt(r.at));
      maybeDone();
    }
  };
  const open = (m: Extract<Msg, { cmd: 'connect' }>, i: number, initial?: Map<string, Map<string, string>>): AdsTestClient => {
    let c!: AdsTestClient;
    // eslint-disable-next-line prefer-const
    // Delta mesh proxies take their hosts over VHDS, as sluice's proxy does (unless --inline-routes).
    const vhds = m.protocol === 'delta' && !m.inlineRoutes;
    c = new AdsTestClient(m.address, m.protocol, { id: `mesh-${(m.offset ?? 0) + i}`, metadata: { SLUICE_ROLE: 'mesh', NAMESPACE: m.ns }, clientFeatures: vhds ? [VHDS_CLIENT_FEATURE] : [] }, {
      fastDecode: true,
      onResponse: (r) => onResponse(c)(r),
      onEnd: () => { if (clients.includes(c)) { live--; maybeDone(); } },
    });
    live++;
    for (const t of vhds ? [...TYPES, TypeUrl.VirtualHost] : TYPES) {
      if (m.protocol === 'sotw') c.sotwRequest(t, t === TypeUrl.Cluster || t === TypeUrl.Listener ? [] : ['*']);
      else c.deltaRequest(t, [], [], { initial: initial?.get(t) ? Object.fromEntries(initial.get(t)!) : undefined });
    }
    return c;
  };
  process.on('message', async (m: Msg) => {
    if (m.cmd === 'connect') {
      const start = epoch();
      const old = clients;
      const have = old.map((c) => c.have);
      clients = [];
      live = 0;
      for (const c of old) c.close();
      const gwHave = gw?.have;
      gw?.close();
      gw = undefined;
      if (m.gateway) {
        // Like the mesh proxies, a reconnecting gateway names what it has (initial_resource_versions).
        // A gateway takes its hosts over VHDS (as sluice's proxy does) unless --inline-routes.
        const g: AdsTestClient = new AdsTestClient(m.address, 'delta', { id: 'gateway-0', metadata: { SLUICE_ROLE: 'gateway' }, clientFeatures: m.inlineRoutes ? [] : [VHDS_CLIENT_FEATURE] }, { fastDecode: true, onResponse: (r) => onResponse(g)(r) });
        for (const t of m.inlineRoutes ? TYPES : [...TYPES, TypeUrl.VirtualHost]) g.deltaRequest(t, [], [], { initial: m.reconnect && gwHave?.get(t) ? Object.fromEntries(gwHave.get(t)!) : undefined });
        gw = g;
      }
      let bytes = 0;
      for (let i = 0; i < m.n; i++) {
        const c = open(m, i, m.reconnect ? have[i] : undefined);
        clients.push(c);
        if (i % 100 === 99) await new Promise((r) => setImmediate(r));
      }
      // Connected = every proxy has an answer for each of the four types.
      const deadline = Date.now() + 120_000;
      const configured = (c: AdsTestClient): boolean => new Set(c.all.map((r) => r.type_url)).size >= TYPES.length;
      while (clients.some((c) => c.ended === undefined && !configured(c)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      for (const c of clients) for (const r of c.all) bytes += r.bytes;
      const ready = clients.filter(configured).length;
      const checker = setInterval(maybeDone, 100);
      checker.unref();
      process.send!({ ev: 'connected', ms: epoch() - start, bytes, ready });
    } else if (m.cmd === 'watch') {
      watching = { start: epoch(), got: new Map(), bytes: 0, responses: 0, timer: setTimeout(finish, 30_000), cpu: process.cpuUsage(), gwBytes: 0 };
      process.send!({ ev: 'watching' });
    } else if (m.cmd === 'close') {
      for (const c of clients) c.close();
      gw?.close();
      process.exit(0);
    }
  });
  process.send!({ ev: 'up' });
}

// ------------------------------------------------------------------ parent: the control process

function service(ns: string, svc: string, port: number, headerValue: string): KubeObject[] {
  const rev = `${svc}-00001`;
  const paths = [{ splits: [{ serviceNamespace: ns, serviceName: rev, servicePort: 80, percent: 100, appendHeaders: { 'Knative-Serving-Revision': rev } }], appendHeaders: { 'X-Bench': headerValue } }];
  return [
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace: ns, name: rev }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port }] }] },
    {
      apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', metadata: { namespace: ns, name: svc },
      spec: { rules: [
        { hosts: [`${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`], visibility: 'ClusterLocal', http: { paths } },
        { hosts: [`${svc}.${ns}.example.com`], visibility: 'ExternalIP', http: { paths } },
      ] },
    },
  ];
}

/**
 * The simulated proxies, spread over `--sim-processes` child processes (default 2). Real proxies
 * are separate processes; one process holding all N streams serialises their receipt (~90 µs of
 * grpc-js client work per response on this machine), which put up to 90 ms of simulator queueing
 * into the measured tail at N = 1,000. Results of the children are merged; the gateway (if any)
 * lives in the first.
 */
class Fleet {
  private readonly kids: Children[];
  constructor(n: number) { this.kids = Array.from({ length: n }, () => new Children()); }
  async request(msg: Msg | undefined, timeoutMs = 180_000): Promise<any> {
    if (msg?.cmd === 'connect') {
      const k = this.kids.length;
      const share = (i: number): number => Math.floor(msg.n / k) + (i < msg.n % k ? 1 : 0);
      let offset = 0;
      const answers = await Promise.all(this.kids.map((c, i) => {
        const m = { ...msg, n: share(i), offset, gateway: msg.gateway && i === 0 };
        offset += share(i);
        return c.request(m, timeoutMs);
      }));
      return { ev: 'connected', ms: Math.max(...answers.map((a) => a.ms)), bytes: sum(answers.map((a) => a.bytes)), ready: sum(answers.map((a) => a.ready)) };
    }
    const answers = await Promise.all(this.kids.map((c) => c.request(msg, timeoutMs)));
    if (answers[0]?.ev !== 'converged') return answers[0];
    return {
      ev: 'converged', gwAt: answers[0].gwAt, gwBytes: answers[0].gwBytes, times: answers.flatMap((a) => a.times),
      bytes: sum(answers.map((a) => a.bytes)), responses: sum(answers.map((a) => a.responses)), lost: sum(answers.map((a) => a.lost)),
      missing: sum(answers.map((a) => a.missing)), cpuMs: sum(answers.map((a) => a.cpuMs)),
    };
  }
  close(): void { for (const c of this.kids) c.close(); }
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + (b ?? 0), 0);
/** --sim-processes: how many child processes share the simulated proxies. */
let simProcesses = 2;

class Children {
  private readonly child: ChildProcess;
  private waiters: ((m: any) => void)[] = [];
  constructor() {
    // PUSH_BENCH_CHILD_ARGS: extra node flags for the simulated proxies (e.g. --cpu-prof).
    const extra = (process.env.PUSH_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean);
    this.child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx', ...extra], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => { const w = this.waiters.shift(); w?.(m); });
  }
  request(msg: Msg | undefined, timeoutMs = 180_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`bench child: no answer to ${msg?.cmd ?? 'start'} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((m) => { clearTimeout(t); resolve(m); });
      if (msg) this.child.send(msg);
    });
  }
  close(): void { this.child.send({ cmd: 'close' }); }
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const r1 = (x: number): number => Math.round(x * 10) / 10;

interface PhaseResult { rssBeforeStormMb: number; gatewayConverge: number[]; gatewayBytes: number; cpCpuMs: number; simCpuMs: number; lost: number; missing: number; services: number; loadMs: number; connectMs: number; connectBytes: number; converge: number[]; convergeTotal: number[]; serverConvergeMs: number; bytes: number; responses: number; storm?: { ms: number; bytes: number }; rssMb: number; heapMb: number; liveHeapMb: number; rssAfterGcMb: number; externalMb: number; rssSettledMb: number }

/** --inline-routes: no simulated proxy asks for VHDS. */
let inlineRoutes = false;

async function runPhase(services: number, proxies: number, protocol: 'delta' | 'sotw', debounceAfterMs: number, withStorm: boolean, gateway = false): Promise<PhaseResult> {
  const store = new MemoryStore({ historyLimit: 1_000 });
  const t0 = epoch();
  for (let i = 0; i < services; i++) {
    const ns = `ns-${Math.floor(i / PER_NS)}`;
    for (const o of service(ns, `svc-${i}`, 20_000 + (i % 40_000), 'a')) await store.create(o.kind === 'Ingress' ? ING : 'core/endpoints', o);
  }
  const flushes = new Map<number, number>();
  const converged = new Map<number, number>();
  const cp: ControlPlane = createControlPlane({
    store, debounceAfterMs, maxConcurrentPushes: 100,
    observe: { onFlush: (g, at) => flushes.set(g, at) /* when the debounce fired, before translation */, onConverged: (g, ms) => converged.set(g, ms) },
  });
  const { xdsAddress } = await cp.start();
  await cp.status.idle();
  const loadMs = epoch() - t0;
  const kids = new Fleet(simProcesses);
  await kids.request(undefined);
  const conn = await kids.request({ cmd: 'connect', address: xdsAddress, n: proxies, protocol, ns: 'ns-0', gateway, inlineRoutes });
  if (conn.ready < proxies * 0.9) throw new Error(`only ${conn.ready} of ${proxies} proxies got their configuration`);
  await cp.status.idle();
  await new Promise((r) => setTimeout(r, 300));

  // Change one route (the X-Bench header of svc-0's path): a few warm-up changes (JIT, first
  // encodes), then the measured ones; every proxy must receive each change.
  const result: PhaseResult = {
    rssBeforeStormMb: 0, gatewayConverge: [], gatewayBytes: 0, cpCpuMs: 0, simCpuMs: 0, lost: 0, missing: 0, services, loadMs, connectMs: conn.ms, connectBytes: conn.bytes,
    converge: [], convergeTotal: [], serverConvergeMs: NaN, bytes: 0, responses: 0, rssMb: 0, heapMb: 0, liveHeapMb: 0, rssAfterGcMb: 0, externalMb: 0, rssSettledMb: 0,
  };
  const server: number[] = [];
  const profiler = profileDir && protocol === 'delta' && services === profileServices ? new Session() : undefined;
  for (let k = 0; k < WARMUP + MEASURED; k++) {
    await new Promise((r) => setTimeout(r, 200));
    if (profiler && k === WARMUP) {
      profiler.connect();
      await post(profiler, 'Profiler.enable');
      await post(profiler, 'Profiler.start');
    }
    await kids.request({ cmd: 'watch' });
    const before = cp.pipeline.generation;
    const cpu0 = process.cpuUsage();
    const changeAt = epoch();
    const cur = (await store.get(ING, 'ns-0', 'svc-0'))!;
    await store.update(ING, { ...cur, spec: service('ns-0', 'svc-0', 20_000, `v${k}`)[1].spec });
    const done = await kids.request(undefined, 90_000);
    const end = Date.now() + 10_000;
    while (!converged.has(before + 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const cpu = process.cpuUsage(cpu0);
    if (k < WARMUP) continue;
    result.cpCpuMs += (cpu.user + cpu.system) / 1000 / MEASURED;
    result.simCpuMs += done.cpuMs / MEASURED;
    result.lost = Math.max(result.lost, done.lost);
    result.missing += done.missing;
    const flushAt = flushes.get(before + 1) ?? NaN;
    result.converge.push(...(done.times as number[]).map((t) => t - flushAt));
    result.convergeTotal.push(...(done.times as number[]).map((t) => t - changeAt));
    if (gateway) {
      result.gatewayConverge.push(done.gwAt === undefined ? NaN : done.gwAt - flushAt);
      result.gatewayBytes += done.gwBytes / MEASURED;
    }
    server.push(converged.get(before + 1) ?? NaN);
    result.bytes += done.bytes / MEASURED;
    result.responses += done.responses / MEASURED;
  }
  if (profiler) {
    // The control process's CPU profile over the measured changes only (load, connect and storm left out).
    const { profile } = await post(profiler, 'Profiler.stop') as { profile: object };
    mkdirSync(profileDir!, { recursive: true });
    const file = path.join(profileDir!, `push-changes-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    profiler.disconnect();
    console.error(`control-process CPU profile of the measured changes: ${file}`);
  }
  result.serverConvergeMs = pct(server, 50);

  result.rssBeforeStormMb = process.memoryUsage().rss / 2 ** 20;
  if (withStorm) {
    const storm = await kids.request({ cmd: 'connect', address: xdsAddress, n: proxies, protocol, ns: 'ns-0', reconnect: true, gateway, inlineRoutes });
    result.storm = { ms: storm.ms, bytes: storm.bytes };
  }
  const mem = process.memoryUsage();
  result.rssMb = mem.rss / 2 ** 20;
  result.heapMb = mem.heapUsed / 2 ** 20;
  // What stays alive: after a full GC (the storm's garbage gone), heap used and RSS.
  fullGc();
  const live = process.memoryUsage();
  result.liveHeapMb = live.heapUsed / 2 ** 20;
  result.rssAfterGcMb = live.rss / 2 ** 20;
  result.externalMb = live.external / 2 ** 20;
  // And once the process has been idle for a while (V8's memory reducer gives back free pages).
  await new Promise((r) => setTimeout(r, 10_000));
  fullGc();
  result.rssSettledMb = process.memoryUsage().rss / 2 ** 20;
  kids.close();
  await cp.stop();
  await store.close();
  return result;
}

/** A full garbage collection, without starting node with --expose-gc. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function main(): Promise<void> {
  log.level = process.env.SLUICE_LOG_LEVEL ?? 'error'; // flow-control warnings of a storm would drown the table
  const program = new Command()
    .option('--proxies <n>', 'simulated proxies', '1000')
    .option('--services <n>', 'services loaded for the main phase', '10000')
    .option('--small-services <n>', 'services for the bytes-per-change comparison', '1000')
    .option('--debounce-after <ms>', 'debounce quiet period', '100')
    .option('--inline-routes', 'delta proxies and the gateway take every host inline in their RouteConfigurations (no VHDS), for comparison')
    .option('--with-gateway', 'also connect one delta gateway proxy (every public host) and measure it; results go to push-gateway.json')
    .option('--only-main', 'run only the main phase (profiling); no results file is written')
    .option('--sim-processes <n>', 'child processes the simulated proxies are spread over', '2')
    .option('--cpu-prof-changes <dir>', 'write a CPU profile of the control process over the main phase\'s measured changes to DIR')
    .option('--out <file>', 'results file (default results/push.json, or push-gateway.json with --with-gateway)')
    .parse(process.argv);
  const o = program.opts();
  const proxies = Number(o.proxies), services = Number(o.services), small = Number(o.smallServices), debounce = Number(o.debounceAfter);
  for (const [k, v] of Object.entries({ proxies, services, 'small-services': small, 'debounce-after': debounce })) {
    if (!Number.isInteger(v) || v < (k === 'debounce-after' ? 0 : 1)) throw new Error(`--${k} must be a positive integer, got ${v}`);
  }
  // The big phase first, so its RSS is not inflated by heap left over from another phase.
  const gateway = o.withGateway === true;
  inlineRoutes = o.inlineRoutes === true;
  profileDir = o.cpuProfChanges as string | undefined;
  simProcesses = Number(o.simProcesses);
  if (!Number.isInteger(simProcesses) || simProcesses < 1) throw new Error(`--sim-processes must be a positive integer, got ${o.simProcesses}`);
  profileServices = services;
  const loadStart = loadavg().map(r1);
  const big = await runPhase(services, proxies, 'delta', debounce, true, gateway);
  if (o.onlyMain) {
    console.log(JSON.stringify({ heap_mb: Math.round(big.heapMb), loadavg: loadavg().map(r1), gateway_converge_ms: r1(pct(big.gatewayConverge, 50)), gateway_bytes_per_change: Math.round(big.gatewayBytes), converge_p50_ms: r1(pct(big.converge, 50)), converge_p99_ms: r1(pct(big.converge, 99)), converge_total_p99_ms: r1(pct(big.convergeTotal, 99)), server_converge_ms: r1(big.serverConvergeMs), cp_cpu_ms_per_change: r1(big.cpCpuMs), sim_cpu_ms_per_change: r1(big.simCpuMs), bytes: big.bytes, storm_ms: Math.round(big.storm!.ms), rss_before_storm_mb: Math.round(big.rssBeforeStormMb), rss_mb: Math.round(big.rssMb), rss_after_gc_mb: Math.round(big.rssAfterGcMb), live_heap_mb: Math.round(big.liveHeapMb), external_mb: Math.round(big.externalMb), rss_settled_mb: Math.round(big.rssSettledMb) }));
    process.exit(0);
  }
  const small1 = await runPhase(small, proxies, 'delta', debounce, false, gateway);
  const sotw = await runPhase(services, proxies, 'sotw', debounce, false, gateway);

  const rows = [
    ['phase', 'services', 'load s', 'connect ms', 'p50 ms', 'p99 ms', 'p99 total ms', 'server conv ms', 'bytes/change', 'responses', 'lost', 'missed', 'rss MB'],
    ...([['delta', big], ['delta', small1], ['sotw', sotw]] as const).map(([p, r]) => [p, r.services, r1(r.loadMs / 1000), Math.round(r.connectMs), r1(pct(r.converge, 50)), r1(pct(r.converge, 99)), r1(pct(r.convergeTotal, 99)), r1(r.serverConvergeMs), Math.round(r.bytes), Math.round(r.responses), r.lost, r.missing, Math.round(r.rssMb)]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padStart(widths[i])).join('  '));
  console.log(`reconnect storm (${proxies} delta proxies with initial_resource_versions): ${Math.round(big.storm!.ms)} ms until all had answers, ${big.storm!.bytes} resource bytes re-sent`);

  const summary = {
    proxies, services,
    converge_p50_ms: r1(pct(big.converge, 50)),
    converge_p99_ms: r1(pct(big.converge, 99)),
    converge_total_p99_ms: r1(pct(big.convergeTotal, 99)),
    server_converge_ms: r1(big.serverConvergeMs),
    // CPU per change from the store write to convergence: control process, simulated proxies.
    cp_cpu_ms_per_change: r1(big.cpCpuMs),
    sim_cpu_ms_per_change: r1(big.simCpuMs),
    sotw_converge_p99_ms: r1(pct(sotw.converge, 99)),
    bytes_per_change_1k: small1.bytes,
    bytes_per_change_10k: big.bytes,
    bytes_ratio: r1(big.bytes / small1.bytes),
    sotw_bytes_per_change_10k: sotw.bytes,
    reconnect_storm_ms: Math.round(big.storm!.ms),
    reconnect_storm_bytes: big.storm!.bytes,
    ...(gateway ? {
      // One delta gateway proxy beside the N mesh proxies: its RouteConfiguration carries every public host.
      gateway_converge_p50_ms: r1(pct(big.gatewayConverge, 50)),
      gateway_converge_max_ms: r1(Math.max(...big.gatewayConverge)),
      gateway_bytes_per_change_1k: Math.round(small1.gatewayBytes),
      gateway_bytes_per_change_10k: Math.round(big.gatewayBytes),
    } : {}),
    cp_rss_mb: Math.round(big.rssMb),
    cp_rss_before_storm_mb: Math.round(big.rssBeforeStormMb),
    cp_heap_mb: Math.round(big.heapMb),
    cp_live_heap_mb: Math.round(big.liveHeapMb),
    cp_rss_after_gc_mb: Math.round(big.rssAfterGcMb),
    cp_external_mb: Math.round(big.externalMb),
    cp_rss_settled_mb: Math.round(big.rssSettledMb),
    debounce_after_ms: debounce,
    sim_processes: simProcesses,
    proxies_lost: big.lost,
    changes_missed: big.missing,
  };
  // The machine is shared: its load average at the start and the end of the run goes with the figures.
  const full = { summary, phases: { delta_small: small1, delta: big, sotw }, machine: { cores: cpus().length, memory_mb: Math.round(totalmem() / 2 ** 20), node: process.version, loadavg_start: loadStart, loadavg_end: loadavg().map(r1) }, at: new Date().toISOString() };
  const out = o.out ?? path.join(here, 'results', gateway ? 'push-gateway.json' : 'push.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(full, null, 2) + '\n');
  console.log(JSON.stringify(summary));
  process.exit(0);
}

if (process.argv.includes('--child')) void childMain();
else main().catch((e: unknown) => { console.error(e); process.exit(1); });
