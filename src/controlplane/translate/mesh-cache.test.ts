/**
 * The mesh translation's caches (each namespace's egress routes, each pod's listeners) against
 * fresh translations: after every batch of random changes (pods started and stopped, Endpoints,
 * Ingresses, VirtualServices, Sidecars, DestinationRules), the all-namespace mesh proxy's
 * resources and problems are the same with warm caches as with empty ones.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { seededRng } from '../../lib/rng.ts';
import type { KubeObject } from '../../api/meta.ts';
import { PUSH_ORDER } from '../../xds/protos.ts';
import { resetMeshCaches } from './mesh.ts';
import { checkConsistency } from './consistency.ts';
import { toVhds } from './vhds.ts';
import { buildMeshState, updateMeshState, type MeshChange } from './mesh-state.ts';
import { canonicalJson } from './resource-hash.ts';
import * as f from './testing/fixtures.ts';
import { translateForProxy } from './translate.ts';
import type { ProxyInfo, TranslateResult } from './types.ts';
import type { MeshSecurityInput } from './mesh-security.ts';

const MESH: ProxyInfo = { id: 'mesh', role: 'mesh' };

function prng(seed: number): () => number {
  const r = seededRng(seed);
  return () => r.next();
}

function same(a: TranslateResult, b: TranslateResult, where: string): void {
  for (const t of PUSH_ORDER) {
    assert.deepEqual([...a.resources[t].keys()].sort(), [...b.resources[t].keys()].sort(), `${where}: names of ${t}`);
    for (const [n, o] of a.resources[t]) assert.equal(canonicalJson(o), canonicalJson(b.resources[t].get(n)), `${where}: ${t} ${n}`);
  }
  assert.deepEqual(a.problems, b.problems, `${where}: problems`);
}

function meshPod(ns: string, name: string, port: number, extra: Record<string, string> = {}): KubeObject {
  return f.pod(ns, name, { port, annotations: { 'sluice.dev/inbound-port': String(port + 1), 'sluice.dev/egress-port': String(port + 2), ...extra } });
}

const NOW = Date.parse('2026-06-01T00:00:00Z');
const spiffe = (ns: string) => `spiffe://cluster.local/ns/${ns}/sa/default`;
/** Mesh security with a certificate for every namespace's default service account; `wanted` records asks for missing ones. */
function security(): MeshSecurityInput & { certs: Map<string, { chainPem: string; keyPem: string; notAfter: number }>; wanted: string[] } {
  const certs = new Map(['a', 'b', 'c'].map((ns) => [spiffe(ns), { chainPem: `CHAIN ${ns}`, keyPem: `KEY ${ns}`, notAfter: NOW + 3600_000 }]));
  const wanted: string[] = [];
  return { trustDomain: 'cluster.local', rootPem: 'ROOT', certs, wanted, want: (id) => wanted.push(`${id.namespace}/${id.serviceAccount}`), lastGoodPolicies: new Map() };
}

for (const secure of [false, true]) test(`mesh translation with warm caches equals a fresh one after random changes (2 seeds x 60 batches${secure ? ', mesh security' : ''})`, () => {
  const sec = security();
  const opts = { apiListeners: ['s0.a.svc.cluster.local:80'], now: NOW, ...(secure ? { meshSecurity: sec } : {}) };
  let rotation = 0;
  for (const seed of [3, 11]) {
    resetMeshCaches();
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const nss = ['a', 'b', 'c'];
    const objs: KubeObject[] = [];
    let port = 20000;
    for (let i = 0; i < 12; i++) {
      const ns = nss[i % 3];
      objs.push(f.knativeIngress(ns, `s${i}`, [[`s${i}-1`, 100]]), f.endpoints(ns, `s${i}-1`, [{ port, pod: `p${i}` }]), meshPod(ns, `p${i}`, port));
      port += 3;
    }
    let state = buildMeshState(objs);
    const pods = new Map<string, KubeObject>(objs.filter((o) => o.kind === 'Pod').map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
    let sidecar = false, vs = false, dr = false;
    for (let batch = 0; batch < 60; batch++) {
      const changes: MeshChange[] = [];
      const r = rnd();
      const ns = pick(nss);
      if (r < 0.3) { // a pod starts
        const p = meshPod(ns, `q${batch}`, (port += 3));
        pods.set(`${ns}/q${batch}`, p);
        changes.push({ type: 'upsert', object: p });
      } else if (r < 0.45 && pods.size > 2) { // a pod stops
        const key = pick([...pods.keys()]);
        changes.push({ type: 'delete', object: pods.get(key)! });
        pods.delete(key);
      } else if (r < 0.55) { // a pod's annotations change (bad port: a problem)
        const key = pick([...pods.keys()]);
        const [pns, pname] = key.split('/');
        const p = meshPod(pns, pname, (port += 3), rnd() < 0.5 ? { 'sluice.dev/egress-port': 'x' } : {});
        pods.set(key, p);
        changes.push({ type: 'upsert', object: p });
      } else if (r < 0.62) { // an Ingress alone changes (its cluster-local host)
        const i = Math.floor(rnd() * 12);
        const ing = f.knativeIngress(nss[i % 3], `s${i}`, [[`s${i}-1`, 100]]);
        ing.spec!.rules[0].hosts = [`alias${batch}.${nss[i % 3]}`];
        changes.push({ type: 'upsert', object: ing });
      } else if (r < 0.7) { // a new revision: Ingress and Endpoints
        const i = Math.floor(rnd() * 12);
        const ins = nss[i % 3];
        changes.push({ type: 'upsert', object: f.knativeIngress(ins, `s${i}`, [[`s${i}-${batch}`, 100]]) },
          { type: 'upsert', object: f.endpoints(ins, `s${i}-${batch}`, [{ port: (port += 3) }]) });
      } else if (r < 0.8) { // a mesh VirtualService routing to another namespace's revision
        const v = f.virtualService('a', 'vs', { hosts: ['s0'], http: [{ route: [{ destination: { host: `s1-1.b.svc.cluster.local` } }] }] });
        changes.push({ type: vs ? 'delete' : 'upsert', object: v });
        vs = !vs;
      } else if (r < 0.86) { // Endpoints of b's revision relabelled (the VirtualService in a names it)
        changes.push({ type: 'upsert', object: { ...f.endpoints('b', 's1-1', [{ port: 20003, pod: 'p1' }]), metadata: { ...f.endpoints('b', 's1-1', []).metadata, labels: { 'serving.knative.dev/revision': `s1-1x${batch}` } } } as KubeObject });
      } else if (r < 0.93) { // a Sidecar widening c's egress to every namespace
        changes.push({ type: sidecar ? 'delete' : 'upsert', object: f.sidecar('c', 'default', { egress: [{ hosts: rnd() < 0.5 ? ['*/*'] : ['./*', 'a/*'] }] }) });
        sidecar = !sidecar;
      } else if (secure && r < 0.96) { // certificates: rotated, expired or gone; policies: PeerAuthentication and AuthorizationPolicy
        const k = Math.floor(rnd() * 5);
        const cns = pick(nss);
        if (k === 0) sec.certs.set(spiffe(cns), { chainPem: `CHAIN ${cns} ${++rotation}`, keyPem: `KEY ${cns} ${rotation}`, notAfter: NOW + 3600_000 });
        else if (k === 1) sec.certs.set(spiffe(cns), { chainPem: `OLD ${cns}`, keyPem: 'K', notAfter: NOW - 1 });
        else if (k === 2) sec.certs.delete(spiffe(cns));
        else if (k === 3) changes.push({ type: 'upsert', object: { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: cns, resourceVersion: String(batch) }, spec: { mtls: { mode: pick(['STRICT', 'PERMISSIVE', 'DISABLE']) } } } as KubeObject });
        else changes.push({ type: 'upsert', object: { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow', namespace: cns, resourceVersion: String(batch) }, spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: [pick(nss)] } }] }] } } as KubeObject });
      } else { // a DestinationRule
        changes.push({ type: dr ? 'delete' : 'upsert', object: f.destinationRule('a', 'dr', { host: 's0-1', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } }) });
        dr = !dr;
      }
      state = updateMeshState(state, changes);
      const where = `seed ${seed} batch ${batch}`;
      sec.wanted.length = 0;
      const warm = translateForProxy(state, MESH, opts);
      const wantedWarm = [...new Set(sec.wanted)].sort();
      resetMeshCaches();
      sec.wanted.length = 0;
      const fresh = translateForProxy(state, MESH, opts);
      assert.deepEqual(wantedWarm, [...new Set(sec.wanted)].sort(), `${where}: certificates asked for`);
      same(warm, fresh, where);
      assert.deepEqual(checkConsistency(warm.resources), [], `${where}: consistent`);
      assert.deepEqual(checkConsistency(toVhds(warm.resources)), [], `${where}: consistent in VHDS form`);
    }
  }
});
