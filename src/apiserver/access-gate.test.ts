/**
 * The API server with access control on, in-process over a MemoryStore: 401 before routing,
 * 403 per verb/namespace/subresource, mounted routes for authenticated users, health paths open,
 * the tokens file re-read at most once per interval (FakeClock) with a bad file keeping the old
 * tokens, and the same port answering both plain HTTP and HTTPS.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FakeClock } from '../lib/clock.ts';
import { ApiAuth, createUserToken, ensureAdminToken, TOKENS_FILE } from '../security/api-auth.ts';
import { loadOrCreateCa } from '../security/ca.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { requestAttributes } from './access-gate.ts';
import { createApiServer, type ApiServer } from './api-server.ts';
import { parseResourcePath } from './resource-path.ts';

const SVC = (ns: string) => `/apis/serving.knative.dev/v1/namespaces/${ns}/services`;
let dir: string;
let store: MemoryStore;
let api: ApiServer;
let base: string;
let caPem: string;
const clock = new FakeClock();
const tokens = { admin: '', editor: '', viewer: '' };

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-gate-'));
  tokens.admin = ensureAdminToken(dir);
  tokens.editor = createUserToken(dir, { user: 'alice', bindings: [{ role: 'edit', namespace: 'default' }] });
  tokens.viewer = createUserToken(dir, { user: 'victor', bindings: [{ role: 'view', namespace: 'default' }] });
  const ca = await loadOrCreateCa(dir);
  caPem = ca.rootPem;
  const serving = await ca.issueServing({ dnsNames: ['localhost'] });
  store = new MemoryStore({ historyLimit: 50 });
  api = createApiServer({ store, clock, auth: ApiAuth.load(dir), tls: { cert: serving.chainPem, key: serving.keyPem } });
  api.addRoute('/metrics', (_req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('# metrics\n'); });
  api.addSubresource('core/pods', 'log', (_req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('log line\n'); });
  await api.listen(0);
  base = api.url();
});
after(async () => {
  await api.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, p: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* plain text */ }
  return { status: res.status, body: parsed };
}
const ksvc = (name: string) => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name }, spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } } });

test('401 before routing, also for unknown paths and watches; health paths are open', async () => {
  for (const p of [SVC('default'), `${SVC('default')}?watch=true`, '/api', '/version', '/metrics', '/nothing/here', '/apis/nope.example.com/v1/things']) {
    const r = await call('GET', p);
    assert.equal(r.status, 401, p);
    assert.equal(r.body.reason, 'Unauthorized', p);
  }
  for (const p of ['/healthz', '/livez', '/readyz', '/readyz/ping']) assert.equal((await call('GET', p)).status, 200, p);
});

test('RBAC per verb and namespace; discovery open; errors after authorization', async () => {
  assert.equal((await call('POST', SVC('default'), tokens.editor, ksvc('a'))).status, 201);
  assert.equal((await call('GET', `${SVC('default')}/a`, tokens.viewer)).status, 200);
  assert.equal((await call('DELETE', `${SVC('default')}/a`, tokens.viewer)).status, 403);
  const other = await call('GET', SVC('sluice-system'), tokens.editor);
  assert.equal(other.status, 403);
  assert.equal(other.body.message, 'services.serving.knative.dev is forbidden: User "alice" cannot list resource "services" in API group "serving.knative.dev" in the namespace "sluice-system"');
  assert.equal((await call('GET', '/api/v1/namespaces/default/secrets', tokens.viewer)).status, 403);
  for (const p of ['/api', '/apis', '/apis/serving.knative.dev/v1', '/version', '/openapi/v2']) assert.equal((await call('GET', p, tokens.viewer)).status, 200, p);
  // A bad path is refused (403) to users who may not see it, and is a 404 for cluster-admin.
  assert.equal((await call('GET', '/apis/nope.example.com/v1/things', tokens.viewer)).status, 403);
  assert.equal((await call('GET', '/apis/nope.example.com/v1/things', tokens.admin)).status, 404);
  // status subresource: patch needs a write role
  const st = { status: { observedGeneration: 1 } };
  const put = async (t: string) => (await fetch(`${base}${SVC('default')}/a/status`, { method: 'PATCH', headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify(st) })).status;
  assert.equal(await put(tokens.viewer), 403);
  assert.equal(await put(tokens.editor), 200);
});

test('mounted routes need an authenticated user; custom subresources are authorized as pods/log', async () => {
  assert.equal((await call('GET', '/metrics', tokens.viewer)).status, 200);
  assert.equal((await call('GET', '/api/v1/namespaces/default/pods/p1/log', tokens.viewer)).status, 200);
  const r = await call('GET', '/api/v1/namespaces/sluice-system/pods/p1/log', tokens.viewer);
  assert.equal(r.status, 403);
  assert.match(r.body.message, /pods "p1" is forbidden: User "victor" cannot get resource "pods\/log" in API group "" in the namespace "sluice-system"/);
});

test('requestAttributes: verbs of kube-apiserver, legacy /watch/, non-resource paths', () => {
  const parse = (p: string) => {
    const parts = p.split('/').filter(Boolean);
    return parseResourcePath(p, `${parts[1]}/${parts[2]}`, parts.slice(3));
  };
  const u = (p: string) => new URL(p, 'http://x');
  const list = SVC('default');
  assert.deepEqual(requestAttributes('GET', list, u(`${list}?watch=1`), parse(list)), { verb: 'watch', resource: 'serving.knative.dev/services', namespace: 'default' });
  const legacy = '/apis/serving.knative.dev/v1/watch/namespaces/default/services';
  assert.equal((requestAttributes('GET', legacy, u(legacy), parse(legacy)) as { verb: string }).verb, 'watch');
  assert.deepEqual(requestAttributes('DELETE', list, u(list), parse(list)), { verb: 'deletecollection', resource: 'serving.knative.dev/services', namespace: 'default' });
  assert.deepEqual(requestAttributes('GET', '/version', u('/version'), undefined), { verb: 'get', path: '/version' });
});

test('tokens file: re-read at most once per interval; a malformed file keeps the previous tokens', async () => {
  const file = path.join(dir, TOKENS_FILE);
  const good = fs.readFileSync(file, 'utf8');
  clock.advance(1000);
  assert.equal((await call('GET', SVC('default'), tokens.editor)).status, 200); // checked now: unchanged
  const late = createUserToken(dir, { user: 'lara', bindings: [{ role: 'view', namespace: 'default' }] });
  assert.equal((await call('GET', SVC('default'), late)).status, 401, 'within the interval the file is not re-read');
  clock.advance(1000);
  assert.equal((await call('GET', SVC('default'), late)).status, 200, 'after it, the new token works');

  fs.writeFileSync(file, 'users: [\n');
  clock.advance(1000);
  assert.equal((await call('GET', SVC('default'), tokens.editor)).status, 200, 'a malformed file keeps the previous tokens');
  assert.equal((await call('GET', SVC('default'), late)).status, 200);
  fs.writeFileSync(file, good); // lara is gone again
  clock.advance(1000);
  assert.equal((await call('GET', SVC('default'), late)).status, 401);
  assert.equal((await call('GET', SVC('default'), tokens.editor)).status, 200);
});

test('the API port speaks HTTPS too (certificate verified by name), with the same access control', async () => {
  const port = Number(new URL(base).port);
  assert.equal(api.tlsUrl(), base.replace('http:', 'https:'));
  const get = (token?: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: SVC('default'), servername: 'localhost', ca: caPem, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal((await get()).status, 401);
  const ok = await get(tokens.viewer);
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body).kind, 'ServiceList');
});
