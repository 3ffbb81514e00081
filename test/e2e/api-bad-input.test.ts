/**
 * Bad input against `sluice up`: each answer has the right HTTP code, a Kubernetes Status naming
 * the field or line, and the store is unchanged afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SERVICES, call, ksvc, startSluice, type SluiceProc } from './api-harness.ts';

let s: SluiceProc;
before(async () => {
  s = await startSluice({ store: 'memory' });
  const r = await call(s, 'POST', SERVICES, ksvc('existing'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

async function snapshot(): Promise<string> {
  const r = await call(s, 'GET', SERVICES);
  assert.equal(r.status, 200);
  return JSON.stringify(r.body.items.map((o: any) => [o.metadata.name, o.metadata.resourceVersion]));
}

/** Sends a bad request, checks code, reason and message/field, and that nothing was stored. */
async function refused(method: string, p: string, body: unknown, code: number, reason: string, mention: RegExp, headers: Record<string, string> = {}): Promise<any> {
  const before = await snapshot();
  const r = await call(s, method, p, body, headers);
  assert.equal(r.status, code, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'Status');
  assert.equal(r.body.status, 'Failure');
  assert.equal(r.body.code, code);
  assert.equal(r.body.reason, reason);
  const text = `${r.body.message} ${JSON.stringify(r.body.details ?? {})}`;
  assert.match(text, mention);
  assert.equal(await snapshot(), before, 'store unchanged');
  return r;
}

test('malformed JSON → 400 naming line and column', async () => {
  await refused('POST', SERVICES, '{\n "apiVersion": "serving.knative.dev/v1",\n "kind": "Service",\n "metadata": {"name": "x"},\n}', 400, 'BadRequest', /line 5, column 1/);
});

test('malformed YAML → 400 naming the line', async () => {
  await refused('POST', SERVICES, 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: [x\n', 400, 'BadRequest', /line \d+, column \d+/, { 'Content-Type': 'application/yaml' });
});

test('unknown apiVersion or kind → 400 naming the field; unknown group → 404', async () => {
  await refused('POST', SERVICES, { ...ksvc('x'), apiVersion: 'serving.knative.dev/v2' }, 400, 'BadRequest', /apiVersion/);
  await refused('POST', SERVICES, { ...ksvc('x'), kind: 'Servise' }, 400, 'BadRequest', /kind/);
  await refused('POST', '/apis/nope.example.com/v1/namespaces/default/things', ksvc('x'), 404, 'NotFound', /could not find the requested resource/);
});

test('missing required field → 422 naming the field path', async () => {
  const body = ksvc('noimage');
  (body as any).spec.template.spec.containers[0] = {};
  await refused('POST', SERVICES, body, 422, 'Invalid', /spec\.template\.spec\.containers\[0\]\.image/);
});

test('invalid name → 422 naming metadata.name', async () => {
  await refused('POST', SERVICES, ksvc('Not_A_Valid_Name'), 422, 'Invalid', /metadata\.name/);
});

test('wrong type → 422 naming the field', async () => {
  const body = ksvc('wrongtype');
  (body as any).spec.template.spec.timeoutSeconds = 'soon';
  await refused('POST', SERVICES, body, 422, 'Invalid', /spec\.template\.spec\.timeoutSeconds/);
});

test('unknown field: refused under Strict (400 strict decoding), a Warning header otherwise', async () => {
  const body = ksvc('unknownfield');
  (body as any).spec.template.spec.bogus = 1;
  await refused('POST', `${SERVICES}?fieldValidation=Strict`, body, 400, 'BadRequest', /unknown field "spec\.template\.spec\.bogus"/);
  const r = await call(s, 'POST', SERVICES, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.headers.get('warning') ?? '', /^299 - ".*unknown field.*spec\.template\.spec\.bogus/);
  assert.equal((await call(s, 'DELETE', `${SERVICES}/unknownfield`)).status, 200);
});

test('body over 3 MiB → 413', async () => {
  const body = ksvc('huge');
  (body as any).metadata.annotations = { big: 'x'.repeat(3 * 1024 * 1024 + 10) };
  await refused('POST', SERVICES, body, 413, 'RequestEntityTooLarge', /larger than the limit/);
});

test('update with a stale resourceVersion → 409 Conflict', async () => {
  const cur = await call(s, 'GET', `${SERVICES}/existing`);
  const stale = structuredClone(cur.body);
  const fresh = structuredClone(cur.body);
  fresh.metadata.labels = { round: '1' };
  assert.equal((await call(s, 'PUT', `${SERVICES}/existing`, fresh)).status, 200);
  stale.metadata.labels = { round: 'stale' };
  await refused('PUT', `${SERVICES}/existing`, stale, 409, 'Conflict', /existing/);
});

test('object in a missing namespace → 404 namespaces "x" not found', async () => {
  await refused('POST', '/apis/serving.knative.dev/v1/namespaces/nowhere/services', ksvc('x'), 404, 'NotFound', /namespaces "nowhere" not found/);
});

test('body naming another namespace or name than the URL → 400', async () => {
  await refused('POST', SERVICES, { ...ksvc('x'), metadata: { name: 'x', namespace: 'other' } }, 400, 'BadRequest', /metadata\.namespace/);
  const cur = await call(s, 'GET', `${SERVICES}/existing`);
  await refused('PUT', `${SERVICES}/existing`, { ...cur.body, metadata: { ...cur.body.metadata, name: 'renamed' } }, 400, 'BadRequest', /metadata\.name/);
});

test('unsupported media type → 415; unknown method → 405', async () => {
  await refused('POST', SERVICES, 'x', 415, 'UnsupportedMediaType', /text\/plain/, { 'Content-Type': 'text/plain' });
  await refused('PATCH', `${SERVICES}/existing`, '{}', 415, 'UnsupportedMediaType', /merge-patch/, { 'Content-Type': 'application/json' });
});
