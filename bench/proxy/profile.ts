/**
 * Profiling aid for the proxy's request path (not part of `npm run bench:proxy`): starts the
 * bench upstream, a test xDS server and one proxy worker with extra V8 flags (default
 * `--cpu-prof`, added to the workers' usual V8 flags), drives it with autocannon (64 connections) for PROFILE_DURATION seconds, then
 * drains the proxy so the worker writes its profile. Prints requests/s and the worker's CPU per
 * 1,000 requests; the profile lands in PROFILE_DIR (default /tmp/sluice-prof).
 *
 *   node --import tsx bench/proxy/profile.ts            # cpu profile
 *   PROFILE_FLAGS=' ' node --import tsx bench/proxy/profile.ts   # just measure
 */
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypeUrl } from '../../src/xds/protos.ts';
import { TestXdsServer } from '../../src/proxy/testing/test-xds-server.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../../src/proxy/testing/resources.ts';
import { WORKER_V8_FLAGS } from '../../src/proxy/workers/worker-bundle.ts';
import { freePort } from '../../src/proxy/testing/harness.ts';

const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const DURATION = Number(process.env.PROFILE_DURATION ?? 8);
const DIR = process.env.PROFILE_DIR ?? '/tmp/sluice-prof';
const FLAGS = process.env.PROFILE_FLAGS ?? `--cpu-prof --cpu-prof-dir=${DIR}`;
const HOST = 'bench.example.com';

function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11]) + Number(parts[12])) / 100;
}

async function main(): Promise<void> {
  fs.mkdirSync(DIR, { recursive: true });
  const [up1, up2, port] = await Promise.all([freePort(), freePort(), freePort()]);
  const upstream = fork(path.join(root, 'bench/proxy/upstream-server.ts'), [String(up1), String(up2)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // Children die with this process even when it ends early (an error, or stdout closed by `| head`).
  process.on('exit', () => { for (const c of [upstream, proxy]) c?.kill('SIGKILL'); });
  let proxy: ReturnType<typeof fork> | undefined;
  const xds = new TestXdsServer();
  await xds.start();
  xds.set(TypeUrl.Cluster, [edsCluster('up-a'), edsCluster('up-b')]);
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('up-a', [up1]), loadAssignment('up-b', [up2])]);
  xds.set(TypeUrl.RouteConfiguration, [routeConfig('bench', [{ name: 'bench', domains: [HOST], routes: [{ prefix: '/', weighted: [['up-a', 80], ['up-b', 20]] }] }])]);
  xds.set(TypeUrl.Listener, [hcmListener('bench', port, 'bench')]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-prof-'));
  const file = path.join(tmp, 'b.yaml');
  fs.writeFileSync(file, JSON.stringify({ node: { id: 'prof', cluster: 'bench' }, xds_server: { address: xds.address }, admin: { address: '127.0.0.1', port: 0 }, role: 'mesh', concurrency: 1, max_memory_mb: 4096 }));
  proxy = fork(path.join(root, 'bench/proxy/proxy-child.ts'), [file], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', SLUICE_PROXY_WORKER_V8_FLAGS: `${WORKER_V8_FLAGS.join(' ')} ${FLAGS}` } });
  const msg = await new Promise<{ adminPort: number; pids: number[] }>((r) => proxy!.once('message', (m: any) => r(m)));
  for (;;) {
    if (await fetch(`http://127.0.0.1:${msg.adminPort}/ready`).then((r) => r.status === 200, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const worker = msg.pids[0]!;
  const run = (d: number) => new Promise<any>((resolve) => {
    const c = spawn(process.execPath, [path.join(root, 'node_modules/autocannon/autocannon.js'), '-j', '-c', '64', '-d', String(d), '-H', `host=${HOST}`, `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout!.on('data', (x) => (out += x));
    c.on('exit', () => resolve(JSON.parse(out)));
  });
  await run(2);
  const c0 = cpuSeconds(worker);
  const r = await run(DURATION);
  const c1 = cpuSeconds(worker);
  const rss = Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${worker}/status`, 'utf8'))![1]) / 1024);
  process.stdout.write(JSON.stringify({ rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, worker_cpu_ms_per_1k: Math.round((c1 - c0) * 1e8 / r.requests.total) / 100, rss_mb: rss, loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' ') }) + '\n');
  const stats = await fetch(`http://127.0.0.1:${msg.adminPort}/stats/prometheus`).then((x) => x.text(), () => '');
  for (const l of stats.split('\n')) if (/envoy_cluster_upstream_(cx_total|cx_active|cx_destroy_remote|rq_total|cx_idle_timeout|cx_connect_fail)\{/.test(l)) process.stdout.write(l + '\n');
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy!.once('exit', r));
  upstream.kill('SIGKILL');
  await xds.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
main().then(() => process.exit(0), (e) => { process.stderr.write(String(e?.stack ?? e) + '\n'); process.exit(1); });
