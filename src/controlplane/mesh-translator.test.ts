/**
 * MeshTranslator's stand-in problem pass: after Ingress/Endpoints/Pod changes it translates only
 * the namespaces they touched, and its problems are the same as those of a translator that
 * translates every namespace from scratch.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { KubeObject } from '../api/meta.ts';
import { MeshTranslator } from './mesh-translator.ts';
import * as f from './translate/testing/fixtures.ts';
import { seededRng } from '../lib/rng.ts';
import { TypeUrl } from '../xds/protos.ts';
import { buildSnapshot, type Snapshot } from './xds/snapshot.ts';
import type { ProxyInfo } from './xds/node-info.ts';

function problemsOf(t: MeshTranslator): string {
  return JSON.stringify([...t.problems()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** An Ingress with a problem (a rule without hosts) in namespace `ns`. */
function badIngress(ns: string, name: string): KubeObject {
  return f.ingress(ns, name, [{ hosts: [], visibility: 'ClusterLocal', http: { paths: [{ splits: [{ serviceNamespace: ns, serviceName: `${name}-1`, servicePort: 80, percent: 100 }] }] } }]);
}

test('the stand-in mesh pass re-translates only touched namespaces and finds the same problems as a full pass', () => {
  const incremental = new MeshTranslator();
  const objs: KubeObject[] = [];
  for (let n = 0; n < 6; n++) {
    for (let i = 0; i < 5; i++) objs.push(f.knativeIngress(`ns-${n}`, `svc-${i}`, [[`svc-${i}-1`, 100]]), f.endpoints(`ns-${n}`, `svc-${i}-1`, [{ port: 30000 + i }]));
    objs.push(f.virtualService(`ns-${n}`, 'vs', { hosts: ['svc-0'], http: [{ corsPolicy: { allowOrigins: [{ exact: 'x' }] }, route: [{ destination: { host: 'svc-0' } }] }] }));
  }
  for (const o of objs) incremental.apply({ type: 'upsert', object: o });
  incremental.problemsPass(['mesh']);
  const steps: { type: 'upsert' | 'delete'; object: KubeObject }[][] = [
    [{ type: 'upsert', object: badIngress('ns-2', 'bad') }],
    [{ type: 'upsert', object: f.endpoints('ns-3', 'svc-1-1', [{ port: 31000 }]) }, { type: 'upsert', object: f.pod('ns-3', 'p', { port: 31000 }) }],
    [{ type: 'delete', object: badIngress('ns-2', 'bad') }, { type: 'upsert', object: badIngress('ns-4', 'bad2') }],
    [{ type: 'upsert', object: f.sidecar('ns-1', 'default', { egress: [{ hosts: ['*/*'] }] }) }], // Sidecars: every namespace again
    [{ type: 'upsert', object: badIngress('ns-5', 'bad3') }],
  ];
  for (const [i, batch] of steps.entries()) {
    for (const c of batch) { incremental.apply(c); objs.push(c.object); }
    incremental.problemsPass(['mesh']);
    // The reference: a fresh translator given the same objects in their final form.
    const fresh = new MeshTranslator();
    const final = new Map<string, { type: 'upsert' | 'delete'; object: KubeObject }>();
    for (const o of objs) final.set(`${o.kind}|${o.metadata.namespace}/${o.metadata.name}`, { type: 'upsert', object: o });
    for (const s of steps.slice(0, i + 1)) for (const c of s) if (c.type === 'delete') final.delete(`${c.object.kind}|${c.object.metadata.namespace}/${c.object.metadata.name}`);
    for (const c of final.values()) fresh.apply(c);
    fresh.problemsPass(['mesh']);
    assert.equal(problemsOf(incremental), problemsOf(fresh), `step ${i}: problems equal to a full pass`);
  }
  assert.ok(problemsOf(incremental).includes('ns-5/bad3'), 'the last bad Ingress is reported');
  assert.ok(!problemsOf(incremental).includes('ns-2/bad"'), 'the deleted bad Ingress is not');
});

test('an endpoint-only change recomputes only the affected load assignments, with the same result as recomputing all (random, gateway and mesh scopes)', () => {
  const EDS_ONLY = new Set([TypeUrl.ClusterLoadAssignment]);
  for (const seed of [3, 11]) {
    const rng = seededRng(seed);
    const rnd = (n: number): number => Math.floor(rng.next() * n);
    const t = new MeshTranslator({ activator: { address: '127.0.0.1', port: 9999 } });
    const nss = ['a', 'b'];
    const podsOf = new Map<string, string[]>(); // endpoints key → pod names it lists
    const upsert = (o: KubeObject) => t.apply({ type: 'upsert', object: o });
    let services = 0;
    const addService = () => {
      const ns = nss[services % 2]!, svc = `s${services++}`;
      upsert(f.knativeIngress(ns, svc, [[`${svc}-1`, 100]]));
      podsOf.set(`${ns}/${svc}-1`, []);
      upsert(f.endpoints(ns, `${svc}-1`, []));
    };
    for (let i = 0; i < 12; i++) addService();
    const proxies: ProxyInfo[] = [{ id: 'gw', role: 'gateway', ports: { http: 8080, https: 8443 }, metadata: {} }, { id: 'mesh-a', role: 'mesh', namespace: 'a', metadata: {} }];
    const snaps = new Map<string, Snapshot>();
    const full = (p: ProxyInfo, g: number) => snaps.set(p.id, buildSnapshot(t.translate(p, []), g, snaps.get(p.id)));
    proxies.forEach((p) => full(p, 1));
    let recomputed = 0, possible = 0;
    for (let step = 2; step < 120; step++) {
      if (rnd(10) === 0) { addService(); proxies.forEach((p) => full(p, step)); continue; } // a full flush: new clusters
      const changes = new Map<string, Set<string>>();
      const note = (kind: string, key: string) => { if (!changes.has(kind)) changes.set(kind, new Set()); changes.get(kind)!.add(key); };
      for (let c = 0; c < 1 + rnd(3); c++) {
        const ep = [...podsOf.keys()][rnd(podsOf.size)]!;
        const [ns, name] = ep.split('/') as [string, string];
        const pods = podsOf.get(ep)!;
        const r = rnd(4);
        if (r === 0 || pods.length === 0) { // a pod joins the Endpoints (its Pod may come later)
          const pod = `${name}-p${rnd(3)}`;
          if (!pods.includes(pod)) pods.push(pod);
          upsert(f.endpoints(ns, name, pods.map((p, i) => ({ port: 31000 + i, pod: p, ip: `10.0.0.${i + 1}` }))));
          note('core/endpoints', ep);
        } else if (r === 1) { // a pod leaves
          pods.splice(rnd(pods.length), 1);
          upsert(f.endpoints(ns, name, pods.map((p, i) => ({ port: 31000 + i, pod: p, ip: `10.0.0.${i + 1}` }))));
          note('core/endpoints', ep);
        } else { // a pod changes (weight, zone): only its Pod object
          const pod = pods[rnd(pods.length)]!;
          upsert(f.pod(ns, pod, { annotations: { 'sluice.dev/endpoint-weight': String(1 + rnd(5)) }, labels: { 'topology.kubernetes.io/zone': `z${rnd(2)}` } }));
          note('core/pods', `${ns}/${pod}`);
        }
      }
      for (const p of proxies) {
        const prev = snaps.get(p.id)!;
        const scope = t.scopeKey(p, []);
        const affected = t.affectedClusters(scope, changes, prev.entries(TypeUrl.Cluster));
        assert.ok(affected, 'endpoint and pod changes only: a partial recompute');
        const patched = buildSnapshot({ [TypeUrl.ClusterLoadAssignment]: t.translateEndpoints(p, affected) }, step, prev, EDS_ONLY, true);
        const whole = buildSnapshot({ [TypeUrl.ClusterLoadAssignment]: t.translateEndpoints(p, prev.names(TypeUrl.Cluster)) }, step, prev, EDS_ONLY);
        const versions = (s: Snapshot) => JSON.stringify([...s.entries(TypeUrl.ClusterLoadAssignment)].map(([n, e]) => [n, e.version]).sort());
        assert.equal(versions(patched), versions(whole), `seed ${seed} step ${step} ${p.id}: the same load assignments`);
        recomputed += affected.length;
        possible += prev.names(TypeUrl.Cluster).length;
        snaps.set(p.id, patched);
      }
    }
    assert.ok(recomputed < possible / 4, `recomputed ${recomputed} of ${possible} load assignments`);
  }
  const t = new MeshTranslator();
  assert.equal(t.affectedClusters('x', new Map([['networking.internal.knative.dev/ingresses', new Set(['a/b'])]]), new Map()), undefined, 'anything but endpoints and pods: recompute all');
});
