import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults } from './defaults.ts';
import type { KubeObject, StatusCause } from './meta.ts';
import { validateObject } from './validate.ts';
import { parseDuration } from './validation/duration.ts';

const ksvc = (spec: Record<string, unknown>, name = 'hello', meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: 'default', ...meta }, spec,
});
const tmpl = (spec: Record<string, unknown>, metadata?: Record<string, unknown>) => ({ template: { ...(metadata ? { metadata } : {}), spec } });
const img = { image: 'sluice/hello' };

function causes(obj: KubeObject, old?: KubeObject): StatusCause[] {
  return validateObject(applyDefaults(obj), { fieldValidation: 'Strict', old }).causes;
}
const lines = (cs: StatusCause[]) => cs.map((c) => `${c.field}: ${c.message}`);

interface Case { name: string; obj: KubeObject; old?: KubeObject; want: string[] }

const cases: Case[] = [
  { name: 'valid ksvc', obj: ksvc(tmpl({ containers: [img] })), want: [] },
  { name: 'missing image', obj: ksvc(tmpl({ containers: [{}] })), want: ['spec.template.spec.containers[0].image: Required value'] },
  { name: 'empty image', obj: ksvc(tmpl({ containers: [{ image: ' ' }] })), want: ['spec.template.spec.containers[0].image: Required value'] },
  { name: 'no containers', obj: ksvc(tmpl({ containers: [] })), want: ['spec.template.spec.containers: Required value: at least one container is required'] },
  { name: 'missing containers', obj: ksvc(tmpl({})), want: ['spec.template.spec.containers: Required value'] },
  { name: 'no template at all', obj: ksvc({}), want: ['spec.template.spec.containers: Required value'] },
  { name: 'template without spec', obj: ksvc({ template: { metadata: { labels: { a: 'b' } } } }), want: ['spec.template.spec.containers: Required value'] },
  {
    name: 'template label value', obj: ksvc(tmpl({ containers: [img] }, { labels: { app: 'not ok!' } })),
    want: ['spec.template.metadata.labels[app]: Invalid value: "not ok!": a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyValue\',  or \'my_value\',  or \'12345\', regex used for validation is \'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\')'],
  },
  { name: 'revision without spec', obj: { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'r' } }, want: ['spec.containers: Required value'] },
  { name: 'destination rule without spec', obj: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'd' } }, want: ['spec.host: Required value'] },
  { name: 'destination rule without host', obj: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'd' }, spec: {} }, want: ['spec.host: Required value'] },
  {
    name: 'wrong type', obj: ksvc(tmpl({ containers: [img], containerConcurrency: 'ten' })),
    want: ['spec.template.spec.containerConcurrency: Invalid value: "string": spec.template.spec.containerConcurrency in body must be of type integer: "string"'],
  },
  {
    name: 'invalid name', obj: ksvc(tmpl({ containers: [img] }), 'Hello_World'),
    want: ['metadata.name: Invalid value: "Hello_World": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')'],
  },
  {
    name: 'name too long for a Knative label', obj: ksvc(tmpl({ containers: [img] }), 'a'.repeat(64)),
    want: [`metadata.name: Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`],
  },
  { name: 'missing name', obj: ksvc(tmpl({ containers: [img] }), ''), want: ['metadata.name: Required value: name or generateName is required'] },
  { name: 'generateName accepted', obj: ksvc(tmpl({ containers: [img] }), '', { generateName: 'hello-' }), want: [] },
  { name: 'concurrency bound', obj: ksvc(tmpl({ containers: [img], containerConcurrency: 1001 })), want: ['spec.template.spec.containerConcurrency: Invalid value: 1001: expected 0 <= 1001 <= 1000'] },
  { name: 'timeout bound', obj: ksvc(tmpl({ containers: [img], timeoutSeconds: 601 })), want: ['spec.template.spec.timeoutSeconds: Invalid value: 601: expected 0 <= 601 <= 600'] },
  {
    name: 'two ports', obj: ksvc(tmpl({ containers: [{ ...img, ports: [{ containerPort: 8080 }, { containerPort: 9000 }] }] })),
    want: ['spec.template.spec.containers[0].ports: Forbidden: More than one container port is set: only a single port is allowed across all containers'],
  },
  { name: 'reserved port', obj: ksvc(tmpl({ containers: [{ ...img, ports: [{ containerPort: 8012 }] }] })), want: ['spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 8012: 8012 is a reserved port'] },
  {
    name: 'traffic sum', obj: ksvc({ ...tmpl({ containers: [img] }), traffic: [{ latestRevision: true, percent: 95 }] }),
    want: ['spec.traffic: Invalid value: 95: Traffic targets sum to 95, want 100'],
  },
  {
    name: 'traffic percent range and revision/latest exclusivity',
    obj: ksvc({ ...tmpl({ containers: [img] }), traffic: [{ revisionName: 'hello-00001', latestRevision: true, percent: 120 }, { latestRevision: true, percent: -20 }] }),
    want: [
      'spec.traffic[0].percent: Invalid value: 120: expected 0 <= 120 <= 100',
      'spec.traffic[0].latestRevision: Invalid value: true: may not set revisionName "hello-00001" when latestRevision is true',
      'spec.traffic[1].percent: Invalid value: -20: expected 0 <= -20 <= 100',
    ],
  },
  {
    name: 'duplicate and invalid tags',
    obj: ksvc({ ...tmpl({ containers: [img] }), traffic: [{ tag: 'a', percent: 50 }, { tag: 'a', revisionName: 'hello-1', percent: 50 }, { tag: 'B_', revisionName: 'hello-2', percent: 0 }] }),
    want: [
      'spec.traffic[1].tag: Duplicate value: "a"',
      'spec.traffic[2].tag: Invalid value: "B_": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')',
    ],
  },
  { name: 'template name prefix', obj: ksvc(tmpl({ containers: [img] }, { name: 'other-v1' })), want: ['spec.template.metadata.name: Invalid value: "other-v1": must have prefix "hello-"'] },
  {
    name: 'autoscaling annotations',
    obj: ksvc(tmpl({ containers: [img] }, { annotations: {
      'autoscaling.knative.dev/min-scale': '5', 'autoscaling.knative.dev/max-scale': '2',
      'autoscaling.knative.dev/metric': 'cpu', 'autoscaling.knative.dev/window': 'soon',
    } })),
    want: [
      'spec.template.metadata.annotations[autoscaling.knative.dev/metric]: Unsupported value: "cpu": supported values: "concurrency", "rps"',
      'spec.template.metadata.annotations[autoscaling.knative.dev/max-scale]: Invalid value: "2": max-scale=2 is less than min-scale=5',
      'spec.template.metadata.annotations[autoscaling.knative.dev/window]: Invalid value: "soon": must be a duration such as 60s or 1m',
    ],
  },
  {
    name: 'autoscaling class and integers',
    obj: ksvc(tmpl({ containers: [img] }, { annotations: { 'autoscaling.knative.dev/class': 'foo', 'autoscaling.knative.dev/min-scale': 'x' } })),
    want: [
      'spec.template.metadata.annotations[autoscaling.knative.dev/class]: Unsupported value: "foo": supported values: "kpa.autoscaling.knative.dev", "hpa.autoscaling.knative.dev"',
      'spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]: Invalid value: "x": must be a non-negative integer',
    ],
  },
  {
    name: 'autoscaling: an unknown annotation is refused naming it; the pod retention period is read',
    obj: ksvc(tmpl({ containers: [img] }, { annotations: {
      'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '2h', 'autoscaling.knative.dev/minscale': '1',
    } })),
    want: [
      'spec.template.metadata.annotations[autoscaling.knative.dev/minscale]: Invalid value: "1": unknown autoscaling annotation; known: autoscaling.knative.dev/class, autoscaling.knative.dev/metric, autoscaling.knative.dev/target, autoscaling.knative.dev/target-utilization-percentage, autoscaling.knative.dev/min-scale, autoscaling.knative.dev/max-scale, autoscaling.knative.dev/initial-scale, autoscaling.knative.dev/scale-down-delay, autoscaling.knative.dev/window, autoscaling.knative.dev/panic-window-percentage, autoscaling.knative.dev/panic-threshold-percentage, autoscaling.knative.dev/target-burst-capacity, autoscaling.knative.dev/activation-scale, autoscaling.knative.dev/scale-to-zero-pod-retention-period',
      'spec.template.metadata.annotations[autoscaling.knative.dev/scale-to-zero-pod-retention-period]: Invalid value: "2h": scale-to-zero-pod-retention-period must be between 0s and 1h',
    ],
  },
  {
    name: 'autoscaling: a pod retention period within range and the camelCase names are accepted',
    obj: ksvc(tmpl({ containers: [img] }, { annotations: { 'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '0s', 'autoscaling.knative.dev/minScale': '1' } })),
    want: [],
  },
  {
    name: 'hpa accepts cpu', obj: ksvc(tmpl({ containers: [img] }, { annotations: { 'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev', 'autoscaling.knative.dev/metric': 'cpu' } })),
    want: [],
  },
  {
    name: 'route needs a target', obj: { apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { name: 'r' }, spec: { traffic: [{ percent: 100 }] } },
    want: ['spec.traffic[0]: Required value: expected exactly one of revisionName, configurationName, got neither'],
  },
  {
    name: 'revision spec is immutable',
    obj: { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001' }, spec: { containers: [{ image: 'b' }] } },
    old: applyDefaults({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001' }, spec: { containers: [{ image: 'a' }] } }),
    want: ['spec: Invalid value: "object": field is immutable: a Revision\'s spec cannot change; update the Service or Configuration instead'],
  },
  {
    name: 'tls secret needs its keys', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'not base64!' } },
    want: ['data[tls.crt]: Invalid value: "<secret contents redacted>": must be base64-encoded', 'data[tls.key]: Required value'],
  },
  { name: 'secret name is a subdomain', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a.b.c' }, stringData: { k: 'v' } }, want: [] },
  {
    name: 'virtual service', obj: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs' }, spec: {
      hosts: [], http: [{
        match: [{ uri: { prefix: '/a', exact: '/a' } }, { headers: { x: { regex: '(?=a)' } } }],
        route: [{ destination: { host: 'a' }, weight: 60 }, { destination: { host: 'b' }, weight: 30 }],
        timeout: '5 seconds', retries: { attempts: 2, perTryTimeout: '1.5s' },
      }],
    } },
    want: [
      'spec.hosts: Required value: virtual service must have at least one host',
      'spec.http[0].match[0].uri: Invalid value: {"prefix":"/a","exact":"/a"}: exactly one of exact, prefix, regex must be set, got exact, prefix',
      'spec.http[0].match[1].headers[x].regex: Invalid value: "(?=a)": lookahead and lookbehind are not supported (RE2 syntax)',
      'spec.http[0].route: Invalid value: 90: total destination weight 90 != 100',
      'spec.http[0].timeout: Invalid value: "5 seconds": must be a duration such as 1.5s, 100ms or 1m',
    ],
  },
  {
    name: 'exportTo', obj: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr' }, spec: { host: 'x', exportTo: ['*', 'Bad_NS'] } },
    want: [
      'spec.exportTo[1]: Invalid value: "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')',
      'spec.exportTo: Invalid value: ["*","Bad_NS"]: cannot have both public (*) and non-public exports',
    ],
  },
  {
    name: 'destination rule enum', obj: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr' }, spec: { host: 'x', trafficPolicy: { loadBalancer: { simple: 'FASTEST' }, outlierDetection: { maxEjectionPercent: 150, interval: '100ms' } } } },
    want: [
      'spec.trafficPolicy.loadBalancer.simple: Unsupported value: "FASTEST": supported values: "UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"',
      'spec.trafficPolicy.outlierDetection.maxEjectionPercent: Invalid value: 150: must be in the range 0..100',
    ],
  },
  {
    name: 'authorization policy', obj: { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'ap' }, spec: {
      action: 'DENY', provider: { name: 'ext' },
      rules: [{ from: [{ source: {} }], to: [{ operation: { ports: ['99999'] } }], when: [{ key: 'request.nope' }] }],
    } },
    want: [
      'spec.provider: Forbidden: provider can only be used with the CUSTOM action, not DENY',
      'spec.rules[0].from[0].source: Required value: source must not be empty',
      'spec.rules[0].to[0].operation.ports[0]: Invalid value: "99999": port number must be in the range 1..65535',
      'spec.rules[0].when[0].key: Invalid value: "request.nope": unknown attribute; supported: source.ip, remote.ip, source.namespace, source.principal, request.auth.principal, request.auth.audiences, request.auth.presenter, destination.ip, destination.port, connection.sni, request.headers[<name>], request.auth.claims[<name>]',
      'spec.rules[0].when[0]: Required value: at least one of values or notValues must be set for key request.nope',
    ],
  },
  {
    name: 'custom action needs a provider', obj: { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'ap' }, spec: { action: 'CUSTOM', rules: [{}] } },
    want: ['spec.provider.name: Required value: a provider must be specified with the CUSTOM action'],
  },
  {
    name: 'peer authentication', obj: { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'pa' }, spec: { mtls: { mode: 'ON' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } } },
    want: [
      'spec.mtls.mode: Unsupported value: "ON": supported values: "UNSET", "DISABLE", "PERMISSIVE", "STRICT"',
      'spec.selector: Required value: portLevelMtls requires a workload selector',
    ],
  },
  {
    name: 'gateway', obj: { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw' }, spec: { servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'SIMPLE' } }] } },
    want: ['spec.servers[0].tls.credentialName: Required value: SIMPLE TLS requires credentialName, or serverCertificate and privateKey'],
  },
];

for (const tc of cases) {
  test(`validate: ${tc.name}`, () => {
    assert.deepEqual(lines(causes(tc.obj, tc.old)), tc.want);
  });
}

test('causes carry Kubernetes reasons', () => {
  const cs = causes(ksvc(tmpl({ containers: [{}], containerConcurrency: 'x' }), 'Bad_Name'));
  assert.deepEqual(cs.map((c) => c.reason).sort(), ['FieldValueInvalid', 'FieldValueRequired', 'FieldValueTypeInvalid']);
  const enumCause = causes({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'a' }, spec: { action: 'MAYBE' } });
  assert.equal(enumCause[0]?.reason, 'FieldValueNotSupported');
});

test('unknown fields are collected with their paths; warnings only under Warn', () => {
  const obj = applyDefaults(ksvc({ ...tmpl({ containers: [{ ...img, colour: 'blue' }] }), foo: 1 }));
  for (const mode of ['Strict', 'Warn', 'Ignore'] as const) {
    const r = validateObject(obj, { fieldValidation: mode });
    assert.deepEqual(r.unknownFields, ['spec.template.spec.containers[0].colour', 'spec.foo']);
    assert.deepEqual(r.warnings, mode === 'Warn' ? ['unknown field "spec.template.spec.containers[0].colour"', 'unknown field "spec.foo"'] : []);
    assert.deepEqual(r.causes, []);
  }
  // Fields under x-kubernetes-preserve-unknown-fields are not unknown.
  const withOpen = applyDefaults(ksvc(tmpl({ containers: [{ ...img, securityContext: { anything: true } }] })));
  assert.deepEqual(validateObject(withOpen, { fieldValidation: 'Strict' }).unknownFields, []);
});

test('template changed without a name change is refused on update', () => {
  const old = applyDefaults(ksvc(tmpl({ containers: [img] }, { name: 'hello-v1' })));
  const next = ksvc(tmpl({ containers: [{ image: 'sluice/echo' }] }, { name: 'hello-v1' }));
  assert.deepEqual(lines(causes(next, old)), ['spec.template.metadata.name: Invalid value: "hello-v1": the template changed without a name change: give the new revision a new name or remove the name']);
  assert.deepEqual(causes(ksvc(tmpl({ containers: [{ image: 'sluice/echo' }] }, { name: 'hello-v2' })), old), []);
});

test('durations parse like Go', () => {
  const table: [string, number | undefined][] = [
    ['1.5s', 1500], ['100ms', 100], ['1m30s', 90_000], ['1h', 3_600_000], ['0', 0], ['250us', 0.25],
    ['', undefined], ['5', undefined], ['1 s', undefined], ['s', undefined], ['1d', undefined],
  ];
  for (const [text, want] of table) assert.equal(parseDuration(text), want, text);
});

test('semantic warnings are returned in every mode without refusing the object', () => {
  const ap: KubeObject = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'ap' }, spec: { action: 'DENY' } };
  for (const mode of ['Strict', 'Warn', 'Ignore'] as const) {
    const r = validateObject(ap, { fieldValidation: mode });
    assert.deepEqual(r.causes, []);
    assert.deepEqual(r.warnings, ['spec.rules: DENY policy without rules matches no request and has no effect']);
  }
});
