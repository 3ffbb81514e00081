import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults } from './defaults.ts';
import type { KubeObject } from './meta.ts';

const ksvc = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello' }, spec });

test('Knative Service gets Knative defaults and the input is not changed', () => {
  const input = ksvc({ template: { spec: { containers: [{ image: 'sluice/hello' }] } } });
  const before = structuredClone(input);
  const out = applyDefaults(input);
  assert.deepEqual(input, before);
  assert.deepEqual(out.spec, {
    template: {
      spec: {
        containerConcurrency: 0,
        timeoutSeconds: 300,
        enableServiceLinks: false,
        containers: [{
          name: 'user-container',
          image: 'sluice/hello',
          ports: [{ containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 0 }, successThreshold: 1 },
        }],
      },
    },
    traffic: [{ latestRevision: true, percent: 100 }],
  });
});

test('given values are kept', () => {
  const out = applyDefaults(ksvc({
    template: { spec: { containerConcurrency: 10, timeoutSeconds: 60, enableServiceLinks: true, containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 9000, name: 'h2c' }], readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 1 } }] } },
    traffic: [{ revisionName: 'hello-00001', percent: 50 }, { percent: 50, tag: 'latest' }],
  }));
  const spec = out.spec as any;
  assert.equal(spec.template.spec.containerConcurrency, 10);
  assert.equal(spec.template.spec.timeoutSeconds, 60);
  assert.equal(spec.template.spec.enableServiceLinks, true);
  assert.deepEqual(spec.template.spec.containers[0], { name: 'app', image: 'x', ports: [{ containerPort: 9000, name: 'h2c' }], readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 1, successThreshold: 1 } });
  assert.deepEqual(spec.traffic, [{ revisionName: 'hello-00001', percent: 50, latestRevision: false }, { percent: 50, tag: 'latest', latestRevision: true }]);
});

test('several containers: numbered names, port and probe only on the serving one', () => {
  const out = applyDefaults({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'r' }, spec: { containers: [
    { image: 'side' }, { image: 'main', ports: [{ containerPort: 8081 }] }, { name: 'user-container-0', image: 'named' },
  ] } });
  const cs = (out.spec as any).containers;
  assert.deepEqual(cs.map((c: any) => c.name), ['user-container-1', 'user-container-2', 'user-container-0']);
  assert.equal(cs[0].ports, undefined);
  assert.equal(cs[0].readinessProbe, undefined);
  assert.deepEqual(cs[1].readinessProbe, { tcpSocket: { port: 0 }, successThreshold: 1 });
});

test('Route targets get latestRevision; a Route without traffic stays empty', () => {
  const route = (traffic?: unknown[]): KubeObject => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { name: 'r' }, spec: traffic ? { traffic } : {} });
  assert.deepEqual(applyDefaults(route()).spec, {});
  assert.deepEqual((applyDefaults(route([{ configurationName: 'c', percent: 100 }])).spec as any).traffic, [{ configurationName: 'c', percent: 100, latestRevision: true }]);
});

test('Secret stringData is merged into data as base64 and removed', () => {
  const out = applyDefaults({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'YQ==', b: 'Yg==' }, stringData: { b: 'bee', c: 'sea' } });
  assert.deepEqual(out.data, { a: 'YQ==', b: Buffer.from('bee').toString('base64'), c: Buffer.from('sea').toString('base64') });
  assert.equal(out.stringData, undefined);
  assert.equal(out.type, 'Opaque');
  assert.equal(applyDefaults({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls' }).type, 'kubernetes.io/tls');
});

test('Namespace phase, KIngress options; Istio objects are stored as given', () => {
  assert.deepEqual(applyDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } }).status, { phase: 'Active' });
  const king = applyDefaults({ apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', metadata: { name: 'i' }, spec: {
    rules: [{ hosts: ['a'], http: { paths: [{ splits: [{ serviceNamespace: 'd', serviceName: 'r', servicePort: 80 }] }] } }],
  } });
  assert.equal((king.spec as any).httpOption, 'Enabled');
  assert.equal((king.spec as any).rules[0].visibility, 'ExternalIP');
  assert.equal((king.spec as any).rules[0].http.paths[0].splits[0].percent, 100);
  const vs: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v' }, spec: { hosts: ['a'], http: [{ route: [{ destination: { host: 'a' } }] }] } };
  assert.deepEqual(applyDefaults(vs), vs);
});
