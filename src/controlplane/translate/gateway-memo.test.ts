/**
 * The incremental gateway translation against the full one: after every batch of random changes
 * (Ingresses added, changed, deleted, made private, taking another's host; Endpoints and Pods;
 * VirtualServices, DestinationRules and TLS that force a full translation), both give the same
 * resources and the same problems. Plus: a change of one Route among 10,000 visits one Ingress.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { seededRng } from '../../lib/rng.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import { TypeUrl, PUSH_ORDER } from '../../xds/protos.ts';
import { gatewayMemoStats, resetGatewayMemos } from './gateway-memo.ts';
import { XdsMetrics } from '../pipeline/xds-metrics.ts';
import { buildMeshState, changesSince, stateSerial, updateMeshState, type MeshChange } from './mesh-state.ts';
import { canonicalJson } from './resource-hash.ts';
import * as f from './testing/fixtures.ts';
import { translateEndpoints, translateForProxy } from './translate.ts';
import type { MeshState, ProxyInfo, TranslateResult } from './types.ts';

const GATEWAY: ProxyInfo = { id: 'gw', role: 'gateway', ports: { http: 8080, https: 8443 } };
const ACTIVATOR = { address: '127.0.0.1', port: 9999 };

/** Seeded, so a failure replays. */
function prng(seed: number): () => number {
  const r = seededRng(seed);
  return () => r.next();
}

function sameResult(inc: TranslateResult, full: TranslateResult, where: string): void {
  for (const t of PUSH_ORDER) {
    const a = inc.resources[t], b = full.resources[t];
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${where}: names of ${t}`);
    for (const [name, obj] of a) assert.equal(canonicalJson(obj), canonicalJson(b.get(name)), `${where}: ${t} ${name}`);
  }
  assert.deepEqual(inc.problems, full.problems, `${where}: problems`);
}

function revisionIngress(ns: string, svc: string, rev: number, pct = 100, host?: string): KIngress {
  const ing = f.knativeIngress(ns, svc, pct === 100 ? [[`${svc}-${rev}`, 100]] : [[`${svc}-${rev}`, pct], [`${svc}-${rev - 1}`, 100 - pct]]);
  if (host) ing.spec!.rules[1].hosts = [host];
  return ing;
}

test('incremental gateway translation equals the full one after random changes (3 seeds x 80 batches)', () => {
  for (const seed of [1, 7, 42]) {
    resetGatewayMemos();
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const nss = ['a', 'b', 'c', 'd'];
    const objs: KubeObject[] = [];
    const live = new Map<string, KIngress>();
    const rev = new Map<string, number>();
    for (let i = 0; i < 24; i++) {
      const ns = nss[i % 4], svc = `s${i}`;
      const ing = revisionIngress(ns, svc, 1);
      live.set(`${ns}/${svc}`, ing);
      rev.set(`${ns}/${svc}`, 1);
      objs.push(ing, f.endpoints(ns, `${svc}-1`, i % 3 === 0 ? [] : [{ port: 30000 + i, pod: `${svc}-pod` }]));
      if (i % 3 !== 0) objs.push(f.pod(ns, `${svc}-pod`, { port: 30000 + i }));
    }
    let state: MeshState = buildMeshState({ ...groupForBuild(objs), activator: ACTIVATOR });
    const before = { ...gatewayMemoStats };
    let vsOn = false, drOn = false, tlsOn = false;
    let prevClusters: string[] = [];
    for (let batch = 0; batch < 80; batch++) {
      const changes: MeshChange[] = [];
      const n = 1 + Math.floor(rnd() * 3);
      for (let c = 0; c < n; c++) {
        const r = rnd();
        const keys = [...live.keys()];
        if (r < 0.3 && keys.length) { // a new revision, or a traffic split
          const key = pick(keys);
          const [ns, svc] = key.split('/');
          const v = (rev.get(key) ?? 1) + 1;
          rev.set(key, v);
          const ing = revisionIngress(ns, svc, v, rnd() < 0.5 ? 100 : 90);
          ing.metadata.creationTimestamp = live.get(key)!.metadata.creationTimestamp;
          live.set(key, ing);
          changes.push({ type: 'upsert', object: ing });
          changes.push({ type: 'upsert', object: f.endpoints(ns, `${svc}-${v}`, rnd() < 0.5 ? [] : [{ port: 31000 + batch, pod: `${svc}-pod-${v}` }]) });
          if (rnd() < 0.5) changes.push({ type: 'upsert', object: f.pod(ns, `${svc}-pod-${v}`, { annotations: { 'sluice.dev/endpoint-weight': String(1 + Math.floor(rnd() * 3)) } }) });
        } else if (r < 0.45) { // a new service
          const ns = pick(nss), svc = `n${batch}x${c}`;
          const ing = revisionIngress(ns, svc, 1);
          live.set(`${ns}/${svc}`, ing);
          rev.set(`${ns}/${svc}`, 1);
          changes.push({ type: 'upsert', object: ing }, { type: 'upsert', object: f.endpoints(ns, `${svc}-1`, [{ port: 32000 + batch }]) });
        } else if (r < 0.55 && keys.length > 4) { // a deleted service
          const key = pick(keys);
          changes.push({ type: 'delete', object: live.get(key)! });
          live.delete(key);
        } else if (r < 0.62 && keys.length > 1) { // a Route taking another one's host (a conflict)
          const [k1, k2] = [pick(keys), pick(keys)];
          if (k1 === k2) continue;
          const [ns, svc] = k1.split('/');
          const other = live.get(k2)!.spec!.rules[1].hosts[0];
          const ing = revisionIngress(ns, svc, rev.get(k1)!, 100, rnd() < 0.5 ? other : `${svc}.${ns}.example.com`);
          ing.metadata.creationTimestamp = live.get(k1)!.metadata.creationTimestamp;
          live.set(k1, ing);
          changes.push({ type: 'upsert', object: ing });
        } else if (r < 0.68 && keys.length) { // cluster-local only, or public again
          const key = pick(keys);
          const ing = structuredClone(live.get(key)!);
          ing.spec!.rules[1].visibility = ing.spec!.rules[1].visibility === 'ClusterLocal' ? 'ExternalIP' : 'ClusterLocal';
          live.set(key, ing);
          changes.push({ type: 'upsert', object: ing });
        } else if (r < 0.8 && keys.length) { // endpoints or pods only
          const key = pick(keys);
          const [ns, svc] = key.split('/');
          const v = rev.get(key)!;
          if (rnd() < 0.5) changes.push({ type: 'upsert', object: f.endpoints(ns, `${svc}-${v}`, rnd() < 0.3 ? [] : [{ port: 33000 + batch, pod: `${svc}-pod-${v}` }]) });
          else changes.push({ type: 'upsert', object: f.pod(ns, `${svc}-pod-${v}`, { labels: { 'topology.kubernetes.io/zone': pick(['z1', 'z2']) } }) });
        } else if (r < 0.84) { // a VirtualService on a Gateway (full translation while it changes)
          const gw = f.gateway('a', 'gw', { servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*/*.vs.example.com'] }] });
          const vs = f.virtualService('a', 'vs', { hosts: ['app.vs.example.com'], gateways: ['a/gw'], http: [{ route: [{ destination: { host: 's1-1.b.svc.cluster.local' } }] }] });
          changes.push({ type: vsOn ? 'delete' : 'upsert', object: gw }, { type: vsOn ? 'delete' : 'upsert', object: vs });
          vsOn = !vsOn;
        } else if (r < 0.86) { // a DestinationRule (no memo while there is one)
          const dr = f.destinationRule('b', 'dr', { host: 's1-1', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } });
          changes.push({ type: drOn ? 'delete' : 'upsert', object: dr });
          drOn = !drOn;
        } else if (r < 0.88 && keys.length) { // TLS on one Route (no memo while there is TLS)
          const key = pick(keys);
          const [ns, svc] = key.split('/');
          const ing = revisionIngress(ns, svc, rev.get(key)!);
          ing.metadata.creationTimestamp = live.get(key)!.metadata.creationTimestamp;
          if (!tlsOn) ing.spec!.tls = [{ hosts: [`${svc}.${ns}.example.com`], secretName: 'cert', secretNamespace: ns }];
          tlsOn = !tlsOn;
          live.set(key, ing);
          changes.push({ type: 'upsert', object: ing });
        }
      }
      // VirtualServices, DestinationRules and TLS stay for a few batches at most, so most batches
      // can be incremental.
      if (drOn && batch % 4 === 3) { changes.push({ type: 'delete', object: f.destinationRule('b', 'dr', { host: 's1-1' }) }); drOn = false; }
      state = updateMeshState(state, changes);
      const where = `seed ${seed} batch ${batch}`;
      // As the pipeline does on an endpoint-only flush: the previous clusters' load assignments,
      // from the memo when it can advance, against the plain translation.
      const names = [...prevClusters];
      const viaMemo = translateEndpoints(state, GATEWAY, names, { now: 0 });
      const plain = translateEndpoints(state, GATEWAY, names, { now: 0, incremental: false });
      assert.deepEqual([...viaMemo.keys()].sort(), [...plain.keys()].sort(), `${where}: endpoint-only names`);
      for (const [n, cla] of plain) assert.equal(canonicalJson(viaMemo.get(n)), canonicalJson(cla), `${where}: endpoint-only ${n}`);
      const inc = translateForProxy(state, GATEWAY, { now: 0 });
      const full = translateForProxy(state, GATEWAY, { now: 0, incremental: false });
      sameResult(inc, full, where);
      prevClusters = [...full.resources[TypeUrl.Cluster].keys()];
      // The VHDS form (what sluice's own gateway takes) from the memo, against toVhds of the full one.
      sameResult(translateForProxy(state, GATEWAY, { now: 0, vhds: true }), translateForProxy(state, GATEWAY, { now: 0, incremental: false, vhds: true }), `${where} (vhds)`);
      const pIncr = translateForProxy(state, GATEWAY, { now: 0, problemsOnly: true });
      assert.deepEqual(pIncr.problems, full.problems, `${where}: problems-only pass`);
    }
    const incremental = gatewayMemoStats.incremental - before.incremental;
    assert.ok(incremental >= 100, `seed ${seed}: the incremental path was taken ${incremental} times of 240 (each batch translates three times); full ones by reason ${JSON.stringify(gatewayMemoStats.full)}`);
  }
});

function groupForBuild(objs: KubeObject[]) {
  return {
    ingresses: objs.filter((o) => o.kind === 'Ingress') as KIngress[],
    endpoints: objs.filter((o) => o.kind === 'Endpoints') as never[],
    pods: objs.filter((o) => o.kind === 'Pod') as never[],
  };
}

test('a change of one Route among 10,000 re-translates that Ingress only', async () => {
  resetGatewayMemos();
  const objs: KubeObject[] = [];
  for (let n = 0; n < 100; n++) {
    for (let i = 0; i < 100; i++) objs.push(f.knativeIngress(`ns-${n}`, `svc-${i}`, [[`svc-${i}-1`, 100]]), f.endpoints(`ns-${n}`, `svc-${i}-1`, [{ port: 30000 + i }]));
  }
  let state = buildMeshState(objs);
  const first = translateForProxy(state, GATEWAY);
  assert.equal(first.stats.ingressesVisited, 10_000, 'the first translation visits every public Ingress');
  const changed = f.knativeIngress('ns-7', 'svc-3', [[`svc-3-2`, 90], [`svc-3-1`, 10]]);
  changed.metadata.creationTimestamp = state.ingresses.get('ns-7/svc-3')!.metadata.creationTimestamp;
  state = updateMeshState(state, [{ type: 'upsert', object: changed }, { type: 'upsert', object: f.endpoints('ns-7', 'svc-3-2', [{ port: 40000 }]) }]);
  const next = translateForProxy(state, GATEWAY);
  assert.equal(next.stats.ingressesVisited, 1, 'the next translation visits the changed Ingress only');
  assert.equal(next.resources[TypeUrl.Cluster].size, 10_001, 'the new revision\'s cluster is added');
  assert.ok(next.resources[TypeUrl.ClusterLoadAssignment].has('outbound|80||svc-3-2.ns-7.svc.cluster.local'), 'and its load assignment');
  sameResult(next, translateForProxy(state, GATEWAY, { incremental: false }), 'after one change');
  const text = await new XdsMetrics().registry.metrics();
  const m = /sluice_gateway_translations_total\{mode="incremental",reason=""\} (\d+)/.exec(text);
  assert.ok(m && Number(m[1]) >= 1, `the incremental translation is counted in the control plane's metrics: ${text.split('\n').filter((l) => l.includes('gateway_translations')).join(' | ')}`);
});

test('changesSince: keys changed between a state and a descendant; undefined for a state of another lineage', () => {
  const s0 = buildMeshState([f.knativeIngress('a', 'x', [['x-1', 100]])]);
  const s1 = updateMeshState(s0, [{ type: 'upsert', object: f.endpoints('a', 'x-1', [{ port: 1 }]) }]);
  const s2 = updateMeshState(s1, [{ type: 'upsert', object: f.knativeIngress('b', 'y', [['y-1', 100]]) }]);
  const ch = changesSince(s2, stateSerial(s0))!;
  assert.deepEqual([...ch.get('endpoints')!], ['a/x-1'], 'endpoints changed');
  assert.deepEqual([...ch.get('ingresses')!], ['b/y'], 'ingresses changed');
  assert.equal(changesSince(s2, stateSerial(s2))!.size, 0, 'no change since itself');
  const other = buildMeshState([]);
  assert.equal(changesSince(s2, stateSerial(other)), undefined, 'not an ancestor');
  assert.equal(changesSince(s2, stateSerial(s0), 1), undefined, 'more keys than allowed');
  // The kept lineage is bounded (32 steps): a recent ancestor is found, a distant one is not.
  let s = s2;
  const serials: number[] = [];
  for (let i = 0; i < 40; i++) { s = updateMeshState(s, [{ type: 'upsert', object: f.endpoints('a', 'x-1', [{ port: 100 + i }]) }]); serials.push(stateSerial(s)); }
  assert.deepEqual([...changesSince(s, serials[30])!.keys()], ['endpoints'], 'an ancestor 9 steps up');
  assert.equal(changesSince(s, stateSerial(s0)), undefined, 'an ancestor 42 steps up is beyond the kept lineage');
});
