import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicy, AuthorizationPolicySpec, AuthorizationRule } from '../api/types/istio.ts';
import { seededRng } from '../lib/rng.ts';
import { isSluiceError } from '../lib/errors.ts';
import { decodeResource, encodeResource, TypeUrl } from '../xds/protos.ts';
import { evaluate, type AuthzRequest } from './authorization.ts';
import { toRbacFilters, RBAC_FILTER_NAME } from './envoy-rbac.ts';
import { compileRbacFilter, evaluateRbacFilters } from './envoy-rbac-eval.ts';
import { SecurityErrors } from './security-errors.ts';

function ap(namespace: string, name: string, spec: AuthorizationPolicySpec): AuthorizationPolicy {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace, name }, spec };
}

/** Every field and wildcard form, valid and invalid, as single rules. */
const RULES: AuthorizationRule[] = [
  {},
  { from: [{ source: { principals: ['cluster.local/ns/a/sa/default'] } }] },
  { from: [{ source: { principals: ['cluster.local/ns/a/*'] } }] },
  { from: [{ source: { principals: ['*/sa/default', '*'] } }] },
  { from: [{ source: { notPrincipals: ['*'] } }] },
  { from: [{ source: { namespaces: ['a'] } }] },
  { from: [{ source: { namespaces: ['b*', '*c'] } }, { source: { notNamespaces: ['a'] } }] },
  { from: [{ source: { ipBlocks: ['10.1.0.0/16', 'fd00::/8'] } }] },
  { from: [{ source: { notIpBlocks: ['10.1.2.3'] } }] },
  { from: [{ source: { remoteIpBlocks: ['203.0.113.0/24'] } }] },
  { from: [{ source: { requestPrincipals: ['*'] } }] },
  { from: [{ source: { namespaces: ['a'], ipBlocks: ['10.0.0.0/8'] } }] },
  { to: [{ operation: { hosts: ['shop.example.com'] } }] },
  { to: [{ operation: { hosts: ['*.Example.com'], methods: ['GET'] } }] },
  { to: [{ operation: { hosts: ['shop.*'] } }, { operation: { notHosts: ['*'] } }] },
  { to: [{ operation: { methods: ['POST'], paths: ['/api/*'] } }] },
  { to: [{ operation: { paths: ['/admin', '*/items'] } }] },
  { to: [{ operation: { notPaths: ['/api/*'], ports: ['8080'] } }] },
  { to: [{ operation: { notPorts: ['9090'], notMethods: ['DELETE'] } }] },
  { when: [{ key: 'request.headers[X-User]', values: ['alice', 'bo*'] }] },
  { when: [{ key: 'request.headers[x-user]', notValues: ['*'] }] },
  { when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }, { key: 'destination.port', notValues: ['9090'] }] },
  { when: [{ key: 'source.namespace', values: ['a'] }, { key: 'source.principal', notValues: ['*/sa/admin'] }] },
  { when: [{ key: 'remote.ip', notValues: ['203.0.113.0/24'] }] },
  { when: [{ key: 'connection.sni', values: ['*.example.com'] }, { key: 'destination.ip', values: ['10.9.0.0/16'] }] },
  { when: [{ key: 'request.auth.claims[iss]', values: ['x'] }] },
  { from: [{ source: { ipBlocks: ['10.0.0.300/8'] } }] }, // invalid: fails closed
  { when: [{ key: 'request.bogus', values: ['x'] }] }, // invalid: fails closed
  { to: [{ operation: { ports: ['http'] } }] }, // invalid: fails closed
];

const REQUESTS: AuthzRequest[] = [];
for (const principal of ['cluster.local/ns/a/sa/default', 'cluster.local/ns/bc/sa/admin', undefined]) {
  for (const [host, method, path, port] of [['shop.example.com', 'GET', '/api/items?q=1', 8080], ['SHOP.EXAMPLE.COM:8080', 'POST', '/admin', 9090], ['other.internal', 'DELETE', '/x/items', 80]] as const) {
    for (const [ip, remoteIp, user] of [['10.1.2.3', undefined, 'alice'], ['fd00::5', '203.0.113.9', 'bob'], ['::ffff:192.168.0.1', undefined, undefined]] as const) {
      REQUESTS.push({
        namespace: 'web', workloadLabels: { app: 'shop' }, host, method, path, port,
        headers: user ? { 'x-user': user } : {}, source: { principal, ip, remoteIp }, sni: 'shop.example.com', destinationIp: '10.9.1.1',
      });
    }
  }
}

/** Encodes each filter's RBAC message to protobuf and back, as the proxy receives it over xDS. */
function overTheWire(filters: ReturnType<typeof toRbacFilters>): object[] {
  return filters.map((f) => {
    const { '@type': type, ...msg } = f.typed_config;
    assert.equal(type, TypeUrl.Rbac);
    return { name: f.name, typed_config: decodeResource(TypeUrl.Rbac, encodeResource(TypeUrl.Rbac, msg)) };
  });
}

const strip = (d: { allowed: boolean; action: string; matchedPolicy?: string; audit?: boolean }) => ({ allowed: d.allowed, action: d.action, matchedPolicy: d.matchedPolicy, audit: d.audit });

test('every rule, alone under each action: Envoy RBAC filters decide exactly like evaluate()', () => {
  let compared = 0;
  const outcomes = { allowed: 0, denied: 0, audited: 0, byPolicy: 0 };
  for (const [i, rule] of RULES.entries()) {
    for (const action of ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const) {
      const policies = [ap('web', `p${i}`, { action, rules: [rule], ...(action === 'CUSTOM' ? { provider: { name: 'x' } } : {}) })];
      const filters = overTheWire(toRbacFilters(policies, { namespace: 'web', labels: { app: 'shop' } }));
      for (const r of REQUESTS) {
        const want = evaluate(policies, r);
        assert.deepEqual(strip(evaluateRbacFilters(filters, r)), strip(want), `rule ${i} ${action} ${JSON.stringify(r.source)} ${r.host} ${r.method} ${r.path}`);
        compared++;
        outcomes[want.allowed ? 'allowed' : 'denied']++;
        if (want.audit) outcomes.audited++;
        if (want.matchedPolicy) outcomes.byPolicy++;
      }
    }
  }
  assert.equal(compared, RULES.length * 4 * REQUESTS.length);
  // the table exercises every outcome, not just one
  for (const [k, v] of Object.entries(outcomes)) assert.ok(v > 100, `${k}: ${v}`);
});

test('random policy sets (selectors, root namespace, several actions): filters and evaluate() agree', () => {
  const rng = seededRng(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng.next() * xs.length)];
  for (let n = 0; n < 150; n++) {
    const policies: AuthorizationPolicy[] = [];
    const count = 1 + Math.floor(rng.next() * 4);
    for (let k = 0; k < count; k++) {
      const action = pick(['ALLOW', 'ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const);
      const rules = rng.next() < 0.1 ? undefined : Array.from({ length: 1 + Math.floor(rng.next() * 3) }, () => pick(RULES));
      const selector = pick([undefined, { matchLabels: { app: 'shop' } }, { matchLabels: { app: 'other' } }]);
      policies.push(ap(pick(['web', 'web', 'istio-system', 'elsewhere']), `p${k}`, { action, ...(rules ? { rules } : {}), ...(selector ? { selector } : {}), ...(action === 'CUSTOM' ? { provider: { name: 'x' } } : {}) }));
    }
    const filters = overTheWire(toRbacFilters(policies, { namespace: 'web', labels: { app: 'shop' } }));
    for (const r of REQUESTS) assert.deepEqual(strip(evaluateRbacFilters(filters, r)), strip(evaluate(policies, r)), `set ${n}: ${JSON.stringify(policies.map((p) => [p.metadata.namespace, p.spec]))}`);
  }
});

test('filter shapes: Istio policy names, allow-nothing, no filters without policies', () => {
  const w = { namespace: 'web', labels: { app: 'shop' } };
  assert.deepEqual(toRbacFilters([], w), []);
  const allowNothing = toRbacFilters([ap('web', 'deny-all', {})], w);
  assert.deepEqual(allowNothing, [{ name: RBAC_FILTER_NAME, typed_config: { '@type': TypeUrl.Rbac, rules: { action: 'ALLOW' } } }]);
  const f = toRbacFilters([ap('web', 'allow-a', { rules: [{ from: [{ source: { namespaces: ['a'] } }] }] })], w);
  assert.deepEqual(Object.keys(f[0].typed_config.rules.policies ?? {}), ['ns[web]-policy[allow-a]-rule[0]']);
  assert.deepEqual(f[0].typed_config.rules.policies!['ns[web]-policy[allow-a]-rule[0]'], {
    permissions: [{ any: true }],
    principals: [{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a/.*' } } } }],
  });
  assert.deepEqual(toRbacFilters([ap('other', 'x', { action: 'DENY', rules: [{}] })], w), [], 'other namespaces are not selected');
});

test('compileRbacFilter refuses what it cannot evaluate, naming the field', () => {
  assert.throws(() => compileRbacFilter({ rules: { action: 'ALLOW', policies: { p: { permissions: [{ metadata: {} }], principals: [{ any: true }] } } } }),
    (e) => isSluiceError(e, SecurityErrors.AuthzInvalid) && /rules.policies\[p\].permissions\[0\]: unsupported permission/.test(e.message));
  assert.throws(() => compileRbacFilter({ matcher: {} }), (e) => isSluiceError(e, SecurityErrors.AuthzInvalid) && /rules: is required/.test(e.message));
  assert.throws(() => compileRbacFilter({ rules: { action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: 'x' } }] } } } }),
    (e) => isSluiceError(e, SecurityErrors.AuthzInvalid) && /direct_remote_ip.address_prefix/.test(e.message));
});
