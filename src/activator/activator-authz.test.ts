import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicy, AuthorizationPolicySpec } from '../api/types/istio.ts';
import type { Revision } from '../api/types/knative.ts';
import { FakeClock } from '../lib/clock.ts';
import { Activator } from './activator.ts';
import { activatorAuthorizer, revisionPodLabels } from './activator-authz.ts';
import type { Backend, BackendSource } from './backends.ts';
import { request, testPod, until } from './test-servers.ts';
import { WorkloadAuthz, activatorPrincipal, enforcedPolicies } from '../security/workload-authz.ts';
import { toRbacFilters } from '../security/envoy-rbac.ts';

let rv = 0;
function ap(namespace: string, name: string, spec: AuthorizationPolicySpec | Record<string, unknown>): AuthorizationPolicy {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace, name, resourceVersion: String(++rv) }, spec: spec as AuthorizationPolicySpec };
}
const allowNs = (...namespaces: string[]) => ap('a', 'allow', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces } }] }] });

const REVISION: Revision = {
  apiVersion: 'serving.knative.dev/v1', kind: 'Revision',
  metadata: { namespace: 'a', name: 'hello-00001', uid: 'uid-1', labels: { 'serving.knative.dev/service': 'hello', 'serving.knative.dev/configuration': 'hello' } },
  spec: { containers: [{ image: 'x' }] },
} as Revision;
const HDR = { 'knative-serving-namespace': 'a', 'knative-serving-revision': 'hello-00001', host: 'hello.a.example' };

class OnePod implements BackendSource {
  constructor(private readonly b: Backend[]) {}
  backends(): Backend[] { return this.b; }
  onChange(): () => void { return () => {}; }
}

/** An activator with one ready pod (or none), deciding from `policies` (namespace → list). */
async function setup(policies: Map<string, AuthorizationPolicy[]>, o: { mesh?: boolean; pod?: boolean; lastGood?: Map<string, unknown> } = {}) {
  const pod = await testPod('pod-1');
  const authz = new WorkloadAuthz({ policies: (ns) => policies.get(ns) ?? [], ...(o.lastGood ? { lastGoodPolicies: () => o.lastGood } : {}) });
  const authorize = activatorAuthorizer({ mesh: o.mesh ?? true, authz, trustDomain: () => 'cluster.local', revision: (ns, n) => (ns === 'a' && n === 'hello-00001' ? REVISION : undefined) });
  const act = new Activator({
    clock: new FakeClock(), timeoutMs: 60_000,
    backends: new OnePod(o.pod === false ? [] : [{ id: 'a/pod-1', host: '127.0.0.1', port: pod.port }]),
    ...(authorize ? { authorize } : {}),
  });
  const { port } = await act.listen(0);
  return { act, pod, port, close: async () => { await act.close(); await pod.close(); } };
}

test('a policy allowing only namespace a denies requests through the activator with 403 RBAC: access denied; the pod never sees them', async () => {
  const s = await setup(new Map([['a', [allowNs('a')]]]));
  try {
    const r = await request(s.port, { headers: HDR, path: '/x' });
    assert.equal(r.status, 403, 'denied: the activator is not in namespace a');
    assert.equal(r.body, 'RBAC: access denied', "Envoy's body");
    assert.equal(s.pod.seen.length, 0, 'the request never reached the pod');
    assert.equal(s.act.counts.denied, 1, 'counted as denied');
    assert.equal(s.act.counts.forwarded, 0, 'nothing forwarded');
  } finally { await s.close(); }
});

test('a denied request for a revision at zero is answered at once, not buffered for a cold start', async () => {
  const s = await setup(new Map([['a', [allowNs('a')]]]), { pod: false });
  try {
    const r = await request(s.port, { headers: HDR });
    assert.equal(r.status, 403, 'denied before buffering');
    assert.equal(s.act.queued('a/hello-00001'), 0, 'nothing waits in the queue');
    assert.equal(s.act.counts.buffered, 0, 'nothing was buffered');
  } finally { await s.close(); }
});

test('allowing the system namespace (knative-serving) lets requests through the activator', async () => {
  const s = await setup(new Map([['a', [allowNs('a', 'knative-serving')]]]));
  try {
    const r = await request(s.port, { headers: HDR, path: '/ok' });
    assert.equal(r.status, 200, 'allowed');
    assert.equal(r.body, 'pod-1:GET /ok ', 'answered by the pod');
    assert.equal(s.act.counts.denied, 0, 'no denial');
  } finally { await s.close(); }
});

test('the principal is the activator service account of knative-serving in the trust domain', async () => {
  assert.equal(activatorPrincipal('example.org'), 'example.org/ns/knative-serving/sa/activator', 'principal form Istio policies use');
  const p = ap('a', 'by-principal', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/knative-serving/sa/activator'] } }] }] });
  const s = await setup(new Map([['a', [p]]]));
  try {
    assert.equal((await request(s.port, { headers: HDR })).status, 200, 'allowed by principal');
  } finally { await s.close(); }
});

test('DENY policies: a matching one denies, one for another path does not; root-namespace policies apply', async () => {
  const deny = ap('a', 'deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] });
  const s = await setup(new Map([['a', [deny]]]));
  try {
    const admin = await request(s.port, { headers: HDR, path: '/admin/x' });
    assert.equal(admin.status, 403, 'DENY on /admin* matches');
    assert.equal(admin.body, 'RBAC: access denied', "Envoy's body");
    assert.equal((await request(s.port, { headers: HDR, path: '/public' })).status, 200, 'other paths pass');
    assert.deepEqual(s.pod.seen, ['GET /public '], 'only the allowed request reached the pod');
  } finally { await s.close(); }
  const rootDeny = ap('istio-system', 'deny-post', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] });
  const s2 = await setup(new Map([['istio-system', [rootDeny]]]));
  try {
    assert.equal((await request(s2.port, { headers: HDR, method: 'POST' })).status, 403, 'mesh-wide DENY applies');
    assert.equal((await request(s2.port, { headers: HDR })).status, 200, 'GET passes');
  } finally { await s2.close(); }
});

test('no policy → allowed; a policy selecting other pods → allowed; mesh off → no check at all', async () => {
  const s = await setup(new Map());
  try { assert.equal((await request(s.port, { headers: HDR })).status, 200, 'no policy: allowed'); } finally { await s.close(); }
  const other = ap('a', 'other', { selector: { matchLabels: { app: 'someone-else' } }, rules: [{ from: [{ source: { namespaces: ['a'] } }] }] });
  const s2 = await setup(new Map([['a', [other]]]));
  try { assert.equal((await request(s2.port, { headers: HDR })).status, 200, 'policy for other pods: allowed'); } finally { await s2.close(); }
  const mine = ap('a', 'mine', { selector: { matchLabels: { 'serving.knative.dev/service': 'hello' } }, rules: [{ from: [{ source: { namespaces: ['a'] } }] }] });
  const s3 = await setup(new Map([['a', [mine]]]));
  try { assert.equal((await request(s3.port, { headers: HDR })).status, 403, 'a policy selecting the revision pods by service label applies'); } finally { await s3.close(); }
  const s4 = await setup(new Map([['a', [allowNs('a')]]]), { mesh: false });
  try {
    assert.equal((await request(s4.port, { headers: HDR })).status, 200, 'mesh off: the policy is not applied (no inbound listener enforces it either)');
    assert.equal(s4.act.counts.denied, 0, 'no denial counted');
  } finally { await s4.close(); }
});

test('an authorizer that fails denies (fail closed)', async () => {
  const pod = await testPod('pod-1');
  const act = new Activator({ clock: new FakeClock(), backends: new OnePod([{ id: 'a/pod-1', host: '127.0.0.1', port: pod.port }]), authorize: () => { throw new Error('policies not loaded'); } });
  const { port } = await act.listen(0);
  try {
    const r = await request(port, { headers: HDR });
    assert.equal(r.status, 403, 'denied when no decision can be made');
    assert.equal(pod.seen.length, 0, 'the pod saw nothing');
  } finally { await act.close(); await pod.close(); }
});

test('policies are read level-triggered: a change applies to the next request', async () => {
  const policies = new Map<string, AuthorizationPolicy[]>([['a', [allowNs('a')]]]);
  const s = await setup(policies);
  try {
    assert.equal((await request(s.port, { headers: HDR })).status, 403, 'first denied');
    policies.set('a', [allowNs('a', 'knative-serving')]);
    assert.equal((await request(s.port, { headers: HDR })).status, 200, 'allowed after the policy update');
    policies.set('a', []);
    assert.equal((await request(s.port, { headers: HDR })).status, 200, 'allowed after the deletion');
    await until('pod saw both', () => s.pod.seen.length === 2);
  } finally { await s.close(); }
});

test('an invalid policy: its last valid version stays enforced (as on the inbound listener); a new invalid one is not enforced', async () => {
  const lastGood = new Map<string, unknown>();
  const valid = allowNs('a');
  const broken = ap('a', 'allow', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['a', 'knative-serving'] } }] }], bogusField: true });
  // The translation recorded the valid version (the shared map is read only here).
  lastGood.set('AuthorizationPolicy|a/allow', valid);
  const s = await setup(new Map([['a', [broken]]]), { lastGood });
  try {
    assert.equal((await request(s.port, { headers: HDR })).status, 403, 'the last valid version (allow a only) is enforced, not the broken update');
  } finally { await s.close(); }
  const s2 = await setup(new Map([['a', [ap('a', 'fresh', { rules: [{ from: [{ source: { namespaces: ['a'] } }] }], bogusField: true })]]]), { lastGood });
  try {
    assert.equal((await request(s2.port, { headers: HDR })).status, 200, 'a new invalid policy is not enforced');
  } finally { await s2.close(); }
});

test('the filters are the inbound listener\'s: toRbacFilters over the enforced policies and the pods\' labels', () => {
  const labels = revisionPodLabels('a', 'hello-00001', REVISION);
  assert.equal(labels['serving.knative.dev/revision'], 'hello-00001', 'revision label');
  assert.equal(labels['serving.knative.dev/service'], 'hello', 'service label from the revision');
  assert.ok(labels['pod-template-hash'], 'pod-template-hash as the runtime sets it');
  const list = [allowNs('a'), ap('a', 'deny', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] })];
  const authz = new WorkloadAuthz({ policies: (ns) => (ns === 'a' ? list : []) });
  assert.deepEqual(authz.filters('a', labels), toRbacFilters(enforcedPolicies(list, undefined), { namespace: 'a', labels }), 'same filters as the translation builds');
  assert.equal(authz.filters('a', labels), authz.filters('a', labels), 'cached while the policies stay the same');
});
