import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainMapping, Route, TrafficTarget } from '../../api/types/knative.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import type { Condition } from '../../api/meta.ts';
import { getCondition } from '../../api/conditions.ts';
import { Informer } from '../../controller/informer.ts';
import type { Lister } from '../../controller/lister.ts';
import { controllerOwnerRef } from '../../controller/owner.ts';
import { newHarness, T0 } from '../testing/harness.ts';
import { R } from '../shared/resources.ts';
import type { NetworkSettings } from '../shared/context.ts';
import { DomainMappingReconciler, DOMAIN_MAPPINGS } from './reconciler.ts';
import { makeIngress, trafficSplits } from './resources/make-ingress.ts';
import { claimant } from './resources/claim.ts';
import { tlsProblems } from './resources/domain-mapping-status.ts';

const DOMAIN = 'app.example.test';

function dm(ns: string, opts: { kind?: string; ref?: string; tls?: string; created?: string; uid?: string; deleting?: boolean } = {}): DomainMapping {
  return {
    apiVersion: 'serving.knative.dev/v1beta1', kind: 'DomainMapping',
    metadata: {
      name: DOMAIN, namespace: ns, uid: opts.uid, creationTimestamp: opts.created, ...(opts.deleting ? { deletionTimestamp: T0 } : {}),
    },
    spec: { ref: { apiVersion: 'serving.knative.dev/v1', kind: opts.kind ?? 'Service', name: opts.ref ?? 'hello', namespace: ns }, ...(opts.tls ? { tls: { secretName: opts.tls } } : {}) },
  };
}
const route = (ns = 'default', name = 'hello'): Route => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { name, namespace: ns }, spec: {} });
const t = (revisionName: string, percent: number, tag?: string): TrafficTarget => ({ revisionName, percent, latestRevision: false, ...(tag ? { tag } : {}) });

test('makeIngress: one ExternalIP rule for the domain, revision splits of the Route, TLS entry, owner and labels', () => {
  const m = { ...dm('default', { tls: 'app-cert', uid: 'u1' }), metadata: { ...dm('default').metadata, uid: 'u1', labels: { team: 'x' } } };
  const splits = trafficSplits('default', [t('hello-00001', 60), t('hello-00001', 20), t('hello-00002', 20), t('hello-00003', 0, 'next')], DOMAIN);
  assert.deepEqual(splits.map((s) => [s.serviceName, s.percent]), [['hello-00001', 80], ['hello-00002', 20]], 'merged per revision, 0% (tag-only) dropped');
  assert.equal(splits[0].appendHeaders?.['K-Original-Host'], DOMAIN, 'K-Original-Host carries the domain');
  assert.equal(splits[0].appendHeaders?.['Knative-Serving-Revision'], 'hello-00001', 'revision header for the activator');
  const ing = makeIngress(m, route(), splits);
  assert.equal(ing.metadata.name, DOMAIN, 'named after the domain');
  assert.equal(ing.metadata.ownerReferences?.[0].kind, 'DomainMapping', 'controlled by the mapping');
  assert.deepEqual(ing.metadata.labels, { team: 'x', 'serving.knative.dev/domainMappingUID': 'u1', 'serving.knative.dev/domainMappingNamespace': 'default' }, 'labels');
  assert.deepEqual(ing.spec!.rules.map((r) => [r.hosts, r.visibility, r.http.paths[0].rewriteHost]), [[[DOMAIN], 'ExternalIP', 'hello.default.svc.cluster.local']], 'one external rule');
  assert.deepEqual(ing.spec!.tls, [{ hosts: [DOMAIN], secretName: 'app-cert', secretNamespace: 'default' }], 'TLS entry with the mapping\'s Secret');
  assert.equal(makeIngress(dm('default'), route(), splits).spec!.tls, undefined, 'no TLS without spec.tls');
});

test('claimant: a mapping already serving keeps the domain; otherwise the oldest; deleting mappings never claim', () => {
  const a = dm('a', { created: '2026-01-01T00:00:02.000Z' });
  const b = dm('b', { created: '2026-01-01T00:00:01.000Z' });
  const c = dm('c', { created: '2026-01-01T00:00:00.000Z', deleting: true });
  assert.equal(claimant([a, b, c], () => false)?.metadata.namespace, 'b', 'oldest live mapping');
  assert.equal(claimant([a, b, c], (m) => m === a)?.metadata.namespace, 'a', 'the one serving keeps it');
  const tie = [dm('z', { created: T0 }), dm('m', { created: T0 })];
  assert.equal(claimant(tie, () => false)?.metadata.namespace, 'm', 'same timestamp: namespace order');
  assert.equal(claimant([c], () => true), undefined, 'no live mapping, no claimant');
});

test('tlsProblems: only the spec.tls entries of the Ingress ConfigurationSupported message, for its current generation', () => {
  const ing = (message: string, gen = 1): KIngress => ({
    apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', metadata: { name: DOMAIN, namespace: 'default', generation: 1 }, spec: { rules: [] },
    status: { observedGeneration: gen, conditions: [{ type: 'ConfigurationSupported', status: 'False', reason: 'InvalidConfiguration', message }] },
  });
  const msg = 'spec.tls[0].secretName: Secret default/c: tls.crt holds no PEM; the previous version of the Secret (resourceVersion 7) keeps serving until it is fixed; spec.rules[0].http.paths[0].splits[0]: no such revision';
  assert.equal(tlsProblems(ing(msg)), 'spec.tls[0].secretName: Secret default/c: tls.crt holds no PEM; the previous version of the Secret (resourceVersion 7) keeps serving until it is fixed', 'keeps the TLS entry whole, drops the rest');
  assert.equal(tlsProblems(ing('spec.rules[0].hosts: bad')), undefined, 'no TLS problem');
  assert.equal(tlsProblems(ing(msg, 0)), undefined, 'a status of an older generation does not count');
});

type H = Awaited<ReturnType<typeof newHarness>> & { dms: Lister<DomainMapping>; rec: DomainMappingReconciler };
async function harness(network: Partial<NetworkSettings> = {}): Promise<H> {
  const h = await newHarness(network);
  const inf = new Informer<DomainMapping>({ store: h.store, resource: DOMAIN_MAPPINGS, clock: h.clock });
  await inf.start();
  const close = h.close;
  return Object.assign(h, { dms: inf.lister, rec: new DomainMappingReconciler(h.ctx, inf.lister), close: async () => { inf.stop(); await close(); } });
}
const cond = (o: { status?: { conditions?: Condition[] } } | undefined, type: string) => getCondition(o?.status?.conditions, type);
async function ksvcWithTraffic(h: H, ns: string, traffic: TrafficTarget[]): Promise<void> {
  await h.create(R.services, { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: ns }, spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } } });
  await h.create(R.routes, route(ns));
  await h.setStatus(R.routes, 'hello', { observedGeneration: 1, traffic, address: { url: `http://hello.${ns}.svc.cluster.local` } }, ns);
}
const getDm = (h: H, ns = 'default') => h.get<DomainMapping>(DOMAIN_MAPPINGS, DOMAIN, ns);
const getIng = (h: H, ns = 'default') => h.get<KIngress>(R.ingresses, DOMAIN, ns);

test('DomainMapping reconciler (table)', async (tt) => {
  const cases: { name: string; network?: Partial<NetworkSettings>; run: (h: H) => Promise<void> }[] = [
    {
      name: 'ksvc target: owned Ingress with the Route\'s splits, immediate readiness, Ready True over http',
      run: async (h) => {
        await ksvcWithTraffic(h, 'default', [t('hello-00001', 100)]);
        await h.create(DOMAIN_MAPPINGS, dm('default'));
        await h.rec.reconcile(DOMAIN);
        const m = (await getDm(h))!;
        for (const c of ['DomainClaimed', 'ReferenceResolved', 'IngressReady', 'CertificateProvisioned', 'Ready']) assert.equal(cond(m, c)?.status, 'True', c);
        assert.equal(cond(m, 'CertificateProvisioned')?.reason, 'TLSNotEnabled', 'no TLS');
        assert.deepEqual([m.status?.url, m.status?.address?.url, m.status?.observedGeneration], [`http://${DOMAIN}`, `http://${DOMAIN}`, 1], 'url, address, observedGeneration');
        const ing = (await getIng(h))!;
        assert.deepEqual(ing.spec!.rules[0].http.paths[0].splits.map((s) => [s.serviceName, s.percent]), [['hello-00001', 100]], 'splits');
        assert.equal(cond(ing, 'Ready')?.status, 'True', 'immediate readiness marks the Ingress');
        assert.ok((await h.events()).some((e) => e.reason === 'Created'), 'Created event');
      },
    },
    {
      name: 'spec.tls: https URL, TLS entry on the Ingress, CertificateExternallyProvided',
      run: async (h) => {
        await ksvcWithTraffic(h, 'default', [t('hello-00001', 100)]);
        await h.create(DOMAIN_MAPPINGS, dm('default', { tls: 'app-cert' }));
        await h.rec.reconcile(DOMAIN);
        const m = (await getDm(h))!;
        assert.equal(m.status?.url, `https://${DOMAIN}`, 'https url');
        assert.equal(m.status?.address?.url, `https://${DOMAIN}`, 'https address');
        assert.deepEqual([cond(m, 'CertificateProvisioned')?.status, cond(m, 'CertificateProvisioned')?.reason], ['True', 'CertificateExternallyProvided'], 'certificate condition');
        assert.deepEqual((await getIng(h))!.spec!.tls, [{ hosts: [DOMAIN], secretName: 'app-cert', secretNamespace: 'default' }], 'Ingress TLS');
      },
    },
    {
      name: 'removing spec.tls and retargeting spec.ref update the Ingress and the URL',
      run: async (h) => {
        await ksvcWithTraffic(h, 'default', [t('hello-00001', 100)]);
        await h.create(R.routes, route('default', 'other'));
        await h.setStatus(R.routes, 'other', { traffic: [t('other-00001', 100)] });
        await h.create(DOMAIN_MAPPINGS, dm('default', { tls: 'app-cert' }));
        await h.rec.reconcile(DOMAIN);
        await h.store.update(DOMAIN_MAPPINGS, { ...(await getDm(h))!, spec: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Route', name: 'other', namespace: 'default' } } });
        await h.rec.reconcile(DOMAIN);
        const ing = (await getIng(h))!;
        assert.equal(ing.spec!.tls, undefined, 'TLS entry removed');
        assert.deepEqual(ing.spec!.rules[0].http.paths[0].splits.map((s) => s.serviceName), ['other-00001'], 'new target');
        assert.equal(ing.spec!.rules[0].http.paths[0].rewriteHost, 'other.default.svc.cluster.local', 'host of the new Route');
        const m = (await getDm(h))!;
        assert.deepEqual([m.status?.url, m.status?.observedGeneration, cond(m, 'CertificateProvisioned')?.reason, cond(m, 'Ready')?.status], [`http://${DOMAIN}`, 2, 'TLSNotEnabled', 'True'], 'status follows');
      },
    },
    {
      name: 'a traffic change on the Route is followed by the Ingress',
      run: async (h) => {
        await ksvcWithTraffic(h, 'default', [t('hello-00001', 100)]);
        await h.create(DOMAIN_MAPPINGS, dm('default'));
        await h.rec.reconcile(DOMAIN);
        await h.setStatus(R.routes, 'hello', { observedGeneration: 2, traffic: [t('hello-00001', 30), t('hello-00002', 70)] });
        await h.rec.reconcile(DOMAIN);
        const ing = (await getIng(h))!;
        assert.deepEqual(ing.spec!.rules[0].http.paths[0].splits.map((s) => [s.serviceName, s.percent]), [['hello-00001', 30], ['hello-00002', 70]], 'new splits');
        assert.equal(ing.metadata.generation, 2, 'one update');
        assert.equal(cond(await getDm(h), 'Ready')?.status, 'True', 'still Ready');
      },
    },
    {
      name: 'missing target: ReferenceResolved False naming it, no Ingress; creating it resolves',
      run: async (h) => {
        await h.create(DOMAIN_MAPPINGS, dm('default', { ref: 'nope' }));
        await h.rec.reconcile(DOMAIN);
        const m = (await getDm(h))!;
        const rr = cond(m, 'ReferenceResolved')!;
        assert.deepEqual([rr.status, rr.reason], ['False', 'ResolveFailed'], 'ReferenceResolved');
        assert.match(rr.message!, /services\.serving\.knative\.dev "nope" not found in namespace "default"/, 'names the target');
        assert.deepEqual([cond(m, 'Ready')?.status, cond(m, 'Ready')?.reason], ['False', 'ResolveFailed'], 'Ready carries the reason');
        assert.equal(await getIng(h), undefined, 'no Ingress');
        const r = (await h.create(R.routes, route('default', 'nope')));
        await h.setStatus(R.routes, r.metadata.name!, { traffic: [t('nope-00001', 100)] });
        await h.store.update(DOMAIN_MAPPINGS, { ...m, spec: { ...m.spec!, ref: { ...m.spec!.ref, kind: 'Route' } } });
        await h.rec.reconcile(DOMAIN);
        assert.equal(cond(await getDm(h), 'ReferenceResolved')?.status, 'True', 'resolved to the Route');
        assert.ok(await getIng(h), 'Ingress written');
      },
    },
    {
      name: 'a Route without traffic yet: IngressReady Unknown saying so, no Ingress',
      run: async (h) => {
        await h.create(R.routes, route());
        await h.setStatus(R.routes, 'hello', { conditions: [{ type: 'AllTrafficAssigned', status: 'Unknown', reason: 'RevisionMissing', message: 'Configuration "hello" is waiting for a Revision to become ready.' }] });
        await h.create(DOMAIN_MAPPINGS, dm('default', { kind: 'Route' }));
        await h.rec.reconcile(DOMAIN);
        const ir = cond(await getDm(h), 'IngressReady')!;
        assert.deepEqual([ir.status, ir.reason], ['Unknown', 'IngressNotConfigured'], 'IngressReady');
        assert.match(ir.message!, /Route "hello" has not assigned traffic.*waiting for a Revision/, 'says why');
        assert.equal(await getIng(h), undefined, 'no Ingress');
      },
    },
    {
      name: 'domain claims: a second namespace gets DomainAlreadyClaimed and no Ingress; deleting the owner hands the domain over',
      run: async (h) => {
        await ksvcWithTraffic(h, 'a', [t('hello-00001', 100)]);
        await ksvcWithTraffic(h, 'b', [t('hello-00001', 100)]);
        await h.create(DOMAIN_MAPPINGS, dm('a'));
        h.clock.advance(1000);
        await h.create(DOMAIN_MAPPINGS, dm('b'));
        await h.rec.reconcile(DOMAIN);
        const b = (await getDm(h, 'b'))!;
        const dc = cond(b, 'DomainClaimed')!;
        assert.deepEqual([dc.status, dc.reason, cond(b, 'Ready')?.status], ['False', 'DomainAlreadyClaimed', 'False'], 'b is refused');
        assert.equal(await getIng(h, 'b'), undefined, 'no Ingress in b');
        assert.equal(cond(await getDm(h, 'a'), 'Ready')?.status, 'True', 'a serves');
        assert.ok((await h.events()).some((e) => e.reason === 'DomainAlreadyClaimed'), 'warning event');
        await h.store.delete(DOMAIN_MAPPINGS, 'a', DOMAIN);
        assert.equal(await getIng(h, 'a'), undefined, 'a\'s Ingress goes with it (owner reference)');
        await h.rec.reconcile(DOMAIN);
        assert.equal(cond(await getDm(h, 'b'), 'DomainClaimed')?.status, 'True', 'b claims the domain');
        assert.ok(await getIng(h, 'b'), 'b\'s Ingress');
      },
    },
    {
      name: 'controlplane readiness: IngressNotConfigured until the control plane reports; a refused Secret makes CertificateProvisioned False',
      network: { ingressReadiness: 'controlplane' },
      run: async (h) => {
        await ksvcWithTraffic(h, 'default', [t('hello-00001', 100)]);
        await h.create(DOMAIN_MAPPINGS, dm('default', { tls: 'nope' }));
        await h.rec.reconcile(DOMAIN);
        assert.equal(cond(await getDm(h), 'IngressReady')?.reason, 'IngressNotConfigured', 'waits for the control plane');
        assert.equal(cond(await getDm(h), 'Ready')?.status, 'Unknown', 'Ready Unknown');
        await h.setStatus(R.ingresses, DOMAIN, {
          observedGeneration: 1,
          conditions: [
            { type: 'Ready', status: 'True', lastTransitionTime: T0 },
            { type: 'ConfigurationSupported', status: 'False', reason: 'InvalidConfiguration', message: 'spec.tls[0].secretName: Secret default/nope does not exist: create a kubernetes.io/tls Secret; this server is not applied' },
          ],
        });
        await h.rec.reconcile(DOMAIN);
        const m = (await getDm(h))!;
        assert.equal(cond(m, 'IngressReady')?.status, 'True', 'the Ingress is served (HTTP)');
        const cp = cond(m, 'CertificateProvisioned')!;
        assert.deepEqual([cp.status, cp.reason], ['False', 'CertificateProvisionFailed'], 'certificate refused');
        assert.match(cp.message!, /Secret "nope" cannot be served: spec\.tls\[0\]\.secretName: Secret default\/nope does not exist/, 'the control plane\'s message');
        assert.deepEqual([cond(m, 'Ready')?.status, cond(m, 'Ready')?.reason], ['False', 'CertificateProvisionFailed'], 'Ready False');
      },
    },
    {
      name: 'an Ingress of that name not owned by the mapping: IngressReady False NotOwned, left alone',
      run: async (h) => {
        await ksvcWithTraffic(h, 'default', [t('hello-00001', 100)]);
        const r = (await h.get<Route>(R.routes, 'hello'))!;
        await h.create(R.ingresses, { apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', metadata: { name: DOMAIN, ownerReferences: [controllerOwnerRef(r)] }, spec: { rules: [] } });
        await h.create(DOMAIN_MAPPINGS, dm('default'));
        await h.rec.reconcile(DOMAIN);
        const ir = cond(await getDm(h), 'IngressReady')!;
        assert.deepEqual([ir.status, ir.reason], ['False', 'NotOwned'], 'NotOwned');
        assert.match(ir.message!, /does not own Ingress "app\.example\.test"/, 'says which');
        assert.deepEqual((await getIng(h))!.spec!.rules, [], 'the other Ingress is untouched');
      },
    },
  ];
  for (const c of cases) {
    await tt.test(c.name, async () => {
      const h = await harness(c.network);
      try { await c.run(h); } finally { await h.close(); }
    });
  }
});
