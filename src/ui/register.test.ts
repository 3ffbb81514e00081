/**
 * /ui on an API server with access control on: the page is served without a token under a strict
 * Content-Security-Policy whose hashes match its inline style and scripts, it loads nothing from
 * elsewhere, and the API it reads still answers 401 without a token. With a token, the list and
 * watch the page makes work and their lines feed the page's view model.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createApiServer, type ApiServer } from '../apiserver/api-server.ts';
import { FakeClock } from '../lib/clock.ts';
import { ApiAuth, ensureAdminToken } from '../security/api-auth.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { registerDashboard } from './register.ts';
import { applyWatchEvent, collectionPath, dashboardKinds, serviceRow, splitWatchLines, type Obj } from './view-model.ts';

let dir: string;
let store: MemoryStore;
let api: ApiServer;
let base: string;
let admin: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-ui-'));
  admin = ensureAdminToken(dir);
  store = new MemoryStore({ historyLimit: 50 });
  api = createApiServer({ store, clock: new FakeClock(), auth: ApiAuth.load(dir) });
  registerDashboard(api);
  await api.listen(0);
  base = api.url();
});
after(async () => {
  await api.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

test('GET /ui/ serves the page without a token, under a CSP that allows only its own inline code', async () => {
  for (const p of ['/ui', '/ui/']) {
    const res = await fetch(base + p);
    assert.equal(res.status, 200, `${p} is served without a token`);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const csp = res.headers.get('content-security-policy') ?? '';
    const html = await res.text();
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"], 'fetches go to the API on this origin only');
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), `no unsafe-* sources: ${csp}`);
    // Exactly the page's inline scripts and style are allowed, by their sha256.
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 2, 'view model + app');
    assert.equal(styles.length, 1);
    assert.deepEqual(directives.get('script-src'), scripts.map(hash));
    assert.deepEqual(directives.get('style-src'), styles.map(hash));
    // Self-contained: no external scripts, styles, images or fonts; no inline handlers or style attributes.
    assert.ok(!/<script[^>]*\bsrc=|<link\b|<img\b|@import|url\(/i.test(html), 'nothing is loaded from elsewhere');
    assert.ok(!/\son[a-z]+=|\sstyle=/i.test(html), 'no inline event handlers or style attributes (the CSP would block them)');
    assert.ok(!/https?:\/\/(?!\/)/.test(html.replace(/\^https\?:\\\/\\\//g, '')), 'no absolute URLs to other hosts');
  }
});

test('HEAD, other methods and other paths under /ui', async () => {
  const head = await fetch(`${base}/ui/`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.ok(Number(head.headers.get('content-length')) > 1000, 'HEAD announces the page length');
  const post = await fetch(`${base}/ui/`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal((await fetch(`${base}/ui/app.js`)).status, 404, 'the page is the only thing under /ui');
  // Only /ui itself is public: a path that merely starts with the same letters is not.
  assert.equal((await fetch(`${base}/uix`)).status, 401);
});

test('the API the page reads still needs a token: 401 without one, lists and watches with one', async () => {
  const kinds = dashboardKinds();
  for (const k of kinds) {
    const p = collectionPath(k, '');
    assert.equal((await fetch(base + p)).status, 401, `${p} without a token`);
    assert.equal((await fetch(`${base}${p}?watch=true`)).status, 401, `${p}?watch=true without a token`);
    const res = await fetch(base + p, { headers: { Authorization: `Bearer ${admin}` } });
    assert.equal(res.status, 200, `${p} with the admin token`);
    const body = (await res.json()) as { items: unknown[] };
    assert.ok(Array.isArray(body.items), `${p} answers a list`);
  }
  assert.equal((await fetch(`${base}/api/v1/namespaces`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
});

test('a watch through the token streams lines the view model applies', async () => {
  const services = dashboardKinds().find((k) => k.key === 'services')!;
  const listRes = await fetch(base + collectionPath(services, 'default'), { headers: { Authorization: `Bearer ${admin}` } });
  const rv = ((await listRes.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const url = new URL(`${base}${collectionPath(services, 'default')}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`);
  const cache = new Map<string, Obj>();
  const got = new Promise<string>((resolve, reject) => {
    const req = http.get(url, { headers: { Authorization: `Bearer ${admin}` } }, (res) => {
      assert.equal(res.statusCode, 200);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const r = splitWatchLines(buffer + chunk);
        buffer = r.rest;
        for (const ev of r.events) {
          if (applyWatchEvent(cache, ev) === 'changed') {
            req.destroy();
            resolve(serviceRow(cache.get('default/hello')!).name);
          }
        }
      });
    });
    req.on('error', (e) => { if (!cache.size) reject(e); });
  });
  const create = await fetch(base + collectionPath(services, 'default'), {
    method: 'POST',
    headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default' }, spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } } }),
  });
  assert.equal(create.status, 201);
  assert.equal(await got, 'hello');
});
