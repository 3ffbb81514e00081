/**
 * `npm run bench:translate`: the control plane's translation cost per change, with its caches and
 * incremental paths beside the same translation done from scratch, in the same run.
 *
 * State: N Knative services (Ingress + Endpoints + one mesh pod each) over N/100 namespaces.
 * For each of K changes (a new pod in one namespace, or one Route's split), it times:
 *   - gateway: the incremental translation (gateway-memo.ts) vs `incremental: false` (the full
 *     translation, its per-Ingress caches still warm);
 *   - mesh: the all-namespace mesh proxy with its caches (mesh.ts) vs with them emptied before
 *     each translation — without and with mesh security.
 * Prints medians and p90, writes bench/results/translate.json (cores, load average) and ends with
 * one JSON line.
 *
 *   node --import tsx bench/translate.ts [--services 1000] [--changes 30]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { KubeObject } from '../src/api/meta.ts';
import { resetMeshCaches } from '../src/controlplane/translate/mesh.ts';
import type { MeshSecurityInput } from '../src/controlplane/translate/mesh-security.ts';
import { buildMeshState, updateMeshState } from '../src/controlplane/translate/mesh-state.ts';
import * as f from '../src/controlplane/translate/testing/fixtures.ts';
import { translateForProxy } from '../src/controlplane/translate/translate.ts';
import type { MeshState, ProxyInfo } from '../src/controlplane/translate/types.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const GATEWAY: ProxyInfo = { id: 'gw', role: 'gateway', ports: { http: 8080, https: 8443 } };
const MESH: ProxyInfo = { id: 'mesh', role: 'mesh' };
const NOW = Date.now();

function meshPod(ns: string, name: string, port: number): KubeObject {
  return f.pod(ns, name, { port, annotations: { 'sluice.dev/inbound-port': String(port + 1), 'sluice.dev/egress-port': String(port + 2), 'sluice.dev/serving-port': String(port) } });
}

function security(namespaces: number): MeshSecurityInput {
  const certs = new Map(Array.from({ length: namespaces }, (_, i) => [`spiffe://cluster.local/ns/ns-${i}/sa/default`, { chainPem: `CHAIN ${i}`, keyPem: `KEY ${i}`, notAfter: NOW + 3600_000 }]));
  return { trustDomain: 'cluster.local', rootPem: 'ROOT', certs, want: () => undefined, lastGoodPolicies: new Map() };
}

function stats(xs: number[]): { p50: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 100) / 100;
  return { p50: at(0.5), p90: at(0.9) };
}

function main(): void {
  const o = new Command().option('--services <n>', 'services', '1000').option('--changes <n>', 'measured changes', '30').parse().opts();
  const services = Number(o.services), changes = Number(o.changes), nss = Math.max(1, Math.ceil(services / 100));
  const objs: KubeObject[] = [];
  let port = 20_000;
  for (let i = 0; i < services; i++) {
    const ns = `ns-${i % nss}`;
    objs.push(f.knativeIngress(ns, `svc-${i}`, [[`svc-${i}-1`, 100]]), f.endpoints(ns, `svc-${i}-1`, [{ port, pod: `p-${i}` }]), meshPod(ns, `p-${i}`, port));
    port += 3;
  }
  const initial: MeshState = buildMeshState(objs);
  const sec = security(nss);
  // The same changes for every case: a new pod in one namespace and one Route's split, alternating.
  const changeList: KubeObject[] = [];
  for (let k = 0; k < changes + 3; k++) {
    const ns = `ns-${k % nss}`;
    const svc = `svc-${k % nss}`; // svc-j lives in ns-j for j < namespaces
    if (k % 2 === 0) changeList.push(meshPod(ns, `new-${k}`, 50_000 + k * 3));
    else {
      const ing = f.knativeIngress(ns, svc, [[`${svc}-1`, 90], [`${svc}-0`, 10]]);
      ing.metadata.creationTimestamp = initial.ingresses.get(`${ns}/${svc}`)!.metadata.creationTimestamp;
      changeList.push(ing);
    }
  }
  type Case = (state: MeshState) => unknown;
  const cases: Record<string, Case> = {
    gateway_incremental: (st) => translateForProxy(st, GATEWAY, { vhds: true, now: NOW }),
    gateway_full: (st) => translateForProxy(st, GATEWAY, { vhds: true, now: NOW, incremental: false }),
    mesh_cached: (st) => translateForProxy(st, MESH, { vhds: true, now: NOW }),
    mesh_uncached: (st) => { resetMeshCaches(); return translateForProxy(st, MESH, { vhds: true, now: NOW }); },
    mesh_security_cached: (st) => translateForProxy(st, MESH, { vhds: true, now: NOW, meshSecurity: sec }),
    mesh_security_uncached: (st) => { resetMeshCaches(); return translateForProxy(st, MESH, { vhds: true, now: NOW, meshSecurity: sec }); },
  };
  const times: Record<string, number[]> = {};
  // One case at a time over the same sequence of states (the uncached cases empty the caches the
  // cached ones rely on); the first three changes warm up.
  for (const [name, run] of Object.entries(cases)) {
    resetMeshCaches();
    let state = initial;
    run(state);
    times[name] = [];
    changeList.forEach((change, k) => {
      state = updateMeshState(state, [{ type: 'upsert', object: change }]);
      const t0 = performance.now();
      run(state);
      if (k >= 3) times[name].push(performance.now() - t0);
    });
  }
  const out = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
  console.error(`translation per change, ${services} services with a pod each in ${nss} namespaces, ${changes} changes (new pod / Route split alternating), ms:`);
  for (const [k, v] of Object.entries(out)) console.error(`  ${k.padEnd(24)} p50 ${String(v.p50).padStart(7)}  p90 ${String(v.p90).padStart(7)}`);
  const summary = {
    bench: 'translate', services, namespaces: nss, changes, cores: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
    gateway_incremental_p50_ms: out.gateway_incremental.p50, gateway_full_p50_ms: out.gateway_full.p50,
    mesh_cached_p50_ms: out.mesh_cached.p50, mesh_uncached_p50_ms: out.mesh_uncached.p50,
    mesh_security_cached_p50_ms: out.mesh_security_cached.p50, mesh_security_uncached_p50_ms: out.mesh_security_uncached.p50,
  };
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/translate.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, memory_mb: Math.round(os.totalmem() / 2 ** 20), summary, cases: out }, null, 2) + '\n');
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main();
