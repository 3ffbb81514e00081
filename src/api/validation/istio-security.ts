/**
 * Semantic checks for security.istio.io/v1, after istio/pkg/config/validation:
 * AuthorizationPolicy action/provider/rules consistency, non-empty sources and operations,
 * condition keys, ports and IP blocks; PeerAuthentication port-level modes.
 */
import { isIP } from 'node:net';
import type { KubeObject } from '../meta.ts';
import { child, FieldErrors, isPlainObject } from './field-errors.ts';

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined => (isPlainObject(v) ? v : undefined);
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Condition keys Istio's AuthorizationPolicy accepts (`request.headers[...]` and claims take a bracketed name). */
const exactKeys = [
  'source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'request.auth.principal',
  'request.auth.audiences', 'request.auth.presenter', 'destination.ip', 'destination.port', 'connection.sni',
];
const bracketKeys = ['request.headers', 'request.auth.claims'];

export function conditionKeyProblem(key: string): string | undefined {
  if (exactKeys.includes(key)) return undefined;
  for (const b of bracketKeys) {
    if (key.startsWith(`${b}[`) && key.endsWith(']') && key.length > b.length + 2) return undefined;
  }
  if (key.startsWith('experimental.envoy.filters.')) return undefined;
  return `unknown attribute; supported: ${exactKeys.join(', ')}, request.headers[<name>], request.auth.claims[<name>]`;
}

/** IPv4/IPv6 address or CIDR block. */
export function cidrProblem(v: string): string | undefined {
  const [addr, bits, extra] = v.split('/');
  if (extra !== undefined || !addr) return 'must be an IP address or CIDR block';
  const family = isIP(addr);
  if (family === 0) return 'must be an IP address or CIDR block';
  if (bits !== undefined) {
    const n = /^\d+$/.test(bits) ? Number(bits) : -1;
    if (n < 0 || n > (family === 4 ? 32 : 128)) return `invalid prefix length ${bits}`;
  }
  return undefined;
}

function portProblem(v: unknown): string | undefined {
  const s = String(v);
  if (!/^\d+$/.test(s)) return 'port must be a number';
  const n = Number(s);
  return n >= 1 && n <= 65535 ? undefined : 'port number must be in the range 1..65535';
}

function validateSource(src: Obj, path: string, errs: FieldErrors): void {
  const fields = Object.keys(src).filter((k) => asArr(src[k]).length > 0);
  if (fields.length === 0) errs.required(path, 'source must not be empty');
  for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) {
    asArr(src[k]).forEach((v, i) => {
      const p = typeof v === 'string' ? cidrProblem(v) : undefined;
      if (p) errs.invalid(child(child(path, k), i), v, p);
    });
  }
}

function validateOperation(op: Obj, path: string, errs: FieldErrors): void {
  const fields = Object.keys(op).filter((k) => asArr(op[k]).length > 0);
  if (fields.length === 0) errs.required(path, 'operation must not be empty');
  for (const k of ['ports', 'notPorts']) {
    asArr(op[k]).forEach((v, i) => { const p = portProblem(v); if (p) errs.invalid(child(child(path, k), i), v, p); });
  }
  for (const k of ['paths', 'notPaths', 'hosts', 'notHosts', 'methods', 'notMethods']) {
    asArr(op[k]).forEach((v, i) => { if (v === '') errs.invalid(child(child(path, k), i), v, 'empty value is not allowed'); });
  }
}

function validateAuthorizationPolicy(spec: Obj, errs: FieldErrors): void {
  const action = typeof spec.action === 'string' ? spec.action : 'ALLOW';
  const provider = asObj(spec.provider);
  if (action === 'CUSTOM') {
    if (!provider || typeof provider.name !== 'string' || provider.name === '') errs.required('spec.provider.name', 'a provider must be specified with the CUSTOM action');
  } else if (provider) {
    errs.forbidden('spec.provider', `provider can only be used with the CUSTOM action, not ${action}`);
  }
  if (spec.selector !== undefined && (spec.targetRef !== undefined || asArr(spec.targetRefs).length > 0)) {
    errs.invalid('spec.selector', 'selector', 'only one of selector, targetRef or targetRefs may be set');
  }
  if (spec.targetRef !== undefined && asArr(spec.targetRefs).length > 0) {
    errs.invalid('spec.targetRef', 'targetRef', 'only one of targetRef or targetRefs may be set');
  }
  const rules = spec.rules;
  if ((action === 'DENY' || action === 'CUSTOM' || action === 'AUDIT') && asArr(rules).length === 0) {
    errs.warn('spec.rules', `${action} policy without rules matches no request and has no effect`);
  }
  asArr(rules).forEach((r, i) => {
    const rule = asObj(r);
    const rp = child('spec.rules', i);
    if (!rule) { errs.required(rp, 'rule must not be null'); return; }
    if (Array.isArray(rule.from) && rule.from.length === 0) errs.required(child(rp, 'from'), '`from` must not be empty when present');
    if (Array.isArray(rule.to) && rule.to.length === 0) errs.required(child(rp, 'to'), '`to` must not be empty when present');
    asArr(rule.from).forEach((f, j) => {
      const src = asObj(asObj(f)?.source);
      const p = child(child(child(rp, 'from'), j), 'source');
      if (!src) errs.required(p, '`from.source` must not be empty'); else validateSource(src, p, errs);
    });
    asArr(rule.to).forEach((t, j) => {
      const op = asObj(asObj(t)?.operation);
      const p = child(child(child(rp, 'to'), j), 'operation');
      if (!op) errs.required(p, '`to.operation` must not be empty'); else validateOperation(op, p, errs);
    });
    asArr(rule.when).forEach((w, j) => {
      const c = asObj(w);
      if (!c) return;
      const p = child(child(rp, 'when'), j);
      if (typeof c.key === 'string') {
        const problem = conditionKeyProblem(c.key);
        if (problem) errs.invalid(child(p, 'key'), c.key, problem);
      }
      if (asArr(c.values).length === 0 && asArr(c.notValues).length === 0) {
        errs.required(p, `at least one of values or notValues must be set for key ${String(c.key)}`);
      }
    });
  });
}

function validatePeerAuthentication(spec: Obj, errs: FieldErrors): void {
  const ports = asObj(spec.portLevelMtls);
  if (!ports || Object.keys(ports).length === 0) return;
  if (asObj(spec.selector) === undefined || Object.keys(asObj(asObj(spec.selector)?.matchLabels) ?? {}).length === 0) {
    errs.required('spec.selector', 'portLevelMtls requires a workload selector');
  }
  for (const [port, mtls] of Object.entries(ports)) {
    const p = portProblem(port);
    if (p) errs.invalid(child('spec.portLevelMtls', port, true), port, p);
    if (asObj(mtls)?.mode === undefined) errs.required(child(child('spec.portLevelMtls', port, true), 'mode'), 'port-level mTLS needs a mode');
  }
}

export function validateIstioSecurity(obj: KubeObject, errs: FieldErrors): void {
  const spec = asObj(obj.spec) ?? {};
  switch (obj.kind) {
    case 'AuthorizationPolicy': return validateAuthorizationPolicy(spec, errs);
    case 'PeerAuthentication': return validatePeerAuthentication(spec, errs);
  }
}
