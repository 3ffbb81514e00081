import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../lib/clock.ts';
import { loadOrCreateCa } from './ca.ts';
import { MeshIdentities } from './mesh-identities.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mesh-ids-'));
const A = { namespace: 'a', serviceAccount: 'default' };
const GW = { namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' };

test('the CA is made in the state dir; wanted identities are issued in the background; rotation at half-life re-announces', async (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock(Date.parse('2026-06-01T00:00:00Z'));
  let changes = 0;
  const ids = new MeshIdentities({ stateDir: dir, clock, certTtlMs: 10_000, gatewayIdentity: GW, onChange: () => changes++ });
  const started = await ids.start();
  assert.equal(started.source, 'created');
  assert.ok(fs.existsSync(path.join(dir, 'ca', 'root-cert.pem')), 'root kept in STATE_DIR/ca');
  const s0 = ids.snapshot()!;
  assert.deepEqual([...s0.certs.keys()], ['spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'], 'the gateway identity is issued at start');
  s0.want(A);
  s0.want(A); // asked once
  await ids['rotator']!.idle();
  const s1 = ids.snapshot()!;
  assert.notEqual(s1, s0, 'a new snapshot after an issue');
  const c1 = s1.certs.get('spiffe://cluster.local/ns/a/sa/default');
  assert.ok(c1 && c1.notAfter === clock.now() + 10_000, `a's certificate, valid for the configured lifetime: ${JSON.stringify(c1?.notAfter)}`);
  assert.equal(s1.rootPem, s0.rootPem);
  const before = changes;
  clock.advance(5_000);
  await ids['rotator']!.idle();
  const s2 = ids.snapshot()!;
  assert.ok(changes > before, 'rotation calls onChange (the control plane re-pushes)');
  assert.notEqual(s2.certs.get('spiffe://cluster.local/ns/a/sa/default')!.chainPem, c1.chainPem, 'a new certificate at half-life');
  assert.equal(s1.certs.get('spiffe://cluster.local/ns/a/sa/default')!.chainPem, c1.chainPem, 'earlier snapshots are not changed');
  ids.stop();
  const again = new MeshIdentities({ stateDir: dir, clock });
  assert.equal((await again.start()).source, 'loaded', 'the root is reused on the next start');
  assert.equal(again.snapshot()!.rootPem, s0.rootPem);
  again.stop();
});

test('an operator CA with malformed PEM or an expired root is refused at start with a clear error', async (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'bad-cert.pem'), 'not a certificate\n');
  fs.writeFileSync(path.join(dir, 'bad-key.pem'), 'not a key\n');
  const bad = new MeshIdentities({ stateDir: path.join(dir, 's1'), rootCertFile: path.join(dir, 'bad-cert.pem'), rootKeyFile: path.join(dir, 'bad-key.pem') });
  await assert.rejects(bad.start(), (e: any) => /^SLUICE_E_(CA_ROOT|TLS_MALFORMED_PEM)$/.test(e.code) && e.message.includes('bad-'), 'malformed PEM names the file');
  // A root made 11 years ago (roots live 10 years) is expired now.
  const old = path.join(dir, 'old');
  await loadOrCreateCa(old, { clock: new FakeClock(Date.now() - 11 * 365 * 24 * 3600_000) });
  const expired = new MeshIdentities({ stateDir: path.join(dir, 's2'), rootCertFile: path.join(old, 'ca', 'root-cert.pem'), rootKeyFile: path.join(old, 'ca', 'root-key.pem') });
  await assert.rejects(expired.start(), (e: any) => e.code === 'SLUICE_E_CA_ROOT_EXPIRED' && /valid from .* to .*supply a valid root/.test(e.message), 'expired root: code and dates');
});
