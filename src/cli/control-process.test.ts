import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isSluiceError } from '../lib/errors.ts';
import { defaultConfig } from './config.ts';
import { ControlErrors, ControlProcess, type Component } from './control-process.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cp-'));
  dirs.push(d);
  return d;
}

function recorder(log: string[], name: string, endpoints?: Record<string, string>, fail = false): Component {
  return {
    name,
    async start(ctx) {
      log.push(`start ${name} sees ${Object.keys(ctx.endpoints).join(',')}`);
      if (fail) throw new Error('boom');
      return endpoints;
    },
    async stop() { log.push(`stop ${name}`); },
  };
}

test('components start in order, see earlier endpoints, stop in reverse; files written and removed', async () => {
  const dir = tmp();
  const config = defaultConfig();
  config.api.port = 0;
  config.store.backend = 'memory';
  const log: string[] = [];
  const cp = new ControlProcess({ stateDir: dir, config, components: [recorder(log, 'a', { xds: 'grpc://127.0.0.1:1' }), recorder(log, 'b')] });
  const started = await cp.start();
  assert.deepEqual(log, ['start a sees api,controlPid', 'start b sees api,controlPid,xds']);
  const endpoints = JSON.parse(fs.readFileSync(path.join(dir, 'endpoints.json'), 'utf8'));
  assert.deepEqual(Object.keys(endpoints), ['api', 'controlPid', 'xds']);
  assert.match(endpoints.api, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${started.endpoints.api}/readyz`)).status, 200);
  // Access control is on: the kubeconfig carries the admin token and points at the same port over TLS.
  const kubeconfig = fs.readFileSync(started.kubeconfigPath, 'utf8');
  assert.match(kubeconfig, new RegExp(`server: ${endpoints.api.replace('http:', 'https:')}`));
  assert.match(kubeconfig, new RegExp(`token: ${started.adminToken}`));
  assert.match(kubeconfig, /certificate-authority-data: \S+/);
  assert.equal(fs.statSync(started.kubeconfigPath).mode & 0o777, 0o600);
  const ns = `${started.endpoints.api}/api/v1/namespaces`;
  assert.equal((await fetch(ns)).status, 401);
  assert.equal((await fetch(ns, { headers: { Authorization: `Bearer ${started.adminToken}` } })).status, 200);
  await cp.stop();
  assert.deepEqual(log.slice(2), ['stop b', 'stop a']);
  assert.equal(fs.existsSync(path.join(dir, 'endpoints.json')), false);
});

test('a failing component is named; a second process on an in-use sqlite state dir fails and leaves the first alone', async () => {
  const dir = tmp();
  const config = defaultConfig();
  config.api.port = 0;
  const log: string[] = [];
  const bad = new ControlProcess({ stateDir: dir, config, components: [recorder(log, 'ok'), recorder(log, 'broken', undefined, true)] });
  await assert.rejects(bad.start(), (e: unknown) => isSluiceError(e, ControlErrors.ComponentStart) && e.message.includes('broken'));
  await bad.stop();
  assert.deepEqual(log, ['start ok sees api,controlPid', 'start broken sees api,controlPid', 'stop ok']);

  const first = new ControlProcess({ stateDir: dir, config });
  await first.start();
  const second = new ControlProcess({ stateDir: dir, config });
  await assert.rejects(second.start(), /in use/);
  await second.stop();
  assert.ok(fs.existsSync(path.join(dir, 'endpoints.json')), 'the running process keeps its endpoints.json');
  await first.stop();
});

test('a malformed tokens.yaml stops the start with the file and field named; nothing listens', async () => {
  const dir = tmp();
  const config = defaultConfig();
  config.api.port = 0;
  config.store.backend = 'memory';
  fs.writeFileSync(path.join(dir, 'tokens.yaml'), 'users:\n  - name: admin\n    token: short\n');
  const cp = new ControlProcess({ stateDir: dir, config });
  await assert.rejects(cp.start(), (e: unknown) => isSluiceError(e, 'SLUICE_E_AUTH_TOKENS_FILE') && e.message.includes(path.join(dir, 'tokens.yaml')) && /users\[0\]\.token/.test(e.message));
  await cp.stop();
  assert.equal(fs.existsSync(path.join(dir, 'endpoints.json')), false);
  assert.equal(fs.existsSync(path.join(dir, 'kubeconfig')), false);
});

test('Events expire after store.eventTTL: one posted through the API is gone a TTL later, other objects stay', async () => {
  const dir = tmp();
  const config = defaultConfig();
  config.api.port = 0;
  config.store.path = 'state.db'; // the real SQLite store
  config.store.eventTtlMs = 1500;
  const cp = new ControlProcess({ stateDir: dir, config, components: [] });
  const started = await cp.start();
  try {
    const headers = { Authorization: `Bearer ${started.adminToken}`, 'content-type': 'application/json' };
    const base = `${started.endpoints.api}/api/v1/namespaces/default`;
    const ev = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'hello.1' }, involvedObject: { kind: 'Pod', name: 'hello', namespace: 'default' }, reason: 'Started', message: 'started', type: 'Normal' };
    assert.equal((await fetch(`${base}/events`, { method: 'POST', headers, body: JSON.stringify(ev) })).status, 201);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'keep' }, stringData: { a: '1' } };
    assert.equal((await fetch(`${base}/secrets`, { method: 'POST', headers, body: JSON.stringify(secret) })).status, 201);
    assert.equal((await fetch(`${base}/events/hello.1`, { headers })).status, 200, 'there before its TTL');
    const deadline = Date.now() + 10_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await fetch(`${base}/events/hello.1`, { headers })).status;
    }
    assert.equal(status, 404, 'deleted after its TTL');
    assert.equal((await fetch(`${base}/secrets/keep`, { headers })).status, 200, 'not an Event: untouched');
  } finally {
    await cp.stop();
  }
});
