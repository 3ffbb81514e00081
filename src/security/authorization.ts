/**
 * AuthorizationPolicy evaluation with Istio's order and semantics, for the mesh proxy's inbound
 * listener (and the gateway):
 *
 *  1. CUSTOM: sluice has no external authorizer; a CUSTOM policy is reported as unsupported and
 *     fails closed (a request its rules match is denied), as Istio does for an unknown provider.
 *  2. DENY: any matching rule of any selected DENY policy denies.
 *  3. ALLOW: if any ALLOW policy selects the workload, the request must match one of their rules;
 *     with no ALLOW policy selecting the workload, the request is allowed.
 *  AUDIT policies only mark the result (`audit: true`).
 *
 * Selection: a policy in the workload's namespace applies when its `selector.matchLabels` match
 * the workload's labels (no selector = the whole namespace); a policy in the root namespace
 * (default `istio-system`) applies mesh-wide, its selector matched against every workload.
 * Policies with `targetRef(s)` address gateways and waypoints, not workloads; they are skipped here.
 * A policy without rules matches nothing (ALLOW `spec: {}` = allow nothing; DENY with no rules never denies).
 *
 * Rules that do not compile (bad CIDR, unknown condition key) fail closed: they never match in an
 * ALLOW or AUDIT policy and always match in a DENY or CUSTOM policy. `validatePolicy` reports them
 * so the control plane can keep the previous configuration serving instead.
 */
import type { AuthorizationPolicy } from '../api/types/istio.ts';
import { compileRule, ipBlockProblem, conditionKeyProblem, type AuthzRequest, type CompiledRule } from './authorization-rules.ts';
import { SecurityErrors, type SecurityProblem } from './security-errors.ts';
import { DEFAULT_ROOT_NAMESPACE } from './peer-authentication.ts';

export type { AuthzRequest } from './authorization-rules.ts';
export { principalOf } from './authorization-rules.ts';

/** The body Envoy's RBAC filter (and so Istio) answers a denied HTTP request with, status 403. */
export const RBAC_DENIED_BODY = 'RBAC: access denied';
export const RBAC_DENIED_STATUS = 403;

export interface AuthzDecision {
  allowed: boolean;
  action: 'ALLOW' | 'DENY';
  /** `namespace/name` of the policy that decided (a DENY/CUSTOM match or the ALLOW match). */
  matchedPolicy?: string;
  /** True when an AUDIT policy matched the request. */
  audit?: boolean;
  /** Human-readable explanation for logs and access-log fields. */
  reason: string;
}

export interface AuthzOptions { rootNamespace?: string }

interface CompiledPolicy {
  ref: string;
  action: string;
  namespace: string;
  matchLabels: Record<string, string>;
  skip: boolean;
  rules: { rule: CompiledRule; failClosed: boolean }[];
}

const compiledCache = new WeakMap<AuthorizationPolicy, CompiledPolicy>();

function compilePolicy(p: AuthorizationPolicy): CompiledPolicy {
  const hit = compiledCache.get(p);
  if (hit) return hit;
  const action = p.spec?.action ?? 'ALLOW';
  const rules = (p.spec?.rules ?? []).map((r, i) => {
    const rule = compileRule(r ?? {}, `spec.rules[${i}]`);
    return { rule, failClosed: rule.errors.some((e) => !e.unsupported) };
  });
  const c: CompiledPolicy = {
    ref: `${p.metadata.namespace}/${p.metadata.name}`,
    action,
    namespace: p.metadata.namespace ?? '',
    matchLabels: p.spec?.selector?.matchLabels ?? {},
    skip: p.spec?.targetRef !== undefined || (p.spec?.targetRefs?.length ?? 0) > 0,
    rules,
  };
  compiledCache.set(p, c);
  return c;
}

function ruleMatches(c: CompiledPolicy, r: AuthzRequest): boolean {
  const denyLike = c.action !== 'ALLOW' && c.action !== 'AUDIT';
  return c.rules.some(({ rule, failClosed }) => (failClosed ? denyLike : rule.match(r)));
}

/** Policies (compiled) that select the request's workload. */
function selected(policies: readonly AuthorizationPolicy[], r: AuthzRequest, root: string): CompiledPolicy[] {
  const out: CompiledPolicy[] = [];
  for (const p of policies) {
    const ns = p.metadata.namespace;
    if (ns !== r.namespace && ns !== root) continue;
    const c = compilePolicy(p);
    if (c.skip) continue;
    if (Object.entries(c.matchLabels).every(([k, v]) => r.workloadLabels[k] === v)) out.push(c);
  }
  // Deterministic: when several policies match, the first by namespace/name is reported.
  return out.sort((a, b) => a.ref.localeCompare(b.ref));
}

/** Decides one request against every policy (selection included). Pure; compiled rules are cached per policy object. */
export function evaluate(policies: readonly AuthorizationPolicy[], request: AuthzRequest, opts: AuthzOptions = {}): AuthzDecision {
  const sel = selected(policies, request, opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE);
  const audit = sel.some((c) => c.action === 'AUDIT' && ruleMatches(c, request)) || undefined;
  const withAudit = (d: AuthzDecision): AuthzDecision => (audit ? { ...d, audit } : d);
  for (const c of sel) {
    if (c.action === 'CUSTOM' && ruleMatches(c, request)) {
      return withAudit({ allowed: false, action: 'DENY', matchedPolicy: c.ref, reason: `denied by CUSTOM policy ${c.ref}: external authorization is not supported, so it fails closed` });
    }
  }
  for (const c of sel) {
    if (c.action !== 'ALLOW' && c.action !== 'AUDIT' && c.action !== 'CUSTOM' && ruleMatches(c, request)) {
      return withAudit({ allowed: false, action: 'DENY', matchedPolicy: c.ref, reason: `denied by ${c.action === 'DENY' ? 'DENY' : `unknown-action (${c.action}, treated as DENY)`} policy ${c.ref}` });
    }
  }
  const allows = sel.filter((c) => c.action === 'ALLOW');
  if (allows.length === 0) return withAudit({ allowed: true, action: 'ALLOW', reason: 'no ALLOW policy selects this workload' });
  const hit = allows.find((c) => ruleMatches(c, request));
  if (hit) return withAudit({ allowed: true, action: 'ALLOW', matchedPolicy: hit.ref, reason: `allowed by ALLOW policy ${hit.ref}` });
  return withAudit({ allowed: false, action: 'DENY', reason: `no rule of the ${allows.length} ALLOW ${allows.length === 1 ? 'policy' : 'policies'} selecting this workload matched (${allows.map((c) => c.ref).join(', ')})` });
}

const SPEC_KEYS = ['selector', 'targetRef', 'targetRefs', 'rules', 'action', 'provider'];
const RULE_KEYS = ['from', 'to', 'when'];
const SOURCE_KEYS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'];
const OPERATION_KEYS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'];
const CONDITION_FIELDS = ['key', 'values', 'notValues'];
const ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Everything sluice cannot enforce as written, with field paths; severity 'error' means "do not apply". */
export function validatePolicy(ap: AuthorizationPolicy): SecurityProblem[] {
  const resource = `AuthorizationPolicy ${ap.metadata.namespace}/${ap.metadata.name}`;
  const out: SecurityProblem[] = [];
  const add = (field: string, message: string, severity: 'error' | 'warning' = 'error', code: string = SecurityErrors.AuthzInvalid) => out.push({ resource, field, message, severity, code });
  const unknownKeys = (o: unknown, known: string[], path: string) => {
    if (!isObj(o)) { if (o !== undefined) add(path, 'must be an object'); return; }
    for (const k of Object.keys(o)) if (!known.includes(k)) add(`${path}.${k}`, `unknown field ${JSON.stringify(k)}; known fields: ${known.join(', ')}`);
  };
  const spec = (ap.spec ?? {}) as Obj;
  unknownKeys(spec, SPEC_KEYS, 'spec');
  const action = (spec.action as string | undefined) ?? 'ALLOW';
  if (!ACTIONS.includes(action)) add('spec.action', `unknown action ${JSON.stringify(action)}; use one of ${ACTIONS.join(', ')} (sluice treats it as DENY)`);
  if (action === 'CUSTOM') add('spec.action', 'action CUSTOM needs an external authorization provider, which sluice does not support; requests matching the rules are denied', 'error', SecurityErrors.AuthzUnsupported);
  if (spec.targetRef !== undefined || (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0)) {
    add(spec.targetRef !== undefined ? 'spec.targetRef' : 'spec.targetRefs', 'policies with targetRef apply to gateways and waypoints; sluice enforces selector policies on workloads only, so this policy is not enforced', 'warning', SecurityErrors.AuthzUnsupported);
  }
  const rules = spec.rules;
  if (rules !== undefined && !Array.isArray(rules)) add('spec.rules', 'must be a list');
  (Array.isArray(rules) ? rules : []).forEach((rule, i) => {
    const rp = `spec.rules[${i}]`;
    unknownKeys(rule, RULE_KEYS, rp);
    if (!isObj(rule)) return;
    (Array.isArray(rule.from) ? rule.from : []).forEach((f, j) => {
      unknownKeys(f, ['source'], `${rp}.from[${j}]`);
      const src = isObj(f) ? f.source : undefined;
      unknownKeys(src, SOURCE_KEYS, `${rp}.from[${j}].source`);
      if (isObj(src)) {
        if (!Object.values(src).some((v) => Array.isArray(v) && v.length > 0)) add(`${rp}.from[${j}].source`, 'source must not be empty');
        for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) {
          (Array.isArray(src[k]) ? src[k] as unknown[] : []).forEach((v, n) => { const p = ipBlockProblem(v as string); if (p) add(`${rp}.from[${j}].source.${k}[${n}]`, p); });
        }
        for (const k of ['requestPrincipals', 'notRequestPrincipals']) {
          if (Array.isArray(src[k]) && (src[k] as unknown[]).length > 0) add(`${rp}.from[${j}].source.${k}`, `${k} needs JWT authentication (RequestAuthentication), which sluice does not support; no request carries a request principal`, 'warning', SecurityErrors.AuthzUnsupported);
        }
      }
    });
    (Array.isArray(rule.to) ? rule.to : []).forEach((t, j) => {
      unknownKeys(t, ['operation'], `${rp}.to[${j}]`);
      const op = isObj(t) ? t.operation : undefined;
      unknownKeys(op, OPERATION_KEYS, `${rp}.to[${j}].operation`);
      if (isObj(op)) {
        if (!Object.values(op).some((v) => Array.isArray(v) && v.length > 0)) add(`${rp}.to[${j}].operation`, 'operation must not be empty');
        for (const k of ['ports', 'notPorts']) {
          (Array.isArray(op[k]) ? op[k] as unknown[] : []).forEach((v, n) => {
            const s = String(v);
            if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) add(`${rp}.to[${j}].operation.${k}[${n}]`, `port ${JSON.stringify(v)} must be a number in 1..65535`);
          });
        }
      }
    });
    (Array.isArray(rule.when) ? rule.when : []).forEach((c, j) => {
      const cp = `${rp}.when[${j}]`;
      unknownKeys(c, CONDITION_FIELDS, cp);
      if (!isObj(c)) return;
      if (typeof c.key !== 'string') { add(`${cp}.key`, 'key is required'); return; }
      const kp = conditionKeyProblem(c.key);
      if (kp) add(`${cp}.key`, kp.message, kp.unsupported ? 'warning' : 'error', kp.unsupported ? SecurityErrors.AuthzUnsupported : SecurityErrors.AuthzInvalid);
      const has = (k: string) => Array.isArray(c[k]) && (c[k] as unknown[]).length > 0;
      if (!has('values') && !has('notValues')) add(cp, 'a condition needs values or notValues');
      if (['source.ip', 'remote.ip', 'destination.ip'].includes(c.key)) {
        for (const k of ['values', 'notValues']) (Array.isArray(c[k]) ? c[k] as unknown[] : []).forEach((v, n) => { const p = ipBlockProblem(v as string); if (p) add(`${cp}.${k}[${n}]`, p); });
      }
      if (c.key === 'destination.port') {
        for (const k of ['values', 'notValues']) (Array.isArray(c[k]) ? c[k] as unknown[] : []).forEach((v, n) => { if (!/^\d+$/.test(String(v))) add(`${cp}.${k}[${n}]`, `port ${JSON.stringify(v)} must be a number`); });
      }
    });
  });
  return out;
}
