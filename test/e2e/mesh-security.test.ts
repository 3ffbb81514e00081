/**
 * Mesh security end to end through `sluice up` (API server, serving, runtime, control plane with
 * the mesh CA, the gateway proxy and the mesh proxy), with a shortened workload certificate
 * lifetime (proxy.mesh-cert-ttl: 6s, rotated every 3 s):
 *
 * - namespace a is STRICT (PeerAuthentication); its `target` Service admits only namespace a
 *   (AuthorizationPolicy ALLOW from namespaces [a]); `caller` Services in a and b call target
 *   through their pod's egress listener (test/e2e/mesh-caller.mjs, SLUICE_EGRESS);
 * - a's caller gets 200, b's caller 403 "RBAC: access denied", the gateway (its own identity,
 *   not in a) 403 — so the caller's identity crosses the mesh;
 * - target's mesh inbound port refuses plaintext, and a client certificate from another CA is
 *   refused in the handshake (while a mesh-CA certificate of namespace a is served);
 * - certificates rotate during a bounded load through gateway → caller (mTLS) → egress → target
 *   (mTLS) and no request fails;
 * - bad input: a policy with an unknown field is refused under strict field validation; stored
 *   anyway (no strict validation), its status says which field and the previous version stays
 *   enforced.
 * Services set target-burst-capacity 0 so ready pods are reached through the mesh, not the
 * activator (whose hop to the pod skips the inbound listener; the activator applies the pod's
 * AuthorizationPolicies itself as knative-serving: see test/e2e/mesh-activator.test.ts).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { REPO, apply, call, hostGet, startSluice, tempDir, until, type SluiceProc } from './api-harness.ts';
import { loadOrCreateCa } from '../../src/security/ca.ts';

const dir = tempDir('sluice-mesh-e2e-');
let sluice: SluiceProc | undefined;
after(async () => {
  if (sluice) { await sluice.stop(); sluice.cleanup(); }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** GET / over TLS with the given client certificate; resolves with the status line and the server's certificate serial. */
function tlsGet(port: number, o: { cert?: string; key?: string; ca: string; maxVersion?: tls.SecureVersion }): Promise<{ statusLine: string; serial: string; san: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    let serial = '';
    let san = '';
    const s = tls.connect({ host: '127.0.0.1', port, cert: o.cert, key: o.key, ca: o.ca, maxVersion: o.maxVersion, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined }, () => {
      const pc = s.getPeerCertificate();
      serial = pc.serialNumber;
      san = pc.subjectaltname ?? '';
      s.write('GET / HTTP/1.1\r\nhost: target\r\nconnection: close\r\n\r\n');
    });
    s.setTimeout(15_000, () => s.destroy(new Error('timed out')));
    s.setEncoding('utf8');
    s.on('data', (d: string) => { data += d; });
    s.on('error', reject);
    s.on('close', () => (data ? resolve({ statusLine: data.split('\r\n')[0]!, serial, san }) : reject(new Error(`closed without a response (handshake ${serial ? 'completed' : 'not completed'})`))));
  });
}

const ksvc = (ns: string, name: string, container: Record<string, unknown>) => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: ns },
  spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/target-burst-capacity': '0' } }, spec: { containers: [container] } } },
});
const caller = { image: 'mesh-caller', command: ['node', path.join(REPO, 'test/e2e/mesh-caller.mjs')] };
const allowA = (rule: Record<string, unknown>) => ({
  apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'target-from-a', namespace: 'a' },
  spec: { selector: { matchLabels: { 'serving.knative.dev/service': 'target' } }, action: 'ALLOW', rules: [rule] },
});

test('mesh: STRICT mTLS, caller identity through egress, RBAC by namespace, rotation under load, bad policies keep the previous one', { timeout: 300_000 }, async (t) => {
  const cfg = path.join(dir, 'sluice.yaml');
  fs.writeFileSync(cfg, 'proxy:\n  mesh: true\n  mesh-cert-ttl: 6s\n');
  sluice = await startSluice({ platform: true, args: ['--http-port', '0', '--https-port', '0', '--config', cfg], timeoutMs: 90_000 });
  const s = sluice;
  const ep = JSON.parse(fs.readFileSync(path.join(s.stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
  assert.ok(ep.meshAdmin && Number(ep.meshPid) > 0, `endpoints.json names the mesh proxy: ${JSON.stringify(ep)}`);
  const gw = Number(new URL(ep.gateway).port);

  for (const ns of ['a', 'b']) await apply(s, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } as never);
  await apply(s, '/apis/security.istio.io/v1/namespaces/a/peerauthentications', { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'a' }, spec: { mtls: { mode: 'STRICT' } } } as never);
  await apply(s, '/apis/security.istio.io/v1/namespaces/a/authorizationpolicies', allowA({ from: [{ source: { namespaces: ['a'] } }] }) as never);
  await apply(s, '/apis/networking.istio.io/v1/namespaces/b/sidecars', { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'b' }, spec: { egress: [{ hosts: ['./*', 'a/*'] }] } } as never);
  await apply(s, '/apis/serving.knative.dev/v1/namespaces/a/services', ksvc('a', 'target', { image: 'sluice/hello', env: [{ name: 'TARGET', value: 'target' }] }) as never);
  await apply(s, '/apis/serving.knative.dev/v1/namespaces/a/services', ksvc('a', 'caller', caller) as never);
  await apply(s, '/apis/serving.knative.dev/v1/namespaces/b/services', ksvc('b', 'caller', caller) as never);

  const viaCaller = async (ns: string) => {
    const r = await hostGet(gw, `caller.${ns}.sluice.localhost`, '/call?host=target.a.svc.cluster.local');
    return r.status === 200 ? JSON.parse(r.body) as { status: number; body: string } : undefined;
  };
  // Until target's pod is ready, its revision is served by the activator, whose hop to the pod
  // does not pass the mesh (documented gap): wait for the gateway to reach target through the mesh
  // (the gateway's identity is not in namespace a, so the policy answers 403).
  await until('the gateway reaches target through the mesh', async () => {
    const r = await hostGet(gw, 'target.a.sluice.localhost');
    return r.status === 403 && r.body === 'RBAC: access denied' ? true : undefined;
  }, 120_000);
  // a's pod, through its egress with its identity: allowed.
  const fromA = await until('caller in a reaches target', async () => { const r = await viaCaller('a'); return r?.status === 200 ? r : undefined; }, 120_000);
  assert.equal(fromA.body, 'Hello target!\n', 'target answered a\'s pod');
  const viaProxy = await hostGet(gw, 'caller.a.sluice.localhost', '/call?host=target.a.svc.cluster.local&via=proxy');
  assert.deepEqual(JSON.parse(viaProxy.body).status, 200, `the same call as an HTTP_PROXY client (absolute-form URL): ${viaProxy.body}`);
  // b's pod: authenticated as namespace b, denied by the policy.
  // b's pod: its egress proxy converges on the same endpoints; from then on it is denied.
  const fromB = await until('caller in b is answered through the mesh', async () => { const r = await viaCaller('b'); return r && r.status === 403 ? r : undefined; }, 60_000);
  assert.deepEqual([fromB.status, fromB.body], [403, 'RBAC: access denied'], 'namespace b is denied');
  // The gateway presents its own identity (istio-system), not namespace a's; a stays allowed.
  const direct = await hostGet(gw, 'target.a.sluice.localhost');
  assert.deepEqual([direct.status, direct.body], [403, 'RBAC: access denied'], 'the gateway is not in namespace a');
  assert.equal((await viaCaller('a'))?.status, 200, 'a is still allowed');
  const viaGwToCaller = await hostGet(gw, 'caller.a.sluice.localhost');
  assert.equal(viaGwToCaller.status, 200, 'gateway → caller in STRICT namespace a works over mTLS');

  // STRICT: target's mesh inbound port refuses plaintext.
  const pods = await call(s, 'GET', '/api/v1/namespaces/a/pods?labelSelector=serving.knative.dev/service%3Dtarget');
  const pod = pods.body.items.find((p: any) => p.status?.phase === 'Running') ?? pods.body.items[0];
  const inbound = Number(pod?.metadata.annotations?.['sluice.dev/inbound-port']);
  assert.ok(inbound > 0, `target's pod has a mesh inbound port: ${JSON.stringify(pod?.metadata.annotations)}`);
  await assert.rejects(hostGet(inbound, 'target'), /socket hang up|ECONNRESET|closed/i, 'plaintext is refused on a STRICT port');

  // mTLS: a mesh-CA certificate of namespace a is served; another CA's is refused in the handshake.
  const meshCa = await loadOrCreateCa(s.stateDir);
  const good = await meshCa.issueWorkload({ namespace: 'a', serviceAccount: 'default' });
  const ok = await tlsGet(inbound, { cert: good.chainPem, key: good.keyPem, ca: meshCa.rootPem });
  assert.match(ok.statusLine, /^HTTP\/1\.1 200/, 'a mesh client of namespace a is served');
  assert.equal(ok.san, 'URI:spiffe://cluster.local/ns/a/sa/default', 'target presents its SPIFFE identity');
  const otherCa = await loadOrCreateCa(path.join(dir, 'other-ca'));
  const bad = await otherCa.issueWorkload({ namespace: 'a', serviceAccount: 'default' });
  await assert.rejects(tlsGet(inbound, { cert: bad.chainPem, key: bad.keyPem, ca: meshCa.rootPem, maxVersion: 'TLSv1.2' }), /disconnected before secure TLS|alert|certificate|handshake|socket|ECONNRESET/i, 'TLS 1.2: the handshake fails for a foreign CA');
  await assert.rejects(tlsGet(inbound, { cert: bad.chainPem, key: bad.keyPem, ca: meshCa.rootPem }), /closed without a response|alert|certificate|ECONNRESET/i, 'TLS 1.3: refused before any request is served');
  await assert.rejects(tlsGet(inbound, { ca: meshCa.rootPem, maxVersion: 'TLSv1.2' }), /disconnected before secure TLS|alert|certificate|handshake|socket|ECONNRESET/i, 'no client certificate: refused');

  // Rotation during a bounded load: gateway → caller a (mTLS) → egress → target (mTLS), nothing lost.
  const serials = new Set<string>([ok.serial]);
  let sent = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (sent < 2000 && (serials.size < 3 || sent < 100)) {
      sent++;
      try {
        const r = await hostGet(gw, 'caller.a.sluice.localhost', '/call?host=target.a.svc.cluster.local');
        const inner = r.status === 200 ? JSON.parse(r.body) as { status: number } : undefined;
        if (inner?.status !== 200) failures.push(`${r.status} ${r.body.slice(0, 200)}`);
      } catch (e) { failures.push((e as Error).message); }
    }
  };
  const watcher = async () => {
    while (sent < 2000 && (serials.size < 3 || sent < 100)) {
      try { serials.add((await tlsGet(inbound, { cert: good.chainPem, key: good.keyPem, ca: meshCa.rootPem })).serial); } catch { /* counted by the load only */ }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  await Promise.all([worker(), worker(), worker(), watcher()]);
  assert.ok(serials.size >= 3, `target's certificate rotated at least twice during the load (serials seen: ${serials.size}, requests: ${sent})`);
  assert.deepEqual(failures, [], `no request failed across rotations (${sent} requests)`);
  t.diagnostic(`rotation under load: ${sent} requests, ${serials.size} certificates of target seen, 0 failures`);

  // Bad input: unknown field. Strict field validation refuses it with the field named.
  const strict = await call(s, 'PUT', '/apis/security.istio.io/v1/namespaces/a/authorizationpolicies/target-from-a?fieldValidation=Strict',
    { ...allowA({ frm: [{ source: { namespaces: ['b'] } }] }), metadata: { name: 'target-from-a', namespace: 'a', resourceVersion: (await call(s, 'GET', '/apis/security.istio.io/v1/namespaces/a/authorizationpolicies/target-from-a')).body.metadata.resourceVersion } });
  assert.equal(strict.status, 400, `strict decoding refuses the unknown field: ${JSON.stringify(strict.body)}`);
  assert.match(strict.body.message, /unknown field "spec\.rules\[0\]\.frm"/, 'names the field');
  // Stored anyway (no strict validation): the status says what is wrong, and the previous version stays enforced.
  await apply(s, '/apis/security.istio.io/v1/namespaces/a/authorizationpolicies', allowA({ frm: [{ source: { namespaces: ['b'] } }] }) as never);
  const cond = await until('the policy status names the unknown field', async () => {
    const g = await call(s, 'GET', '/apis/security.istio.io/v1/namespaces/a/authorizationpolicies/target-from-a');
    const c = (g.body.status?.conditions ?? []).find((x: { type: string; status: string }) => x.type === 'ConfigurationSupported' && x.status === 'False');
    return c && /frm/.test(c.message) && /previous version/.test(c.message) ? String(c.message) : undefined;
  });
  assert.match(cond, /spec\.rules\[0\]\.frm: unknown field "frm".*SLUICE_E_AUTHZ_INVALID.*previous version .* stays enforced/, `clear error: ${cond}`);
  const stillA = await viaCaller('a');
  const stillB = await viaCaller('b');
  assert.deepEqual([stillA?.status, stillB?.status, stillB?.body], [200, 403, 'RBAC: access denied'], 'the previous policy keeps being enforced');
});
