import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { FakeClock } from '../lib/clock.ts';
import { isSluiceError } from '../lib/errors.ts';
import { decodeResource, encodeResource, TypeUrl } from '../xds/protos.ts';
import { loadOrCreateCa, spiffeIdOf, type Ca } from './ca.ts';
import { CertRotator, ROOTCA_SECRET_NAME, toSdsSecrets, type RotationEvent } from './cert-rotator.ts';
import { SecurityErrors } from './security-errors.ts';

const HOUR = 3600_000;
let dir: string;
let ca: Ca;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-rot-'));
  ca = await loadOrCreateCa(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const A = { namespace: 'a', serviceAccount: 'default' };

test('toSdsSecrets: certificate under the SPIFFE id and ROOTCA; both encode as Envoy Secrets', async () => {
  const cert = await ca.issueWorkload(A);
  const secrets = toSdsSecrets(cert, ca.rootPem);
  assert.deepEqual(secrets.map((s) => s.name), ['spiffe://cluster.local/ns/a/sa/default', ROOTCA_SECRET_NAME]);
  const decoded = decodeResource(TypeUrl.Secret, encodeResource(TypeUrl.Secret, secrets[0]));
  assert.equal(decoded.tls_certificate.certificate_chain.inline_string, cert.chainPem);
  assert.equal(decoded.tls_certificate.private_key.inline_string, cert.keyPem);
  const root = decodeResource(TypeUrl.Secret, encodeResource(TypeUrl.Secret, secrets[1]));
  assert.equal(root.validation_context.trusted_ca.inline_string, ca.rootPem);
  assert.equal(toSdsSecrets(cert, ca.rootPem, { certName: 'default' })[0].name, 'default');
});

test('issues once per identity, re-issues at half-life on the clock, and announces each certificate', async () => {
  const clock = new FakeClock(Date.parse('2026-05-01T00:00:00Z'));
  const rot = new CertRotator({ ca, clock, ttlMs: 24 * HOUR });
  const events: RotationEvent[] = [];
  rot.onRotate((ev) => events.push(ev));
  const [c1, c1again] = await Promise.all([rot.ensure(A), rot.ensure(A)]);
  assert.equal(c1.serialNumber, c1again.serialNumber, 'concurrent ensure() shares one issue');
  assert.deepEqual(events.map((e) => e.reason), ['issued']);
  assert.deepEqual(events[0].secrets.map((s) => s.name), ['spiffe://cluster.local/ns/a/sa/default', 'ROOTCA']);

  clock.advance(12 * HOUR - 1000);
  await rot.idle();
  assert.equal(events.length, 1, 'nothing before half-life');
  clock.advance(1000);
  await rot.idle();
  assert.deepEqual(events.map((e) => e.reason), ['issued', 'rotated']);
  const c2 = rot.current(A)!;
  assert.notEqual(c2.serialNumber, c1.serialNumber);
  assert.equal(c2.notBefore, Date.parse('2026-05-01T12:00:00Z'));

  clock.advance(12 * HOUR);
  await rot.idle();
  assert.equal(events.length, 3);
  assert.deepEqual(rot.secrets().map((s) => s.name), ['spiffe://cluster.local/ns/a/sa/default', 'ROOTCA']);

  rot.release(A);
  clock.advance(48 * HOUR);
  await rot.idle();
  assert.equal(events.length, 3, 'a released identity is no longer rotated');
  assert.equal(clock.pending(), 0);
  assert.deepEqual(rot.secrets().map((s) => s.name), ['ROOTCA']);
  rot.stop();
  await assert.rejects(rot.ensure(A), (e) => isSluiceError(e, SecurityErrors.RotationFailed));
});

test('a failed re-issue is reported and retried while the old certificate still serves', async () => {
  const clock = new FakeClock(Date.parse('2026-05-01T00:00:00Z'));
  let failNext = 0;
  const flaky = {
    trustDomain: ca.trustDomain, rootPem: ca.rootPem,
    issueWorkload: (req: Parameters<Ca['issueWorkload']>[0]) => (failNext-- > 0 ? Promise.reject(new Error('signer unavailable')) : ca.issueWorkload(req)),
  };
  const errors: string[] = [];
  const rot = new CertRotator({ ca: flaky, clock, ttlMs: 2 * HOUR, retryMs: 60_000, onError: (e) => errors.push(`${(e as { code?: string }).code}: ${e.message}`) });
  const first = await rot.ensure(A);
  failNext = 2;
  clock.advance(HOUR);
  await rot.idle();
  assert.equal(errors.length, 1);
  assert.match(errors[0], /SLUICE_E_CERT_ROTATION_FAILED: issuing the certificate of spiffe:\/\/cluster.local\/ns\/a\/sa\/default failed: signer unavailable/);
  assert.equal(rot.current(A)!.serialNumber, first.serialNumber, 'the old certificate keeps serving');
  clock.advance(60_000);
  await rot.idle();
  assert.equal(errors.length, 2);
  clock.advance(60_000);
  await rot.idle();
  assert.notEqual(rot.current(A)!.serialNumber, first.serialNumber);
  rot.stop();
});

test('rotation during a bounded load loop over real TLS drops no request', async () => {
  // Issue times stay in the real past, so node's TLS verification (which reads the real time)
  // accepts every certificate: the first is issued 13 h ago, the half-life rotation 1 h ago.
  const clock = new FakeClock(Date.now() - 13 * HOUR);
  const rot = new CertRotator({ ca, clock, ttlMs: 24 * HOUR });
  const server = https.createServer({ ...(await rot.ensure(A).then((c) => ({ cert: c.chainPem, key: c.keyPem }))) }, (_req, res) => res.end('ok'));
  let swaps = 0;
  rot.onRotate((ev) => { server.setSecureContext({ cert: ev.cert.chainPem, key: ev.cert.keyPem }); swaps++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const expected = 'spiffe://cluster.local/ns/a/sa/default';
  const checkServerIdentity = (_host: string, cert: { subjectaltname?: string }) => (spiffeIdOf(cert) === expected ? undefined : new Error(`unexpected peer ${spiffeIdOf(cert)}`));
  // Half the requests reuse pooled connections (made before a swap), half make a new handshake each.
  const pooled = new https.Agent({ keepAlive: true, maxSockets: 4, ca: ca.rootPem, checkServerIdentity });
  const fresh = new https.Agent({ keepAlive: false, ca: ca.rootPem, checkServerIdentity });
  const serials = new Set<string>();
  let ok = 0;
  const failures: string[] = [];
  const TOTAL = 400;
  const deadline = Date.now() + 15_000;
  const get = (agent: https.Agent) => new Promise<void>((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { if (body === 'ok' && res.statusCode === 200) { ok++; serials.add(serial); } else failures.push(`status ${res.statusCode}`); resolve(); });
    });
    req.on('error', (e) => { failures.push(e.message); resolve(); });
  });
  let next = 0;
  const worker = async (w: number) => {
    while (next < TOTAL && Date.now() < deadline) {
      const i = next++;
      if (i === 60) clock.advance(12 * HOUR); // half-life: the timer re-issues while requests run
      if (i % 60 === 0 && i > 60) void rot.rotate(A);
      await get(w % 2 === 0 ? pooled : fresh);
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    await rot.idle();
  } finally {
    pooled.destroy();
    fresh.destroy();
    rot.stop();
    await new Promise((r) => server.close(r));
  }
  assert.deepEqual(failures, []);
  assert.equal(ok, TOTAL, 'every request of the bounded loop completed within its time bound');
  assert.ok(swaps >= 5, `expected at least 5 certificate swaps, saw ${swaps}`);
  assert.ok(serials.size >= 3, `clients must have seen several certificates, saw ${serials.size}`);
});
