/**
 * `npm run bench:proxy`: sluice's proxy (one worker) beside nginx (one worker) beside going
 * direct, on this machine: one upstream process (a fast static HTTP server on two ports, the two
 * weighted upstreams), one load generator process (autocannon, keep-alive, 64 connections, 10 s
 * per run). Prints requests/s, p50/p99 latency, proxy RSS and CPU per 1,000 requests, the p99
 * added at half of sluice's maximum rate, and RSS with 10,000 routes loaded over xDS. Writes
 * bench/results/proxy.json and ends with one JSON line.
 */
import { execFileSync, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypeUrl } from '../src/xds/protos.ts';
import { TestXdsServer } from '../src/proxy/testing/test-xds-server.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../src/proxy/testing/resources.ts';
import { runOpenLoop, type OpenLoopResult } from './proxy/open-loop.ts';
import { freePort } from '../src/proxy/testing/harness.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const DURATION = Number(process.env.BENCH_PROXY_DURATION ?? 10);
const CONNECTIONS = 64;
const HALF_ROUNDS = Number(process.env.BENCH_PROXY_HALF_ROUNDS ?? 3);
const HALF_DURATION = Math.max(2, Math.round(DURATION / 2));
const HOST = 'bench.example.com';
/** Quicker focused runs while tuning: BENCH_PROXY_SKIP=half,10k skips those parts (the JSON then reports 0 for them). */
const SKIP = new Set((process.env.BENCH_PROXY_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-proxy-'));
const children: ChildProcess[] = [];
const say = (s: string) => process.stderr.write(s + '\n');


async function waitPort(port: number, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => { const s = net.connect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); r(true); }); s.once('error', () => r(false)); });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tsChild(file: string, args: string[]): ChildProcess {
  const c = fork(path.join(root, file), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' } });
  children.push(c);
  return c;
}

function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(parts[11]) + Number(parts[12])) / 100; // utime + stime, clock ticks (100/s)
  } catch { return 0; }
}
function rssMb(pid: number): number {
  try { return Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024 * 10) / 10; } catch { return 0; }
}
function childPids(pid: number): number[] {
  try { return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number); } catch { return []; }
}

/** GET / with a Host header (fetch cannot set Host, so node:http). */
function statusOf(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const r = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    r.on('error', () => resolve(0));
  });
}

interface LoadResult { rps: number; p50: number; p99: number; requests: number; errors: number; non2xx: number }

function autocannon(port: number, rate?: number, duration = DURATION): Promise<LoadResult> {
  const args = [path.join(root, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(CONNECTIONS), '-d', String(duration), '-H', `host=${HOST}`];
  if (rate) args.push('--overallRate', String(rate));
  args.push(`http://127.0.0.1:${port}/`);
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(c);
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.on('exit', () => {
      try {
        const j = JSON.parse(out);
        resolve({ rps: Math.round(j.requests.average), p50: j.latency.p50, p99: j.latency.p99, requests: j.requests.total, errors: j.errors + j.timeouts, non2xx: j.non2xx });
      } catch (e) { reject(new Error(`autocannon output not JSON: ${out.slice(0, 200)}`)); }
    });
  });
}

/** Runs load while measuring CPU of `pids`; CPU ms per 1,000 requests. */
async function measured(port: number, pids: number[], rate?: number): Promise<LoadResult & { cpuMsPer1k: number }> {
  const before = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const r = await autocannon(port, rate);
  const after = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  return { ...r, cpuMsPer1k: r.requests ? Math.round(((after - before) * 1000 / r.requests) * 1000 * 100) / 100 : 0 };
}

function ensureNginx(): string {
  const found = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
  if (found) return found;
  say('nginx is not installed; installing Debian\'s nginx-light with apt-get (needs root) …');
  execFileSync('apt-get', ['install', '-y', '-q', 'nginx-light'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p)) ?? 'nginx';
}

async function startSluice(xds: TestXdsServer, name: string): Promise<{ adminPort: number; workerPid: number; pids: number[] }> {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, JSON.stringify({ node: { id: name, cluster: 'bench' }, xds_server: { address: xds.address }, admin: { address: '127.0.0.1', port: 0 }, role: 'mesh', concurrency: 1, max_memory_mb: 4096 }));
  const c = tsChild('bench/proxy/proxy-child.ts', [file]);
  const msg = await new Promise<{ adminPort: number; pids: number[] }>((resolve, reject) => {
    c.once('message', (m: any) => resolve(m));
    c.once('exit', (code) => reject(new Error(`proxy exited with ${code}`)));
  });
  const until = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${msg.adminPort}/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > until) throw new Error('sluice proxy not ready within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  // The supervisor reports its worker pids (its other child is tsx's esbuild service).
  const workerPid = msg.pids[0]!;
  return { adminPort: msg.adminPort, workerPid, pids: [c.pid!, workerPid] };
}

async function routes10k(up1: number, up2: number, routesPort: number): Promise<{ applyMs: number; routesMs: number; rss10k: number; rss10kEarly: number; check: number }> {
  say('10,000 routes over xDS …');
  const xds10k = new TestXdsServer();
  await xds10k.start();
  xds10k.set(TypeUrl.Cluster, [edsCluster('up-a'), edsCluster('up-b')]);
  xds10k.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('up-a', [up1]), loadAssignment('up-b', [up2])]);
  const vhosts = Array.from({ length: 10_000 }, (_, i) => ({ name: `svc-${i}`, domains: [`svc-${i}.ns-${i % 100}.example.com`], routes: [{ prefix: '/', weighted: [['up-a', 90], ['up-b', 10]] as [string, number][] }] }));
  xds10k.set(TypeUrl.RouteConfiguration, [routeConfig('routes-10k', vhosts)]);
  xds10k.set(TypeUrl.Listener, [hcmListener('routes-10k', routesPort, 'routes-10k')]);
  const t0 = Date.now();
  const big = await startSluice(xds10k, 'bench-10k');
  const applyMs = Date.now() - t0;
  // Ready can come from the warming timeout; wait until the last virtual host actually routes.
  let check = 0;
  for (const until = Date.now() + 90_000; check !== 200 && Date.now() < until;) {
    check = await statusOf(routesPort, 'svc-9999.ns-99.example.com');
    if (check !== 200) await new Promise((r) => setTimeout(r, 250));
  }
  const routesMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 2000));
  const rss10kEarly = rssMb(big.workerPid);
  // The worker collects garbage 1 s after a config change and, once idle, again 6 s later (that
  // one shrinks the young generation, see worker-main.ts): the settled figure is read 10 s after
  // the last virtual host routed.
  await new Promise((r) => setTimeout(r, 8000));
  const rss10k = rssMb(big.workerPid);
  await xds10k.stop();
  return { applyMs, routesMs, rss10k, rss10kEarly, check };

}

const loadavgStart = os.loadavg().map((x) => Math.round(x * 100) / 100);

async function main(): Promise<void> {
  const [up1, up2, sluicePort, nginxPort, routesPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  // Upstream: one process, two ports (the two weighted upstreams).
  const upstream = tsChild('bench/proxy/upstream-server.ts', [String(up1), String(up2)]);
  await Promise.all([waitPort(up1), waitPort(up2)]);
  say(`upstream pid ${upstream.pid} on :${up1} and :${up2}; ${DURATION} s per run, ${CONNECTIONS} connections`);

  const xds = new TestXdsServer();
  await xds.start();
  xds.set(TypeUrl.Cluster, [edsCluster('up-a'), edsCluster('up-b')]);
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('up-a', [up1]), loadAssignment('up-b', [up2])]);
  xds.set(TypeUrl.RouteConfiguration, [routeConfig('bench', [{ name: 'bench', domains: [HOST], routes: [{ prefix: '/', weighted: [['up-a', 80], ['up-b', 20]] }] }])]);
  const l = hcmListener('bench', sluicePort, 'bench') as any;
  xds.set(TypeUrl.Listener, [l]);
  const sluice = await startSluice(xds, 'bench-proxy');
  await new Promise((r) => setTimeout(r, 1500));
  const sluiceIdleRss = rssMb(sluice.workerPid);
  say(`sluice proxy worker pid ${sluice.workerPid} on :${sluicePort}, idle RSS ${sluiceIdleRss} MB`);

  const nginxBin = ensureNginx();
  const nginxDir = path.join(tmp, 'nginx');
  fs.mkdirSync(path.join(nginxDir, 'logs'), { recursive: true });
  fs.writeFileSync(path.join(nginxDir, 'nginx.conf'), `worker_processes 1;
pid ${nginxDir}/nginx.pid;
error_log ${nginxDir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${nginxDir}/body; proxy_temp_path ${nginxDir}/proxy; fastcgi_temp_path ${nginxDir}/fcgi; uwsgi_temp_path ${nginxDir}/uwsgi; scgi_temp_path ${nginxDir}/scgi;
  upstream bench { server 127.0.0.1:${up1} weight=8; server 127.0.0.1:${up2} weight=2; keepalive 128; keepalive_timeout 30s; }
  server {
    listen 127.0.0.1:${nginxPort};
    server_name ${HOST};
    location / { proxy_pass http://bench; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }
  }
  server { listen 127.0.0.1:${nginxPort} default_server; return 404; }
}
`);
  const nginx = spawn(nginxBin, ['-p', nginxDir, '-c', path.join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(nginx);
  await waitPort(nginxPort);
  await new Promise((r) => setTimeout(r, 300));
  const nginxPids = [nginx.pid!, ...childPids(nginx.pid!)];
  extraPids.push(...nginxPids.slice(1));
  const nginxWorker = childPids(nginx.pid!)[0] ?? nginx.pid!;
  // nginx -v prints to stderr.
  const nginxVersion = (spawnSync(nginxBin, ['-v'], { encoding: 'utf8' }).stderr ?? '').trim().replace(/^nginx version: /, '') || 'nginx';

  say('warm-up …');
  await autocannon(sluicePort).catch(() => undefined);
  say('direct …');
  const direct = await measured(up1, [upstream.pid!]);
  // sluice and nginx in A-B-B-A order (the machine is shared; load drifts): each figure is the
  // mean of its two runs, and the ratio compares runs taken around the same time.
  say('sluice, nginx, nginx, sluice …');
  const sl1 = await measured(sluicePort, sluice.pids);
  const sluiceRss = rssMb(sluice.workerPid);
  const ng1 = await measured(nginxPort, nginxPids);
  const ng2 = await measured(nginxPort, nginxPids);
  const sl2 = await measured(sluicePort, sluice.pids);
  const mean2 = <T extends LoadResult & { cpuMsPer1k: number }>(a: T, b: T): T => ({ ...a, rps: Math.round((a.rps + b.rps) / 2), p50: (a.p50 + b.p50) / 2, p99: (a.p99 + b.p99) / 2, requests: a.requests + b.requests, errors: a.errors + b.errors, non2xx: a.non2xx + b.non2xx, cpuMsPer1k: Math.round((a.cpuMsPer1k + b.cpuMsPer1k) * 50) / 100 });
  const sl = { ...mean2(sl1, sl2), runs: [sl1, sl2] };
  const ng = { ...mean2(ng1, ng2), runs: [ng1, ng2] };
  const nginxRss = rssMb(nginxWorker);
  const half = Math.max(1, Math.floor(sl.rps / 2));
  say(`half of sluice's max rate (${half} req/s): direct, then sluice …`);
  const none: LoadResult = { rps: 0, p50: 0, p99: 0, requests: 0, errors: 0, non2xx: 0 };
  // Added latency at a constant rate, with the open-loop generator (bench/proxy/open-loop.ts), not
  // autocannon: autocannon's --overallRate sends each second's quota in a burst at the start of
  // the second (so "half rate" was full speed for half of every second, 64 requests queued at
  // once), records whole milliseconds, and adds synthetic samples for every response slower than
  // 1 ms (its coordinated-omission correction at ceil(1/rate) = 1 ms). Here requests are spaced
  // evenly, latency runs from when each was due, in microseconds. On a shared machine direct and
  // sluice alternate in HALF_ROUNDS short rounds, so both see the same background load; added
  // p99 is the median of the per-round differences (the rounds are kept in the JSON).
  const rounds: { direct: OpenLoopResult; sluice: OpenLoopResult }[] = [];
  if (!SKIP.has('half')) {
    await runOpenLoop(sluicePort, HOST, half, 2); // warm-up at the rate (connections, JIT)
    for (let i = 0; i < HALF_ROUNDS; i++) {
      const dr = await runOpenLoop(up1, HOST, half, HALF_DURATION);
      const sr = await runOpenLoop(sluicePort, HOST, half, HALF_DURATION);
      rounds.push({ direct: dr, sluice: sr });
      const behind = [dr.max_backlog ? `direct fell behind the rate (${dr.max_backlog} requests waited for a connection)` : '', sr.max_backlog ? `sluice fell behind the rate (${sr.max_backlog} requests waited for a connection)` : ''].filter(Boolean).join('; ');
      say(`  round ${i + 1}: direct p50/p99 ${dr.p50}/${dr.p99} ms, sluice ${sr.p50}/${sr.p99} ms (requests went out late by p99 ${dr.late_p99_ms}/${sr.late_p99_ms} ms${behind ? `; ${behind}: this round measured saturation, not added latency` : ''})`);
    }
  }
  const median = (xs: number[]) => { const a = [...xs].sort((x, y) => x - y); return a.length ? (a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2) : 0; };
  const medianOf = (pick: (r: { direct: OpenLoopResult; sluice: OpenLoopResult }) => OpenLoopResult): LoadResult => {
    const rs = rounds.map(pick);
    return rs.length ? { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), requests: rs.reduce((x, r) => x + r.requests, 0), errors: rs.reduce((x, r) => x + r.errors, 0), non2xx: rs.reduce((x, r) => x + r.non2xx, 0) } : none;
  };
  const directHalf = medianOf((r) => r.direct);
  const sluiceHalf = medianOf((r) => r.sluice);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const addedP99Rounds = rounds.map((r) => r3(r.sluice.p99 - r.direct.p99));
  const addedP50Rounds = rounds.map((r) => r3(r.sluice.p50 - r.direct.p50));

  const r10k = SKIP.has('10k') ? { applyMs: 0, routesMs: 0, rss10k: 0, rss10kEarly: 0, check: 0 } : await routes10k(up1, up2, routesPort);
  const { applyMs, routesMs, rss10k, rss10kEarly, check } = r10k;

  const ratio = Math.round((sl.rps / Math.max(1, ng.rps)) * 100) / 100;
  const addedP99 = Math.round(median(addedP99Rounds) * 100) / 100;
  const addedP50 = Math.round(median(addedP50Rounds) * 100) / 100;
  const row = (name: string, r: LoadResult & { cpuMsPer1k?: number }, rss?: number) => `${name.padEnd(8)} ${String(r.rps).padStart(8)} req/s  p50 ${String(r.p50).padStart(4)} ms  p99 ${String(r.p99).padStart(4)} ms${rss !== undefined ? `  rss ${rss} MB` : ''}${r.cpuMsPer1k !== undefined ? `  cpu ${r.cpuMsPer1k} ms/1k req` : ''}${r.errors || r.non2xx ? `  errors ${r.errors} non2xx ${r.non2xx}` : ''}`;
  say('');
  say(row('direct', direct));
  say(row('sluice', sl, sluiceRss));
  say(row('nginx', ng, nginxRss));
  say(`at ${half} req/s, open-loop constant rate (${rounds.length} alternating rounds of ${HALF_DURATION} s, medians): direct p50/p99 ${directHalf.p50}/${directHalf.p99} ms, sluice ${sluiceHalf.p50}/${sluiceHalf.p99} ms → added p50 ${addedP50} ms, added p99 ${addedP99} ms (per round: ${addedP99Rounds.join(', ')}; target ≤ 1 ms)`);
  say(`ratio vs nginx ${ratio} (target ≥ 0.7)`);
  say(`10,000 routes: ready in ${applyMs} ms, last vhost routed after ${routesMs} ms, worker RSS ${rss10kEarly} MB 2 s later, ${rss10k} MB settled 10 s later (target ≤ 60 MB); request to the last vhost → ${check}`);
  const loadavg = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const result = {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memory_mb: Math.round(os.totalmem() / 1048576), loadavg_at_start: loadavgStart, loadavg_at_end: loadavg, node: process.version },
    settings: { duration_s: DURATION, connections: CONNECTIONS, weights: '80/20', workers: 1, nginx: nginxVersion },
    direct, sluice: { ...sl, rss_mb: sluiceRss, rss_idle_mb: sluiceIdleRss }, nginx: { ...ng, rss_mb: nginxRss },
    half_rate: { rate: half, rounds_s: HALF_DURATION, generator: 'open-loop constant rate, latency from due time, µs (bench/proxy/open-loop.ts)', direct: directHalf, sluice: sluiceHalf, added_p50_ms: addedP50, added_p99_ms: addedP99, rounds },
    routes_10k: { ready_ms: applyMs, routed_ms: routesMs, rss_mb: rss10k, rss_mb_2s: rss10kEarly, last_vhost_status: check },
    targets: { ratio_vs_nginx: '>= 0.7', added_p99_ms: '<= 1', rss_mb_10k_routes: '<= 60' },
  };
  if (SKIP.size === 0) {
    fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench/results/proxy.json'), JSON.stringify(result, null, 2) + '\n');
  }
  await xds.stop();
  process.stdout.write(JSON.stringify({ bench: 'proxy', sluice_rps: sl.rps, nginx_rps: ng.rps, direct_rps: direct.rps, ratio_vs_nginx: ratio, added_p99_ms: addedP99, sluice_p99_ms: sl.p99, nginx_p99_ms: ng.p99, sluice_rss_mb: sluiceRss, sluice_idle_rss_mb: sluiceIdleRss, cpu_ms_per_1k_sluice: sl.cpuMsPer1k, cpu_ms_per_1k_nginx: ng.cpuMsPer1k, rss_mb_10k_routes: rss10k, cores: os.cpus().length }) + '\n');
}

/** nginx's worker processes outlive a SIGKILLed master; they are stopped by pid. */
const extraPids: number[] = [];
const cleanup = () => {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  for (const pid of extraPids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  fs.rmSync(tmp, { recursive: true, force: true });
};
main().then(() => { cleanup(); process.exit(0); }, (e) => { say(`bench:proxy failed: ${(e as Error).stack}`); cleanup(); process.exit(1); });
