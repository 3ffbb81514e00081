import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openapiV2Document, openapiV2Protobuf, openapiV3Document, openapiV3Paths } from './openapi.ts';
import { encodeSwaggerProto } from './openapi-v2-proto.ts';
import { toSwaggerSchema } from './openapi-v2.ts';
import { KINDS, apiVersionOf } from './registry.ts';

type Doc = { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, any> } };

const gvPath = (k: (typeof KINDS)[number]) => (k.group ? `apis/${k.group}/${k.version}` : `api/${k.version}`);

test('the v3 index lists every group-version with a hashed URL', () => {
  const idx = openapiV3Paths();
  const want = [...new Set(KINDS.map(gvPath))].sort();
  assert.deepEqual(Object.keys(idx.paths).sort(), want);
  for (const [gv, { serverRelativeURL }] of Object.entries(idx.paths)) {
    assert.match(serverRelativeURL, new RegExp(`^/openapi/v3/${gv.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`));
  }
  assert.equal(openapiV3Paths(), idx, 'built once');
});

test('every kind has a schema with its GVK and apiVersion/kind/metadata, in v3 and v2', () => {
  const v2 = openapiV2Document() as { definitions: Record<string, any>; paths: Record<string, any> };
  for (const k of KINDS) {
    const doc = openapiV3Document(gvPath(k)) as Doc;
    assert.ok(doc, `${gvPath(k)} document`);
    const gvk = { group: k.group, version: k.version, kind: k.kind };
    const v3 = Object.values(doc.components.schemas).filter((s) => (s['x-kubernetes-group-version-kind'] ?? []).some((g: any) => g.kind === k.kind && g.group === k.group && g.version === k.version));
    assert.equal(v3.length, 1, `${k.kind}: one v3 schema`);
    for (const f of ['apiVersion', 'kind', 'metadata']) assert.ok(v3[0].properties[f], `${k.kind}.${f}`);
    const v2s = Object.values(v2.definitions).filter((s: any) => (s['x-kubernetes-group-version-kind'] ?? []).some((g: any) => g.kind === k.kind && g.group === k.group));
    assert.equal(v2s.length, 1, `${k.kind}: one v2 definition`);
    // kubectl's server-side validation check: a PATCH operation for the GVK with a fieldValidation query parameter.
    for (const paths of [doc.paths, v2.paths]) {
      const patches = Object.values(paths).map((p) => p.patch).filter((op) => op && JSON.stringify(op['x-kubernetes-group-version-kind']) === JSON.stringify(gvk));
      assert.ok(patches.length >= 1, `${k.kind}: patch operation`);
      for (const op of patches) assert.ok(op.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'), `${k.kind}: fieldValidation`);
    }
    assert.ok(apiVersionOf(k));
  }
});

test('the Knative document has the paths kubectl uses and a describable ksvc.spec', () => {
  const doc = openapiV3Document('/apis/serving.knative.dev/v1?hash=abc') as Doc;
  assert.ok(doc.paths['/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}']);
  assert.ok(doc.paths['/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}/status']);
  assert.ok(doc.paths['/apis/serving.knative.dev/v1/services'].get);
  const svc = doc.components.schemas['dev.knative.serving.v1.Service'];
  assert.deepEqual(svc['x-kubernetes-group-version-kind'], [{ group: 'serving.knative.dev', version: 'v1', kind: 'Service' }]);
  assert.match(svc.properties.spec.description, /Route and Configuration|template/);
  assert.ok(svc.properties.spec.properties.template.properties.spec.properties.containers.items.properties.image.description);
  const patch = doc.paths['/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}'].patch;
  assert.deepEqual(Object.keys(patch.requestBody.content).sort(), ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']);
  const list = doc.components.schemas['dev.knative.serving.v1.ServiceList'];
  assert.equal(list.properties.items.items.$ref, '#/components/schemas/dev.knative.serving.v1.Service');
  assert.equal(openapiV3Document('apis/nope/v1'), undefined);
});

test('core patches accept strategic merge patch; Namespace paths are cluster-scoped', () => {
  const doc = openapiV3Document('api/v1') as Doc;
  assert.ok(doc.paths['/api/v1/namespaces/{namespace}/secrets/{name}'].patch.requestBody.content['application/strategic-merge-patch+json']);
  assert.ok(doc.paths['/api/v1/namespaces/{name}']);
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/namespaces'], undefined);
});

test('swagger 2.0 conversion drops nullable, maps int-or-string and rewrites refs', () => {
  assert.deepEqual(
    toSwaggerSchema({ type: 'object', properties: { a: { type: 'boolean', nullable: true }, p: { 'x-kubernetes-int-or-string': true }, r: { $ref: '#/components/schemas/X' } as any } }),
    { type: 'object', properties: { a: { type: 'boolean' }, p: { type: 'string', format: 'int-or-string', 'x-kubernetes-int-or-string': true }, r: { $ref: '#/definitions/X' } } },
  );
  const v2 = openapiV2Document() as { swagger: string; definitions: Record<string, unknown> };
  assert.equal(v2.swagger, '2.0');
  assert.equal(JSON.stringify(v2).includes('"nullable"'), false);
  assert.equal(JSON.stringify(v2).includes('#/components/'), false);
});

test('v2 protobuf: gnostic Document field numbers', () => {
  const bytes = encodeSwaggerProto({ swagger: '2.0', info: { title: 't', version: 'v' }, paths: {}, definitions: { X: { type: 'object', 'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'X' }] } } });
  // field 1 (swagger) "2.0", field 2 (info) {1: "t", 2: "v"}, field 8 (paths) empty, field 9 (definitions) ...
  assert.deepEqual([...bytes.slice(0, 13)], [0x0a, 3, 0x32, 0x2e, 0x30, 0x12, 6, 0x0a, 1, 0x74, 0x12, 1, 0x76]);
  assert.deepEqual([...bytes.slice(13, 15)], [0x42, 0]);
  assert.equal(bytes[15], 0x4a);
  const text = Buffer.from(bytes).toString('latin1');
  assert.ok(text.includes('x-kubernetes-group-version-kind') && text.includes('kind: X'), 'vendor extension as YAML');
  const full = openapiV2Protobuf();
  assert.ok(full.length > 10_000);
  assert.equal(openapiV2Protobuf(), full, 'built once');
});
