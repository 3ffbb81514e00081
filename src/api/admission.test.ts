import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admissionError, admit, type AdmitOptions } from './admission.ts';
import type { KubeObject } from './meta.ts';

const create: AdmitOptions = { operation: 'CREATE', fieldValidation: 'Strict', expect: { apiVersion: 'serving.knative.dev/v1', kind: 'Service' } };
const ksvc = (spec: Record<string, unknown>, name = 'hello'): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec,
});
const good = () => ksvc({ template: { spec: { containers: [{ image: 'sluice/hello' }] } } });

test('a valid Service is admitted, defaulted', () => {
  const r = admit(good(), create);
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.deepEqual(r.warnings, []);
  assert.equal((r.object.spec as any).template.spec.containers[0].name, 'user-container');
  assert.deepEqual((r.object.spec as any).traffic, [{ latestRevision: true, percent: 100 }]);
});

test('bad input gives the exact Kubernetes Status', () => {
  const cases: { name: string; obj: unknown; opts?: Partial<AdmitOptions>; want: unknown }[] = [
    {
      name: 'missing required field',
      obj: ksvc({ template: { spec: { containers: [{}] } } }),
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 422, reason: 'Invalid',
        message: 'Service.serving.knative.dev "hello" is invalid: spec.template.spec.containers[0].image: Required value',
        details: { name: 'hello', group: 'serving.knative.dev', kind: 'Service', causes: [
          { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' },
        ] },
      },
    },
    {
      name: 'several problems at once, in brackets',
      obj: ksvc({ template: { spec: { containers: [{}], timeoutSeconds: 'long' } } }, 'Bad'),
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 422, reason: 'Invalid',
        message: 'Service.serving.knative.dev "Bad" is invalid: [spec.template.spec.containers[0].image: Required value, spec.template.spec.timeoutSeconds: Invalid value: "string": spec.template.spec.timeoutSeconds in body must be of type integer: "string", metadata.name: Invalid value: "Bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')]',
        details: { name: 'Bad', group: 'serving.knative.dev', kind: 'Service', causes: [
          { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' },
          { reason: 'FieldValueTypeInvalid', message: 'Invalid value: "string": spec.template.spec.timeoutSeconds in body must be of type integer: "string"', field: 'spec.template.spec.timeoutSeconds' },
          { reason: 'FieldValueInvalid', message: 'Invalid value: "Bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')', field: 'metadata.name' },
        ] },
      },
    },
    {
      name: 'unknown kind',
      obj: { apiVersion: 'x/v1', kind: 'Foo', metadata: { name: 'f' } },
      opts: { expect: undefined },
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 400, reason: 'BadRequest',
        message: 'no matches for kind "Foo" in version "x/v1"', details: { name: 'f', group: 'x', kind: 'Foo' },
      },
    },
    {
      name: 'known kind in the wrong version',
      obj: { apiVersion: 'serving.knative.dev/v1beta1', kind: 'Service', metadata: { name: 'f' } },
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 400, reason: 'BadRequest',
        message: 'no matches for kind "Service" in version "serving.knative.dev/v1beta1"', details: { name: 'f', group: 'serving.knative.dev', kind: 'Service' },
      },
    },
    {
      name: 'body kind differs from the URL',
      obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } },
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 400, reason: 'BadRequest',
        message: 'the API version in the data (v1) does not match the expected API version (serving.knative.dev/v1)',
      },
    },
    {
      name: 'unknown field under Strict',
      obj: ksvc({ template: { spec: { containers: [{ image: 'x', colour: 1 }] } }, foo: 'bar' }),
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 400, reason: 'BadRequest',
        message: 'strict decoding error: unknown field "spec.template.spec.containers[0].colour", unknown field "spec.foo"',
      },
    },
    {
      name: 'missing kind',
      obj: { apiVersion: 'v1', metadata: { name: 'x' } },
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 400, reason: 'BadRequest',
        message: 'Object \'Kind\' is missing in the request body (apiVersion "v1")',
      },
    },
    {
      name: 'not an object',
      obj: ['a'],
      want: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 400, reason: 'BadRequest', message: 'the request body must be a JSON or YAML object' },
    },
    {
      name: 'core kind is named without a group',
      obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'UPPER' } },
      opts: { expect: { apiVersion: 'v1', kind: 'Secret' } },
      want: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 422, reason: 'Invalid',
        message: 'Secret "UPPER" is invalid: metadata.name: Invalid value: "UPPER": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')',
        details: { name: 'UPPER', group: '', kind: 'Secret', causes: [{
          reason: 'FieldValueInvalid', field: 'metadata.name',
          message: 'Invalid value: "UPPER": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')',
        }] },
      },
    },
  ];
  for (const tc of cases) {
    const r = admit(tc.obj as KubeObject, { ...create, ...tc.opts });
    assert.equal(r.ok, false, tc.name);
    if (r.ok) continue;
    assert.deepEqual(r.status, tc.want, tc.name);
  }
});

test('unknown fields under Warn are admitted with warnings; under Ignore silently', () => {
  const obj = ksvc({ template: { spec: { containers: [{ image: 'x' }] } }, foo: 'bar' });
  const warn = admit(obj, { ...create, fieldValidation: 'Warn' });
  assert.ok(warn.ok);
  if (warn.ok) {
    assert.deepEqual(warn.warnings, ['unknown field "spec.foo"']);
    assert.equal((warn.object.spec as any).foo, 'bar', 'Warn keeps the object as sent, like Kubernetes');
  }
  const ignore = admit(obj, { ...create, fieldValidation: 'Ignore' });
  assert.ok(ignore.ok);
  if (ignore.ok) assert.deepEqual(ignore.warnings, []);
});

test('nulls in non-nullable fields are pruned before validation', () => {
  const r = admit(ksvc({ template: { spec: { containers: [{ image: 'x', args: null }], timeoutSeconds: null } }, traffic: null }), create);
  assert.ok(r.ok);
  if (!r.ok) return;
  const spec = r.object.spec as any;
  assert.equal('args' in spec.template.spec.containers[0], false);
  assert.equal(spec.template.spec.timeoutSeconds, 300);
  assert.deepEqual(spec.traffic, [{ latestRevision: true, percent: 100 }]);
});

test('UPDATE checks immutability against the stored object', () => {
  const kind = { apiVersion: 'serving.knative.dev/v1', kind: 'Revision' };
  const first = admit({ ...kind, metadata: { name: 'hello-00001' }, spec: { containers: [{ image: 'a' }] } }, { operation: 'CREATE', fieldValidation: 'Strict', expect: kind });
  assert.ok(first.ok);
  if (!first.ok) return;
  const same = admit(structuredClone(first.object), { operation: 'UPDATE', fieldValidation: 'Strict', old: first.object, expect: kind });
  assert.ok(same.ok, 'an unchanged spec may be written again');
  const changed = structuredClone(first.object);
  (changed.spec as any).containers[0].image = 'b';
  const r = admit(changed, { operation: 'UPDATE', fieldValidation: 'Strict', old: first.object, expect: kind });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.status.code, 422);
    assert.equal(r.status.details?.causes?.[0]?.field, 'spec');
  }
  const renamed = admit({ ...structuredClone(first.object), metadata: { name: 'hello-00002' } }, { operation: 'UPDATE', fieldValidation: 'Strict', old: first.object, expect: kind });
  assert.equal(renamed.ok, false);
  if (!renamed.ok) assert.match(renamed.status.message ?? '', /metadata.name: Invalid value: "hello-00002": field is immutable/);
});

test('each failure carries a stable code and converts to a SluiceError', () => {
  const cases: [unknown, string][] = [
    ['text', 'SLUICE_E_API_BAD_BODY'],
    [{ apiVersion: 'x/v1', kind: 'Foo', metadata: { name: 'f' } }, 'SLUICE_E_API_UNKNOWN_KIND'],
    [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }, 'SLUICE_E_API_KIND_MISMATCH'],
    [ksvc({ template: { spec: { containers: [{ image: 'x' }] } }, foo: 1 }), 'SLUICE_E_API_UNKNOWN_FIELD'],
    [ksvc({ template: { spec: { containers: [{}] } } }), 'SLUICE_E_API_INVALID'],
  ];
  for (const [obj, code] of cases) {
    const r = admit(obj as KubeObject, create);
    assert.equal(r.ok, false);
    if (r.ok) continue;
    assert.equal(r.code, code);
    const e = admissionError(r);
    assert.equal(e.code, code);
    assert.equal(e.httpStatus, r.status.code);
    assert.equal(e.message, r.status.message);
  }
  const noOld = admit(good(), { ...create, operation: 'UPDATE' });
  assert.equal(!noOld.ok && noOld.code, 'SLUICE_E_API_UPDATE_WITHOUT_OLD');
});

test('a namespace on a cluster-scoped kind is cleared, as Kubernetes does', () => {
  const r = admit({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', namespace: 'default' } }, { operation: 'CREATE', fieldValidation: 'Strict', expect: { apiVersion: 'v1', kind: 'Namespace' } });
  assert.ok(r.ok);
  if (r.ok) {
    assert.deepEqual(r.object.metadata, { name: 'team-a' });
    assert.deepEqual(r.object.status, { phase: 'Active' });
  }
});
