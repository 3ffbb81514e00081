import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import type { PeerAuthentication, PeerAuthenticationSpec } from '../api/types/istio.ts';
import { loadOrCreateCa, type Ca, type IssuedCert } from './ca.ts';
import { acceptsConnection, effectiveMtlsMode, explainMtlsMode, validatePeerAuthentication, type MtlsMode } from './peer-authentication.ts';
import { mixedPort, peerOf } from './mesh-tls.ts';

function pa(namespace: string, name: string, spec: PeerAuthenticationSpec, created = '2026-01-01T00:00:00Z'): PeerAuthentication {
  return { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { namespace, name, creationTimestamp: created }, spec };
}
const W: { namespace: string; labels: Record<string, string> } = { namespace: 'a', labels: { app: 'web' } };
const mode = (policies: PeerAuthentication[], port = 8080, workload = W, rootNamespace?: string) => effectiveMtlsMode({ policies, workload, port, rootNamespace });

test('precedence table: workload > namespace > mesh; port level overrides; UNSET inherits; default PERMISSIVE', () => {
  const mesh = (m: string) => pa('istio-system', 'mesh', { mtls: { mode: m as never } });
  const ns = (m: string) => pa('a', 'ns', { mtls: { mode: m as never } });
  const wl = (m: string | undefined, ports?: Record<string, string>) => pa('a', 'wl', {
    selector: { matchLabels: { app: 'web' } }, ...(m ? { mtls: { mode: m as never } } : {}),
    ...(ports ? { portLevelMtls: Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, { mode: v as never }])) } : {}),
  });
  const cases: [string, PeerAuthentication[], MtlsMode, string][] = [
    ['nothing → PERMISSIVE', [], 'PERMISSIVE', 'default'],
    ['mesh STRICT', [mesh('STRICT')], 'STRICT', 'mesh'],
    ['namespace beats mesh', [mesh('STRICT'), ns('DISABLE')], 'DISABLE', 'namespace'],
    ['namespace UNSET inherits mesh', [mesh('STRICT'), ns('UNSET')], 'STRICT', 'mesh'],
    ['workload beats namespace', [mesh('DISABLE'), ns('STRICT'), wl('PERMISSIVE')], 'PERMISSIVE', 'workload'],
    ['workload without mtls inherits namespace', [ns('STRICT'), wl(undefined)], 'STRICT', 'namespace'],
    ['port level beats workload', [ns('PERMISSIVE'), wl('STRICT', { 8080: 'DISABLE' })], 'DISABLE', 'port'],
    ['port level UNSET inherits workload', [ns('PERMISSIVE'), wl('STRICT', { 8080: 'UNSET' })], 'STRICT', 'workload'],
    ['port level UNSET, workload UNSET → namespace', [ns('DISABLE'), wl('UNSET', { 8080: 'UNSET' })], 'DISABLE', 'namespace'],
    ['other port untouched', [ns('PERMISSIVE'), wl('STRICT', { 9090: 'DISABLE' })], 'STRICT', 'workload'],
    ['all UNSET → PERMISSIVE', [mesh('UNSET'), ns('UNSET'), wl('UNSET')], 'PERMISSIVE', 'default'],
  ];
  for (const [name, policies, want, level] of cases) {
    const got = explainMtlsMode({ policies, workload: W, port: 8080 });
    assert.equal(got.mode, want, name);
    assert.equal(got.level, level, name);
  }
});

test('selectors, other namespaces, root namespace and the oldest-policy rule', () => {
  const wlOther = pa('a', 'other', { selector: { matchLabels: { app: 'api' } }, mtls: { mode: 'DISABLE' } });
  assert.equal(mode([wlOther, pa('a', 'ns', { mtls: { mode: 'STRICT' } })]), 'STRICT', 'a selector for other labels does not apply');
  assert.equal(mode([pa('b', 'ns', { mtls: { mode: 'STRICT' } })]), 'PERMISSIVE', 'another namespace does not apply');
  assert.equal(mode([pa('istio-system', 'sel', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' } })]), 'PERMISSIVE',
    'a selector policy in the root namespace applies only to root-namespace workloads');
  assert.equal(mode([pa('mesh-root', 'm', { mtls: { mode: 'STRICT' } })], 8080, W, 'mesh-root'), 'STRICT', 'configurable root namespace');
  assert.equal(mode([pa('istio-system', 'm', { mtls: { mode: 'STRICT' } })], 8080, { namespace: 'istio-system', labels: {} }), 'STRICT');
  assert.equal(mode([pa('a', 'empty-sel', { selector: { matchLabels: {} }, mtls: { mode: 'STRICT' } })]), 'STRICT', 'empty matchLabels is namespace-wide');
  const older = pa('a', 'z-old', { mtls: { mode: 'DISABLE' } }, '2025-01-01T00:00:00Z');
  const newer = pa('a', 'a-new', { mtls: { mode: 'STRICT' } }, '2026-06-01T00:00:00Z');
  assert.deepEqual(explainMtlsMode({ policies: [newer, older], workload: W, port: 1 }), { mode: 'DISABLE', level: 'namespace', policy: 'a/z-old' });
});

test('acceptsConnection table', () => {
  const rows: [MtlsMode, boolean, boolean, boolean][] = [
    ['STRICT', false, false, false], ['STRICT', true, false, false], ['STRICT', true, true, true],
    ['PERMISSIVE', false, false, true], ['PERMISSIVE', true, false, false], ['PERMISSIVE', true, true, true],
    ['DISABLE', false, false, true], ['DISABLE', true, true, false],
  ];
  for (const [m, tlsOn, verified, want] of rows) assert.equal(acceptsConnection(m, { tls: tlsOn, peerVerified: verified }), want, `${m} tls=${tlsOn} verified=${verified}`);
});

test('validatePeerAuthentication names the field', () => {
  assert.deepEqual(validatePeerAuthentication(pa('a', 'ok', { selector: { matchLabels: { app: 'x' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 80: { mode: 'DISABLE' } } })), []);
  const probs = validatePeerAuthentication(pa('a', 'bad', { mtls: { mode: 'STRICTER' as never }, portLevelMtls: { abc: { mode: 'ON' as never } } }));
  assert.deepEqual(probs.map((p) => p.field), ['spec.mtls.mode', 'spec.portLevelMtls', 'spec.portLevelMtls[abc]', 'spec.portLevelMtls[abc].mode']);
  assert.ok(probs.every((p) => p.resource === 'PeerAuthentication a/bad' && p.code === 'SLUICE_E_AUTHZ_INVALID'));
  assert.match(probs[0].message, /unknown mode "STRICTER"/);
});

// ---- real sockets: a port that sniffs plaintext vs TLS (mesh-tls.ts mixedPort) and applies the mode.

let dir: string;
let ca: Ca;
let serverCert: IssuedCert;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-pa-'));
  ca = await loadOrCreateCa(dir);
  serverCert = await ca.issueWorkload({ namespace: 'a', serviceAccount: 'web' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function inbound(m: MtlsMode): Promise<{ port: number; close: () => Promise<void> }> {
  const mp = mixedPort({ certChainPem: serverCert.chainPem, keyPem: serverCert.keyPem, rootPem: ca.rootPem }, {
    onTls: (t) => { if (acceptsConnection(m, peerOf(t))) t.end('tls-ok'); else t.destroy(); },
    onPlain: (s) => { if (acceptsConnection(m, peerOf(s))) s.end('plain-ok'); else s.destroy(); },
  });
  const server = net.createServer(mp.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // Sockets handed to the tls.Server leave the net.Server's connection count (see mixedPort), so
  // close() stops listening without waiting for it.
  return { port: (server.address() as net.AddressInfo).port, close: async () => { server.close(); } };
}

function plain(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\n\r\n'));
    let d = '';
    s.on('data', (c) => { d += c; });
    s.on('error', () => undefined);
    s.on('close', () => resolve(d || 'refused'));
  });
}
function mtls(port: number, client?: IssuedCert): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: ca.rootPem, cert: client?.chainPem, key: client?.keyPem, checkServerIdentity: () => undefined });
    let d = '';
    s.on('data', (c) => { d += c; });
    s.on('error', () => undefined);
    s.on('close', () => resolve(d || 'refused'));
  });
}

test('a STRICT port refuses plaintext and foreign certificates; PERMISSIVE takes plaintext and mesh mTLS', async () => {
  const other = await loadOrCreateCa(path.join(dir, 'other'));
  const meshClient = await ca.issueWorkload({ namespace: 'b', serviceAccount: 'default' });
  const foreignClient = await other.issueWorkload({ namespace: 'b', serviceAccount: 'default' });
  const strict = await inbound(effectiveMtlsMode({ policies: [pa('a', 'ns', { mtls: { mode: 'STRICT' } })], workload: W, port: 8080 }));
  const permissive = await inbound(effectiveMtlsMode({ policies: [], workload: W, port: 8080 }));
  try {
    assert.equal(await plain(strict.port), 'refused');
    assert.equal(await mtls(strict.port, meshClient), 'tls-ok');
    assert.equal(await mtls(strict.port, foreignClient), 'refused');
    assert.equal(await mtls(strict.port), 'refused');
    assert.equal(await plain(permissive.port), 'plain-ok');
    assert.equal(await mtls(permissive.port, meshClient), 'tls-ok');
  } finally {
    await strict.close();
    await permissive.close();
  }
});
