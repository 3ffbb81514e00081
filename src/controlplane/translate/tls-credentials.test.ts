/**
 * Gateway HTTPS credentials: every bad Secret (missing, malformed PEM, key not matching, expired,
 * not yet valid, another namespace's) is an error Problem on the Gateway or Ingress naming the
 * Secret and what is wrong, the bad server is left out while the others serve, and a Secret
 * updated with bad content keeps its previous certificate serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from '../../api/types/istio.ts';
import { buildMeshState, updateMeshState } from './mesh-state.ts';
import { translateForProxy } from './translate.ts';
import * as f from './testing/fixtures.ts';
import { GATEWAY, hasProblem, listeners, ok, run, secrets, type Any } from './testing/inspect.ts';
import { nextCredentialChange, wellFormedTlsSecret } from './tls-credentials.ts';

const https = (hosts: string[], credentialName: string): Server => ({ port: { number: 443, protocol: 'HTTPS', name: 'https' }, hosts, tls: { mode: 'SIMPLE', credentialName } });
const tenantGateway = (ns: string, host: string, cred: string) => f.gateway(ns, 'gw', { servers: [https([host], cred)] });
const vsFor = (ns: string, host: string) => f.virtualService(ns, 'vs', { hosts: [host], gateways: ['gw'], http: [{ route: [{ destination: { host: 'hello' } }] }] });
const CRED = 'spec.servers[0].tls.credentialName';
const YEAR = 365.25 * 24 * 3600_000;

function sniNames(r: ReturnType<typeof run>): string[][] {
  const l = listeners(r).find((x) => x.name === 'gateway|https|8443');
  return l ? l.filter_chains.map((c: Any) => c.filter_chain_match.server_names) : [];
}
const pemOf = (r: ReturnType<typeof run>, name: string) => Buffer.from(secrets(r).get(name)!.tls_certificate.certificate_chain.inline_bytes, 'base64').toString('utf8');

test('each bad Secret gives an error naming it and what is wrong; the other tenant keeps its chain', () => {
  const cases: { secret: ReturnType<typeof f.tlsSecret> | undefined; re: RegExp; now?: number }[] = [
    { secret: undefined, re: /Secret a\/cert does not exist; create a kubernetes\.io\/tls Secret cert in namespace a/ },
    { secret: f.tlsSecret('a', 'cert', { malformed: true }), re: /Secret a\/cert: tls\.crt holds no PEM "BEGIN CERTIFICATE" block.*SLUICE_E_TLS_MALFORMED_PEM/ },
    { secret: f.tlsSecret('a', 'cert', { mismatch: true }), re: /Secret a\/cert: the private key in tls\.key does not belong to the certificate in tls\.crt.*SLUICE_E_TLS_KEY_MISMATCH/ },
    { secret: f.tlsSecret('a', 'cert'), now: Date.now() + 200 * YEAR, re: /Secret a\/cert: the certificate in tls\.crt expired at .*SLUICE_E_TLS_EXPIRED/ },
    { secret: f.tlsSecret('a', 'cert'), now: Date.UTC(2000, 0, 1), re: /Secret a\/cert: the certificate in tls\.crt is not valid until .*SLUICE_E_TLS_NOT_YET_VALID/ },
  ];
  for (const c of cases) {
    const input = {
      gateways: [tenantGateway('a', 'a.example.test', 'cert'), tenantGateway('b', 'b.example.test', 'cert')],
      virtualServices: [vsFor('a', 'a.example.test'), vsFor('b', 'b.example.test')],
      secrets: [...(c.secret ? [c.secret] : []), f.tlsSecret('b', 'cert', { other: true })],
    };
    const r = run(input, GATEWAY, c.now !== undefined ? { now: c.now } : {});
    ok(hasProblem(r, 'Gateway', CRED, c.re, 'error'), `expected a problem matching ${c.re}; got ${JSON.stringify(r.problems)}`);
    assert.equal(r.problems.filter((p) => p.resource.namespace === 'a').length, 1, 'one problem for tenant a');
    assert.ok(!secrets(r).has('a/cert'), 'the bad Secret is not published');
    if (c.now === undefined) {
      assert.deepEqual(sniNames(r), [['b.example.test']], 'tenant b keeps its HTTPS chain');
      assert.deepEqual([...secrets(r).keys()], ['b/cert'], 'only b\'s certificate is published');
    }
  }
});

test('a Gateway may use only its own namespace\'s Secrets unless the operator allows more', () => {
  const input = { gateways: [tenantGateway('a', 'a.example.test', 'b/cert')], secrets: [f.tlsSecret('b', 'cert')] };
  const denied = run(input);
  ok(hasProblem(denied, 'Gateway', CRED, /Secret b\/cert is in another namespace; a Gateway may use only Secrets of its own namespace \(a\)/, 'error'), 'cross-namespace reference refused');
  assert.deepEqual(sniNames(denied), [], 'no HTTPS chain');
  const allowed = run(input, GATEWAY, { allowCrossNamespaceSecrets: true });
  assert.deepEqual(sniNames(allowed), [['a.example.test']], 'allowed by the operator');
  assert.deepEqual(allowed.problems, [], 'no problem when allowed');
});

test('a Secret updated with bad content keeps serving its previous certificate, and says so', () => {
  const gws = [tenantGateway('a', 'a.example.test', 'cert')];
  const good = f.tlsSecret('a', 'cert', { resourceVersion: '7' });
  let state = buildMeshState({ gateways: gws, virtualServices: [vsFor('a', 'a.example.test')], secrets: [good] });
  const before = translateForProxy(state, GATEWAY);
  assert.deepEqual(before.problems, [], 'good at first');

  for (const bad of [f.tlsSecret('a', 'cert', { malformed: true, resourceVersion: '8' }), f.tlsSecret('a', 'cert', { mismatch: true, resourceVersion: '9' })]) {
    state = updateMeshState(state, [{ type: 'upsert', object: bad }]);
    const r = translateForProxy(state, GATEWAY);
    ok(hasProblem(r, 'Gateway', CRED, /Secret a\/cert: .*the previous version of the Secret \(resourceVersion 7\) keeps serving until it is fixed/, 'error'), `kept-previous problem; got ${JSON.stringify(r.problems)}`);
    assert.deepEqual(sniNames(r), [['a.example.test']], 'the chain stays');
    assert.equal(pemOf(r, 'a/cert'), pemOf(before, 'a/cert'), 'the previous certificate is published');
  }

  // A good update replaces it (certificate B), and the problem goes away.
  state = updateMeshState(state, [{ type: 'upsert', object: f.tlsSecret('a', 'cert', { other: true, resourceVersion: '10' }) }]);
  const fixed = translateForProxy(state, GATEWAY);
  assert.deepEqual(fixed.problems, [], 'fixed');
  assert.notEqual(pemOf(fixed, 'a/cert'), pemOf(before, 'a/cert'), 'the new certificate is published');

  // Deleting the Secret forgets it: the server is left out.
  state = updateMeshState(state, [{ type: 'delete', object: f.tlsSecret('a', 'cert') }]);
  const gone = translateForProxy(state, GATEWAY);
  ok(hasProblem(gone, 'Gateway', CRED, /Secret a\/cert does not exist.*this server is not applied/, 'error'), 'deleted');
  assert.deepEqual(sniNames(gone), [], 'no chain after delete');
});

test('the previous version does not serve once it is expired itself', () => {
  let state = buildMeshState({ gateways: [tenantGateway('a', 'a.example.test', 'cert')], secrets: [f.tlsSecret('a', 'cert')] });
  state = updateMeshState(state, [{ type: 'upsert', object: f.tlsSecret('a', 'cert', { malformed: true }) }]);
  const r = translateForProxy(state, GATEWAY, { now: Date.now() + 200 * YEAR });
  ok(hasProblem(r, 'Gateway', CRED, /SLUICE_E_TLS_MALFORMED_PEM.*this server is not applied/, 'error'), `no fallback; got ${JSON.stringify(r.problems)}`);
  assert.deepEqual(sniNames(r), [], 'no chain');
});

test('Knative Ingress spec.tls: a bad Secret is an error on the Ingress naming it, HTTP keeps serving', () => {
  const ing = f.knativeIngress('default', 'hello', [['hello-00001', 100]]);
  ing.spec!.tls = [{ hosts: ['hello.default.example.com'], secretName: 'hello-cert', secretNamespace: 'default' }];
  const r = run({ ingresses: [ing], secrets: [f.tlsSecret('default', 'hello-cert', { mismatch: true })] });
  ok(hasProblem(r, 'Ingress', 'spec.tls[0].secretName', /Secret default\/hello-cert: the private key in tls\.key does not belong/, 'error'), `ingress problem; got ${JSON.stringify(r.problems)}`);
  assert.deepEqual(sniNames(r), [], 'no HTTPS chain');
  ok(listeners(r).some((l) => l.name === 'gateway|http|8080'), 'HTTP listener stays');
});

test('wellFormedTlsSecret: time does not matter, structure does', () => {
  assert.equal(wellFormedTlsSecret(f.tlsSecret('a', 'x')), true);
  assert.equal(wellFormedTlsSecret(f.tlsSecret('a', 'x', { malformed: true })), false);
  assert.equal(wellFormedTlsSecret(f.tlsSecret('a', 'x', { mismatch: true })), false);
  assert.equal(wellFormedTlsSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'a', name: 'opaque' }, data: { token: 'eA==' } }), false);
});

test('nextCredentialChange: the next start or end of a certificate\'s validity after now', () => {
  const state = buildMeshState({ secrets: [f.tlsSecret('a', 'x'), f.tlsSecret('b', 'y', { malformed: true })] });
  const end = nextCredentialChange(state.secrets, state.lastGoodSecrets, Date.now());
  ok(end !== undefined && end > Date.now() + 50 * YEAR, `the fixture's notAfter, ~100 years out: ${end}`);
  const start = nextCredentialChange(state.secrets, state.lastGoodSecrets, Date.UTC(2000, 0, 1));
  ok(start !== undefined && start < Date.now(), `before its notBefore, the notBefore comes first: ${start}`);
  assert.equal(nextCredentialChange(state.secrets, state.lastGoodSecrets, Date.now() + 200 * YEAR), undefined, 'nothing after the last expiry');
});

test('Knative Ingress spec.tls without secretName or hosts is an error on that entry; the valid entry serves', () => {
  const ing = f.knativeIngress('default', 'hello', [['hello-00001', 100]]);
  ing.spec!.tls = [
    { hosts: ['hello.default.example.com'], secretName: '', secretNamespace: 'default' },
    { hosts: [], secretName: 'hello-cert', secretNamespace: 'default' },
    { hosts: ['hello.default.example.com'], secretName: 'hello-cert', secretNamespace: 'default' },
  ];
  const r = run({ ingresses: [ing], secrets: [f.tlsSecret('default', 'hello-cert')] });
  ok(hasProblem(r, 'Ingress', 'spec.tls[0].secretName', /needs secretName/, 'error'), 'no secretName');
  ok(hasProblem(r, 'Ingress', 'spec.tls[1].hosts', /at least one host/, 'error'), 'no hosts');
  assert.deepEqual(sniNames(r), [['hello.default.example.com']], 'the valid entry serves');
});
