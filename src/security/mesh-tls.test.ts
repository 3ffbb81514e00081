import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import type { AuthorizationPolicy } from '../api/types/istio.ts';
import { isSluiceError } from '../lib/errors.ts';
import { decodeResource, encodeResource, TypeUrl } from '../xds/protos.ts';
import { loadOrCreateCa, type Ca } from './ca.ts';
import { CertRotator, type EnvoySecret } from './cert-rotator.ts';
import { evaluate, RBAC_DENIED_BODY, RBAC_DENIED_STATUS } from './authorization.ts';
import { acceptsConnection, type MtlsMode } from './peer-authentication.ts';
import { looksLikeTls, materialFromSds, meshClientOptions, mixedPort, peerOf, type MeshTlsMaterial } from './mesh-tls.ts';
import { SecurityErrors } from './security-errors.ts';

let dir: string;
let ca: Ca;
let rot: CertRotator;
const sds = new Map<string, EnvoySecret[]>();
const ID = (ns: string) => ({ namespace: ns, serviceAccount: 'default' });
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-meshtls-'));
  ca = await loadOrCreateCa(dir);
  rot = new CertRotator({ ca });
  rot.onRotate((ev) => sds.set(ev.identity.namespace, ev.secrets));
  for (const ns of ['web', 'a', 'b']) await rot.ensure(ID(ns));
});
after(() => { rot.stop(); rmSync(dir, { recursive: true, force: true }); });

/** What a proxy gets for a namespace's identity over SDS (through protobuf, as on the wire). */
function material(ns: string): MeshTlsMaterial {
  const [cert, root] = sds.get(ns)!.map((s) => decodeResource(TypeUrl.Secret, encodeResource(TypeUrl.Secret, s)));
  return materialFromSds(cert, root);
}

const allowA: AuthorizationPolicy = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace: 'web', name: 'allow-a' }, spec: { rules: [{ from: [{ source: { namespaces: ['a'] } }] }] } };

/** A pod's inbound listener: mTLS mode check per connection, then AuthorizationPolicy per request. */
async function inbound(mode: MtlsMode): Promise<{ port: number; close: () => void }> {
  const app = http.createServer((req, res) => {
    const peer = peerOf(req.socket);
    const d = evaluate([allowA], { namespace: 'web', workloadLabels: {}, source: { principal: peer.principal, ip: req.socket.remoteAddress ?? '' }, host: req.headers.host ?? '', method: req.method ?? '', path: req.url ?? '/', port: 8080, headers: req.headers });
    if (!d.allowed) { res.writeHead(RBAC_DENIED_STATUS, { 'content-type': 'text/plain' }); res.end(RBAC_DENIED_BODY); return; }
    res.end(`hello ${peer.principal}`);
  });
  const admit = (s: net.Socket) => {
    if (acceptsConnection(mode, peerOf(s))) app.emit('connection', s); else s.destroy();
  };
  const mp = mixedPort(material('web'), { onTls: admit, onPlain: admit });
  const server = net.createServer(mp.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => { server.close(); app.close(); } };
}

function get(port: number, opts: https.RequestOptions | undefined): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const mod = opts ? https : http;
    const req = mod.get({ host: '127.0.0.1', port, path: '/', agent: false, ...(opts ?? {}) }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

test('pod → pod over mTLS: STRICT refuses plaintext; the allowed namespace gets in, another gets 403 RBAC: access denied', async () => {
  const srv = await inbound('STRICT');
  const webId = 'spiffe://cluster.local/ns/web/sa/default';
  try {
    assert.ok((await get(srv.port, undefined)).error, 'plaintext is refused on a STRICT port');
    assert.deepEqual(await get(srv.port, meshClientOptions(material('a'), [webId])), { status: 200, body: 'hello cluster.local/ns/a/sa/default' });
    assert.deepEqual(await get(srv.port, meshClientOptions(material('b'), [webId])), { status: 403, body: 'RBAC: access denied' });
    const wrongServer = await get(srv.port, meshClientOptions(material('a'), ['spiffe://cluster.local/ns/other/sa/default']));
    assert.match(wrongServer.error ?? '', /upstream identity spiffe:\/\/cluster.local\/ns\/web\/sa\/default is not one of/);
  } finally {
    srv.close();
  }
});

test('PERMISSIVE takes plaintext (no identity: denied by the ALLOW policy) and mTLS on the same port', async () => {
  const srv = await inbound('PERMISSIVE');
  try {
    assert.deepEqual(await get(srv.port, undefined), { status: 403, body: RBAC_DENIED_BODY });
    assert.equal((await get(srv.port, meshClientOptions(material('a')))).status, 200);
  } finally {
    srv.close();
  }
});

test('a client that sends nothing is closed after the sniff timeout', async () => {
  const mp = mixedPort(material('web'), { onTls: (t) => t.end(), onPlain: (s) => s.end() }, { sniffTimeoutMs: 50 });
  const server = net.createServer(mp.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const closed = await new Promise<boolean>((resolve) => {
      const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      c.on('error', () => undefined);
      c.on('close', () => resolve(true));
    });
    assert.equal(closed, true);
  } finally {
    server.close();
  }
});

test('materialFromSds and looksLikeTls edge cases', () => {
  const [cert, root] = sds.get('a')!;
  const viaBytes = materialFromSds(
    { name: 'x', tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('C').toString('base64') }, private_key: { inline_bytes: Buffer.from('K').toString('base64') } } },
    root);
  assert.deepEqual([viaBytes.certChainPem, viaBytes.keyPem], ['C', 'K']);
  assert.throws(() => materialFromSds(root, root), (e) => isSluiceError(e, SecurityErrors.TlsMissingKey) && /has no tls_certificate/.test(e.message));
  assert.throws(() => materialFromSds(cert, cert), (e) => isSluiceError(e, SecurityErrors.TlsMissingKey) && /has no validation_context/.test(e.message));
  assert.throws(() => mixedPort({ certChainPem: 'x', keyPem: 'y', rootPem: 'z' }, { onTls: () => undefined, onPlain: () => undefined }), (e) => isSluiceError(e, SecurityErrors.TlsMalformedPem));
  assert.equal(looksLikeTls(Buffer.from([0x16, 0x03, 0x01])), true);
  assert.equal(looksLikeTls(Buffer.from('GET / HTTP/1.1')), false);
});
