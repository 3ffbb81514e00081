/** serving.knative.dev/v1beta1 DomainMapping: registry, admission (defaults, validation with field paths, strict fields), table columns. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit } from './admission.ts';
import type { KubeObject } from './meta.ts';
import { apiVersionOf, kindByGvk, kindByName } from './registry.ts';
import { toTable } from './table.ts';

const dm = (spec: unknown, name = 'app.example.test', meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1beta1', kind: 'DomainMapping', metadata: { name, namespace: 'default', ...meta }, ...(spec === undefined ? {} : { spec }),
} as KubeObject);
const ref = (o: Record<string, unknown> = {}) => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello', ...o });

function problems(obj: KubeObject): string[] {
  const r = admit(obj, { operation: 'CREATE', fieldValidation: 'Strict' });
  if (r.ok) return [];
  return r.status.details?.causes?.map((c) => `${c.field}: ${c.message}`) ?? [r.status.message ?? ''];
}

test('registry: DomainMapping at serving.knative.dev/v1beta1, found by plural, singular and short name', () => {
  const k = kindByGvk('serving.knative.dev/v1beta1', 'DomainMapping');
  assert.ok(k, 'registered');
  assert.equal(apiVersionOf(k), 'serving.knative.dev/v1beta1', 'apiVersion');
  for (const n of ['domainmappings', 'domainmapping', 'dm', 'domainmapping.serving.knative.dev']) assert.equal(kindByName(n)?.kind, 'DomainMapping', n);
  assert.equal(kindByGvk('serving.knative.dev/v1', 'DomainMapping'), undefined, 'not served at v1');
});

test('admission: a valid mapping is stored with spec.ref.namespace defaulted', () => {
  const r = admit(dm({ ref: ref(), tls: { secretName: 'app-cert' } }), { operation: 'CREATE', fieldValidation: 'Strict' });
  assert.ok(r.ok, `admitted: ${JSON.stringify(r)}`);
  assert.equal((r.object.spec as { ref: { namespace: string } }).ref.namespace, 'default', 'ref namespace defaulted');
  assert.deepEqual(problems(dm({ ref: ref({ kind: 'Route', namespace: 'default' }) })), [], 'a Route in the same namespace');
});

test('validation: field paths for every problem (table)', () => {
  const cases: { name: string; obj: KubeObject; want: (string | RegExp)[] }[] = [
    { name: 'no spec', obj: dm(undefined), want: ['spec.ref: Required value'] },
    { name: 'no ref', obj: dm({}), want: ['spec.ref: Required value'] },
    { name: 'ref without name/kind/apiVersion', obj: dm({ ref: {} }), want: ['spec.ref.apiVersion: Required value', 'spec.ref.kind: Required value', 'spec.ref.name: Required value'] },
    { name: 'unsupported kind', obj: dm({ ref: ref({ kind: 'Broker' }) }), want: ['spec.ref.kind: Unsupported value: "Broker": supported values: "Route", "Service"'] },
    { name: 'unsupported apiVersion', obj: dm({ ref: ref({ apiVersion: 'v1' }) }), want: ['spec.ref.apiVersion: Unsupported value: "v1": supported values: "serving.knative.dev/v1"'] },
    { name: 'namespace mismatch', obj: dm({ ref: ref({ namespace: 'other' }) }), want: [/^spec\.ref\.namespace: Invalid value: "other": mismatched namespaces: must be empty or equal to the DomainMapping's namespace "default"$/] },
    { name: 'single-label name', obj: dm({ ref: ref() }, 'localhost'), want: ['metadata.name: Invalid value: "localhost": should be a domain with at least two segments separated by dots'] },
    { name: 'not a DNS name', obj: dm({ ref: ref() }, 'App_Example.test'), want: [/^metadata\.name: Invalid value: "App_Example\.test": a lowercase RFC 1123 subdomain/] },
    { name: 'label too long', obj: dm({ ref: ref() }, `${'a'.repeat(64)}.example.test`), want: [/^metadata\.name: Invalid value: "a{64}\.example\.test": label "a{64}": must be no more than 63 characters$/] },
    { name: 'cluster-local domain', obj: dm({ ref: ref() }, 'hello.default.svc.cluster.local'), want: ['metadata.name: Invalid value: "hello.default.svc.cluster.local": must not be a subdomain of the cluster-local domain "cluster.local"'] },
    { name: 'generateName', obj: dm({ ref: ref() }, '', { generateName: 'app-' }), want: ['metadata.generateName: Forbidden: a DomainMapping is named after its domain: set metadata.name instead of generateName'] },
    { name: 'tls without secretName', obj: dm({ ref: ref(), tls: {} }), want: ['spec.tls.secretName: Required value'] },
    { name: 'bad secretName', obj: dm({ ref: ref(), tls: { secretName: 'Bad_Name' } }), want: [/^spec\.tls\.secretName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/] },
  ];
  for (const c of cases) {
    const got = problems(c.obj);
    assert.equal(got.length, c.want.length, `${c.name}: ${JSON.stringify(got)}`);
    c.want.forEach((w, i) => (typeof w === 'string' ? assert.equal(got[i], w, c.name) : assert.match(got[i]!, w, c.name)));
  }
});

test('strict decoding refuses unknown fields with their paths', () => {
  const r = admit(dm({ ref: ref({ port: 80 }), tls: { secretName: 'c', mode: 'SIMPLE' }, extra: true }), { operation: 'CREATE', fieldValidation: 'Strict' });
  assert.ok(!r.ok, 'refused');
  assert.equal(r.status.code, 400, '400 BadRequest');
  assert.equal(r.status.message, 'strict decoding error: unknown field "spec.ref.port", unknown field "spec.tls.mode", unknown field "spec.extra"', 'every unknown field');
});

test('table: NAME URL READY REASON, as Knative\'s printer columns', () => {
  const k = kindByGvk('serving.knative.dev/v1beta1', 'DomainMapping')!;
  const obj = { ...dm({ ref: ref() }), status: { url: 'https://app.example.test', conditions: [{ type: 'Ready', status: 'False', reason: 'DomainAlreadyClaimed' }] } } as KubeObject;
  const t = toTable(k, [obj], { includeObject: 'None', now: Date.now() });
  assert.deepEqual(t.columnDefinitions.map((c) => c.name), ['Name', 'URL', 'Ready', 'Reason'], 'columns');
  assert.deepEqual(t.rows[0].cells, ['app.example.test', 'https://app.example.test', 'False', 'DomainAlreadyClaimed'], 'cells');
});
