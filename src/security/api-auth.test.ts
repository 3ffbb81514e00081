import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSluiceError } from '../lib/errors.ts';
import { ApiAuth, createUserToken, ensureAdminToken, forbiddenStatus, statusFor, TOKENS_FILE, unauthorizedStatus, verbFor, resourceAttributes, type ResourceAttributes, type Verb } from './api-auth.ts';
import { SecurityErrors } from './security-errors.ts';

const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(path.join(os.tmpdir(), 'sluice-auth-')); dirs.push(d); return d; };
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const KSVC = 'serving.knative.dev/services';
const SECRETS = 'core/secrets';
const RB = 'rbac.authorization.k8s.io/rolebindings';
const ALL_VERBS: Verb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

function setup() {
  const dir = tmp();
  const admin = ensureAdminToken(dir);
  const tokens = {
    admin,
    nsAdmin: createUserToken(dir, { user: 'ann', bindings: [{ role: 'admin', namespace: 'a' }] }),
    editor: createUserToken(dir, { user: 'alice', bindings: [{ role: 'edit', namespace: 'a' }] }),
    viewer: createUserToken(dir, { user: 'victor', bindings: [{ role: 'view', namespace: 'a' }] }),
    globalViewer: createUserToken(dir, { user: 'gina', bindings: [{ role: 'view' }] }),
    nobody: createUserToken(dir, { user: 'nora' }),
  };
  const auth = ApiAuth.load(dir);
  const can = (token: string, attrs: ResourceAttributes | { path: string }) => {
    const u = auth.authenticate(`Bearer ${token}`);
    assert.ok(u, 'token must authenticate');
    return auth.authorize(u, attrs).allowed;
  };
  return { dir, tokens, auth, can };
}

test('ensureAdminToken writes a 0600 tokens file once and returns the same token after', () => {
  const dir = tmp();
  const t1 = ensureAdminToken(dir);
  assert.ok(t1.length >= 40);
  assert.equal(statSync(path.join(dir, TOKENS_FILE)).mode & 0o777, 0o600);
  assert.equal(ensureAdminToken(dir), t1);
  const u = ApiAuth.load(dir).authenticate(`Bearer ${t1}`);
  assert.deepEqual(u, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
});

test('authenticate: bearer scheme, unknown and missing tokens', () => {
  const { auth, tokens } = setup();
  assert.equal(auth.authenticate(`bearer ${tokens.editor}`)?.name, 'alice');
  assert.equal(auth.authenticate(undefined), undefined);
  assert.equal(auth.authenticate('Basic abc'), undefined);
  assert.equal(auth.authenticate(`Bearer ${tokens.editor}x`), undefined);
  assert.equal(ApiAuth.load(tmp()).authenticate(`Bearer ${tokens.editor}`), undefined, 'no tokens file: nobody');
});

test('roles: cluster-admin, admin, edit, view across verbs and resources', () => {
  const { tokens, can } = setup();
  const inA = (verb: Verb, resource = KSVC): ResourceAttributes => ({ verb, resource, namespace: 'a' });
  for (const v of ALL_VERBS) {
    assert.equal(can(tokens.admin, { verb: v, resource: KSVC, namespace: 'z' }), true, `cluster-admin ${v}`);
    assert.equal(can(tokens.nsAdmin, inA(v, SECRETS)), true, `admin ${v} secrets`);
    assert.equal(can(tokens.nsAdmin, inA(v, RB)), true, `admin ${v} rolebindings`);
    assert.equal(can(tokens.editor, inA(v)), true, `edit ${v} services`);
    assert.equal(can(tokens.editor, inA(v, SECRETS)), true, `edit ${v} secrets`);
    assert.equal(can(tokens.editor, inA(v, RB)), false, `edit ${v} rolebindings`);
    assert.equal(can(tokens.viewer, inA(v)), ['get', 'list', 'watch'].includes(v), `view ${v} services`);
    assert.equal(can(tokens.viewer, inA(v, SECRETS)), false, `view ${v} secrets`);
    assert.equal(can(tokens.nobody, inA(v)), false, `no binding ${v}`);
  }
  assert.equal(can(tokens.viewer, { verb: 'get', resource: 'core/pods', namespace: 'a', name: 'p', subresource: 'log' }), true);
  assert.equal(can(tokens.editor, { verb: 'update', resource: KSVC, namespace: 'a', name: 'x', subresource: 'status' }), true);
});

test('namespace scope: a namespace binding is refused in another namespace and across all namespaces', () => {
  const { tokens, can } = setup();
  assert.equal(can(tokens.editor, { verb: 'create', resource: KSVC, namespace: 'a' }), true);
  assert.equal(can(tokens.editor, { verb: 'create', resource: KSVC, namespace: 'b' }), false);
  assert.equal(can(tokens.editor, { verb: 'list', resource: KSVC }), false, 'list across namespaces');
  assert.equal(can(tokens.globalViewer, { verb: 'list', resource: KSVC }), true, 'a cluster-wide view binding lists everywhere');
  assert.equal(can(tokens.globalViewer, { verb: 'get', resource: SECRETS, namespace: 'b' }), false);
  assert.equal(can(tokens.editor, { verb: 'get', resource: 'core/namespaces', name: 'a' }), true, 'own Namespace object is readable');
  assert.equal(can(tokens.editor, { verb: 'get', resource: 'core/namespaces', name: 'b' }), false);
  assert.equal(can(tokens.nsAdmin, { verb: 'delete', resource: 'core/namespaces', name: 'a' }), false, 'namespace lifecycle is cluster-admin only');
  assert.equal(can(tokens.admin, { verb: 'create', resource: 'core/namespaces', name: 'new' }), true);
});

test('discovery, version and openapi are open to any authenticated user; other paths need cluster-admin', () => {
  const { tokens, can, auth } = setup();
  for (const p of ['/api', '/api/v1', '/apis', '/apis/serving.knative.dev', '/apis/serving.knative.dev/v1', '/version', '/openapi/v2', '/openapi/v3/apis/serving.knative.dev/v1', '/healthz']) {
    assert.equal(can(tokens.nobody, { path: p }), true, p);
  }
  assert.equal(can(tokens.nobody, { path: '/metrics' }), false);
  assert.equal(can(tokens.admin, { path: '/metrics' }), true);
  assert.deepEqual(statusFor(auth, undefined, { path: '/version' }).status, unauthorizedStatus());
});

test('Status objects: 401 and 403 with kube-apiserver messages', () => {
  const { auth, tokens } = setup();
  assert.deepEqual(statusFor(auth, 'Bearer nope', { verb: 'get', resource: KSVC, namespace: 'a' }).status,
    { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  const r = statusFor(auth, `Bearer ${tokens.editor}`, { verb: 'create', resource: KSVC, namespace: 'b' });
  assert.equal(r.user?.name, 'alice');
  assert.deepEqual(r.status, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403,
    message: 'services.serving.knative.dev is forbidden: User "alice" cannot create resource "services" in API group "serving.knative.dev" in the namespace "b"',
    details: { group: 'serving.knative.dev', kind: 'services' },
  });
  assert.deepEqual(statusFor(auth, `Bearer ${tokens.editor}`, { verb: 'create', resource: KSVC, namespace: 'a' }), { user: { name: 'alice', groups: ['system:authenticated'] } });
  const u = { name: 'victor', groups: [] };
  assert.equal(forbiddenStatus(u, { verb: 'get', resource: SECRETS, namespace: 'a', name: 'tls' }).message,
    'secrets "tls" is forbidden: User "victor" cannot get resource "secrets" in API group "" in the namespace "a"');
  assert.equal(forbiddenStatus(u, { verb: 'list', resource: 'core/namespaces' }).message,
    'namespaces is forbidden: User "victor" cannot list resource "namespaces" in API group "" at the cluster scope');
  assert.equal(forbiddenStatus(u, { verb: 'update', resource: KSVC, namespace: 'a', name: 's', subresource: 'status' }).message,
    'services.serving.knative.dev "s" is forbidden: User "victor" cannot update resource "services/status" in API group "serving.knative.dev" in the namespace "a"');
  assert.equal(forbiddenStatus(u, { path: '/metrics' }).message, 'forbidden: User "victor" cannot get path "/metrics"');
});

test('tokens file errors name the file and field; a bad edit keeps the previous tokens', () => {
  const { dir, auth, tokens } = setup();
  const file = path.join(dir, TOKENS_FILE);
  const good = readFileSync(file, 'utf8');
  const bad = (text: string, code: string, re: RegExp) => {
    writeFileSync(file, text);
    assert.throws(() => ApiAuth.load(dir), (e) => isSluiceError(e, code) && re.test(e.message) && e.message.includes(file), String(re));
  };
  bad('users: [', SecurityErrors.AuthTokensFile, /not valid YAML/);
  bad('users:\n  - name: x\n    token: short\n', SecurityErrors.AuthTokensFile, /users\[0\]\.token: required, at least 16 characters/);
  bad('bindings:\n  - role: owner\n    subjects: [{ kind: User, name: x }]\n', SecurityErrors.AuthBadBinding, /bindings\[0\]\.role: unknown role "owner"/);
  bad('bindings:\n  - role: edit\n    namespace: a\n', SecurityErrors.AuthBadBinding, /bindings\[0\]\.subjects: needs at least one subject/);
  bad('bindings:\n  - role: cluster-admin\n    namespace: a\n    subjects: [{ kind: User, name: x }]\n', SecurityErrors.AuthBadBinding, /cluster-admin is cluster-wide/);
  bad('extra: 1\n', SecurityErrors.AuthTokensFile, /extra: unknown field/);
  // the running ApiAuth noticed the change but kept serving its previous tokens
  const err = auth.reloadIfChanged();
  assert.ok(err && isSluiceError(err, SecurityErrors.AuthTokensFile));
  assert.equal(auth.authenticate(`Bearer ${tokens.editor}`)?.name, 'alice');
  writeFileSync(file, good.replace(/name: alice/, 'name: alice2'));
  assert.equal(auth.reloadIfChanged(), undefined);
  assert.equal(auth.authenticate(`Bearer ${tokens.editor}`)?.name, 'alice2', 'a good edit applies without a restart');
});

test('fromConfig works without a file', () => {
  const auth = ApiAuth.fromConfig({ users: [{ name: 'bob', token: 'b'.repeat(20) }], bindings: [{ role: 'view', namespace: 'x', subjects: [{ kind: 'User', name: 'bob' }] }] });
  const u = auth.authenticate(`Bearer ${'b'.repeat(20)}`)!;
  assert.equal(auth.authorize(u, { verb: 'list', resource: KSVC, namespace: 'x' }).allowed, true);
  assert.match(auth.authorize(u, { verb: 'delete', resource: KSVC, namespace: 'x' }).reason, /no binding of user bob grants delete/);
});

test('verbFor maps HTTP requests to RBAC verbs like kube-apiserver', () => {
  assert.equal(verbFor('GET', { name: 'x' }), 'get');
  assert.equal(verbFor('GET', {}), 'list');
  assert.equal(verbFor('GET', { watch: 'true' }), 'watch');
  assert.equal(verbFor('GET', { name: 'x', watch: '1' }), 'watch');
  assert.equal(verbFor('post', {}), 'create');
  assert.equal(verbFor('PUT', { name: 'x' }), 'update');
  assert.equal(verbFor('PATCH', { name: 'x' }), 'patch');
  assert.equal(verbFor('DELETE', { name: 'x' }), 'delete');
  assert.equal(verbFor('DELETE', {}), 'deletecollection');
  assert.equal(verbFor('OPTIONS', {}), undefined);
});

test('resourceAttributes from a parsed API request', () => {
  const ksvc = { group: 'serving.knative.dev', plural: 'services' };
  assert.deepEqual(resourceAttributes('GET', { kind: ksvc, namespace: 'a', name: 'hello' }), { verb: 'get', resource: KSVC, namespace: 'a', name: 'hello' });
  assert.deepEqual(resourceAttributes('GET', { kind: ksvc, namespace: '' }, 'true'), { verb: 'watch', resource: KSVC });
  assert.deepEqual(resourceAttributes('GET', { kind: ksvc, namespace: 'a', legacyWatch: true }), { verb: 'watch', resource: KSVC, namespace: 'a' });
  assert.deepEqual(resourceAttributes('PUT', { kind: ksvc, namespace: 'a', name: 'x', subresource: 'status' }), { verb: 'update', resource: KSVC, namespace: 'a', name: 'x', subresource: 'status' });
  assert.deepEqual(resourceAttributes('DELETE', { kind: { group: '', plural: 'namespaces' }, namespace: '', name: 'b' }), { verb: 'delete', resource: 'core/namespaces', name: 'b' });
  assert.equal(resourceAttributes('OPTIONS', { kind: ksvc, namespace: 'a' }), undefined);
});
