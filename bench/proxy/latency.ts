/**
 * Added latency of the proxy at a constant rate (not part of `npm run bench:proxy`, which runs
 * the same measurement once; this is for A/B experiments): starts the bench upstream, a test xDS
 * server and one proxy worker, then alternates LAT_ROUNDS rounds of the open-loop generator
 * (bench/proxy/open-loop.ts) against the upstream directly and through the proxy at LAT_RATE
 * req/s for LAT_DURATION s each, and prints each round and the medians. LAT_V8_FLAGS (if set)
 * replace the workers' V8 flags (SLUICE_PROXY_WORKER_V8_FLAGS); LAT_FLAGS_B (if set) starts a
 * second proxy with those flags and alternates direct / A / B, so two settings see the same
 * background load.
 *
 *   LAT_RATE=2000 node --import tsx bench/proxy/latency.ts
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypeUrl } from '../../src/xds/protos.ts';
import { TestXdsServer } from '../../src/proxy/testing/test-xds-server.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../../src/proxy/testing/resources.ts';
import { runOpenLoop, type OpenLoopResult } from './open-loop.ts';
import { freePort } from '../../src/proxy/testing/harness.ts';

const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const RATE = Number(process.env.LAT_RATE ?? 2000);
const ROUNDS = Number(process.env.LAT_ROUNDS ?? 3);
const DURATION = Number(process.env.LAT_DURATION ?? 6);
const HOST = 'bench.example.com';


async function main(): Promise<void> {
  const [up1, up2, portA, portB] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const upstream = fork(path.join(root, 'bench/proxy/upstream-server.ts'), [String(up1), String(up2)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const flagsB = process.env.LAT_FLAGS_B;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-lat-'));
  const procs: ReturnType<typeof fork>[] = [upstream];
  process.on('exit', () => { for (const c of procs) c.kill('SIGKILL'); });
  const xdss: TestXdsServer[] = [];
  /** One proxy with its own xDS server and listener port (two proxies must not share a port). */
  const start = async (name: string, extra: string, port: number) => {
    const xds = new TestXdsServer();
    await xds.start();
    xdss.push(xds);
    xds.set(TypeUrl.Cluster, [edsCluster('up-a'), edsCluster('up-b')]);
    xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('up-a', [up1]), loadAssignment('up-b', [up2])]);
    xds.set(TypeUrl.RouteConfiguration, [routeConfig('bench', [{ name: 'bench', domains: [HOST], routes: [{ prefix: '/', weighted: [['up-a', 80], ['up-b', 20]] }] }])]);
    xds.set(TypeUrl.Listener, [hcmListener(name, port, 'bench')]);
    const file = path.join(tmp, `${name}.yaml`);
    fs.writeFileSync(file, JSON.stringify({ node: { id: name, cluster: 'bench' }, xds_server: { address: xds.address }, admin: { address: '127.0.0.1', port: 0 }, role: 'mesh', concurrency: 1, max_memory_mb: 4096 }));
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_LOG_LEVEL: 'warn' };
    if (extra) env.SLUICE_PROXY_WORKER_V8_FLAGS = extra;
    const p = fork(path.join(root, 'bench/proxy/proxy-child.ts'), [file], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env });
    procs.push(p);
    const msg = await new Promise<{ adminPort: number }>((r) => p.once('message', (m: any) => r(m)));
    for (;;) {
      if (await fetch(`http://127.0.0.1:${msg.adminPort}/ready`).then((r) => r.status === 200, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await start('a', process.env.LAT_V8_FLAGS ?? '', portA);
  if (flagsB !== undefined) await start('b', flagsB, portB);
  await runOpenLoop(portA, HOST, RATE, 3);
  if (flagsB !== undefined) await runOpenLoop(portB, HOST, RATE, 3);
  const targets: [string, number][] = [['direct', up1], ['sluice', portA], ...(flagsB !== undefined ? [['sluice_b', portB] as [string, number]] : [])];
  const rows: Record<string, OpenLoopResult[]> = {};
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, port] of targets) {
      const r = await runOpenLoop(port, HOST, RATE, DURATION);
      (rows[name] ??= []).push(r);
      process.stderr.write(`${name.padEnd(9)} round ${i + 1}: ${r.rps} req/s p50 ${r.p50} p90 ${r.p90} p99 ${r.p99} p99.9 ${r.p999} max ${r.max} ms (generator late p99 ${r.late_p99_ms} ms) errors ${r.errors} non2xx ${r.non2xx}\n`);
    }
  }
  const med = (xs: number[]) => { const a = [...xs].sort((x, y) => x - y); return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2; };
  const summary = Object.fromEntries(Object.entries(rows).map(([k, rs]) => [k, { p50: med(rs.map((r) => r.p50)), p99: med(rs.map((r) => r.p99)), p999: med(rs.map((r) => r.p999)) }]));
  process.stdout.write(JSON.stringify({ rate: RATE, rounds: ROUNDS, duration_s: DURATION, loadavg: os.loadavg().map((x) => +x.toFixed(2)), summary }) + '\n');
  for (const p of procs) p.kill('SIGKILL');
  for (const x of xdss) await x.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (process.argv[1]?.endsWith('latency.ts')) main().then(() => process.exit(0), (e) => { process.stderr.write(String(e?.stack ?? e) + '\n'); process.exit(1); });
