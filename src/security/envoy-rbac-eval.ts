/**
 * Evaluates Envoy `envoy.filters.http.rbac` filter configs (as sent over xDS, plain objects with
 * proto field names) against a request, for the mesh proxy's inbound HTTP path. Supports the
 * matchers Istio's authz builder emits (see envoy-rbac.ts): any, and/or/not, header (with
 * `:authority`, `:method`, `:path` pseudo-headers), url_path, authenticated.principal_name,
 * direct_remote_ip, remote_ip, destination_ip, destination_port, requested_server_name.
 * `compileRbacFilter` throws SLUICE_E_AUTHZ_INVALID naming the field for anything else, so the
 * proxy can reject (NACK) the config and keep the previous one.
 *
 * Filters run in order; LOG filters only mark `audit`, a matching DENY policy denies, an ALLOW
 * filter with no matching policy denies.
 */
import { BlockList, isIP } from 'node:net';
import type { AuthzDecision } from './authorization.ts';
import type { AuthzRequest } from './authorization-rules.ts';
import { SecurityErrors, securityError } from './security-errors.ts';

type Obj = Record<string, any>;
type Pred = (r: AuthzRequest) => boolean;

export interface CompiledRbacFilter {
  action: 'ALLOW' | 'DENY' | 'LOG';
  /** Policies sorted by the Istio policy they came from (namespace/name, then rule index). */
  policies: { name: string; ref: string; match: Pred }[];
}

const bad = (path: string, msg: string) => securityError(SecurityErrors.AuthzInvalid, `RBAC filter: ${path}: ${msg}`);

function stringMatch(m: Obj | undefined, path: string): (v: string | undefined) => boolean {
  if (!m || typeof m !== 'object') throw bad(path, 'a StringMatcher is required');
  const ic = m.ignore_case === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  if (typeof m.exact === 'string') { const x = norm(m.exact); return (v) => v !== undefined && norm(v) === x; }
  if (typeof m.prefix === 'string') { const x = norm(m.prefix); return (v) => v !== undefined && norm(v).startsWith(x); }
  if (typeof m.suffix === 'string') { const x = norm(m.suffix); return (v) => v !== undefined && norm(v).endsWith(x); }
  if (typeof m.contains === 'string') { const x = norm(m.contains); return (v) => v !== undefined && norm(v).includes(x); }
  if (m.safe_regex && typeof m.safe_regex.regex === 'string') {
    let re: RegExp;
    try { re = new RegExp(`^(?:${m.safe_regex.regex})$`, ic ? 'i' : ''); } catch (e) { throw bad(`${path}.safe_regex.regex`, (e as Error).message); }
    return (v) => v !== undefined && re.test(v);
  }
  throw bad(path, `unsupported StringMatcher ${JSON.stringify(Object.keys(m))}`);
}

function cidrList(c: Obj | undefined, path: string): (ip: string | undefined) => boolean {
  const addr = c?.address_prefix;
  const family = isIP(addr ?? '');
  if (!family) throw bad(`${path}.address_prefix`, `${JSON.stringify(addr)} is not an IP address`);
  const len = Number(c?.prefix_len?.value ?? c?.prefix_len ?? (family === 4 ? 32 : 128));
  const list = new BlockList();
  list.addSubnet(addr, len, family === 4 ? 'ipv4' : 'ipv6');
  return (ip) => {
    if (!ip) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const a = mapped ? mapped[1] : ip;
    const f = isIP(a);
    return f !== 0 && list.check(a, f === 4 ? 'ipv4' : 'ipv6');
  };
}

function headerOf(r: AuthzRequest, name: string): string | undefined {
  if (name === ':authority' || name === 'host') return r.host;
  if (name === ':method') return r.method;
  if (name === ':path') return r.path;
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

function headerMatch(h: Obj, path: string): Pred {
  const name = h?.name;
  if (typeof name !== 'string' || !name) throw bad(`${path}.name`, 'is required');
  let m: (v: string | undefined) => boolean;
  if (h.string_match) m = stringMatch(h.string_match, `${path}.string_match`);
  else if (h.present_match !== undefined) { const want = h.present_match !== false; m = (v) => (v !== undefined) === want; }
  else if (typeof h.exact_match === 'string') m = stringMatch({ exact: h.exact_match }, path);
  else if (typeof h.prefix_match === 'string') m = stringMatch({ prefix: h.prefix_match }, path);
  else if (typeof h.suffix_match === 'string') m = stringMatch({ suffix: h.suffix_match }, path);
  else throw bad(path, 'unsupported HeaderMatcher: use string_match or present_match');
  const inv = h.invert_match === true;
  return (r) => m(headerOf(r, name)) !== inv;
}

const pathOnly = (p: string) => { const q = p.search(/[?#]/); return q < 0 ? p : p.slice(0, q); };

function list(x: unknown, path: string): Obj[] {
  if (!Array.isArray(x)) throw bad(path, 'must be a list');
  return x as Obj[];
}

function permission(p: Obj, path: string): Pred {
  if (p.any === true) return () => true;
  if (p.and_rules) { const xs = list(p.and_rules.rules, `${path}.and_rules.rules`).map((x, i) => permission(x, `${path}.and_rules.rules[${i}]`)); return (r) => xs.every((f) => f(r)); }
  if (p.or_rules) { const xs = list(p.or_rules.rules, `${path}.or_rules.rules`).map((x, i) => permission(x, `${path}.or_rules.rules[${i}]`)); return (r) => xs.some((f) => f(r)); }
  if (p.not_rule) { const f = permission(p.not_rule, `${path}.not_rule`); return (r) => !f(r); }
  if (p.header) return headerMatch(p.header, `${path}.header`);
  if (p.url_path) { const m = stringMatch(p.url_path.path, `${path}.url_path.path`); return (r) => m(pathOnly(r.path)); }
  if (p.destination_ip) { const m = cidrList(p.destination_ip, `${path}.destination_ip`); return (r) => m(r.destinationIp); }
  if (p.destination_port !== undefined) { const n = Number(p.destination_port); return (r) => r.port === n; }
  if (p.requested_server_name) { const m = stringMatch(p.requested_server_name, `${path}.requested_server_name`); return (r) => m(r.sni); }
  throw bad(path, `unsupported permission ${JSON.stringify(Object.keys(p))}`);
}

function principal(p: Obj, path: string): Pred {
  if (p.any === true) return () => true;
  if (p.and_ids) { const xs = list(p.and_ids.ids, `${path}.and_ids.ids`).map((x, i) => principal(x, `${path}.and_ids.ids[${i}]`)); return (r) => xs.every((f) => f(r)); }
  if (p.or_ids) { const xs = list(p.or_ids.ids, `${path}.or_ids.ids`).map((x, i) => principal(x, `${path}.or_ids.ids[${i}]`)); return (r) => xs.some((f) => f(r)); }
  if (p.not_id) { const f = principal(p.not_id, `${path}.not_id`); return (r) => !f(r); }
  if (p.authenticated) {
    const pn = p.authenticated.principal_name;
    const m = pn ? stringMatch(pn, `${path}.authenticated.principal_name`) : undefined;
    return (r) => r.source.principal !== undefined && r.source.principal !== '' && (!m || m(`spiffe://${r.source.principal}`));
  }
  if (p.direct_remote_ip || p.source_ip) { const m = cidrList(p.direct_remote_ip ?? p.source_ip, `${path}.direct_remote_ip`); return (r) => m(r.source.ip); }
  if (p.remote_ip) { const m = cidrList(p.remote_ip, `${path}.remote_ip`); return (r) => m(r.source.remoteIp ?? r.source.ip); }
  if (p.header) return headerMatch(p.header, `${path}.header`);
  if (p.url_path) { const m = stringMatch(p.url_path.path, `${path}.url_path.path`); return (r) => m(pathOnly(r.path)); }
  throw bad(path, `unsupported principal ${JSON.stringify(Object.keys(p))}`);
}

/** `ns[NS]-policy[NAME]-rule[I]` → sort key and `NS/NAME`; other names stand for themselves. */
function parseName(n: string): { ref: string; key: string } {
  const m = /^ns\[(.*)\]-policy\[(.*)\]-rule\[(\d+)\]$/.exec(n);
  return m ? { ref: `${m[1]}/${m[2]}`, key: `${m[1]}/${m[2]}\u0000${m[3].padStart(6, '0')}` } : { ref: n, key: n };
}

/** Accepts an http filter (`{ name, typed_config }`) or the RBAC message itself. */
export function compileRbacFilter(filterOrConfig: Obj): CompiledRbacFilter {
  const cfg = filterOrConfig.typed_config ?? filterOrConfig;
  const rules = cfg.rules;
  if (!rules) throw bad('rules', 'is required (sluice does not evaluate matcher-based RBAC)');
  const action = rules.action ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY' && action !== 'LOG') throw bad('rules.action', `unsupported action ${JSON.stringify(action)}`);
  const policies = Object.entries((rules.policies ?? {}) as Record<string, Obj>).map(([name, pol]) => {
    const base = `rules.policies[${name}]`;
    const perms = list(pol.permissions, `${base}.permissions`).map((p, i) => permission(p, `${base}.permissions[${i}]`));
    const ids = list(pol.principals, `${base}.principals`).map((p, i) => principal(p, `${base}.principals[${i}]`));
    const { ref, key } = parseName(name);
    return { name, ref, key, match: (r: AuthzRequest) => perms.some((f) => f(r)) && ids.some((f) => f(r)) };
  }).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { action, policies: policies.map(({ name, ref, match }) => ({ name, ref, match })) };
}

const cache = new WeakMap<object, CompiledRbacFilter>();
function compiled(f: Obj): CompiledRbacFilter {
  let c = cache.get(f);
  if (!c) { c = compileRbacFilter(f); cache.set(f, c); }
  return c;
}

/** Runs the filters in order and decides like `evaluate` (authorization.ts) does from the policies. */
export function evaluateRbacFilters(filters: readonly Obj[], r: AuthzRequest): AuthzDecision {
  const cs = filters.map(compiled);
  const audit = cs.some((c) => c.action === 'LOG' && c.policies.some((p) => p.match(r))) || undefined;
  const out = (d: AuthzDecision): AuthzDecision => (audit ? { ...d, audit } : d);
  let allowedBy: string | undefined;
  for (const c of cs) {
    if (c.action === 'LOG') continue;
    const hit = c.policies.find((p) => p.match(r));
    if (c.action === 'DENY' && hit) return out({ allowed: false, action: 'DENY', matchedPolicy: hit.ref, reason: `denied by RBAC policy ${hit.name}` });
    if (c.action === 'ALLOW') {
      if (!hit) return out({ allowed: false, action: 'DENY', reason: 'no RBAC ALLOW policy matched' });
      allowedBy ??= hit.ref;
    }
  }
  return out(allowedBy ? { allowed: true, action: 'ALLOW', matchedPolicy: allowedBy, reason: `allowed by RBAC policy of ${allowedBy}` } : { allowed: true, action: 'ALLOW', reason: 'no RBAC ALLOW filter' });
}
