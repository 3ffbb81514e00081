import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Configuration, Revision, Route, TrafficTarget } from '../../api/types/knative.ts';
import { routingState, type RoutingState } from './routing-state.ts';

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
