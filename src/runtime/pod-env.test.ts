import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPodEnv, envProblem } from './pod-env.ts';

test('buildPodEnv: host basics, container env with fieldRefs, then the Knative contract', () => {
  const env = buildPodEnv({
    container: { image: 'sluice/hello', env: [
      { name: 'TARGET', value: 'x' }, { name: 'PORT', value: '9999' }, { name: 'ME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ] },
    namespace: 'team', pod: 'hello-00001-deployment-abc-xyz', nodeName: 'box', port: 41234, revision: 'hello-00001', configuration: 'hello', service: 'hello',
  }, { PATH: '/bin', SECRET_TOKEN: 'nope' });
  assert.deepEqual(env, {
    PATH: '/bin', TARGET: 'x', PORT: '41234', ME: 'hello-00001-deployment-abc-xyz', NS: 'team', IP: '127.0.0.1',
    K_REVISION: 'hello-00001', K_CONFIGURATION: 'hello', K_SERVICE: 'hello', HOSTNAME: 'hello-00001-deployment-abc-xyz',
  });
});

test('envProblem names unsupported sources by field path (table)', () => {
  const cases: [Parameters<typeof envProblem>[0], RegExp | undefined][] = [
    [{ image: 'x', env: [{ name: 'A', value: '1' }] }, undefined],
    [{ image: 'x', env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] }, undefined],
    [{ image: 'x', env: [{ name: 'A', value: '1' }, { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, /spec\.containers\[0\]\.env\[1\]\.valueFrom\.secretKeyRef: not supported/],
    [{ image: 'x', env: [{ name: 'L', valueFrom: { fieldRef: { fieldPath: 'metadata.labels' } } }] }, /env\[0\]\.valueFrom\.fieldRef\.fieldPath: "metadata\.labels" is not supported/],
    [{ image: 'x', envFrom: [{ configMapRef: { name: 'c' } }] }, /spec\.containers\[0\]\.envFrom: not supported/],
  ];
  for (const [c, want] of cases) {
    const got = envProblem(c);
    if (want) assert.match(got ?? '', want); else assert.equal(got, undefined);
  }
});
