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
