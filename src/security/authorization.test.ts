import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicy, AuthorizationPolicySpec, AuthorizationRule } from '../api/types/istio.ts';
import { evaluate, principalOf, RBAC_DENIED_BODY, validatePolicy, type AuthzRequest } from './authorization.ts';

function ap(namespace: string, name: string, spec: AuthorizationPolicySpec): AuthorizationPolicy {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace, name }, spec };
}
function req(over: Partial<Omit<AuthzRequest, 'source'>> & { source?: Partial<AuthzRequest['source']> } = {}): AuthzRequest {
  return {
    namespace: 'web', workloadLabels: { app: 'shop' }, host: 'shop.web.svc.cluster.local', method: 'GET', path: '/api/items?x=1', port: 8080, headers: { 'x-user': 'alice' },
    ...over,
    source: { principal: 'cluster.local/ns/a/sa/default', ip: '10.1.2.3', ...over.source },
  };
}
/** One ALLOW policy with one rule; returns whether the request is allowed. */
const allowOne = (rule: AuthorizationRule, r: AuthzRequest) => evaluate([ap('web', 'p', { rules: [rule] })], r).allowed;

test('acceptance: a policy that allows namespace a lets a\'s principal in and denies b\'s with RBAC: access denied', () => {
  const policy = ap('web', 'allow-a', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['a'] } }] }] });
  const fromA = evaluate([policy], req({ source: { principal: principalOf('spiffe://cluster.local/ns/a/sa/default') } }));
  assert.deepEqual(fromA, { allowed: true, action: 'ALLOW', matchedPolicy: 'web/allow-a', reason: 'allowed by ALLOW policy web/allow-a' });
  const fromB = evaluate([policy], req({ source: { principal: 'cluster.local/ns/b/sa/default' } }));
  assert.equal(fromB.allowed, false);
  assert.equal(fromB.action, 'DENY');
  assert.equal(RBAC_DENIED_BODY, 'RBAC: access denied');
  const plaintext = evaluate([policy], req({ source: { principal: undefined } }));
  assert.equal(plaintext.allowed, false, 'a peer without identity has no namespace');
});

test('source fields', () => {
  const cases: [string, AuthorizationRule['from'], Partial<AuthzRequest['source']>, boolean][] = [
    ['principal exact', [{ source: { principals: ['cluster.local/ns/a/sa/default'] } }], {}, true],
    ['principal other', [{ source: { principals: ['cluster.local/ns/a/sa/other'] } }], {}, false],
    ['principal prefix', [{ source: { principals: ['cluster.local/ns/a/*'] } }], {}, true],
    ['principal suffix', [{ source: { principals: ['*/sa/default'] } }], {}, true],
    ['principal * needs an identity', [{ source: { principals: ['*'] } }], { principal: undefined }, false],
    ['principal * with identity', [{ source: { principals: ['*'] } }], {}, true],
    ['notPrincipals excludes', [{ source: { notPrincipals: ['cluster.local/ns/a/*'] } }], {}, false],
    ['notPrincipals * matches plaintext', [{ source: { notPrincipals: ['*'] } }], { principal: undefined }, true],
    ['namespaces', [{ source: { namespaces: ['a', 'c'] } }], {}, true],
    ['namespaces from explicit field', [{ source: { namespaces: ['z'] } }], { namespace: 'z', principal: undefined }, true],
    ['notNamespaces', [{ source: { notNamespaces: ['a'] } }], {}, false],
    ['ipBlocks v4 CIDR', [{ source: { ipBlocks: ['10.1.0.0/16'] } }], {}, true],
    ['ipBlocks v4 miss', [{ source: { ipBlocks: ['10.2.0.0/16', '192.168.1.1'] } }], {}, false],
    ['ipBlocks single address', [{ source: { ipBlocks: ['10.1.2.3'] } }], {}, true],
    ['ipBlocks v4-mapped v6 peer', [{ source: { ipBlocks: ['10.1.0.0/16'] } }], { ip: '::ffff:10.1.9.9' }, true],
    ['ipBlocks v6', [{ source: { ipBlocks: ['fd00::/8'] } }], { ip: 'fd00::1' }, true],
    ['ipBlocks v6 miss', [{ source: { ipBlocks: ['fd00::/8'] } }], { ip: '2001:db8::1' }, false],
    ['notIpBlocks', [{ source: { notIpBlocks: ['10.0.0.0/8'] } }], {}, false],
    ['remoteIpBlocks uses the original client', [{ source: { remoteIpBlocks: ['203.0.113.0/24'] } }], { remoteIp: '203.0.113.7' }, true],
    ['fields inside one source AND', [{ source: { namespaces: ['a'], ipBlocks: ['192.168.0.0/16'] } }], {}, false],
    ['sources OR', [{ source: { namespaces: ['x'] } }, { source: { ipBlocks: ['10.0.0.0/8'] } }], {}, true],
    ['requestPrincipals match no request (no JWT)', [{ source: { requestPrincipals: ['*'] } }], {}, false],
  ];
  for (const [name, from, source, want] of cases) assert.equal(allowOne({ from }, req({ source })), want, name);
});

test('operation fields', () => {
  const cases: [string, AuthorizationRule['to'], Partial<AuthzRequest>, boolean][] = [
    ['hosts case-insensitive', [{ operation: { hosts: ['SHOP.web.svc.cluster.local'] } }], {}, true],
    ['hosts suffix wildcard', [{ operation: { hosts: ['*.svc.cluster.local'] } }], {}, true],
    ['hosts prefix wildcard', [{ operation: { hosts: ['shop.*'] } }], {}, true],
    ['hosts with port in Host header', [{ operation: { hosts: ['shop.example.com'] } }], { host: 'shop.example.com:8080' }, true],
    ['notHosts', [{ operation: { notHosts: ['*.cluster.local'] } }], {}, false],
    ['methods', [{ operation: { methods: ['GET', 'HEAD'] } }], {}, true],
    ['methods are case-sensitive', [{ operation: { methods: ['get'] } }], {}, false],
    ['notMethods', [{ operation: { notMethods: ['GET'] } }], {}, false],
    ['paths exact ignores the query', [{ operation: { paths: ['/api/items'] } }], {}, true],
    ['paths prefix', [{ operation: { paths: ['/api/*'] } }], {}, true],
    ['paths suffix', [{ operation: { paths: ['*/items'] } }], {}, true],
    ['paths miss', [{ operation: { paths: ['/admin/*'] } }], {}, false],
    ['notPaths', [{ operation: { notPaths: ['/api/*'] } }], {}, false],
    ['ports', [{ operation: { ports: ['8080'] } }], {}, true],
    ['ports miss', [{ operation: { ports: ['9090'] } }], {}, false],
    ['notPorts', [{ operation: { notPorts: ['9090'] } }], {}, true],
    ['fields inside one operation AND', [{ operation: { methods: ['GET'], paths: ['/admin'] } }], {}, false],
    ['operations OR', [{ operation: { methods: ['POST'] } }, { operation: { paths: ['/api/*'] } }], {}, true],
  ];
  for (const [name, to, over, want] of cases) assert.equal(allowOne({ to }, req(over)), want, name);
});

test('when conditions', () => {
  const cases: [string, AuthorizationRule['when'], Partial<AuthzRequest>, boolean][] = [
    ['header value', [{ key: 'request.headers[X-User]', values: ['alice'] }], {}, true],
    ['header prefix', [{ key: 'request.headers[x-user]', values: ['ali*'] }], {}, true],
    ['header * means present', [{ key: 'request.headers[x-missing]', values: ['*'] }], {}, false],
    ['header notValues', [{ key: 'request.headers[x-user]', notValues: ['alice'] }], {}, false],
    ['multi-valued header joined', [{ key: 'request.headers[x-tag]', values: ['a,b'] }], { headers: { 'x-tag': ['a', 'b'] } }, true],
    ['source.namespace', [{ key: 'source.namespace', values: ['a'] }], {}, true],
    ['source.principal', [{ key: 'source.principal', values: ['cluster.local/ns/a/sa/default'] }], {}, true],
    ['source.ip CIDR', [{ key: 'source.ip', values: ['10.0.0.0/8'] }], {}, true],
    ['source.ip notValues', [{ key: 'source.ip', notValues: ['10.1.2.3'] }], {}, false],
    ['destination.port', [{ key: 'destination.port', values: ['8080'] }], {}, true],
    ['destination.port miss', [{ key: 'destination.port', values: ['80'] }], {}, false],
    ['conditions AND', [{ key: 'source.namespace', values: ['a'] }, { key: 'destination.port', values: ['80'] }], {}, false],
    ['unknown key never matches in ALLOW', [{ key: 'request.bogus', values: ['x'] }], {}, false],
  ];
  for (const [name, when, over, want] of cases) assert.equal(allowOne({ when }, req(over)), want, name);
});

test('evaluation order: CUSTOM, DENY, ALLOW; AUDIT only marks; empty rule and empty policy', () => {
  const allowA = ap('web', 'allow-a', { rules: [{ from: [{ source: { namespaces: ['a'] } }] }] });
  const denyAdmin = ap('web', 'deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] });
  const auditAll = ap('web', 'audit', { action: 'AUDIT', rules: [{}] });
  const allowAll = ap('web', 'allow-all', { rules: [{}] });
  const allowNothing = ap('web', 'allow-nothing', {});
  const denyNothing = ap('web', 'deny-nothing', { action: 'DENY' });
  const custom = ap('web', 'ext', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/ext/*'] } }] }] });

  assert.deepEqual(evaluate([], req()), { allowed: true, action: 'ALLOW', reason: 'no ALLOW policy selects this workload' });
  const d = evaluate([allowA, denyAdmin], req({ path: '/admin/x' }));
  assert.deepEqual([d.allowed, d.matchedPolicy], [false, 'web/deny-admin'], 'DENY wins over a matching ALLOW');
  assert.equal(evaluate([allowA, denyAdmin], req()).allowed, true);
  assert.equal(evaluate([allowAll], req({ source: { principal: undefined } })).allowed, true, 'rules: [{}] allows everything');
  assert.equal(evaluate([allowNothing], req()).allowed, false, 'ALLOW without rules allows nothing');
  assert.equal(evaluate([denyNothing], req()).allowed, true, 'DENY without rules denies nothing');
  assert.equal(evaluate([allowNothing, allowA], req()).allowed, true, 'any ALLOW policy may match');
  const audited = evaluate([auditAll], req());
  assert.deepEqual([audited.allowed, audited.audit], [true, true]);
  const auditedDenied = evaluate([auditAll, denyAdmin], req({ path: '/admin/' }));
  assert.deepEqual([auditedDenied.allowed, auditedDenied.audit], [false, true]);
  const c = evaluate([custom, allowAll], req({ path: '/ext/a' }));
  assert.deepEqual([c.allowed, c.matchedPolicy], [false, 'web/ext']);
  assert.match(c.reason, /CUSTOM.*not supported/);
  assert.equal(evaluate([custom, allowAll], req({ path: '/other' })).allowed, true, 'CUSTOM only fails closed for requests it matches');
});

test('selection: selector, namespace, root namespace mesh-wide, targetRef skipped', () => {
  const denyAll = (ns: string, name: string, extra: Partial<AuthorizationPolicySpec> = {}) => ap(ns, name, { action: 'DENY', rules: [{}], ...extra });
  assert.equal(evaluate([denyAll('other', 'd')], req()).allowed, true, 'another namespace does not apply');
  assert.equal(evaluate([denyAll('istio-system', 'd')], req()).allowed, false, 'root namespace applies mesh-wide');
  assert.equal(evaluate([denyAll('mesh', 'd')], req(), { rootNamespace: 'mesh' }).allowed, false, 'configurable root namespace');
  assert.equal(evaluate([denyAll('istio-system', 'd', { selector: { matchLabels: { app: 'other' } } })], req()).allowed, true, 'root selector still selects');
  assert.equal(evaluate([denyAll('istio-system', 'd', { selector: { matchLabels: { app: 'shop' } } })], req()).allowed, false);
  assert.equal(evaluate([denyAll('web', 'd', { selector: { matchLabels: { app: 'shop', tier: 'x' } } })], req()).allowed, true, 'every label must match');
  assert.equal(evaluate([denyAll('web', 'd', { targetRefs: [{ kind: 'Gateway', name: 'gw' }] })], req()).allowed, true, 'targetRef policies are not workload policies');
});

test('invalid rules fail closed: never allow, always deny', () => {
  const badAllow = ap('web', 'bad-allow', { rules: [{ from: [{ source: { notIpBlocks: ['10.0.0.0/99'] } }] }] });
  assert.equal(evaluate([badAllow], req()).allowed, false);
  const badDeny = ap('web', 'bad-deny', { action: 'DENY', rules: [{ when: [{ key: 'request.bogus', values: ['x'] }] }] });
  assert.equal(evaluate([badDeny], req()).allowed, false);
});

test('validatePolicy: unknown fields, bad CIDRs, ports, keys, unsupported features; a good policy has none', () => {
  assert.deepEqual(validatePolicy(ap('web', 'ok', { rules: [{ from: [{ source: { namespaces: ['a'], ipBlocks: ['10.0.0.0/8', 'fd00::/8'] } }], to: [{ operation: { ports: ['8080'] } }], when: [{ key: 'request.headers[x]', values: ['y'] }] }] })), []);
  const bad = ap('web', 'bad', {
    action: 'CUSTOM', provider: { name: 'x' },
    rules: [{
      from: [{ source: { ipBlocks: ['10.0.0.300/8'], requestPrincipals: ['*'], principles: ['typo'] } as never }],
      to: [{ operation: { ports: ['http'] } }, { operation: {} }],
      when: [{ key: 'request.bogus', values: ['x'] }, { key: 'source.ip', values: ['nope'] }, { key: 'request.auth.claims[iss]', values: ['x'] }, { key: 'source.namespace' }],
    }],
    extra: true,
  } as never);
  const got = validatePolicy(bad).map((p) => `${p.severity} ${p.code} ${p.field}`);
  assert.deepEqual(got, [
    'error SLUICE_E_AUTHZ_INVALID spec.extra',
    'error SLUICE_E_AUTHZ_UNSUPPORTED spec.action',
    'error SLUICE_E_AUTHZ_INVALID spec.rules[0].from[0].source.principles',
    'error SLUICE_E_AUTHZ_INVALID spec.rules[0].from[0].source.ipBlocks[0]',
    'warning SLUICE_E_AUTHZ_UNSUPPORTED spec.rules[0].from[0].source.requestPrincipals',
    'error SLUICE_E_AUTHZ_INVALID spec.rules[0].to[0].operation.ports[0]',
    'error SLUICE_E_AUTHZ_INVALID spec.rules[0].to[1].operation',
    'error SLUICE_E_AUTHZ_INVALID spec.rules[0].when[0].key',
    'error SLUICE_E_AUTHZ_INVALID spec.rules[0].when[1].values[0]',
    'warning SLUICE_E_AUTHZ_UNSUPPORTED spec.rules[0].when[2].key',
    'error SLUICE_E_AUTHZ_INVALID spec.rules[0].when[3]',
  ]);
  const msgs = validatePolicy(bad);
  assert.ok(msgs.every((p) => p.resource === 'AuthorizationPolicy web/bad'));
  assert.match(msgs[0].message, /unknown field "extra"/);
  assert.match(msgs[3].message, /"10.0.0.300\/8" is not an IP address/);
  assert.match(msgs[7].message, /unknown condition key "request.bogus"/);
});
