import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Secret } from '../api/types/core.ts';
import { isSluiceError } from '../lib/errors.ts';
import { loadOrCreateCa, type Ca, type IssuedCert } from './ca.ts';
import { parseTlsSecret, SniCertificates, sniContexts } from './tls-material.ts';
import { SecurityErrors } from './security-errors.ts';

const DAY = 24 * 3600_000;
let dir: string;
let ca: Ca;
let tenantA: IssuedCert;
let tenantB: IssuedCert;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-tlsm-'));
  ca = await loadOrCreateCa(dir);
  tenantA = await ca.issueServing({ dnsNames: ['a.example.com'], now: Date.now() - 1000 });
  tenantB = await ca.issueServing({ dnsNames: ['*.b.example.com'], now: Date.now() - 1000 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');
function tlsSecret(namespace: string, name: string, c: { chainPem?: string; keyPem?: string }, extra: Record<string, string> = {}): Secret {
  const data: Record<string, string> = { ...extra };
  if (c.chainPem !== undefined) data['tls.crt'] = b64(c.chainPem);
  if (c.keyPem !== undefined) data['tls.key'] = b64(c.keyPem);
  return { apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name }, type: 'kubernetes.io/tls', data };
}

test('parseTlsSecret: a good Secret gives its PEMs, DNS names and validity', () => {
  const m = parseTlsSecret(tlsSecret('t', 'a', tenantA, { 'ca.crt': b64(ca.rootPem) }), Date.now());
  assert.equal(m.ref, 't/a');
  assert.deepEqual(m.dnsNames, ['a.example.com']);
  assert.equal(m.caPem, ca.rootPem);
  assert.equal(m.notBefore, tenantA.notBefore);
  const viaStringData: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 't', name: 's' }, stringData: { 'tls.crt': tenantA.chainPem, 'tls.key': tenantA.keyPem } };
  assert.deepEqual(parseTlsSecret(viaStringData, Date.now()).dnsNames, ['a.example.com']);
});

test('parseTlsSecret: each bad input is a clear error naming the Secret and the key', async () => {
  const now = Date.now();
  const expect = (s: Secret, code: string, re: RegExp, at = now) => assert.throws(() => parseTlsSecret(s, at), (e) => isSluiceError(e, code) && re.test(e.message), `${code} ${re}`);
  expect(tlsSecret('t', 'nokey', { chainPem: tenantA.chainPem }), SecurityErrors.TlsMissingKey, /Secret t\/nokey has no tls\.key/);
  expect(tlsSecret('t', 'empty', {}), SecurityErrors.TlsMissingKey, /has no tls\.crt and tls\.key/);
  expect(tlsSecret('t', 'garbage', { chainPem: 'hello', keyPem: tenantA.keyPem }), SecurityErrors.TlsMalformedPem, /t\/garbage: tls\.crt holds no PEM "BEGIN CERTIFICATE" block/);
  const broken = tenantA.chainPem.replace(/^(-----BEGIN CERTIFICATE-----\n)(.{20})/, '$1AAAAAAAAAAAAAAAAAAAA');
  expect(tlsSecret('t', 'broken', { chainPem: broken, keyPem: tenantA.keyPem }), SecurityErrors.TlsMalformedPem, /certificate #1 in tls\.crt does not parse/);
  expect(tlsSecret('t', 'badkey', { chainPem: tenantA.chainPem, keyPem: 'nope' }), SecurityErrors.TlsMalformedPem, /tls\.key holds no PEM/);
  expect(tlsSecret('t', 'mismatch', { chainPem: tenantA.chainPem, keyPem: tenantB.keyPem }), SecurityErrors.TlsKeyMismatch, /t\/mismatch: the private key in tls\.key does not belong to the certificate in tls\.crt/);
  const notB64: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 't', name: 'nb' }, data: { 'tls.crt': '%%%', 'tls.key': '%%%' } };
  expect(notB64, SecurityErrors.TlsMalformedPem, /data\[tls\.crt\] is not base64/);
  const old = await ca.issueServing({ dnsNames: ['old.example.com'], now: now - 10 * DAY, ttlMs: DAY });
  expect(tlsSecret('t', 'old', old), SecurityErrors.TlsExpired, /t\/old: the certificate in tls\.crt expired at .*valid from .* to /);
  expect(tlsSecret('t', 'a', tenantA), SecurityErrors.TlsNotYetValid, /t\/a: the certificate in tls\.crt is not valid until /, now - 10 * DAY);
});

function connect(port: number, servername: string): Promise<{ serial?: string; subject?: string; error?: string }> {
  return new Promise((resolve) => {
    // Default checkServerIdentity: the certificate must name `servername`; the CA must verify it.
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca: ca.rootPem }, () => {
      const c = s.getPeerCertificate();
      resolve({ serial: c.serialNumber, subject: c.subjectaltname });
      s.end();
    });
    s.on('error', (e) => resolve({ error: e.message }));
  });
}

test('two tenants on one TLS port: SNI picks each tenant\'s certificate; updates apply without a restart; a bad update keeps the old certificate', async () => {
  const table = new SniCertificates();
  const first = table.update([tlsSecret('tenants', 'a-cert', tenantA), { secret: tlsSecret('tenants', 'b-cert', tenantB) }], Date.now());
  assert.deepEqual(first, { hosts: ['*.b.example.com', 'a.example.com'], errors: [] });
  const server = tls.createServer({ SNICallback: table.sniCallback() }, (s) => s.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const a = await connect(port, 'a.example.com');
    assert.deepEqual(a, { serial: tenantA.serialNumber, subject: 'DNS:a.example.com' });
    const b = await connect(port, 'shop.b.example.com');
    assert.deepEqual(b, { serial: tenantB.serialNumber, subject: 'DNS:*.b.example.com' });
    assert.ok((await connect(port, 'c.example.com')).error, 'an unknown server name gets no certificate');
    assert.ok((await connect(port, 'x.y.b.example.com')).error, 'a wildcard covers one label only');

    const renewed = await ca.issueServing({ dnsNames: ['a.example.com'], now: Date.now() - 1000 });
    assert.deepEqual(table.update([tlsSecret('tenants', 'a-cert', renewed), tlsSecret('tenants', 'b-cert', tenantB)], Date.now()).errors, []);
    assert.equal((await connect(port, 'a.example.com')).serial, renewed.serialNumber, 'the renewed certificate serves new handshakes');

    const expired = await ca.issueServing({ dnsNames: ['a.example.com'], now: Date.now() - 10 * DAY, ttlMs: DAY });
    const bad = table.update([tlsSecret('tenants', 'a-cert', expired), tlsSecret('tenants', 'b-cert', tenantB)], Date.now());
    assert.equal(bad.errors.length, 1);
    assert.equal(bad.errors[0].ref, 'tenants/a-cert');
    assert.equal(bad.errors[0].keptPrevious, true);
    assert.equal(bad.errors[0].error.code, SecurityErrors.TlsExpired);
    assert.equal((await connect(port, 'a.example.com')).serial, renewed.serialNumber, 'the previous certificate keeps serving');
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('sniContexts: explicit hosts, conflicts and bad hosts are reported; a bad new Secret serves nothing', () => {
  const res = sniContexts([
    { secret: tlsSecret('t', 'a', tenantA), hosts: ['A.example.com', 'alias.example.com'] },
    { secret: tlsSecret('t', 'z', tenantB), hosts: ['a.example.com'] },
    { secret: tlsSecret('t', 'bad-host', tenantB), hosts: ['not a host'] },
    tlsSecret('t', 'broken', { chainPem: 'x', keyPem: 'y' }),
  ], Date.now());
  assert.deepEqual(res.hosts, ['a.example.com', 'alias.example.com']);
  assert.deepEqual(res.errors.map((e) => [e.ref, e.error.code, e.keptPrevious]), [
    ['t/bad-host', SecurityErrors.TlsSniConflict, false],
    ['t/broken', SecurityErrors.TlsMalformedPem, false],
    ['t/z', SecurityErrors.TlsSniConflict, false],
  ]);
  assert.match(res.errors[2].error.message, /host a.example.com is already served by Secret t\/a/);
  assert.ok(res.table.contextFor('ALIAS.example.com.'));
  assert.equal(res.table.contextFor(undefined), undefined);
});
