/**
 * `sluice ui`: prints the dashboard URL of the state dir's running API server with the
 * kubeconfig's admin token in the fragment (never in the path or query, which would reach the
 * server and its logs); names a missing server; without a token prints the bare URL and says why.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { io } from '../io.ts';
import { renderKubeconfig } from '../kubeconfig.ts';
import { main } from '../program.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function stateDir(opts: { api?: string; token?: string }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-ui-cli-'));
  dirs.push(d);
  if (opts.api) fs.writeFileSync(path.join(d, 'endpoints.json'), JSON.stringify({ api: opts.api, controlPid: '1' }));
  if (opts.token !== undefined) {
    const server = (opts.api ?? 'http://127.0.0.1:7070').replace(/^http:/, 'https:');
    fs.writeFileSync(path.join(d, 'kubeconfig'), renderKubeconfig({ server, token: opts.token || undefined, caPem: 'PEM', tlsServerName: 'localhost' }));
  }
  return d;
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = { out: io.out, err: io.err };
  let out = '';
  let err = '';
  io.out = (t) => { out += t; };
  io.err = (t) => { err += t; };
  const savedEnv = process.env.SLUICE_TOKEN;
  delete process.env.SLUICE_TOKEN;
  try {
    const code = await main(['node', 'sluice', 'ui', ...args]);
    return { code, out, err };
  } finally {
    io.out = saved.out;
    io.err = saved.err;
    if (savedEnv !== undefined) process.env.SLUICE_TOKEN = savedEnv;
  }
}

test('sluice ui prints the /ui URL with the admin token of the kubeconfig in the fragment', async () => {
  const dir = stateDir({ api: 'http://127.0.0.1:43123', token: 'adm+in/token=' });
  const r = await run(['--state-dir', dir]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'http://127.0.0.1:43123/ui/#token=adm%2Bin%2Ftoken%3D\n');
  const url = new URL(r.out.trim());
  assert.equal(url.pathname, '/ui/');
  assert.equal(url.search, '', 'the token is not in the query: browsers would send it');
  assert.equal(new URLSearchParams(url.hash.slice(1)).get('token'), 'adm+in/token=', 'the page reads the token back unchanged');
  assert.match(r.err, /carries an API token/);

  const ns = await run(['--state-dir', dir, '-n', 'team-a']);
  assert.equal(ns.out, 'http://127.0.0.1:43123/ui/#token=adm%2Bin%2Ftoken%3D&ns=team-a\n');
  const explicit = await run(['--state-dir', dir, '--server', 'http://10.0.0.5:7070/', '--token', 'other']);
  assert.equal(explicit.out, 'http://10.0.0.5:7070/ui/#token=other\n');
});

test('sluice ui without a running sluice names the missing endpoints.json; without a token it prints the bare URL', async () => {
  const none = stateDir({});
  const r = await run(['--state-dir', none]);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /no running sluice found: .*endpoints\.json does not exist.*sluice up/);
  assert.match(r.err, /SLUICE_E_CLI_NO_SERVER/);

  const noToken = stateDir({ api: 'http://127.0.0.1:7070' });
  const t = await run(['--state-dir', noToken]);
  assert.equal(t.code, 0, t.err);
  assert.equal(t.out, 'http://127.0.0.1:7070/ui/\n');
  assert.match(t.err, /no token found .*kubeconfig.*the page will ask for one/);
});
