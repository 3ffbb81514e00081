import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyOverrides, loadBootstrap, parseBootstrap } from './bootstrap.ts';

test('defaults are the tuned state: 2 workers, 30 s upstream idle, keepalive 10 s / 5 s, delta xDS', () => {
  const b = parseBootstrap({ node: { id: 'gw-1' }, xds_server: { address: '127.0.0.1:18000' } }, 'b.yaml');
  assert.equal(b.concurrency, 2);
  assert.equal(b.defaults.upstreamIdleTimeoutMs, 30_000);
  assert.deepEqual([b.xds.keepaliveMs, b.xds.keepaliveTimeoutMs, b.xds.delta], [10_000, 5_000, true]);
  assert.deepEqual(b.xds.addresses, ['127.0.0.1:18000']);
  assert.equal(b.role, 'gateway');
  assert.deepEqual(b.listen, { address: '0.0.0.0', httpPort: 8080, httpsPort: 8443 });
  assert.deepEqual(b.admin, { address: '127.0.0.1', port: 15000 });
});

test('YAML file with several control replicas and overrides', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bootstrap-'));
  try {
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(file, 'node:\n  id: mesh-1\n  metadata: { zone: a }\nxds_server:\n  address: [ "127.0.0.1:1", "127.0.0.1:2" ]\nrole: mesh\nports_file: /tmp/x.json\n');
    const b = applyOverrides(loadBootstrap(file), { concurrency: 4, httpPort: 0 });
    assert.deepEqual(b.xds.addresses, ['127.0.0.1:1', '127.0.0.1:2']);
    assert.equal(b.role, 'mesh');
    assert.equal(b.concurrency, 4);
    assert.equal(b.listen.httpPort, 0);
    assert.equal(b.portsFile, '/tmp/x.json');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

const bad: [string, object, RegExp][] = [
  ['missing node.id', { xds_server: { address: 'a:1' } }, /bootstrap b\.yaml: node\.id: is required/],
  ['bad address', { node: { id: 'x' }, xds_server: { address: 'nohost' } }, /xds_server\.address\[0\]: must be "host:port"/],
  ['bad role', { node: { id: 'x' }, xds_server: { address: 'a:1' }, role: 'sidecar' }, /role: must be "gateway" or "mesh"/],
  ['bad concurrency', { node: { id: 'x' }, xds_server: { address: 'a:1' }, concurrency: 0 }, /concurrency: must be an integer in \[1, 64\]/],
  ['bad port', { node: { id: 'x' }, xds_server: { address: 'a:1' }, listen: { http_port: 70000 } }, /listen\.http_port: must be an integer/],
];
for (const [what, doc, re] of bad) {
  test(`bad bootstrap (${what}) names the file and field`, () => {
    assert.throws(() => parseBootstrap(doc, 'b.yaml'), (e: Error & { code?: string }) => { assert.equal(e.code, 'SLUICE_E_PROXY_BOOTSTRAP'); assert.match(e.message, re); return true; });
  });
}

test('unreadable and malformed files', () => {
  assert.throws(() => loadBootstrap('/nonexistent/b.yaml'), /bootstrap \/nonexistent\/b\.yaml: cannot read/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bootstrap-'));
  try {
    const f = path.join(dir, 'b.yaml');
    fs.writeFileSync(f, 'node: [unclosed');
    assert.throws(() => loadBootstrap(f), /not valid YAML\/JSON/);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
