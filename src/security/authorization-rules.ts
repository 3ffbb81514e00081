/**
 * AuthorizationPolicy rules compiled to request predicates, with Istio's matching semantics
 * (istio.io/latest/docs/reference/config/security/authorization-policy):
 *
 *  - a rule matches when its `from`, `to` and `when` all match; a missing part matches anything,
 *    so the empty rule `{}` matches every request;
 *  - `from` and `to` are lists: any entry may match; inside an entry every set field must match;
 *  - string values match exactly, by prefix (`abc*`), by suffix (`*abc`), or `*` for any present value;
 *    hosts compare case-insensitively; paths ignore the query string;
 *  - `not*` fields match when none of their values match;
 *  - IP blocks are CIDRs or single addresses, IPv4 or IPv6 (node:net BlockList).
 *
 * Compilation never throws: a value it cannot use (bad CIDR, unsupported key) is recorded in
 * `errors` and the caller decides (see authorization.ts: rules with errors fail closed).
 */
import { BlockList, isIP } from 'node:net';
import type { AuthorizationCondition, AuthorizationRule, Operation, Source } from '../api/types/istio.ts';

export interface AuthzRequest {
  /** The workload's namespace and labels (what policies select). */
  namespace: string;
  workloadLabels: Record<string, string>;
  source: {
    /** Peer identity as Istio matches it: the SPIFFE id without `spiffe://` (`cluster.local/ns/a/sa/default`). */
    principal?: string;
    /** Peer namespace; derived from the principal's `/ns/NAME/` when absent. */
    namespace?: string;
    /** Address of the direct peer. */
    ip: string;
    /** Original client address (X-Forwarded-For), for remoteIpBlocks; defaults to `ip`. */
    remoteIp?: string;
  };
  host: string;
  method: string;
  path: string;
  port: number;
  headers: Record<string, string | string[] | undefined>;
  destinationIp?: string;
  sni?: string;
}

export type RulePredicate = (r: AuthzRequest) => boolean;
export interface CompiledRule { match: RulePredicate; errors: { field: string; message: string; unsupported: boolean }[] }

/** `spiffe://td/ns/a/sa/b` or `td/ns/a/sa/b` → the form Istio's principals use (`td/ns/a/sa/b`). */
export function principalOf(spiffeIdOrPrincipal: string | undefined): string | undefined {
  if (!spiffeIdOrPrincipal) return undefined;
  return spiffeIdOrPrincipal.startsWith('spiffe://') ? spiffeIdOrPrincipal.slice('spiffe://'.length) : spiffeIdOrPrincipal;
}

export function sourceNamespace(r: AuthzRequest): string | undefined {
  if (r.source.namespace) return r.source.namespace;
  const m = /\/ns\/([^/]+)\//.exec(r.source.principal ?? '');
  return m?.[1];
}

/** Istio's string match: exact, `prefix*`, `*suffix`, or `*` for any present (non-empty) value. */
export function matchValue(pattern: string, value: string | undefined, caseInsensitive = false): boolean {
  if (value === undefined || value === '') return false;
  const p = caseInsensitive ? pattern.toLowerCase() : pattern;
  const v = caseInsensitive ? value.toLowerCase() : value;
  if (p === '*') return true;
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  return v === p;
}

function normalizeIp(ip: string): { ip: string; family: 'ipv4' | 'ipv6' } | undefined {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const a = v4mapped ? v4mapped[1] : ip;
  const f = isIP(a);
  return f === 4 ? { ip: a, family: 'ipv4' } : f === 6 ? { ip: a, family: 'ipv6' } : undefined;
}

/** Problem with an IP block value, or undefined when it is a valid address or CIDR. */
export function ipBlockProblem(v: string): string | undefined {
  if (typeof v !== 'string') return 'must be a string';
  const [addr, bits, extra] = v.split('/');
  const f = isIP(addr ?? '');
  if (extra !== undefined || f === 0) return `${JSON.stringify(v)} is not an IP address or CIDR block`;
  if (bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > (f === 4 ? 32 : 128))) return `${JSON.stringify(v)} has an invalid prefix length`;
  return undefined;
}

/** A BlockList holding every valid block; invalid ones are reported through `bad`. */
function ipMatcher(blocks: string[], bad: (i: number, msg: string) => void): (ip: string | undefined) => boolean {
  const list = new BlockList();
  blocks.forEach((b, i) => {
    const p = ipBlockProblem(b);
    if (p) { bad(i, p); return; }
    const [addr, bits] = b.split('/');
    const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  });
  return (ip) => {
    const n = ip ? normalizeIp(ip) : undefined;
    return n ? list.check(n.ip, n.family) : false;
  };
}

function headerValue(r: AuthzRequest, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

const hostOnly = (h: string) => (h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, ''));
const pathOnly = (p: string) => { const q = p.search(/[?#]/); return q < 0 ? p : p.slice(0, q); };

type Field = { pos?: string[]; neg?: string[] };
type Check = (r: AuthzRequest) => boolean;

/** Builds "any of pos matches" ∧ "none of neg matches" for one attribute. */
function both(f: Field, one: (pattern: string, r: AuthzRequest) => boolean): Check | undefined {
  const pos = f.pos && f.pos.length > 0 ? f.pos : undefined;
  const neg = f.neg && f.neg.length > 0 ? f.neg : undefined;
  if (!pos && !neg) return undefined;
  return (r) => (!pos || pos.some((p) => one(p, r))) && (!neg || !neg.some((p) => one(p, r)));
}

type Errors = CompiledRule['errors'];

function compileSource(s: Source, path: string, errors: Errors): Check {
  const checks: Check[] = [];
  const add = (c: Check | undefined) => { if (c) checks.push(c); };
  add(both({ pos: s.principals, neg: s.notPrincipals }, (p, r) => matchValue(p, r.source.principal)));
  add(both({ pos: s.namespaces, neg: s.notNamespaces }, (p, r) => matchValue(p, sourceNamespace(r))));
  for (const [pos, neg, remote] of [['ipBlocks', 'notIpBlocks', false], ['remoteIpBlocks', 'notRemoteIpBlocks', true]] as const) {
    const ipOf = (r: AuthzRequest) => (remote ? r.source.remoteIp ?? r.source.ip : r.source.ip);
    const bad = (k: string) => (i: number, message: string) => errors.push({ field: `${path}.${k}[${i}]`, message, unsupported: false });
    const inPos = s[pos]?.length ? ipMatcher(s[pos]!, bad(pos)) : undefined;
    const inNeg = s[neg]?.length ? ipMatcher(s[neg]!, bad(neg)) : undefined;
    if (inPos) checks.push((r) => inPos(ipOf(r)));
    if (inNeg) checks.push((r) => !inNeg(ipOf(r)));
  }
  // sluice has no RequestAuthentication (JWT): no request carries a request principal.
  if (s.requestPrincipals?.length) {
    errors.push({ field: `${path}.requestPrincipals`, message: 'requestPrincipals needs JWT authentication, which sluice does not support; the field matches no request', unsupported: true });
    checks.push(() => false);
  }
  if (s.notRequestPrincipals?.length) {
    errors.push({ field: `${path}.notRequestPrincipals`, message: 'notRequestPrincipals needs JWT authentication, which sluice does not support; the field matches every request', unsupported: true });
  }
  return (r) => checks.every((c) => c(r));
}

function compileOperation(o: Operation, path: string, errors: Errors): Check {
  for (const k of ['ports', 'notPorts'] as const) {
    (o[k] ?? []).forEach((v, i) => { if (!/^\d+$/.test(String(v))) errors.push({ field: `${path}.${k}[${i}]`, message: `port ${JSON.stringify(v)} must be a number`, unsupported: false }); });
  }
  const checks = [
    both({ pos: o.hosts, neg: o.notHosts }, (p, r) => matchValue(p, r.host, true) || matchValue(p, hostOnly(r.host), true)),
    both({ pos: o.methods, neg: o.notMethods }, (p, r) => matchValue(p, r.method)),
    both({ pos: o.paths, neg: o.notPaths }, (p, r) => matchValue(p, pathOnly(r.path))),
    both({ pos: o.ports?.map(String), neg: o.notPorts?.map(String) }, (p, r) => p === String(r.port)),
  ].filter((c): c is Check => c !== undefined);
  return (r) => checks.every((c) => c(r));
}

/** Condition keys sluice evaluates; `request.auth.*` (JWT) keys are recognised but unsupported. */
export const CONDITION_KEYS = ['source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port', 'connection.sni'] as const;
const JWT_KEYS = ['request.auth.principal', 'request.auth.audiences', 'request.auth.presenter'];

/** Problem with a `when` key, or undefined when sluice evaluates it. */
export function conditionKeyProblem(key: string): { message: string; unsupported: boolean } | undefined {
  if ((CONDITION_KEYS as readonly string[]).includes(key)) return undefined;
  if (/^request\.headers\[[^\]]+\]$/.test(key)) return undefined;
  if (JWT_KEYS.includes(key) || /^request\.auth\.claims\[.+\]$/.test(key)) return { message: `condition key ${key} needs JWT authentication, which sluice does not support; the condition matches no request`, unsupported: true };
  return { message: `unknown condition key ${JSON.stringify(key)}; sluice supports ${CONDITION_KEYS.join(', ')} and request.headers[<name>]`, unsupported: false };
}

function compileCondition(c: AuthorizationCondition, path: string, errors: Errors): Check {
  const problem = conditionKeyProblem(c.key);
  if (problem) {
    errors.push({ field: `${path}.key`, message: problem.message, unsupported: problem.unsupported });
    return () => false;
  }
  if (!c.values?.length && !c.notValues?.length) {
    errors.push({ field: path, message: `condition ${c.key} needs values or notValues`, unsupported: false });
    return () => false;
  }
  const isIpKey = c.key === 'source.ip' || c.key === 'remote.ip' || c.key === 'destination.ip';
  if (isIpKey) {
    const bad = (k: string) => (i: number, message: string) => errors.push({ field: `${path}.${k}[${i}]`, message, unsupported: false });
    const pos = c.values?.length ? ipMatcher(c.values, bad('values')) : undefined;
    const neg = c.notValues?.length ? ipMatcher(c.notValues, bad('notValues')) : undefined;
    const ipOf = (r: AuthzRequest) => (c.key === 'source.ip' ? r.source.ip : c.key === 'remote.ip' ? r.source.remoteIp ?? r.source.ip : r.destinationIp);
    return (r) => (!pos || pos(ipOf(r))) && (!neg || !neg(ipOf(r)));
  }
  if (c.key === 'destination.port') {
    [...(c.values ?? []), ...(c.notValues ?? [])].forEach((v) => { if (!/^\d+$/.test(String(v))) errors.push({ field: path, message: `port ${JSON.stringify(v)} must be a number`, unsupported: false }); });
  }
  const attr = (r: AuthzRequest): string | undefined => {
    switch (c.key) {
      case 'source.namespace': return sourceNamespace(r);
      case 'source.principal': return r.source.principal;
      case 'destination.port': return String(r.port);
      case 'connection.sni': return r.sni;
      default: return headerValue(r, c.key.slice('request.headers['.length, -1));
    }
  };
  return both({ pos: c.values, neg: c.notValues }, (p, r) => matchValue(p, attr(r)))!;
}

export function compileRule(rule: AuthorizationRule, path: string): CompiledRule {
  const errors: Errors = [];
  const from = rule.from?.length ? rule.from.map((f, i) => compileSource(f.source ?? {}, `${path}.from[${i}].source`, errors)) : undefined;
  const to = rule.to?.length ? rule.to.map((t, i) => compileOperation(t.operation ?? {}, `${path}.to[${i}].operation`, errors)) : undefined;
  const when = (rule.when ?? []).map((c, i) => compileCondition(c, `${path}.when[${i}]`, errors));
  const match: RulePredicate = (r) => (!from || from.some((f) => f(r))) && (!to || to.some((t) => t(r))) && when.every((w) => w(r));
  return { match, errors };
}
