/**
 * updateMeshState against buildMeshState of the same objects, after random batches of changes to
 * ordered kinds: new objects newer than all others (appended without a re-sort), older ones, in-place
 * replacements, timestamp changes, deletions, and a delete and re-add in one batch. The order of
 * each kind, the public Ingresses and the revision backends must be those of a rebuild.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { KubeObject } from '../../api/meta.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import { seededRng } from '../../lib/rng.ts';
import { buildMeshState, keyOf, updateMeshState, type MeshChange } from './mesh-state.ts';
import * as f from './testing/fixtures.ts';
import type { MeshState } from './types.ts';

function stamp(o: KubeObject, second: number): KubeObject {
  o.metadata.creationTimestamp = new Date(Date.UTC(2026, 0, 1) + second * 1000).toISOString();
  return o;
}

function summary(s: MeshState): object {
  return {
    ingresses: [...s.ingresses.keys()],
    publicIngresses: s.publicIngresses.map(keyOf),
    backends: [...s.revisionBackends].sort(),
    virtualServices: [...s.virtualServices.keys()],
    byNamespace: [...s.ingressesByNamespace].map(([ns, l]) => [ns, l.map(keyOf)]).sort(),
  };
}

test('updateMeshState keeps ordered kinds, public Ingresses and revision backends as a rebuild would (3 seeds x 150 batches)', () => {
  for (const seed of [1, 2, 3]) {
    const rnd = seededRng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd.next() * xs.length)];
    let clock = 1_000;
    const live = new Map<string, KubeObject>();
    const ingress = (ns: string, name: string, second: number, publicRule = true): KIngress => {
      const ing = f.knativeIngress(ns, name, [[`${name}-${Math.floor(rnd.next() * 3)}`, 100]]);
      if (!publicRule) ing.spec!.rules = ing.spec!.rules.filter((r) => r.visibility === 'ClusterLocal');
      return stamp(ing, second) as KIngress;
    };
    for (let i = 0; i < 10; i++) { const o = ingress(pick(['a', 'b']), `i${i}`, clock++); live.set(keyOf(o), o); }
    let state = buildMeshState([...live.values()]);
    for (let batch = 0; batch < 150; batch++) {
      const changes: MeshChange[] = [];
      const n = 1 + Math.floor(rnd.next() * 3);
      for (let c = 0; c < n; c++) {
        const r = rnd.next();
        const keys = [...live.keys()].filter((k) => !k.endsWith('|vs')); // Ingresses only
        if (r < 0.35) { // a new Service: the newest object
          const o = ingress(pick(['a', 'b', 'c']), `n${batch}x${c}`, clock++, rnd.next() < 0.8);
          live.set(keyOf(o), o); changes.push({ type: 'upsert', object: o });
        } else if (r < 0.45) { // a new object older than some others
          const o = ingress(pick(['a', 'b']), `old${batch}x${c}`, Math.floor(rnd.next() * clock));
          live.set(keyOf(o), o); changes.push({ type: 'upsert', object: o });
        } else if (r < 0.65 && keys.length) { // replaced in place (same timestamp), maybe private now
          const k = pick(keys); const prev = live.get(k)!;
          const o = ingress(prev.metadata.namespace!, prev.metadata.name!, 0, rnd.next() < 0.8);
          o.metadata.creationTimestamp = prev.metadata.creationTimestamp;
          live.set(k, o); changes.push({ type: 'upsert', object: o });
        } else if (r < 0.72 && keys.length) { // its timestamp changes
          const k = pick(keys); const prev = live.get(k)!;
          const o = stamp(ingress(prev.metadata.namespace!, prev.metadata.name!, 0), Math.floor(rnd.next() * clock));
          live.set(k, o); changes.push({ type: 'upsert', object: o });
        } else if (r < 0.85 && keys.length > 3) { // deleted
          const k = pick(keys); changes.push({ type: 'delete', object: live.get(k)! }); live.delete(k);
        } else if (r < 0.92 && keys.length) { // deleted and added again in one batch
          const k = pick(keys); const prev = live.get(k)!;
          changes.push({ type: 'delete', object: prev }, { type: 'upsert', object: prev });
        } else { // a VirtualService (an ordered kind too), newest or not
          const vs = stamp(f.virtualService('a', `vs${batch}`, { hosts: ['x'] }), rnd.next() < 0.5 ? clock++ : Math.floor(rnd.next() * clock));
          live.set(keyOf(vs) + '|vs', vs); changes.push({ type: 'upsert', object: vs });
        }
      }
      state = updateMeshState(state, changes);
      const rebuilt = buildMeshState([...live.values()]);
      assert.deepEqual(summary(state), summary(rebuilt), `seed ${seed} batch ${batch}`);
    }
  }
});
