/**
 * AuthorizationPolicy on the activator's path, end to end through `sluice up` with the mesh on:
 * `target` in namespace a keeps the default target-burst-capacity (200), so with one pod it stays
 * in activator proxy mode and every request to it (gateway or a pod's egress) goes through the
 * activator, which hands it to the pod past the pod's mesh inbound listener. As in Knative +
 * Istio, the activator applies the pod's policies with its own identity (knative-serving/activator):
 *
 * - a policy allowing only namespace a denies b's caller (through its egress) with 403
 *   "RBAC: access denied" — and a's too, since the request reaches the pod as the activator;
 * - once the policy also allows knative-serving (Knative's documented advice), a's caller gets
 *   target's answer, still in proxy mode.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, apply, call, hostGet, startSluice, tempDir, until, type SluiceProc } from './api-harness.ts';

const dir = tempDir('sluice-mesh-activator-e2e-');
let sluice: SluiceProc | undefined;
after(async () => {
  if (sluice) { await sluice.stop(); sluice.cleanup(); }
  fs.rmSync(dir, { recursive: true, force: true });
});

// Default target-burst-capacity: one pod (min-scale 1) never has 200 spare, so the activator stays in the path.
const ksvc = (ns: string, name: string, container: Record<string, unknown>) => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: ns },
  spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1' } }, spec: { containers: [container] } } },
});
const caller = { image: 'mesh-caller', command: ['node', path.join(REPO, 'test/e2e/mesh-caller.mjs')] };
const policy = (namespaces: string[]) => ({
  apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'target-from-a', namespace: 'a' },
  spec: { selector: { matchLabels: { 'serving.knative.dev/service': 'target' } }, action: 'ALLOW', rules: [{ from: [{ source: { namespaces } }] }] },
});
const AP = '/apis/security.istio.io/v1/namespaces/a/authorizationpolicies';

test('mesh + activator proxy mode: the pod\'s AuthorizationPolicy applies to requests through the activator, as knative-serving', { timeout: 300_000 }, async () => {
  const cfg = path.join(tempDir('sluice-mesh-act-'), 'config.yaml');
  fs.writeFileSync(cfg, 'proxy:\n  mesh: true\n'); // the mesh is opt-in
  sluice = await startSluice({ platform: true, args: ['--http-port', '0', '--https-port', '0', '--config', cfg], timeoutMs: 90_000 });
  const s = sluice;
  const ep = JSON.parse(fs.readFileSync(path.join(s.stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  assert.ok(ep.meshAdmin, `the mesh is on: ${JSON.stringify(ep)}`);
  const gw = Number(new URL(ep.gateway).port);

  for (const ns of ['a', 'b']) await apply(s, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } as never);
  await apply(s, '/apis/networking.istio.io/v1/namespaces/b/sidecars', { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'b' }, spec: { egress: [{ hosts: ['./*', 'a/*'] }] } } as never);
  await apply(s, AP, policy(['a']) as never);
  await apply(s, '/apis/serving.knative.dev/v1/namespaces/a/services', ksvc('a', 'target', { image: 'sluice/hello', env: [{ name: 'TARGET', value: 'target' }] }) as never);
  await apply(s, '/apis/serving.knative.dev/v1/namespaces/a/services', ksvc('a', 'caller', caller) as never);
  await apply(s, '/apis/serving.knative.dev/v1/namespaces/b/services', ksvc('b', 'caller', caller) as never);

  const mode = async () => (await call(s, 'GET', '/api/v1/namespaces/a/endpoints/target-00001')).body?.metadata?.annotations?.['sluice.dev/activator-mode'] as string | undefined;
  await until('target ready and in activator proxy mode', async () => {
    const ready = (await call(s, 'GET', '/api/v1/namespaces/a/endpoints/target-00001')).body?.subsets?.some((x: { addresses?: unknown[] }) => (x.addresses?.length ?? 0) > 0);
    return ready && (await mode()) === 'proxy' ? true : undefined;
  }, 120_000);

  let last = '';
  const viaCaller = async (ns: string) => {
    const r = await hostGet(gw, `caller.${ns}.sluice.localhost`, '/call?host=target.a.svc.cluster.local');
    last = `${ns}: ${r.status} ${r.body}`;
    return r.status === 200 ? JSON.parse(r.body) as { status: number; body: string } : undefined;
  };
  // b's pod through its egress: the request goes to the activator, which denies it.
  const fromB = await until('caller in b gets an answer from target', async () => { const r = await viaCaller('b'); return r && r.status !== 503 && r.status !== 404 ? r : undefined; }, 120_000).catch((e) => { throw new Error(`${(e as Error).message}; last answer ${last}`); });
  assert.deepEqual([fromB.status, fromB.body], [403, 'RBAC: access denied'], 'namespace b is denied through the activator');
  // a's pod too: through the activator the pod sees the activator's identity (Knative + Istio).
  const fromA = await until('caller in a gets an answer from target', async () => { const r = await viaCaller('a'); return r && r.status !== 503 && r.status !== 404 ? r : undefined; }, 60_000);
  assert.deepEqual([fromA.status, fromA.body], [403, 'RBAC: access denied'], 'the activator is not in namespace a');
  assert.equal(await mode(), 'proxy', 'the revision was in proxy mode throughout');
  assert.match(s.output(), /activator: request denied by AuthorizationPolicy/, 'the activator logged the denial');
  assert.ok(s.output().includes('a/target-00001'), 'the log names the revision');

  // Allow the system namespace, as Knative's docs say: a's caller gets through the activator.
  await apply(s, AP, policy(['a', 'knative-serving']) as never);
  const allowed = await until('a\'s caller allowed once knative-serving is allowed', async () => { const r = await viaCaller('a'); return r?.status === 200 ? r : undefined; }, 30_000);
  assert.equal(allowed.body, 'Hello target!\n', 'target answered');
  assert.equal(await mode(), 'proxy', 'still through the activator');
});
