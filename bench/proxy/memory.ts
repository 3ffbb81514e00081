/**
 * Where a proxy worker's memory goes with many routes loaded (not part of `npm run bench:proxy`;
 * the same setup as its 10,000-routes part): one upstream, a test xDS server with MEM_VHOSTS
 * virtual hosts (default 10,000, one domain and one 90/10 weighted route each), one proxy worker.
 * Waits until the last virtual host routes, then MEM_SETTLE_MS (default 10,000, as bench:proxy
 * reads its settled figure),
 * and prints the worker's RSS split by mapping from /proc/PID/smaps (node binary pages, anonymous,
 * brk heap, other files). MEM_V8_FLAGS are added to the workers' usual V8 flags (for example
 * `--import /path/probe.mjs` or `--heapsnapshot-signal=SIGUSR2`); MEM_HOLD_MS keeps it running.
 *
 *   node --import tsx bench/proxy/memory.ts
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypeUrl } from '../../src/xds/protos.ts';
import { TestXdsServer } from '../../src/proxy/testing/test-xds-server.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../../src/proxy/testing/resources.ts';
import { WORKER_V8_FLAGS } from '../../src/proxy/workers/worker-bundle.ts';
import { freePort } from '../../src/proxy/testing/harness.ts';

const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const VHOSTS = Number(process.env.MEM_VHOSTS ?? 10_000);
const SETTLE_MS = Number(process.env.MEM_SETTLE_MS ?? 10_000);
const HOLD_MS = Number(process.env.MEM_HOLD_MS ?? 0);
const EXTRA = process.env.MEM_V8_FLAGS ?? '';

function statusOf(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const r = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    r.on('error', () => resolve(0));
  });
}

/** RSS of a process by kind of mapping, MB. */
export function smapsBreakdown(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = 'other';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1]!;
      kind = name === '' ? 'anonymous' : name === '[heap]' ? 'brk_heap' : name.endsWith('/node') ? 'node_binary' : name.startsWith('/') ? 'other_files' : name;
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m) out[kind] = (out[kind] ?? 0) + Number(m[1]) / 1024;
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]! * 10) / 10;
  return out;
}

async function main(): Promise<void> {
  const [up1, up2, port] = await Promise.all([freePort(), freePort(), freePort()]);
  const upstream = fork(path.join(root, 'bench/proxy/upstream-server.ts'), [String(up1), String(up2)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // Children die with this process even when it ends early.
  let proxy: ReturnType<typeof fork> | undefined;
  process.on('exit', () => { for (const c of [upstream, proxy]) c?.kill('SIGKILL'); });
  const xds = new TestXdsServer();
  await xds.start();
  xds.set(TypeUrl.Cluster, [edsCluster('up-a'), edsCluster('up-b')]);
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('up-a', [up1]), loadAssignment('up-b', [up2])]);
  const vhosts = Array.from({ length: VHOSTS }, (_, i) => ({ name: `svc-${i}`, domains: [`svc-${i}.ns-${i % 100}.example.com`], routes: [{ prefix: '/', weighted: [['up-a', 90], ['up-b', 10]] as [string, number][] }] }));
  xds.set(TypeUrl.RouteConfiguration, [routeConfig('routes', vhosts)]);
  xds.set(TypeUrl.Listener, [hcmListener('routes', port, 'routes')]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mem-'));
  const file = path.join(tmp, 'b.yaml');
  fs.writeFileSync(file, JSON.stringify({ node: { id: 'mem', cluster: 'bench' }, xds_server: { address: xds.address }, admin: { address: '127.0.0.1', port: 0 }, role: 'mesh', concurrency: 1, max_memory_mb: 4096 }));
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_LOG_LEVEL: 'warn' };
  if (EXTRA) env.SLUICE_PROXY_WORKER_V8_FLAGS = `${WORKER_V8_FLAGS.join(' ')} ${EXTRA}`;
  const t0 = Date.now();
  proxy = fork(path.join(root, 'bench/proxy/proxy-child.ts'), [file], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env });
  const msg = await new Promise<{ adminPort: number; pids: number[] }>((r) => proxy!.once('message', (m: any) => r(m)));
  const worker = msg.pids[0]!;
  let check = 0;
  for (const until = Date.now() + 90_000; check !== 200 && Date.now() < until;) {
    check = await statusOf(port, `svc-${VHOSTS - 1}.ns-${(VHOSTS - 1) % 100}.example.com`);
    if (check !== 200) await new Promise((r) => setTimeout(r, 250));
  }
  const routedMs = Date.now() - t0;
  const rssOf = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${worker}/status`, 'utf8'))![1]) / 1024 * 10) / 10;
  await new Promise((r) => setTimeout(r, Math.min(2000, SETTLE_MS)));
  const rss2s = rssOf();
  await new Promise((r) => setTimeout(r, Math.max(0, SETTLE_MS - 2000)));
  const rss = rssOf();
  process.stdout.write(JSON.stringify({ vhosts: VHOSTS, worker, routed_ms: routedMs, last_vhost_status: check, rss_mb_2s: rss2s, rss_mb: rss, settle_ms: SETTLE_MS, smaps_rss_mb: smapsBreakdown(worker), extra_v8_flags: EXTRA || undefined }) + '\n');
  if (HOLD_MS) await new Promise((r) => setTimeout(r, HOLD_MS));
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy!.once('exit', r));
  upstream.kill('SIGKILL');
  await xds.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then(() => process.exit(0), (e) => { process.stderr.write(String(e?.stack ?? e) + '\n'); process.exit(1); });
}
