/**
 * API access control with the machine's kubectl against `sluice up`: no token is 401; a token
 * made with `sluice token create` for role edit in namespace team-a applies and edits a Knative
 * Service there and is refused (403 Status, kube-apiserver's message) in team-b; a view token
 * reads but cannot read Secrets or delete; the admin kubeconfig works everywhere. Bad input: a
 * malformed tokens.yaml is rejected and the previous tokens keep working; a later good edit
 * applies without a restart.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { io } from '../../src/cli/io.ts';
import { main } from '../../src/cli/program.ts';
import { REPO, call, startSluice, tempDir, type SluiceProc } from './api-harness.ts';

const run = promisify(execFile);
const KUBECTL = fs.existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : 'kubectl';
const HELLO = path.join(REPO, 'examples/hello.yaml');
const ksvcPath = (ns: string, name = '') => `/apis/serving.knative.dev/v1/namespaces/${ns}/services${name ? `/${name}` : ''}`;

let s: SluiceProc;
let dir: string;
before(async () => {
  s = await startSluice({ store: 'memory' });
  dir = tempDir('sluice-auth-e2e-');
});
after(async () => {
  await s?.stop();
  s?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** kubectl with a kubeconfig; never throws: returns exit code and output. */
async function kubectl(kubeconfig: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), '--request-timeout', '20s', ...args], { timeout: 30_000 });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
async function ok(kubeconfig: string, ...args: string[]): Promise<string> {
  const r = await kubectl(kubeconfig, ...args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs the sluice CLI in-process, capturing what it prints. */
async function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { out: io.out, err: io.err };
  let stdout = '';
  let stderr = '';
  io.out = (t) => { stdout += t; };
  io.err = (t) => { stderr += t; };
  try {
    return { code: await main(['node', 'sluice', ...args]), stdout, stderr };
  } finally {
    io.out = saved.out;
    io.err = saved.err;
  }
}

/** Polls (bounded: 50 tries, 100 ms apart) until `fn` holds: the server re-reads tokens.yaml about once a second. */
async function eventually(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const statusOf = async (token: string, p: string) => (await call(s.api, 'GET', p, undefined, bearer(token))).status;

let editToken = '';
let editKubeconfig = '';
let viewKubeconfig = '';

test('without a token the API answers 401 Unauthorized as a Status; health paths stay open', async () => {
  const r = await call(s.api, 'GET', ksvcPath('default'));
  assert.equal(r.status, 401);
  assert.deepEqual(r.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  assert.equal((await call(s.api, 'GET', '/version', undefined, bearer('not-a-known-token-at-all'))).status, 401);
  assert.equal((await call(s.api, 'GET', `${ksvcPath('default')}?watch=true`)).status, 401, 'watches too');
  assert.equal((await call(s.api, 'GET', '/healthz')).status, 200);
  assert.equal((await call(s.api, 'GET', '/readyz')).status, 200);

  // kubectl with the server's address and CA but no token
  const anon = path.join(dir, 'anon.kubeconfig');
  fs.writeFileSync(anon, fs.readFileSync(s.kubeconfig, 'utf8').replace(/token: \S+/, 'token: wrong-token-wrong-token'));
  const k = await kubectl(anon, 'get', 'ksvc');
  assert.notEqual(k.code, 0);
  assert.match(k.stderr, /You must be logged in to the server/);
});

test('the admin kubeconfig of sluice up works everywhere; sluice token create makes scoped tokens', async () => {
  assert.match(fs.readFileSync(s.kubeconfig, 'utf8'), /server: https:\/\/127\.0\.0\.1:\d+/);
  await ok(s.kubeconfig, 'create', 'namespace', 'team-a');
  await ok(s.kubeconfig, 'create', 'namespace', 'team-b');
  await ok(s.kubeconfig, 'create', 'secret', 'generic', 'db', '-n', 'team-a', '--from-literal=password=s3cret');

  editKubeconfig = path.join(dir, 'alice.kubeconfig');
  const made = await sluice('token', 'create', 'alice', '--namespace', 'team-a', '--role', 'edit', '--state-dir', s.stateDir, '--kubeconfig', editKubeconfig);
  assert.equal(made.code, 0, made.stderr);
  editToken = made.stdout.trim();
  assert.match(editToken, /^[A-Za-z0-9_-]{40,}$/);
  assert.equal(fs.statSync(editKubeconfig).mode & 0o777, 0o600);
  assert.match(fs.readFileSync(editKubeconfig, 'utf8'), /namespace: team-a/);

  viewKubeconfig = path.join(dir, 'victor.kubeconfig');
  const view = await sluice('token', 'create', 'victor', '-n', 'team-a', '--role', 'view', '--state-dir', s.stateDir, '--kubeconfig', viewKubeconfig);
  assert.equal(view.code, 0, view.stderr);
  const viewToken = view.stdout.trim();
  await eventually('the new tokens to be accepted', async () => (await statusOf(editToken, ksvcPath('team-a'))) === 200 && (await statusOf(viewToken, ksvcPath('team-a'))) === 200);

  // bad input to the command: an existing user, an unknown role, a bad namespace name
  const dup = await sluice('token', 'create', 'alice', '-n', 'team-b', '--role', 'view', '--state-dir', s.stateDir);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /user "alice" already has a token in .*tokens\.yaml.*\[SLUICE_E_TOKEN_USER_EXISTS\]/);
  const role = await sluice('token', 'create', 'bob', '-n', 'team-a', '--role', 'owner', '--state-dir', s.stateDir);
  assert.notEqual(role.code, 0);
  assert.match(role.stderr, /"owner" is not a namespace role; use one of admin, edit, view/);
  const ns = await sluice('token', 'create', 'bob', '-n', 'Team_A', '--role', 'edit', '--state-dir', s.stateDir);
  assert.notEqual(ns.code, 0);
  assert.match(ns.stderr, /"Team_A" is not a namespace name/);
});

test('an edit token applies and edits a Knative Service in its namespace and is refused in another', async () => {
  assert.match(await ok(editKubeconfig, 'apply', '-f', HELLO), /service\.serving\.knative\.dev\/hello created/);
  assert.match(await ok(editKubeconfig, 'patch', 'ksvc', 'hello', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { team: 'a' } } })), /hello patched/);
  assert.match(await ok(editKubeconfig, 'get', 'ksvc', 'hello', '-o', 'jsonpath={.metadata.labels.team}'), /^a$/);
  assert.match(await ok(editKubeconfig, 'get', 'secret', 'db', '-o', 'name'), /secret\/db/, 'edit reads Secrets of its namespace');

  const other = await kubectl(editKubeconfig, 'apply', '-n', 'team-b', '-f', HELLO);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /Error from server \(Forbidden\)[\s\S]*services\.serving\.knative\.dev "hello" is forbidden: User "alice" cannot (get|patch|create) resource "services" in API group "serving\.knative\.dev" in the namespace "team-b"/);
  const list = await kubectl(editKubeconfig, 'get', 'ksvc', '-n', 'team-b');
  assert.match(list.stderr, /Error from server \(Forbidden\): services\.serving\.knative\.dev is forbidden: User "alice" cannot list resource "services" in API group "serving\.knative\.dev" in the namespace "team-b"/);
  const all = await kubectl(editKubeconfig, 'get', 'ksvc', '-A');
  assert.match(all.stderr, /User "alice" cannot list resource "services" in API group "serving\.knative\.dev" at the cluster scope/);

  // the Status object itself, for a create and for a watch
  const r = await call(s.api, 'POST', ksvcPath('team-b'), { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'x' }, spec: {} }, bearer(editToken));
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403,
    message: 'services.serving.knative.dev is forbidden: User "alice" cannot create resource "services" in API group "serving.knative.dev" in the namespace "team-b"',
    details: { group: 'serving.knative.dev', kind: 'services' },
  });
  const w = await call(s.api, 'GET', `${ksvcPath('team-b')}?watch=true`, undefined, bearer(editToken));
  assert.equal(w.status, 403);
  assert.match(w.body.message, /cannot watch resource "services"/);
  assert.equal(await statusOf(editToken, '/apis/serving.knative.dev/v1'), 200, 'discovery is open to authenticated users');
  assert.equal(await statusOf(editToken, '/metrics'), 403, 'other non-resource paths need cluster-admin');
  assert.equal((await kubectl(editKubeconfig, 'create', 'namespace', 'team-c')).stderr.includes('cannot create resource "namespaces" in API group "" at the cluster scope'), true);

  // the admin kubeconfig reaches team-b
  assert.match(await ok(s.kubeconfig, 'apply', '-n', 'team-b', '-f', HELLO), /hello created/);
  assert.match(await ok(s.kubeconfig, 'get', 'ksvc', '-A'), /team-a\s+hello[\s\S]*team-b\s+hello/);
});

test('a view token reads its namespace but not Secrets, and cannot write', async () => {
  assert.match(await ok(viewKubeconfig, 'get', 'ksvc'), /^hello\s/m);
  const secrets = await kubectl(viewKubeconfig, 'get', 'secrets');
  assert.match(secrets.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "victor" cannot list resource "secrets" in API group "" in the namespace "team-a"/);
  const del = await kubectl(viewKubeconfig, 'delete', 'ksvc', 'hello');
  assert.match(del.stderr, /services\.serving\.knative\.dev "hello" is forbidden: User "victor" cannot delete resource "services" in API group "serving\.knative\.dev" in the namespace "team-a"/);
  assert.match(await ok(editKubeconfig, 'get', 'ksvc', 'hello', '-o', 'name'), /hello/, 'the refused delete changed nothing');
});

test('bad input: a malformed tokens.yaml is rejected and the previous tokens stay; a good edit applies without a restart', async () => {
  const file = path.join(s.stateDir, 'tokens.yaml');
  const good = fs.readFileSync(file, 'utf8');
  // A broken file that, were it applied, would drop alice.
  fs.writeFileSync(file, 'users:\n  - name: mallory\n    token: short\nbindings: [\n');
  // The server checks the file when requests arrive (at most once a second).
  await eventually('the server to reject the file', async () => (await statusOf(editToken, ksvcPath('team-a'))) > 0 && /API tokens file rejected/.test(s.output()));
  assert.match(s.output(), /SLUICE_E_AUTH_TOKENS_FILE|not valid YAML/);
  assert.equal(await statusOf(editToken, ksvcPath('team-a')), 200, 'alice keeps working');
  assert.match(await ok(s.kubeconfig, 'get', 'ksvc', '-n', 'team-a', '-o', 'name'), /hello/, 'admin keeps working');

  // A schema error (unknown role) is rejected the same way.
  fs.writeFileSync(file, good.replace(/role: edit/, 'role: owner'));
  await eventually('the server to reject the unknown role', async () => (await statusOf(editToken, ksvcPath('team-a'))) > 0 && /unknown role \\?"owner\\?"/.test(s.output()));
  assert.equal(await statusOf(editToken, ksvcPath('team-a')), 200);

  // A good edit that removes alice's binding applies: her token authenticates but is forbidden.
  const doc = good.replace(/\n {2}- role: edit\n {4}namespace: team-a\n {4}subjects:\n {6}- kind: User\n {8}name: alice\n/, '\n');
  assert.notEqual(doc, good, 'the binding was found in the file');
  fs.writeFileSync(file, doc);
  await eventually('the binding removal to apply', async () => (await statusOf(editToken, ksvcPath('team-a'))) === 403);
  assert.equal(await statusOf(s.token, ksvcPath('team-a')), 200);
});
