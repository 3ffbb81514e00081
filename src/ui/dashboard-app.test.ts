/**
 * The page's own scripts, run without a browser: the two inline scripts of DASHBOARD_HTML in a VM
 * context with a small fake DOM (the elements the page's HTML declares) and a fake API behind
 * fetch serving the recorded objects (testdata/recorded.json) as lists and as watch streams.
 * Checks: token from the fragment (then gone from the address bar), lists then watches with the
 * token in the Authorization header only, rows rendered from the view model, warnings flagged,
 * object data always rendered as text, watch events applied live, 410 relists, 401 asks for a token.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../api/meta.ts';
import { createApiServer } from '../apiserver/api-server.ts';
import { ApiAuth, ensureAdminToken } from '../security/api-auth.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { APP_SCRIPT } from './dashboard-app.ts';
import { registerDashboard } from './register.ts';
import { DASHBOARD_HTML } from './dashboard-page.ts';
import type { Obj } from './view-model.ts';

const rec = JSON.parse(fs.readFileSync(new URL('./testdata/recorded.json', import.meta.url), 'utf8')) as Record<string, Obj[]>;

class FakeElement {
  children: FakeElement[] = [];
  parentNode: FakeElement | undefined;
  className = '';
  hidden = false;
  value = '';
  title = '';
  href = '';
  rel = '';
  target = '';
  colSpan = 1;
  private text = '';
  private listeners = new Map<string, ((e: unknown) => void)[]>();
  readonly classList = { toggle: (c: string, on: boolean) => { const s = new Set(this.className.split(' ').filter(Boolean)); if (on) s.add(c); else s.delete(c); this.className = [...s].join(' '); } };
  constructor(readonly tagName: string, readonly id = '', readonly thCount = 0) {}
  get textContent(): string { return this.text + this.children.map((c) => c.textContent).join(''); }
  set textContent(v: string) { this.text = String(v); this.children = []; }
  appendChild(c: FakeElement): FakeElement { c.parentNode = this; this.children.push(c); return c; }
  replaceChildren(...cs: FakeElement[]): void { this.text = ''; this.children = []; for (const c of cs) this.appendChild(c); }
  addEventListener(type: string, fn: (e: unknown) => void): void { this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]); }
  dispatch(type: string): void { for (const fn of this.listeners.get(type) ?? []) fn({ type, preventDefault() {} }); }
  requestSubmit(): void { this.dispatch('submit'); }
  click(): void { this.dispatch('click'); }
  focus(): void {}
  querySelectorAll(sel: string): unknown[] { assert.equal(sel, 'thead th'); return new Array(this.thCount); }
  /** Rows of a tbody as arrays of cell texts. */
  rows(): string[][] { return this.children.map((tr) => tr.children.map((td) => td.textContent)); }
}

/** The page's elements by id; each tbody's parent table knows its header count. */
function fakeDocument(created: string[]): { doc: unknown; byId: Map<string, FakeElement> } {
  const byId = new Map<string, FakeElement>();
  for (const m of DASHBOARD_HTML.matchAll(/<table>(.*?)<\/table>/g)) {
    const ths = (m[1]!.match(/<th[ >]/g) ?? []).length;
    const id = /<tbody id="([^"]+)"/.exec(m[1]!)![1]!;
    const table = new FakeElement('table', '', ths);
    byId.set(id, table.appendChild(new FakeElement('tbody', id)));
  }
  for (const m of DASHBOARD_HTML.matchAll(/<(\w+) id="([^"]+)"([^>]*)>/g)) {
    if (!byId.has(m[2]!)) {
      const e = new FakeElement(m[1]!, m[2]!);
      e.hidden = /\bhidden\b/.test(m[3]!);
      byId.set(m[2]!, e);
    }
  }
  const body = new FakeElement('body');
  const doc = {
    body,
    getElementById: (id: string) => byId.get(id) ?? null,
    createElement: (tag: string) => { created.push(tag); return new FakeElement(tag); },
  };
  return { doc, byId };
}

/** A fake API: lists from the recorded objects, watches as streams the test writes to. */
class FakeApi {
  token = 'good';
  requests: { url: string; auth: string }[] = [];
  objects = new Map<string, Obj[]>(Object.entries(rec));
  rv = 100;
  watches = new Map<string, ReadableStreamDefaultController<Uint8Array>[]>();

  fetch = async (url: string, init: { headers: Record<string, string>; signal?: AbortSignal }): Promise<Response> => {
    const auth = init.headers.Authorization ?? '';
    this.requests.push({ url, auth });
    const u = new URL(url, 'http://page');
    // "scoped" may read namespace default only, as a `sluice token create --role view -n default` token.
    if (auth === 'Bearer scoped' && !u.pathname.includes('/namespaces/default/')) return Response.json({ kind: 'Status', code: 403, message: `User "victor" cannot list resource at ${u.pathname}` }, { status: 403, statusText: 'Forbidden' });
    if (auth !== `Bearer ${this.token}` && auth !== 'Bearer scoped') return Response.json({ kind: 'Status', code: 401, message: 'Unauthorized' }, { status: 401, statusText: 'Unauthorized' });
    const segs = u.pathname.split('/');
    const plural = segs[segs.length - 1]!;
    const nsIdx = segs.indexOf('namespaces');
    const ns = nsIdx >= 0 && nsIdx < segs.length - 2 ? segs[nsIdx + 1] : '';
    if (plural === 'namespaces') return Response.json({ kind: 'NamespaceList', metadata: { resourceVersion: String(this.rv) }, items: [{ metadata: { name: 'default' } }, { metadata: { name: 'team-a' } }] });
    if (u.searchParams.get('watch') === 'true') {
      const stream = new ReadableStream<Uint8Array>({
        start: (c) => {
          this.watches.set(plural, [...(this.watches.get(plural) ?? []), c]);
          init.signal?.addEventListener('abort', () => { try { c.error(new Error('aborted')); } catch { /* closed */ } });
        },
      });
      return new Response(stream, { status: 200, headers: { 'Content-Type': 'application/json' } });
    }
    const items = (this.objects.get(plural) ?? []).filter((o) => !ns || o.metadata?.namespace === ns).map((o) => { const c = { ...o }; delete c.kind; return c; });
    const kind = plural === 'domainmappings' ? 'DomainMappingList' : 'List';
    return Response.json({ kind, metadata: { resourceVersion: String(this.rv) }, items });
  };

  send(plural: string, ev: unknown): void {
    for (const c of this.watches.get(plural) ?? []) c.enqueue(new TextEncoder().encode(JSON.stringify(ev) + '\n'));
  }
  end(plural: string): void {
    for (const c of this.watches.get(plural) ?? []) { try { c.close(); } catch { /* errored */ } }
    this.watches.delete(plural);
  }
  count(pred: (r: { url: string }) => boolean): number { return this.requests.filter(pred).length; }
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

type FetchFn = (url: string, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<Response>;

function boot(hash: string, storage = new Map<string, string>(), realFetch?: FetchFn) {
  const created: string[] = [];
  const { doc, byId } = fakeDocument(created);
  const fakeApi = new FakeApi();
  const location = { hash, pathname: '/ui/', search: '' };
  const replaced: string[] = [];
  const ctx = vm.createContext({
    document: doc,
    location,
    history: { replaceState: (_s: unknown, _t: string, url: string) => { replaced.push(url); location.hash = ''; } },
    sessionStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => { storage.set(k, String(v)); }, removeItem: (k: string) => { storage.delete(k); } },
    fetch: realFetch ?? fakeApi.fetch,
    setTimeout, clearTimeout,
    setInterval: () => 0,
    TextDecoder, AbortController, URLSearchParams, Promise,
  });
  const scripts = [...DASHBOARD_HTML.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  for (const s of scripts) vm.runInContext(s, ctx);
  const el = (id: string): FakeElement => { const e = byId.get(id); assert.ok(e, `#${id} exists`); return e; };
  return { el, api: fakeApi, storage, replaced, created, stop: () => el('forget').click() };
}

test('the app script renders nothing through HTML parsing', () => {
  assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*['"]on/.test(APP_SCRIPT), 'no HTML-parsing or code-evaluating sinks');
});

test('without a token the page asks for one and makes no API request', async () => {
  const page = boot('');
  assert.equal(page.el('login').hidden, false);
  assert.equal(page.el('main').hidden, true);
  assert.equal(page.api.requests.length, 0);
  // Submitting the form connects with it.
  page.el('token-input').value = ' good ';
  page.el('login-form').dispatch('submit');
  await until('services listed', () => page.el('services-body').rows().some((r) => r.includes('hello')));
  assert.equal(page.storage.get('sluice.ui.token'), 'good');
  page.stop();
});

test('token from the fragment: lists, watches and renders every section; live updates; 410 relists; 401 asks again', async () => {
  const page = boot('#token=good');
  try {
    assert.deepEqual(page.replaced, ['/ui/'], 'the token is removed from the address bar');
    assert.equal(page.storage.get('sluice.ui.token'), 'good');
    await until('every watched kind streams', () => ['services', 'revisions', 'pods', 'routes', 'events'].every((k) => page.api.watches.has(k)));
    await until('tables rendered', () => page.el('pods-body').rows().length === 2 && page.el('routes-body').rows().length === 3);
    assert.ok(page.api.requests.every((r) => !r.url.includes('good') && r.auth === 'Bearer good'), 'the token travels in the Authorization header only');
    assert.ok(page.api.requests.some((r) => r.url === '/apis/serving.knative.dev/v1/services?watch=true&allowWatchBookmarks=true&timeoutSeconds=' + new URL(r.url, 'http://x').searchParams.get('timeoutSeconds') + '&resourceVersion=100'), 'watch resumes from the list resourceVersion');

    const services = page.el('services-body').rows();
    assert.deepEqual(services.map((r) => r[1]), ['broken', 'hello'], 'sorted by namespace/name');
    const hello = services.find((r) => r[1] === 'hello')!;
    assert.deepEqual(hello, ['default', 'hello', 'http://hello.default.sluice.localhost', 'hello-00002', 'True', 'hello-00002 90%, hello-00001 10% (tag old)']);
    assert.equal(services.find((r) => r[1] === 'broken')![4], 'False RevisionFailed');
    const pods = page.el('pods-body').rows();
    assert.ok(pods.some((r) => r[3] === 'CrashLoopBackOff' && r[4] === '0/1' && r[5] === '3'), `crash-looping pod shown: ${JSON.stringify(pods)}`);
    assert.ok(page.el('revisions-body').rows().some((r) => r[1] === 'broken-00001' && r[4] === '0 / 1'), 'actual / desired replicas');
    assert.ok(page.el('routes-body').rows().some((r) => r[1] === 'DomainMapping' && r[5] === 'False CertificateProvisionFailed'), 'DomainMappings with the Routes');
    const events = page.el('events-body');
    assert.equal(events.children[0]!.className, 'warning', 'the newest event is the warning, highlighted');
    assert.equal(events.children[1]!.className, '');
    const summary = page.el('summary').children.map((c) => c.textContent);
    assert.ok(summary.includes('1 / 2Services ready'), JSON.stringify(summary));
    assert.ok(summary.some((s) => s.startsWith('1Gateways')) && summary.some((s) => s.startsWith('1AuthorizationPolicies')) && summary.some((s) => s.startsWith('1PeerAuthentications')), JSON.stringify(summary));
    assert.match(page.el('status').textContent, /Services: live/);

    // A watch event with hostile text: rendered as text, no element but the page's own kinds made.
    page.api.send('services', { type: 'ADDED', object: { kind: 'Service', metadata: { namespace: 'team-a', name: 'evil', resourceVersion: '101' }, status: { url: 'javascript:alert(1)', conditions: [{ type: 'Ready', status: 'False', reason: '<img src=x onerror=alert(1)>', message: '<script>alert(2)</script>' }] } } });
    await until('evil row', () => page.el('services-body').rows().some((r) => r[1] === 'evil'));
    const evil = page.el('services-body').children.find((tr) => tr.children[1]!.textContent === 'evil')!;
    assert.equal(evil.children[4]!.textContent, 'False <img src=x onerror=alert(1)>');
    assert.equal(evil.children[4]!.title, '<script>alert(2)</script>');
    assert.equal(evil.children[2]!.children.length, 0, 'a javascript: URL is not made a link');
    assert.ok(page.created.every((t) => ['tr', 'td', 'span', 'a', 'div', 'option'].includes(t)), `only the page's own elements: ${[...new Set(page.created)]}`);

    // DELETED removes it; ERROR 410 makes the page list again.
    page.api.send('services', { type: 'DELETED', object: { metadata: { namespace: 'team-a', name: 'evil', resourceVersion: '102' } } });
    await until('evil gone', () => !page.el('services-body').rows().some((r) => r[1] === 'evil'));
    const lists = (): number => page.api.count((r) => r.url === '/apis/serving.knative.dev/v1/services');
    const before = lists();
    page.api.send('services', { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } });
    await until('relisted after 410', () => lists() === before + 1);

    // The namespace filter restarts everything in that namespace only.
    page.el('ns').value = 'team-a';
    page.el('ns').dispatch('change');
    await until('namespaced list', () => page.api.requests.some((r) => r.url === '/apis/serving.knative.dev/v1/namespaces/team-a/services'));
    await until('empty table note', () => page.el('services-body').rows().length === 1 && page.el('services-body').rows()[0]![0] === 'none');
    assert.equal(page.storage.get('sluice.ui.namespace'), 'team-a');

    // The token is revoked: the next request gets 401 and the page asks for a token.
    page.api.token = 'rotated';
    page.api.end('services');
    await until('login shown', () => page.el('login').hidden === false);
    assert.match(page.el('login-message').textContent, /refused the token/);
    assert.equal(page.storage.has('sluice.ui.token'), false, 'the rejected token is forgotten');
  } finally {
    page.stop();
  }
});

test('a namespace-scoped token: each section says why it cannot read all namespaces; the namespace from the fragment works', async () => {
  const page = boot('#token=scoped');
  try {
    await until('forbidden noted', () => /cannot read: User "victor" cannot list .*needs a namespace/.test(page.el('services-body').textContent));
    assert.match(page.el('status').textContent, /Services: error/);
    assert.ok(page.el('summary').children.some((c) => c.textContent.startsWith('?Gateways')), 'unknown count, not 0');
  } finally {
    page.stop();
  }
  const scoped = boot('#token=scoped&ns=default');
  try {
    await until('services of default', () => scoped.el('services-body').rows().some((r) => r[0] === 'hello'));
    assert.equal(scoped.el('ns').value, 'default');
    assert.ok(scoped.api.requests.every((r) => r.url.startsWith('/api/v1/namespaces') || r.url.includes('/namespaces/default/')), 'only namespace default is asked for');
  } finally {
    scoped.stop();
  }
});

test('against the real API server: the page lists and watches with the token and shows objects as they are written', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sluice-ui-app-'));
  const token = ensureAdminToken(dir);
  const store = new MemoryStore({ historyLimit: 100 });
  const api = createApiServer({ store, auth: ApiAuth.load(dir) });
  registerDashboard(api);
  await api.listen(0);
  const base = api.url();
  const strip = (o: Obj): KubeObject => { const c = structuredClone(o); delete c.metadata.resourceVersion; delete c.metadata.uid; delete c.metadata.creationTimestamp; delete c.metadata.generation; return c as KubeObject; };
  await store.create('security.istio.io/peerauthentications', strip(rec.peerauthentications![0]!));
  await store.create('serving.knative.dev/domainmappings', strip(rec.domainmappings![0]!));
  const page = boot(`#token=${encodeURIComponent(token)}`, new Map(), (url, init) => fetch(base + url, init));
  try {
    await until('services watched', () => /Services: live/.test(page.el('status').textContent));
    await until('every watched kind live', () => ['Revisions', 'Pods', 'Routes', 'Events'].every((k) => page.el('status').textContent.includes(`${k}: live`)));
    assert.equal(page.el('services-body').rows()[0]![0], 'none');
    // Written after the page connected: arrives through the watch streams.
    await store.create('serving.knative.dev/services', strip(rec.services!.find((o) => o.metadata.name === 'hello')!));
    await store.create('core/pods', strip(rec.pods!.find((o) => o.metadata.name.startsWith('broken'))!));
    await store.create('core/events', strip(rec.events!.find((o) => o.type === 'Warning')!));
    await until('service row', () => page.el('services-body').rows().some((r) => r[1] === 'hello' && r[5] === 'hello-00002 90%, hello-00001 10% (tag old)'));
    await until('pod row', () => page.el('pods-body').rows().some((r) => r[3] === 'CrashLoopBackOff'));
    await until('warning row', () => page.el('events-body').children.some((tr) => tr.className === 'warning'));
    // Polled kinds (Istio policies, DomainMappings) are listed too.
    await until('peer authentication counted', () => page.el('summary').children.some((c) => c.textContent.startsWith('1PeerAuthentications')));
    assert.ok(page.el('routes-body').rows().some((r) => r[1] === 'DomainMapping' && r[2] === 'app.example.test'), 'DomainMapping listed');
    await store.delete('serving.knative.dev/services', 'default', 'hello');
    await until('service gone', () => !page.el('services-body').rows().some((r) => r[1] === 'hello'));
  } finally {
    page.stop();
    await api.close();
    await store.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
