import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, unlinkSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FakeClock } from '../lib/clock.ts';
import { isSluiceError } from '../lib/errors.ts';
import { loadOrCreateCa, pemCertificates, spiffeIdOf } from './ca.ts';
import { SecurityErrors } from './security-errors.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sluice-ca-'));
  dirs.push(d);
  return d;
}
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

test('first start makes a root in stateDir/ca with a 0600 key; the next start reloads the same root', async () => {
  const dir = tmp();
  const ca = await loadOrCreateCa(dir);
  assert.equal(ca.source, 'created');
  assert.equal(ca.trustDomain, 'cluster.local');
  assert.equal(statSync(path.join(dir, 'ca', 'root-key.pem')).mode & 0o777, 0o600);
  const root = new X509Certificate(ca.rootPem);
  assert.equal(root.ca, true);
  assert.match(root.subject, /O=cluster.local/);
  const again = await loadOrCreateCa(dir);
  assert.equal(again.source, 'loaded');
  assert.equal(again.rootPem, ca.rootPem);
});

test('workload certificate: SPIFFE URI SAN, client+server EKU, 24 h by default, signed by the root', async () => {
  const clock = new FakeClock(Date.parse('2026-03-01T12:00:00.500Z'));
  const ca = await loadOrCreateCa(tmp(), { trustDomain: 'example.org', clock });
  const w = await ca.issueWorkload({ namespace: 'team-a', serviceAccount: 'default' });
  assert.equal(w.spiffeId, 'spiffe://example.org/ns/team-a/sa/default');
  assert.equal(w.notBefore, Date.parse('2026-03-01T12:00:00Z'));
  assert.equal(w.notAfter - w.notBefore, 24 * 3600_000);
  const leaf = new X509Certificate(w.certPem);
  assert.equal(leaf.subjectAltName, 'URI:spiffe://example.org/ns/team-a/sa/default');
  assert.equal(leaf.ca, false);
  assert.ok(leaf.verify(new X509Certificate(ca.rootPem).publicKey));
  assert.ok(leaf.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(w.keyPem))));
  const parsed = new x509.X509Certificate(w.certPem);
  const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  assert.deepEqual([...(eku?.usages ?? [])].sort(), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth].sort());
  assert.equal(parsed.getExtension(x509.SubjectAlternativeNameExtension)?.critical, true);
  assert.deepEqual(pemCertificates(w.chainPem).length, 2);
  const short = await ca.issueWorkload({ namespace: 'b', serviceAccount: 'sa1', ttlMs: 3600_000, now: clock.now() + 1000 });
  assert.equal(short.notAfter - short.notBefore, 3600_000);
  assert.notEqual(short.serialNumber, w.serialNumber);
});

test('serving certificate carries DNS SANs including wildcards', async () => {
  const ca = await loadOrCreateCa(tmp());
  const s = await ca.issueServing({ dnsNames: ['a.example.com', '*.b.example.com'], ttlMs: 3600_000 });
  assert.equal(new X509Certificate(s.certPem).subjectAltName, 'DNS:a.example.com, DNS:*.b.example.com');
  await assert.rejects(ca.issueServing({ dnsNames: [] }), (e) => isSluiceError(e, SecurityErrors.BadCertRequest));
  await assert.rejects(ca.issueServing({ dnsNames: ['bad name'] }), (e) => isSluiceError(e, SecurityErrors.BadCertRequest) && /bad name/.test(e.message));
});

test('bad identities and trust domains are refused with a message naming the value', async () => {
  const ca = await loadOrCreateCa(tmp());
  await assert.rejects(ca.issueWorkload({ namespace: 'A/B', serviceAccount: 'x' }), (e) => isSluiceError(e, SecurityErrors.BadIdentity) && /namespace "A\/B"/.test(e.message));
  await assert.rejects(ca.issueWorkload({ namespace: 'a', serviceAccount: '' }), (e) => isSluiceError(e, SecurityErrors.BadIdentity) && /service account/.test(e.message));
  await assert.rejects(loadOrCreateCa(tmp(), { trustDomain: 'Bad Domain' }), (e) => isSluiceError(e, SecurityErrors.BadIdentity));
});

test('operator-supplied root: used as given; mismatched key, half-present state and expired roots are clear errors', async () => {
  const opDir = tmp();
  const op = await loadOrCreateCa(opDir);
  const certFile = path.join(opDir, 'ca', 'root-cert.pem');
  const keyFile = path.join(opDir, 'ca', 'root-key.pem');
  const ca = await loadOrCreateCa(tmp(), { rootCertFile: certFile, rootKeyFile: keyFile });
  assert.equal(ca.source, 'operator');
  assert.equal(ca.rootPem, op.rootPem);
  const w = await ca.issueWorkload({ namespace: 'a', serviceAccount: 'default' });
  assert.ok(new X509Certificate(w.certPem).verify(new X509Certificate(op.rootPem).publicKey));

  const otherDir = tmp();
  await loadOrCreateCa(otherDir);
  await assert.rejects(loadOrCreateCa(tmp(), { rootCertFile: certFile, rootKeyFile: path.join(otherDir, 'ca', 'root-key.pem') }),
    (e) => isSluiceError(e, SecurityErrors.CaRoot) && /does not belong to the certificate/.test(e.message));
  await assert.rejects(loadOrCreateCa(tmp(), { rootCertFile: certFile }), (e) => isSluiceError(e, SecurityErrors.CaRoot) && /both/.test(e.message));
  const garbage = path.join(opDir, 'garbage.pem');
  writeFileSync(garbage, 'not a pem');
  await assert.rejects(loadOrCreateCa(tmp(), { rootCertFile: garbage, rootKeyFile: keyFile }), (e) => isSluiceError(e, SecurityErrors.CaRoot) && /no PEM CERTIFICATE/.test(e.message));
  await assert.rejects(loadOrCreateCa(tmp(), { rootCertFile: certFile, rootKeyFile: garbage }), (e) => isSluiceError(e, SecurityErrors.CaRoot) && /not a PEM private key/.test(e.message));

  const half = tmp();
  await loadOrCreateCa(half);
  unlinkSync(path.join(half, 'ca', 'root-key.pem'));
  await assert.rejects(loadOrCreateCa(half), (e) => isSluiceError(e, SecurityErrors.CaRoot) && /root-key.pem is missing/.test(e.message));

  const future = new FakeClock(Date.now() + 11 * 365 * 24 * 3600_000);
  await assert.rejects(loadOrCreateCa(opDir, { clock: future }), (e) => isSluiceError(e, SecurityErrors.CaRootExpired) && /valid from .* to /.test(e.message));
  assert.ok(readFileSync(certFile, 'utf8').includes('BEGIN CERTIFICATE'));
});

async function handshake(ca: string, serverCert: { chainPem: string; keyPem: string }, client?: { chainPem: string; keyPem: string }): Promise<{ serverSawPeer?: string; error?: string }> {
  let serverSawPeer: string | undefined;
  const server = tls.createServer({ cert: serverCert.chainPem, key: serverCert.keyPem, ca, requestCert: true, rejectUnauthorized: true }, (s) => {
    serverSawPeer = spiffeIdOf(s.getPeerCertificate());
    s.end('ok');
  });
  server.on('tlsClientError', () => { /* counted by the client side */ });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', port, ca, cert: client?.chainPem, key: client?.keyPem,
        checkServerIdentity: (_h, cert) => (spiffeIdOf(cert) ? undefined : new Error('server has no SPIFFE id')) });
      let data = '';
      sock.on('data', (d) => { data += d; });
      let error: string | undefined;
      sock.on('error', (e) => { error = e.message; });
      // Under TLS 1.3 the server rejects a client certificate after the client has finished its
      // side of the handshake, so the client sees an alert or a close, never the server's 'ok'.
      sock.on('close', () => resolve(data === 'ok' ? { serverSawPeer } : { error: error ?? 'closed by the server without an answer' }));
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
}

test('mTLS over real sockets: a client from the mesh CA is identified by SPIFFE id; a client from another CA is refused in the handshake', async () => {
  const ca = await loadOrCreateCa(tmp());
  const other = await loadOrCreateCa(tmp());
  const server = await ca.issueWorkload({ namespace: 'b', serviceAccount: 'default' });
  const good = await ca.issueWorkload({ namespace: 'a', serviceAccount: 'default' });
  const foreign = await other.issueWorkload({ namespace: 'a', serviceAccount: 'default' });
  assert.deepEqual(await handshake(ca.rootPem, server, good), { serverSawPeer: 'spiffe://cluster.local/ns/a/sa/default' });
  const refused = await handshake(ca.rootPem, server, foreign);
  assert.ok(refused.error, 'the foreign client must not complete a request');
  const anonymous = await handshake(ca.rootPem, server);
  assert.ok(anonymous.error, 'a client without a certificate must be refused');
});

test('spiffeIdOf reads node peer certificates, X509Certificate objects and quoted SAN values', () => {
  assert.equal(spiffeIdOf({ subjectaltname: 'DNS:x, URI:spiffe://td/ns/a/sa/b' }), 'spiffe://td/ns/a/sa/b');
  assert.equal(spiffeIdOf({ subjectaltname: 'URI:"spiffe://td/ns/a/sa/b,c"' }), 'spiffe://td/ns/a/sa/b,c');
  assert.equal(spiffeIdOf({ subjectaltname: 'URI:https://example.com' }), undefined);
  assert.equal(spiffeIdOf({ subjectAltName: 'URI:spiffe://td/ns/x/sa/y' }), 'spiffe://td/ns/x/sa/y');
  assert.equal(spiffeIdOf(undefined), undefined);
  assert.equal(spiffeIdOf({}), undefined);
});

test('an operator RSA root (PKCS#8 key) signs workload certificates', async () => {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=operator root', keys, notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 365 * 24 * 3600_000), signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const d = tmp();
  const certFile = path.join(d, 'root.pem');
  const keyFile = path.join(d, 'root.key');
  writeFileSync(certFile, root.toString('pem'));
  writeFileSync(keyFile, x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey), 'PRIVATE KEY'));
  const ca = await loadOrCreateCa(tmp(), { rootCertFile: certFile, rootKeyFile: keyFile, trustDomain: 'corp.example' });
  const w = await ca.issueWorkload({ namespace: 'a', serviceAccount: 'default' });
  assert.equal(w.spiffeId, 'spiffe://corp.example/ns/a/sa/default');
  assert.ok(new X509Certificate(w.certPem).verify(new X509Certificate(ca.rootPem).publicKey));
  assert.deepEqual(await handshake(ca.rootPem, await ca.issueWorkload({ namespace: 'b', serviceAccount: 'default' }), w), { serverSawPeer: 'spiffe://corp.example/ns/a/sa/default' });
});
