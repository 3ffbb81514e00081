import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Configuration, Revision, Route, TrafficTarget } from '../../api/types/knative.ts';
import { routingState, routingStateOf, type RoutingState } from './routing-state.ts';
import { ObjectCache } from '../../controller/object-cache.ts';
import { Lister } from '../../controller/lister.ts';
import { seededRng } from '../../lib/rng.ts';

const rev = (name: string): Revision => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name, namespace: 'default', labels: { 'serving.knative.dev/configuration': 'hello' } }, spec: { containers: [] } });
const route = (spec: TrafficTarget[], status?: TrafficTarget[]): Route => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { name: 'hello', namespace: 'default' }, spec: { traffic: spec }, status: status ? { traffic: status } : undefined });
const cfg = (created?: string, ready?: string): Configuration => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name: 'hello' }, spec: { template: { spec: { containers: [] } } }, status: { latestCreatedRevisionName: created, latestReadyRevisionName: ready } });
const latest: TrafficTarget[] = [{ configurationName: 'hello', latestRevision: true, percent: 100 }];

test('routingState (table): active when routed or pinned, pending when newest, reserve otherwise', () => {
  const cases: [string, Revision, Route[], Configuration | undefined, RoutingState][] = [
    ['in route status traffic', rev('hello-00001'), [route(latest, [{ revisionName: 'hello-00001', percent: 100 }])], cfg('hello-00002', 'hello-00001'), 'active'],
    ['pinned in route spec', rev('hello-00001'), [route([{ revisionName: 'hello-00001', percent: 100 }])], cfg('hello-00002'), 'active'],
    ['newest, not yet routed', rev('hello-00002'), [route(latest, [{ revisionName: 'hello-00001', percent: 100 }])], cfg('hello-00002', 'hello-00001'), 'pending'],
    ['old and unrouted', rev('hello-00001'), [route(latest, [{ revisionName: 'hello-00002', percent: 100 }])], cfg('hello-00002', 'hello-00002'), 'reserve'],
    ['no configuration', rev('solo'), [], undefined, 'pending'],
    ['configuration used without a route keeps its latest ready', rev('hello-00001'), [], cfg('hello-00002', 'hello-00001'), 'pending'],
  ];
  for (const [name, r, routes, c, want] of cases) assert.equal(routingState(r, routes, c), want, name);
});

test('routingStateOf answers from the routes index as routingState does over every Route of the namespace', () => {
  const rng = seededRng(5);
  const rnd = (n: number): number => Math.floor(rng.next() * n);
  const routes = new ObjectCache<Route>();
  const configs = new ObjectCache<Configuration>();
  const listers = { routes: new Lister(routes), configurations: new Lister(configs) };
  const seen = new Map<RoutingState, number>();
  const target = (): TrafficTarget => (rnd(2) ? { revisionName: `c${rnd(3)}-0000${rnd(3)}`, percent: 50 } : { configurationName: `c${rnd(3)}`, latestRevision: true, percent: 50 });
  for (let i = 0; i < 1500; i++) {
    const ns = `n${rnd(2)}`;
    const name = `r${rnd(6)}`;
    if (rnd(6) === 0) routes.delete(`${ns}/${name}`);
    else {
      const spec = [...Array(rnd(3)).keys()].map(target);
      const status = rnd(2) ? [...Array(rnd(3)).keys()].map(() => ({ revisionName: `c${rnd(3)}-0000${rnd(3)}`, percent: 50 })) : undefined;
      routes.set(`${ns}/${name}`, { ...route(spec, status), metadata: { name, namespace: ns } });
    }
    const c = `c${rnd(3)}`;
    configs.set(`${ns}/${c}`, { ...cfg(rnd(2) ? `${c}-0000${rnd(3)}` : undefined, rnd(2) ? `${c}-0000${rnd(3)}` : undefined), metadata: { name: c, namespace: ns } });
    const qns = `n${rnd(2)}`, qc = `c${rnd(3)}`;
    const r: Revision = { ...rev(`${qc}-0000${rnd(3)}`), metadata: { name: `${qc}-0000${rnd(3)}`, namespace: qns, labels: { 'serving.knative.dev/configuration': qc } } };
    const want = routingState(r, listers.routes.list(qns), configs.get(`${qns}/${qc}`));
    assert.equal(routingStateOf(r, listers), want, `step ${i}: ${qns}/${r.metadata.name}`);
    seen.set(want, (seen.get(want) ?? 0) + 1);
  }
  for (const s of ['active', 'pending', 'reserve'] as const) assert.ok((seen.get(s) ?? 0) > 100, `${s} came up ${seen.get(s) ?? 0} times`);
});
