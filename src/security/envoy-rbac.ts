/**
 * AuthorizationPolicy → Envoy `envoy.filters.http.rbac` filters, as Istio's authz builder makes
 * them (istio pilot/pkg/security/authz/builder), so the policies reach the mesh proxy over xDS:
 *
 *  - one RBAC filter per action, in evaluation order: AUDIT (action LOG, only marks), CUSTOM
 *    (unsupported → a DENY filter, fails closed), DENY, ALLOW; no filter for an action without policies;
 *  - one Envoy policy per Istio rule, named `ns[NS]-policy[NAME]-rule[I]`, with
 *    permissions = AND(OR(to operations), destination conditions) and
 *    principals  = AND(OR(from sources), source/header conditions);
 *  - an ALLOW filter without policies denies everything (Istio's allow-nothing).
 *
 * `evaluateRbacFilters` in envoy-rbac-eval.ts decides a request from these filters exactly as
 * `evaluate` (authorization.ts) decides it from the policies; a test checks both agree.
 */
import type { AuthorizationPolicy, AuthorizationRule, Operation, Source } from '../api/types/istio.ts';
import { TypeUrl } from '../xds/protos.ts';
import { compileRule, conditionKeyProblem } from './authorization-rules.ts';
import { DEFAULT_ROOT_NAMESPACE } from './peer-authentication.ts';

type Obj = Record<string, unknown>;
export const RBAC_FILTER_NAME = 'envoy.filters.http.rbac';

export interface RbacFilter { name: string; typed_config: { '@type': string; rules: { action: 'ALLOW' | 'DENY' | 'LOG'; policies?: Record<string, Obj> }; shadow_rules_stat_prefix?: string } }

const reEscape = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => `\\${c}`);
/** Case-insensitive regex text without inline flags (RE2 and JS agree on character classes). */
const ciEscape = (s: string) => [...s].map((c) => (/[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : reEscape(c))).join('');

/** Istio's value → StringMatcher: `*` any present value, `x*` prefix, `*x` suffix, else exact. */
function stringMatcher(p: string, opts: { prefix?: string; ignoreCase?: boolean } = {}): Obj {
  const pre = opts.prefix ?? '';
  const ic = opts.ignoreCase ? { ignore_case: true } : {};
  if (p === '*') return { safe_regex: { regex: '.+' } };
  if (p.startsWith('*')) return { suffix: p.slice(1), ...ic };
  if (p.endsWith('*')) return pre + p.slice(0, -1) === '' ? { safe_regex: { regex: '.+' } } : { prefix: pre + p.slice(0, -1), ...ic };
  return { exact: pre + p, ...ic };
}

const or = (key: 'or_ids' | 'or_rules', inner: 'ids' | 'rules', xs: Obj[]): Obj => (xs.length === 1 ? xs[0] : { [key]: { [inner]: xs } });
const and = (key: 'and_ids' | 'and_rules', inner: 'ids' | 'rules', xs: Obj[]): Obj => (xs.length === 0 ? { any: true } : xs.length === 1 ? xs[0] : { [key]: { [inner]: xs } });

function cidr(v: string): Obj {
  const [addr, bits] = v.split('/');
  return { address_prefix: addr, prefix_len: { value: bits === undefined ? (addr.includes(':') ? 128 : 32) : Number(bits) } };
}

const principalId = (p: string): Obj => ({ authenticated: { principal_name: stringMatcher(p, { prefix: 'spiffe://' }) } });
function namespaceId(p: string): Obj {
  const seg = p === '*' ? '[^/]+' : p.startsWith('*') ? `[^/]*${reEscape(p.slice(1))}` : p.endsWith('*') ? `${reEscape(p.slice(0, -1))}[^/]*` : reEscape(p);
  return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${seg}/.*` } } } };
}
function hostRule(p: string): Obj {
  const h = (m: Obj): Obj => ({ header: { name: ':authority', string_match: m } });
  if (p === '*') return h({ safe_regex: { regex: '.+' } });
  // The Host header may carry a port; match the name with or without `:port`, ignoring case.
  const body = p.startsWith('*') ? `.*${ciEscape(p.slice(1))}` : p.endsWith('*') ? `${ciEscape(p.slice(0, -1))}.*` : ciEscape(p);
  return h({ safe_regex: { regex: `${body}(:[0-9]+)?` } });
}

/** pos: OR of matchers; neg: NOT(OR of matchers); both present: AND. */
function posNeg(pos: string[] | undefined, neg: string[] | undefined, one: (p: string) => Obj, ids: boolean): Obj[] {
  const [orK, orI, notK] = ids ? ['or_ids', 'ids', 'not_id'] as const : ['or_rules', 'rules', 'not_rule'] as const;
  const out: Obj[] = [];
  if (pos?.length) out.push(or(orK, orI, pos.map(one)));
  if (neg?.length) out.push({ [notK]: or(orK, orI, neg.map(one)) });
  return out;
}

function sourceIds(s: Source): Obj {
  const ids = [
    ...posNeg(s.principals, s.notPrincipals, principalId, true),
    ...posNeg(s.namespaces, s.notNamespaces, namespaceId, true),
    ...posNeg(s.ipBlocks, s.notIpBlocks, (v) => ({ direct_remote_ip: cidr(v) }), true),
    ...posNeg(s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => ({ remote_ip: cidr(v) }), true),
  ];
  if (s.requestPrincipals?.length) ids.push({ not_id: { any: true } }); // no JWT: matches no request
  return and('and_ids', 'ids', ids);
}

function operationRules(o: Operation): Obj {
  return and('and_rules', 'rules', [
    ...posNeg(o.hosts, o.notHosts, hostRule, false),
    ...posNeg(o.methods, o.notMethods, (p) => ({ header: { name: ':method', string_match: stringMatcher(p) } }), false),
    ...posNeg(o.paths, o.notPaths, (p) => ({ url_path: { path: stringMatcher(p) } }), false),
    ...posNeg(o.ports?.map(String), o.notPorts?.map(String), (p) => ({ destination_port: Number(p) }), false),
  ]);
}

function ruleToPolicy(rule: AuthorizationRule): Obj {
  const principals: Obj[] = [];
  const permissions: Obj[] = [];
  if (rule.from?.length) principals.push(or('or_ids', 'ids', rule.from.map((f) => sourceIds(f.source ?? {}))));
  if (rule.to?.length) permissions.push(or('or_rules', 'rules', rule.to.map((t) => operationRules(t.operation ?? {}))));
  for (const c of rule.when ?? []) {
    if (conditionKeyProblem(c.key)) { principals.push({ not_id: { any: true } }); continue; } // JWT keys: no request matches
    const k = c.key;
    if (k === 'source.ip') principals.push(...posNeg(c.values, c.notValues, (v) => ({ direct_remote_ip: cidr(v) }), true));
    else if (k === 'remote.ip') principals.push(...posNeg(c.values, c.notValues, (v) => ({ remote_ip: cidr(v) }), true));
    else if (k === 'source.namespace') principals.push(...posNeg(c.values, c.notValues, namespaceId, true));
    else if (k === 'source.principal') principals.push(...posNeg(c.values, c.notValues, principalId, true));
    else if (k === 'destination.ip') permissions.push(...posNeg(c.values, c.notValues, (v) => ({ destination_ip: cidr(v) }), false));
    else if (k === 'destination.port') permissions.push(...posNeg(c.values, c.notValues, (v) => ({ destination_port: Number(v) }), false));
    else if (k === 'connection.sni') permissions.push(...posNeg(c.values, c.notValues, (v) => ({ requested_server_name: stringMatcher(v) }), false));
    else {
      const name = k.slice('request.headers['.length, -1).toLowerCase();
      principals.push(...posNeg(c.values, c.notValues, (v) => ({ header: { name, string_match: stringMatcher(v) } }), true));
    }
  }
  return { permissions: [and('and_rules', 'rules', permissions)], principals: [and('and_ids', 'ids', principals)] };
}

/** Whether a rule has a value sluice cannot compile (bad CIDR or port, unknown key): such rules fail closed. */
function ruleInvalid(rule: AuthorizationRule): boolean {
  return compileRule(rule, 'r').errors.some((e) => !e.unsupported);
}

export const rbacPolicyName = (ns: string, name: string, i: number) => `ns[${ns}]-policy[${name}]-rule[${i}]`;

/**
 * The RBAC HTTP filters for one workload (namespace + labels), placed before the router in its
 * inbound HttpConnectionManager. Selection is the same as `evaluate`'s.
 */
export function toRbacFilters(policies: readonly AuthorizationPolicy[], workload: { namespace: string; labels: Record<string, string> }, opts: { rootNamespace?: string } = {}): RbacFilter[] {
  const root = opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const byAction: Record<'CUSTOM' | 'DENY' | 'ALLOW' | 'AUDIT', Record<string, Obj>> = { CUSTOM: {}, DENY: {}, ALLOW: {}, AUDIT: {} };
  const present = new Set<string>();
  const sorted = [...policies].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const p of sorted) {
    const ns = p.metadata.namespace ?? '';
    if (ns !== workload.namespace && ns !== root) continue;
    if (p.spec?.targetRef !== undefined || (p.spec?.targetRefs?.length ?? 0) > 0) continue;
    if (!Object.entries(p.spec?.selector?.matchLabels ?? {}).every(([k, v]) => workload.labels[k] === v)) continue;
    const raw = p.spec?.action ?? 'ALLOW';
    const action = raw === 'ALLOW' || raw === 'AUDIT' || raw === 'CUSTOM' ? raw : 'DENY'; // unknown actions fail closed
    present.add(action);
    (p.spec?.rules ?? []).forEach((rule, i) => {
      const invalid = ruleInvalid(rule ?? {});
      if (invalid && (action === 'ALLOW' || action === 'AUDIT')) return;
      byAction[action][rbacPolicyName(ns, p.metadata.name ?? '', i)] = invalid ? { permissions: [{ any: true }], principals: [{ any: true }] } : ruleToPolicy(rule ?? {});
    });
  }
  const filter = (action: 'ALLOW' | 'DENY' | 'LOG', pols: Record<string, Obj>, statPrefix?: string): RbacFilter => ({
    name: RBAC_FILTER_NAME,
    typed_config: { '@type': TypeUrl.Rbac, rules: { action, ...(Object.keys(pols).length ? { policies: pols } : {}) }, ...(statPrefix ? { shadow_rules_stat_prefix: statPrefix } : {}) },
  });
  const out: RbacFilter[] = [];
  // LOG first: it never stops a request, so every request (denied ones too) is audited.
  if (present.has('AUDIT') && Object.keys(byAction.AUDIT).length) out.push(filter('LOG', byAction.AUDIT));
  if (present.has('CUSTOM') && Object.keys(byAction.CUSTOM).length) out.push(filter('DENY', byAction.CUSTOM, 'istio_ext_authz_unsupported_'));
  if (present.has('DENY') && Object.keys(byAction.DENY).length) out.push(filter('DENY', byAction.DENY));
  if (present.has('ALLOW')) out.push(filter('ALLOW', byAction.ALLOW));
  return out;
}
