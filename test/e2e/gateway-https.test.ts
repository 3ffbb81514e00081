/**
 * Multi-tenant HTTPS on the gateway, end to end against the real `sluice up` (API server, serving
 * controllers, runtime, xDS control plane and the gateway proxy, ports 0):
 *
 * - two tenants (namespaces a and b), each with a hello Knative Service, an Istio Gateway
 *   (HTTPS, tls SIMPLE, credentialName → its own kubernetes.io/tls Secret issued by a test CA for
 *   a.example.test / b.example.test) and a VirtualService to its revision;
 * - a TLS client that verifies the server name and the CA gets each tenant's own certificate by
 *   SNI on the same HTTPS port, and each tenant's own body;
 * - a Secret update (a new certificate) is served without a restart;
 * - bad input: a Gateway naming a missing Secret says which on its status; a Secret updated with
 *   malformed PEM gives a clear condition while its previous certificate keeps serving; a Secret
 *   with a key that does not match its certificate, and an expired certificate, are refused with
 *   a clear condition; the other tenant keeps serving throughout.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { apply, call, startSluice, tempDir, until, type SluiceProc } from './api-harness.ts';
import { loadOrCreateCa, type Ca, type IssuedCert } from '../../src/security/ca.ts';

const caDir = tempDir('sluice-gw-https-ca-');
let sluice: SluiceProc | undefined;

after(async () => {
  if (sluice) { await sluice.stop(); sluice.cleanup(); }
  fs.rmSync(caDir, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
function tlsSecret(ns: string, name: string, data: { crt: string; key: string }) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(data.crt), 'tls.key': b64(data.key) } };
}
const secretsOf = (ns: string) => `/api/v1/namespaces/${ns}/secrets`;
const gatewaysOf = (ns: string) => `/apis/networking.istio.io/v1/namespaces/${ns}/gateways`;

function gateway(ns: string, host: string, credentialName: string, name = 'gw') {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name, namespace: ns },
    spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: [host], tls: { mode: 'SIMPLE', credentialName } }] },
  };
}

/** One HTTPS request to the gateway's HTTPS port with SNI + Host `host`, verifying the CA and the name. */
function httpsGet(port: number, host: string, ca: string): Promise<{ status: number; body: string; cert: X509Certificate }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', servername: host, headers: { host }, ca, agent: false, timeout: 10_000 }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => (cert ? resolve({ status: res.statusCode ?? 0, body, cert }) : reject(new Error('no peer certificate'))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET https://${host}/ timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The Gateway's ConfigurationSupported condition message once it matches `re`. */
async function gatewayCondition(s: SluiceProc, ns: string, name: string, re: RegExp): Promise<string> {
  return until(`Gateway ${ns}/${name} status matching ${re}`, async () => {
    const g = await call(s, 'GET', `${gatewaysOf(ns)}/${name}`);
    const c = (g.body.status?.conditions ?? []).find((x: { type: string }) => x.type === 'ConfigurationSupported');
    return c && c.status === 'False' && re.test(c.message) ? String(c.message) : undefined;
  });
}

test('two tenants serve HTTPS on one port with their own certificates by SNI; updates apply live; bad Secrets are reported and the rest keeps serving', { timeout: 150_000 }, async () => {
  const ca: Ca = await loadOrCreateCa(caDir);
  const issue = (host: string): Promise<IssuedCert> => ca.issueServing({ dnsNames: [host] });
  const [certA, certB] = await Promise.all([issue('a.example.test'), issue('b.example.test')]);

  sluice = await startSluice({ platform: true, args: ['--http-port', '0', '--https-port', '0'], timeoutMs: 60_000 });
  const s = sluice;
  const ep = JSON.parse(fs.readFileSync(path.join(s.stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  const httpsPort = Number(new URL(ep.gatewayHttps).port);
  assert.ok(httpsPort > 0, `endpoints.json names the gateway's HTTPS port: ${ep.gatewayHttps}`);

  for (const [ns, cert] of [['a', certA], ['b', certB]] as const) {
    await apply(s, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } as never);
    await apply(s, `/apis/serving.knative.dev/v1/namespaces/${ns}/services`, {
      apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: ns },
      spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1' } }, spec: { containers: [{ image: 'sluice/hello', env: [{ name: 'TARGET', value: `tenant ${ns}` }] }] } } },
    } as never);
    await apply(s, secretsOf(ns), tlsSecret(ns, `${ns}-cert`, { crt: cert.chainPem, key: cert.keyPem }));
    await apply(s, gatewaysOf(ns), gateway(ns, `${ns}.example.test`, `${ns}-cert`));
    await apply(s, `/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices`, {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'hello', namespace: ns },
      spec: { hosts: [`${ns}.example.test`], gateways: ['gw'], http: [{ route: [{ destination: { host: 'hello-00001', port: { number: 80 } } }] }] },
    } as never);
  }

  // Each tenant: its own certificate (verified against the CA and the server name) and its own body.
  for (const [ns, cert] of [['a', certA], ['b', certB]] as const) {
    const r = await until(`tenant ${ns} served over HTTPS`, async () => {
      const x = await httpsGet(httpsPort, `${ns}.example.test`, ca.rootPem);
      return x.status === 200 ? x : undefined;
    }, 60_000);
    assert.equal(r.body, `Hello tenant ${ns}!\n`, `tenant ${ns}'s body`);
    assert.equal(r.cert.serialNumber, cert.serialNumber, `tenant ${ns}'s own certificate`);
    assert.equal(r.cert.subjectAltName, `DNS:${ns}.example.test`, `SAN of ${ns}`);
  }
  // A client that verifies the name refuses b's certificate for a's name: SNI chose b's cert for b only.
  await assert.rejects(new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: httpsPort, path: '/', servername: 'a.example.test', headers: { host: 'a.example.test' }, ca: ca.rootPem, agent: false,
      checkServerIdentity: (_h, c) => (c.subjectaltname === 'DNS:b.example.test' ? undefined : new Error(`presented ${c.subjectaltname}`)) }, resolve);
    req.on('error', reject);
    req.end();
  }), /presented DNS:a\.example\.test/, 'SNI a.example.test never gets b\'s certificate');

  // A new certificate for a, served without a restart.
  const certA2 = await issue('a.example.test');
  await apply(s, secretsOf('a'), tlsSecret('a', 'a-cert', { crt: certA2.chainPem, key: certA2.keyPem }));
  await until('a serves its new certificate', async () => {
    const x = await httpsGet(httpsPort, 'a.example.test', ca.rootPem);
    return x.cert.serialNumber === certA2.serialNumber && x.body === 'Hello tenant a!\n' ? true : undefined;
  });

  // Bad input 1: a Gateway naming a missing Secret says which on its status.
  await apply(s, gatewaysOf('b'), gateway('b', 'missing.example.test', 'nope', 'gw-missing'));
  const missing = await gatewayCondition(s, 'b', 'gw-missing', /Secret b\/nope does not exist/);
  assert.match(missing, /spec\.servers\[0\]\.tls\.credentialName: Secret b\/nope does not exist/, 'names the field and the Secret');
  const g = await call(s, 'GET', `${gatewaysOf('b')}/gw-missing`);
  assert.equal(g.body.status.conditions.find((c: { type: string }) => c.type === 'ConfigurationSupported').reason, 'InvalidConfiguration', 'reason says the configuration was refused');

  // Bad input 2: a's Secret updated with malformed PEM: a clear condition, a keeps its previous certificate.
  await apply(s, secretsOf('a'), tlsSecret('a', 'a-cert', { crt: 'not a certificate', key: certA2.keyPem }));
  const malformed = await gatewayCondition(s, 'a', 'gw', /SLUICE_E_TLS_MALFORMED_PEM/);
  assert.match(malformed, /Secret a\/a-cert: tls\.crt holds no PEM "BEGIN CERTIFICATE" block.*previous version of the Secret .* keeps serving/, 'says what is wrong and that the previous certificate serves');

  // Bad input 3: a new tenant whose key does not match its certificate is refused; nothing else changes.
  await apply(s, secretsOf('b'), tlsSecret('b', 'c-cert', { crt: certB.chainPem, key: certA.keyPem }));
  await apply(s, gatewaysOf('b'), gateway('b', 'c.example.test', 'c-cert', 'gw-c'));
  await gatewayCondition(s, 'b', 'gw-c', /Secret b\/c-cert: the private key in tls\.key does not belong to the certificate in tls\.crt/);

  // Bad input 4: an expired certificate is refused with both dates.
  const expired = await ca.issueServing({ dnsNames: ['old.example.test'], now: Date.now() - 48 * 3600_000, ttlMs: 3600_000 });
  await apply(s, secretsOf('b'), tlsSecret('b', 'old-cert', { crt: expired.chainPem, key: expired.keyPem }));
  await apply(s, gatewaysOf('b'), gateway('b', 'old.example.test', 'old-cert', 'gw-old'));
  await gatewayCondition(s, 'b', 'gw-old', /Secret b\/old-cert: the certificate in tls\.crt expired at .*SLUICE_E_TLS_EXPIRED/);

  // Through all of it both tenants keep serving: a with its last good certificate, b untouched.
  const a = await httpsGet(httpsPort, 'a.example.test', ca.rootPem);
  assert.deepEqual([a.status, a.body, a.cert.serialNumber], [200, 'Hello tenant a!\n', certA2.serialNumber], 'a keeps its last good certificate');
  const b = await httpsGet(httpsPort, 'b.example.test', ca.rootPem);
  assert.deepEqual([b.status, b.body, b.cert.serialNumber], [200, 'Hello tenant b!\n', certB.serialNumber], 'b keeps serving');
  // No filter chain claims the name: the connection is closed in the handshake (as Envoy does), no other tenant's certificate is shown.
  await assert.rejects(httpsGet(httpsPort, 'missing.example.test', ca.rootPem), /disconnected before secure TLS|ECONNRESET|handshake failure/i, 'no certificate is served for the missing Secret\'s host');

  // Fixing a's Secret serves the new certificate and clears the condition.
  const certA3 = await issue('a.example.test');
  await apply(s, secretsOf('a'), tlsSecret('a', 'a-cert', { crt: certA3.chainPem, key: certA3.keyPem }));
  await until('a serves its fixed certificate and its Gateway is clean', async () => {
    const x = await httpsGet(httpsPort, 'a.example.test', ca.rootPem);
    const g = await call(s, 'GET', `${gatewaysOf('a')}/gw`);
    const clean = !(g.body.status?.conditions ?? []).some((c: { type: string }) => c.type === 'ConfigurationSupported');
    return x.cert.serialNumber === certA3.serialNumber && clean ? true : undefined;
  });
});
