/** Kubeconfig writing and reading (server, token, CA, TLS name), the CLI's token lookup, and `sluice token create` without a running sluice. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { isSluiceError } from '../lib/errors.ts';
import { ApiAuth } from '../security/api-auth.ts';
import { resolveToken } from './api-client.ts';
import { createToken, TokenErrors } from './commands/token.ts';
import { KubeconfigErrors, readKubeconfig, renderKubeconfig } from './kubeconfig.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-kc-'));
  dirs.push(d);
  return d;
}
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('render and read back: https cluster with CA data and tls-server-name; http keeps insecure-skip-tls-verify', () => {
  const dir = tmp();
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(file, renderKubeconfig({ server: 'https://127.0.0.1:7070', token: 't'.repeat(43), caPem: CA, tlsServerName: 'localhost', namespace: 'team-a' }));
  const doc = parse(fs.readFileSync(file, 'utf8'));
  assert.equal(doc.clusters[0].cluster['certificate-authority-data'], Buffer.from(CA).toString('base64'));
  assert.equal(doc.contexts[0].context.namespace, 'team-a');
  assert.deepEqual(readKubeconfig(file), { server: 'https://127.0.0.1:7070', token: 't'.repeat(43), caPem: CA, tlsServerName: 'localhost' });
  assert.deepEqual(parse(renderKubeconfig({ server: 'http://127.0.0.1:1' })).clusters[0].cluster, { server: 'http://127.0.0.1:1', 'insecure-skip-tls-verify': true });
  assert.equal(readKubeconfig(path.join(dir, 'absent')), undefined);
  fs.writeFileSync(file, 'clusters: [\n');
  assert.throws(() => readKubeconfig(file), (e) => isSluiceError(e, KubeconfigErrors.Read) && e.message.includes(file) && /not valid YAML/.test(e.message));
});

test('resolveToken: --token, then SLUICE_TOKEN, then the state dir kubeconfig', () => {
  const dir = tmp();
  assert.equal(resolveToken({ stateDir: dir }), process.env.SLUICE_TOKEN || undefined);
  fs.writeFileSync(path.join(dir, 'kubeconfig'), renderKubeconfig({ server: 'https://127.0.0.1:1', token: 'from-kubeconfig-token' }));
  const saved = process.env.SLUICE_TOKEN;
  delete process.env.SLUICE_TOKEN;
  try {
    assert.equal(resolveToken({ stateDir: dir }), 'from-kubeconfig-token');
    assert.equal(resolveToken({ stateDir: dir, token: 'flag' }), 'flag');
    process.env.SLUICE_TOKEN = 'env-token';
    assert.equal(resolveToken({ stateDir: dir }), 'env-token');
  } finally {
    if (saved === undefined) delete process.env.SLUICE_TOKEN; else process.env.SLUICE_TOKEN = saved;
  }
});

test('token create: binds the role in each namespace; refuses a known user; --kubeconfig needs a server', () => {
  const dir = tmp();
  const { token } = createToken('alice', { namespace: ['a', 'b'], role: 'view', stateDir: dir });
  const auth = ApiAuth.load(dir);
  const u = auth.authenticate(`Bearer ${token}`)!;
  assert.equal(u.name, 'alice');
  for (const ns of ['a', 'b']) assert.equal(auth.authorize(u, { verb: 'list', resource: 'serving.knative.dev/services', namespace: ns }).allowed, true);
  assert.equal(auth.authorize(u, { verb: 'list', resource: 'serving.knative.dev/services', namespace: 'c' }).allowed, false);
  assert.equal(auth.authorize(u, { verb: 'create', resource: 'serving.knative.dev/services', namespace: 'a' }).allowed, false);

  assert.throws(() => createToken('alice', { namespace: ['c'], role: 'edit', stateDir: dir }), (e) => isSluiceError(e, TokenErrors.UserExists));
  const before = fs.readFileSync(path.join(dir, 'tokens.yaml'), 'utf8');
  assert.throws(() => createToken('bob', { namespace: ['a'], role: 'edit', stateDir: dir, kubeconfig: path.join(dir, 'bob.kubeconfig') }),
    (e) => isSluiceError(e, TokenErrors.NoServer) && /no --server was given/.test(e.message));
  assert.equal(fs.readFileSync(path.join(dir, 'tokens.yaml'), 'utf8'), before, 'a failed --kubeconfig adds no token');

  const kc = path.join(dir, 'carol.kubeconfig');
  const made = createToken('carol', { namespace: ['a'], role: 'admin', stateDir: dir, kubeconfig: kc, server: 'https://127.0.0.1:9/' });
  assert.deepEqual(readKubeconfig(kc), { server: 'https://127.0.0.1:9', token: made.token });
  assert.equal(fs.statSync(kc).mode & 0o777, 0o600);
});
