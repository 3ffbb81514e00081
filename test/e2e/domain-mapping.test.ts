/**
 * Knative DomainMapping end to end, with the machine's kubectl against the real `sluice up` (API
 * server, serving controllers, runtime, xDS control plane, gateway proxy; ports 0):
 *
 * - examples/hello.yaml, a kubernetes.io/tls Secret made with `kubectl create secret tls` (a test
 *   CA issued it for app.example.test) and examples/domain-mapping.yaml;
 * - a TLS client that verifies the CA and the server name app.example.test gets "Hello sluice!"
 *   on the gateway's HTTPS port; `kubectl get domainmapping` prints NAME URL READY REASON;
 * - a new revision of the ksvc, then a traffic pin back to the first one, are followed over HTTPS;
 * - bad input: the same domain mapped in another namespace is refused (DomainAlreadyClaimed) and
 *   the first keeps serving; a mapping naming a missing Service says which; a mapping whose
 *   Secret does not exist has CertificateProvisioned False naming it (its HTTP rule still serves);
 *   an invalid mapping is refused with field paths;
 * - deleting the first mapping hands the domain to the other namespace's mapping.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import type { X509Certificate } from 'node:crypto';
import { REPO, startSluice, tempDir, until, type SluiceProc } from './api-harness.ts';
import { loadOrCreateCa } from '../../src/security/ca.ts';

const run = promisify(execFile);
const KUBECTL = fs.existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : 'kubectl';
const DOMAIN = 'app.example.test';
const work = tempDir('sluice-dm-e2e-');
let sluice: SluiceProc | undefined;

after(async () => {
  if (sluice) { await sluice.stop(); sluice.cleanup(); }
  fs.rmSync(work, { recursive: true, force: true });
});

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(KUBECTL, ['--kubeconfig', sluice!.kubeconfig, '--cache-dir', path.join(work, 'kube-cache'), ...args], { timeout: 60_000 });
  return stdout;
}
async function getJson(...args: string[]): Promise<any> { return JSON.parse(await kubectl('get', ...args, '-o', 'json')); }
const condition = (o: any, type: string): any => (o?.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

/** One plain HTTP request to the gateway's HTTP port with Host `host`. */
function httpGet(base: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/`, { headers: { host }, timeout: 10_000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}/ timed out`)));
    req.on('error', reject);
  });
}

/** One HTTPS request to the gateway with SNI + Host `host`, verifying the CA and the name. */
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

test('DomainMapping: a ksvc served over HTTPS on its own domain with its own certificate; traffic changes followed; claims and bad refs reported', { timeout: 240_000 }, async () => {
  const ca = await loadOrCreateCa(path.join(work, 'ca'));
  const cert = await ca.issueServing({ dnsNames: [DOMAIN] });
  fs.writeFileSync(path.join(work, 'app.crt'), cert.chainPem);
  fs.writeFileSync(path.join(work, 'app.key'), cert.keyPem);

  sluice = await startSluice({ platform: true, args: ['--http-port', '0', '--https-port', '0'], timeoutMs: 60_000 });
  const ep = JSON.parse(fs.readFileSync(path.join(sluice.stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  const httpsPort = Number(new URL(ep.gatewayHttps).port);
  assert.ok(httpsPort > 0, `endpoints.json names the gateway's HTTPS port: ${ep.gatewayHttps}`);

  await kubectl('apply', '-f', path.join(REPO, 'examples/hello.yaml'));
  await kubectl('create', 'secret', 'tls', 'app-example-test-tls', `--cert=${path.join(work, 'app.crt')}`, `--key=${path.join(work, 'app.key')}`);
  // Plain `kubectl apply` validates against the server's openapi (v1beta1 of serving.knative.dev).
  const applied = await kubectl('apply', '-f', path.join(REPO, 'examples/domain-mapping.yaml'));
  assert.match(applied, /domainmapping\.serving\.knative\.dev\/app\.example\.test created/, `kubectl apply output: ${applied}`);
  await kubectl('wait', '--for=condition=Ready', `domainmapping/${DOMAIN}`, '--timeout=90s');

  const dm = await getJson('domainmapping', DOMAIN);
  assert.equal(dm.status.url, `https://${DOMAIN}`, 'https URL');
  for (const c of ['DomainClaimed', 'ReferenceResolved', 'IngressReady', 'CertificateProvisioned', 'Ready']) assert.equal(condition(dm, c)?.status, 'True', `${c}: ${JSON.stringify(condition(dm, c))}`);
  assert.equal(condition(dm, 'CertificateProvisioned').reason, 'CertificateExternallyProvided', 'certificate provided by the user');
  assert.equal(dm.status.observedGeneration, dm.metadata.generation, 'observedGeneration');

  const table = await kubectl('get', 'domainmapping');
  const [header, row] = table.trim().split('\n');
  assert.deepEqual(header!.split(/\s+/), ['NAME', 'URL', 'READY', 'REASON'], `table header: ${table}`);
  assert.deepEqual(row!.split(/\s+/), [DOMAIN, `https://${DOMAIN}`, 'True'], `table row: ${table}`);
  assert.match(await kubectl('get', 'dm'), /app\.example\.test/, 'short name dm');

  const first = await until('the domain served over HTTPS', async () => {
    const x = await httpsGet(httpsPort, DOMAIN, ca.rootPem);
    return x.status === 200 ? x : undefined;
  });
  assert.equal(first.body, 'Hello sluice!\n', 'the ksvc answers on the mapped domain');
  assert.equal(first.cert.serialNumber, cert.serialNumber, 'the mapping\'s own certificate');
  assert.equal(first.cert.subjectAltName, `DNS:${DOMAIN}`, 'SAN');

  // A new revision takes all traffic (latestRevision), then a pin sends it back to the first.
  await kubectl('patch', 'ksvc', 'hello', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'user-container', image: 'sluice/hello', env: [{ name: 'TARGET', value: 'v2' }] }] } } } }));
  await until('the mapped domain follows the new revision', async () => ((await httpsGet(httpsPort, DOMAIN, ca.rootPem)).body === 'Hello v2!\n' ? true : undefined));
  await kubectl('patch', 'ksvc', 'hello', '--type=merge', '-p', JSON.stringify({ spec: { traffic: [{ revisionName: 'hello-00001', percent: 100 }] } }));
  await until('the mapped domain follows the traffic pin', async () => ((await httpsGet(httpsPort, DOMAIN, ca.rootPem)).body === 'Hello sluice!\n' ? true : undefined));
  const ing = await getJson('kingress', DOMAIN);
  assert.deepEqual(ing.spec.rules[0].http.paths[0].splits.map((s: { serviceName: string; percent: number }) => [s.serviceName, s.percent]), [['hello-00001', 100]], 'the Ingress carries the pinned split');

  // Bad input 1: the same domain in another namespace is refused; the first keeps serving.
  await kubectl('create', 'namespace', 'other');
  await kubectl('apply', '-n', 'other', '-f', path.join(REPO, 'examples/hello.yaml'));
  await kubectl('apply', '-n', 'other', '-f', path.join(REPO, 'examples/domain-mapping.yaml'));
  const refused = await until('the second claim refused', async () => {
    const o = await getJson('domainmapping', DOMAIN, '-n', 'other');
    return condition(o, 'DomainClaimed')?.status === 'False' ? o : undefined;
  });
  assert.equal(condition(refused, 'DomainClaimed').reason, 'DomainAlreadyClaimed', 'Knative\'s reason');
  assert.equal(condition(refused, 'Ready').status, 'False', 'not Ready');
  await assert.rejects(kubectl('get', 'kingress', DOMAIN, '-n', 'other'), /NotFound|not found/, 'no Ingress in the second namespace');
  const still = await httpsGet(httpsPort, DOMAIN, ca.rootPem);
  assert.deepEqual([still.status, still.body], [200, 'Hello sluice!\n'], 'the first mapping keeps serving');

  // Bad input 2: a mapping naming a Service that does not exist says which.
  const bad = (name: string, spec: object) => JSON.stringify({ apiVersion: 'serving.knative.dev/v1beta1', kind: 'DomainMapping', metadata: { name }, spec });
  fs.writeFileSync(path.join(work, 'missing-ref.json'), bad('missing.example.test', { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'nope' } }));
  await kubectl('apply', '-f', path.join(work, 'missing-ref.json'));
  const unresolved = await until('the missing target reported', async () => {
    const c = condition(await getJson('domainmapping', 'missing.example.test'), 'ReferenceResolved');
    return c?.status === 'False' ? c : undefined;
  });
  assert.equal(unresolved.reason, 'ResolveFailed', 'reason');
  assert.match(unresolved.message, /services\.serving\.knative\.dev "nope" not found in namespace "default"/, 'names the target');

  // Bad input 3: a mapping whose Secret does not exist: CertificateProvisioned False naming it.
  fs.writeFileSync(path.join(work, 'missing-secret.json'), bad('nocert.example.test', { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' }, tls: { secretName: 'absent' } }));
  await kubectl('apply', '-f', path.join(work, 'missing-secret.json'));
  const noCert = await until('the missing Secret reported', async () => {
    const c = condition(await getJson('domainmapping', 'nocert.example.test'), 'CertificateProvisioned');
    return c?.status === 'False' ? c : undefined;
  });
  assert.equal(noCert.reason, 'CertificateProvisionFailed', 'reason');
  assert.match(noCert.message, /spec\.tls\[0\]\.secretName: .*default\/absent/, `names the Secret: ${noCert.message}`);
  const plain = await until('the refused-certificate mapping served over HTTP', async () => {
    const x = await httpGet(ep.gateway!, 'nocert.example.test');
    return x.status === 200 ? x : undefined;
  });
  assert.equal(plain.body, 'Hello sluice!\n', 'its HTTP rule serves while the certificate is refused');

  // Bad input 4: the API refuses an invalid mapping with field paths, and stores nothing.
  fs.writeFileSync(path.join(work, 'invalid.json'), bad('localhost', { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Broker', name: 'hello', namespace: 'other' } }));
  const invalid = await run(KUBECTL, ['--kubeconfig', sluice.kubeconfig, '--cache-dir', path.join(work, 'kube-cache'), 'apply', '-f', path.join(work, 'invalid.json')], { timeout: 60_000 }).then(() => '', (e: { stderr?: string }) => e.stderr ?? String(e));
  assert.match(invalid, /metadata\.name: Invalid value: "localhost": should be a domain with at least two segments/, `name problem: ${invalid}`);
  assert.match(invalid, /spec\.ref\.kind: Unsupported value: "Broker"/, `kind problem: ${invalid}`);
  assert.match(invalid, /spec\.ref\.namespace: Invalid value: "other": mismatched namespaces/, `namespace problem: ${invalid}`);

  const after = await httpsGet(httpsPort, DOMAIN, ca.rootPem);
  assert.deepEqual([after.status, after.body, after.cert.serialNumber], [200, 'Hello sluice!\n', cert.serialNumber], 'still serving with its certificate');

  // Deleting the owner hands the domain to the other namespace (with its own certificate).
  const cert2 = await ca.issueServing({ dnsNames: [DOMAIN] });
  fs.writeFileSync(path.join(work, 'app2.crt'), cert2.chainPem);
  fs.writeFileSync(path.join(work, 'app2.key'), cert2.keyPem);
  await kubectl('create', 'secret', 'tls', 'app-example-test-tls', '-n', 'other', `--cert=${path.join(work, 'app2.crt')}`, `--key=${path.join(work, 'app2.key')}`);
  await kubectl('delete', 'domainmapping', DOMAIN);
  await kubectl('wait', '--for=condition=Ready', `domainmapping/${DOMAIN}`, '-n', 'other', '--timeout=90s');
  await until('the other namespace serves the domain with its certificate', async () => {
    const x = await httpsGet(httpsPort, DOMAIN, ca.rootPem);
    return x.status === 200 && x.cert.serialNumber === cert2.serialNumber ? true : undefined;
  });
});
