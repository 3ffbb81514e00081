/** Integration: `runProxy` with two real worker processes sharing the gateway port; admin API; restart of a dead worker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { TypeUrl } from '../../xds/protos.ts';
import { runProxy } from '../main.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { request, startUpstream, waitFor } from '../testing/harness.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../testing/resources.ts';

test('gateway with 2 workers: ports file, shared port, aggregated stats, config dump, worker restart, drain', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-proxy-sup-'));
  const u = await startUpstream();
  const xds = new TestXdsServer();
  await xds.start();
  xds.set(TypeUrl.Cluster, [edsCluster('a')]);
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('a', [u.port])]);
  xds.set(TypeUrl.RouteConfiguration, [routeConfig('r', [{ name: 'v', domains: ['gw.example.com'], routes: [{ prefix: '/', cluster: 'a' }] }])]);
  // The listener's own port is ignored in the gateway role: it serves on listen.http_port.
  xds.set(TypeUrl.Listener, [hcmListener('http', 8080, 'r')]);
  const bootstrap = path.join(dir, 'gateway.yaml');
  const portsFile = path.join(dir, 'ports.json');
  fs.writeFileSync(bootstrap, [
    'node: { id: gw-test, cluster: sluice-gateway }',
    `xds_server: { address: "${xds.address}", reconnect_base_ms: 50, reconnect_max_ms: 200 }`,
    'admin: { address: 127.0.0.1, port: 0 }',
    'role: gateway',
    'listen: { address: 127.0.0.1, http_port: 0, https_port: 0 }',
    'concurrency: 2',
    'drain_timeout_ms: 2000',
    `ports_file: ${portsFile}`,
  ].join('\n'));
  const p = await runProxy({ bootstrap, handleSignals: false });
  // Fresh connections: a keep-alive socket would stay with the worker that accepted it.
  const agent = new http.Agent({ keepAlive: false });
  t.after(async () => { await p.stop(); await xds.stop(); await u.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const ports = JSON.parse(fs.readFileSync(portsFile, 'utf8'));
  assert.equal(ports.http_port, p.httpPort);
  assert.ok(ports.http_port > 0 && ports.https_port > 0 && ports.http_port !== ports.https_port);
  assert.equal(ports.admin_port, p.adminPort);
  const admin = (pth: string, init?: RequestInit) => fetch(`http://127.0.0.1:${p.adminPort}${pth}`, init);
  assert.equal((await admin('/ready')).status, 503, 'not ready before the workers applied their configuration');
  await waitFor('ready', async () => (await admin('/ready')).status === 200, 60_000);
  assert.equal(await (await admin('/ready')).text(), 'LIVE\n');
  assert.equal(xds.connectedStreams(), 2, 'each worker runs its own xDS client');
  for (let i = 0; i < 20; i++) assert.equal((await request(p.httpPort, '/', { host: 'gw.example.com', agent })).status, 200);
  const prom = await (await admin('/stats/prometheus')).text();
  const total = Number(/envoy_cluster_upstream_rq_total\{envoy_cluster_name="a"\} (\d+)/.exec(prom)?.[1]);
  assert.equal(total, 20, 'summed across workers');
  assert.match(prom, /envoy_control_plane_connected_state 1/);
  assert.match(prom, /envoy_http_downstream_rq_total\{envoy_http_conn_manager_prefix="http"\} 20/);
  const dump = await (await admin('/config_dump')).json() as { configs: { dynamic_route_configs?: { name: string; version_info: string }[] }[] };
  assert.ok(dump.configs.some((c) => c.dynamic_route_configs?.some((r) => r.name === 'r' && r.version_info)));
  const info = await (await admin('/server_info')).json() as { workers: { pid: number }[] };
  assert.equal(info.workers.length, 2);
  // A worker that dies is replaced; the other keeps serving meanwhile.
  const victim = p.supervisor.pids()[0]!;
  process.kill(victim, 'SIGKILL');
  assert.equal((await request(p.httpPort, '/', { host: 'gw.example.com', agent })).status, 200);
  await waitFor('worker replaced', () => p.supervisor.pids().length === 2 && !p.supervisor.pids().includes(victim), 30_000);
  await waitFor('ready again', async () => (await admin('/ready')).status === 200, 60_000);
  assert.equal(p.supervisor.restarts.exit, 1);
  // Drain: the admin answers, workers exit, the port closes.
  assert.equal((await admin('/drain', { method: 'POST' })).status, 200);
  await waitFor('workers gone', () => p.supervisor.pids().length === 0, 15_000);
  await assert.rejects(request(p.httpPort, '/', { host: 'gw.example.com', agent }));
});
