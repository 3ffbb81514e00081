/**
 * Semantic checks for networking.istio.io/v1, after istio/pkg/config/validation: hosts present,
 * route weights in range and summing to 100, durations that parse, StringMatch with exactly one
 * of exact/prefix/regex and regexes that compile, ports in range, gateway servers and TLS.
 */
import type { KubeObject } from '../meta.ts';
import { child, FieldErrors, isPlainObject } from './field-errors.ts';
import { parseDuration } from './duration.ts';
import { isDNS1123Label } from './names.ts';

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined => (isPlainObject(v) ? v : undefined);
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Istio regexes are RE2. JavaScript's engine accepts a superset; the constructs RE2 refuses
 * (lookaround, backreferences) are rejected here so a rule valid in sluice is valid in Istio.
 */
export function regexProblem(src: string): string | undefined {
  if (/\(\?<?[=!]/.test(src)) return 'lookahead and lookbehind are not supported (RE2 syntax)';
  if (/\\[1-9]/.test(src)) return 'backreferences are not supported (RE2 syntax)';
  try { new RegExp(src, 'u'); } catch (e) { return `invalid regex: ${(e as Error).message}`; }
  return undefined;
}

export function validateStringMatch(m: unknown, path: string, errs: FieldErrors): void {
  const o = asObj(m);
  if (!o) return;
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => typeof o[k] === 'string');
  if (set.length !== 1) {
    errs.invalid(path, o, `exactly one of exact, prefix, regex must be set, got ${set.length === 0 ? 'none' : set.join(', ')}`);
  }
  if (typeof o.regex === 'string') {
    const p = regexProblem(o.regex);
    if (p) errs.invalid(child(path, 'regex'), o.regex, p);
  }
}

export function validateDuration(v: unknown, path: string, errs: FieldErrors, minMs = 1): void {
  if (typeof v !== 'string') return;
  const ms = parseDuration(v);
  if (ms === undefined) errs.invalid(path, v, 'must be a duration such as 1.5s, 100ms or 1m');
  else if (ms < minMs) errs.invalid(path, v, `duration must be at least ${minMs}ms`);
}

function validatePort(v: unknown, path: string, errs: FieldErrors): void {
  if (typeof v === 'number' && (v < 1 || v > 65535)) errs.invalid(path, v, 'port number must be in the range 1..65535');
}

function validatePercent(p: unknown, path: string, errs: FieldErrors): void {
  const v = asObj(p)?.value;
  if (typeof v === 'number' && (v < 0 || v > 100)) errs.invalid(child(path, 'value'), v, 'percentage must be in the range [0.0, 100.0]');
}

function validateDestination(d: unknown, path: string, errs: FieldErrors): void {
  const o = asObj(d);
  if (!o) return;
  if (o.host === '' ) errs.required(child(path, 'host'));
  validatePort(asObj(o.port)?.number, child(child(path, 'port'), 'number'), errs);
}

function validateWeights(routes: unknown[], path: string, errs: FieldErrors): void {
  let sum = 0;
  routes.forEach((r, i) => {
    const o = asObj(r);
    if (!o) return;
    validateDestination(o.destination, child(child(path, i), 'destination'), errs);
    const w = o.weight;
    if (typeof w === 'number') {
      if (w < 0 || w > 100) errs.invalid(child(child(path, i), 'weight'), w, 'weight must be in the range 0..100');
      sum += w;
    }
  });
  if (routes.length > 1 && sum !== 100) errs.invalid(path, sum, `total destination weight ${sum} != 100`);
}

/** exportTo: `.` (this namespace), `*` (all, alone) or namespace names, as Istio accepts. */
function validateExportTo(v: unknown, path: string, errs: FieldErrors): void {
  const list = asArr(v);
  list.forEach((ns, i) => {
    if (typeof ns !== 'string' || ns === '.' || ns === '*') return;
    for (const m of isDNS1123Label(ns)) errs.invalid(child(path, i), ns, m);
  });
  if (list.includes('*') && list.length > 1) errs.invalid(path, list, 'cannot have both public (*) and non-public exports');
}

function validateHttpRoute(r: Obj, path: string, errs: FieldErrors): void {
  asArr(r.match).forEach((m, i) => {
    const o = asObj(m);
    if (!o) return;
    const mp = child(child(path, 'match'), i);
    for (const k of ['uri', 'scheme', 'method', 'authority'] as const) if (o[k] !== undefined) validateStringMatch(o[k], child(mp, k), errs);
    for (const k of ['headers', 'queryParams', 'withoutHeaders'] as const) {
      const map = asObj(o[k]);
      if (map) for (const [name, sm] of Object.entries(map)) validateStringMatch(sm, child(child(mp, k), name, true), errs);
    }
    validatePort(o.port, child(mp, 'port'), errs);
  });
  const actions = ['route', 'redirect', 'directResponse', 'delegate'].filter((k) => r[k] !== undefined && !(Array.isArray(r[k]) && (r[k] as unknown[]).length === 0));
  if (actions.length === 0) errs.required(path, 'one of route, redirect, directResponse or delegate is required');
  if (actions.length > 1) errs.invalid(path, actions.join(', '), 'only one of route, redirect, directResponse or delegate may be set');
  validateWeights(asArr(r.route), child(path, 'route'), errs);
  validateDuration(r.timeout, child(path, 'timeout'), errs, 0);
  const retries = asObj(r.retries);
  if (retries) {
    if (typeof retries.attempts === 'number' && retries.attempts < 0) errs.invalid(child(child(path, 'retries'), 'attempts'), retries.attempts, 'attempts cannot be negative');
    validateDuration(retries.perTryTimeout, child(child(path, 'retries'), 'perTryTimeout'), errs);
    validateDuration(retries.backoff, child(child(path, 'retries'), 'backoff'), errs);
  }
  const fault = asObj(r.fault);
  if (fault) {
    const delay = asObj(fault.delay);
    const abort = asObj(fault.abort);
    if (!delay && !abort) errs.required(child(path, 'fault'), 'one of delay or abort is required');
    if (delay) {
      validateDuration(delay.fixedDelay, child(child(child(path, 'fault'), 'delay'), 'fixedDelay'), errs);
      validatePercent(delay.percentage, child(child(child(path, 'fault'), 'delay'), 'percentage'), errs);
    }
    if (abort) {
      const s = abort.httpStatus;
      if (typeof s === 'number' && (s < 200 || s > 599)) errs.invalid(child(child(child(path, 'fault'), 'abort'), 'httpStatus'), s, 'httpStatus must be in the range 200..599');
      validatePercent(abort.percentage, child(child(child(path, 'fault'), 'abort'), 'percentage'), errs);
    }
  }
  if (r.mirror !== undefined) validateDestination(r.mirror, child(path, 'mirror'), errs);
  validatePercent(r.mirrorPercentage, child(path, 'mirrorPercentage'), errs);
  const redirect = asObj(r.redirect);
  if (redirect) {
    const code = redirect.redirectCode;
    if (typeof code === 'number' && (code < 300 || code > 399)) errs.invalid(child(child(path, 'redirect'), 'redirectCode'), code, 'redirect code must be 3xx');
  }
  const rewrite = asObj(r.rewrite);
  const rr = asObj(rewrite?.uriRegexRewrite);
  if (rr && typeof rr.match === 'string') {
    const p = regexProblem(rr.match);
    if (p) errs.invalid(child(child(child(path, 'rewrite'), 'uriRegexRewrite'), 'match'), rr.match, p);
  }
  const cors = asObj(r.corsPolicy);
  if (cors) asArr(cors.allowOrigins).forEach((o, i) => validateStringMatch(o, child(child(child(path, 'corsPolicy'), 'allowOrigins'), i), errs));
}

function validateVirtualService(spec: Obj, errs: FieldErrors): void {
  const hosts = asArr(spec.hosts);
  if (hosts.length === 0) errs.required('spec.hosts', 'virtual service must have at least one host');
  hosts.forEach((h, i) => { if (h === '') errs.invalid(child('spec.hosts', i), h, 'host must not be empty'); });
  validateExportTo(spec.exportTo, 'spec.exportTo', errs);
  const http = asArr(spec.http);
  const tcp = asArr(spec.tcp);
  const tls = asArr(spec.tls);
  if (http.length + tcp.length + tls.length === 0) errs.required('spec', 'http, tcp or tls must be provided in virtual service');
  http.forEach((r, i) => { const o = asObj(r); if (o) validateHttpRoute(o, child('spec.http', i), errs); });
  tcp.forEach((r, i) => validateWeights(asArr(asObj(r)?.route), child(child('spec.tcp', i), 'route'), errs));
  tls.forEach((r, i) => {
    const o = asObj(r);
    validateWeights(asArr(o?.route), child(child('spec.tls', i), 'route'), errs);
    asArr(o?.match).forEach((m, j) => {
      if (asArr(asObj(m)?.sniHosts).length === 0) errs.required(child(child(child(child('spec.tls', i), 'match'), j), 'sniHosts'), 'TLS match must have at least one SNI host');
    });
  });
}

function validateTrafficPolicy(tp: unknown, path: string, errs: FieldErrors): void {
  const o = asObj(tp);
  if (!o) return;
  const lb = asObj(o.loadBalancer);
  if (lb && lb.simple !== undefined && lb.consistentHash !== undefined) errs.invalid(child(path, 'loadBalancer'), 'simple, consistentHash', 'only one of simple or consistentHash may be set');
  const tcp = asObj(asObj(o.connectionPool)?.tcp);
  if (tcp) {
    validateDuration(tcp.connectTimeout, child(path, 'connectionPool.tcp.connectTimeout'), errs);
    validateDuration(tcp.idleTimeout, child(path, 'connectionPool.tcp.idleTimeout'), errs);
    validateDuration(tcp.maxConnectionDuration, child(path, 'connectionPool.tcp.maxConnectionDuration'), errs);
    const ka = asObj(tcp.tcpKeepalive);
    if (ka) { validateDuration(ka.time, child(path, 'connectionPool.tcp.tcpKeepalive.time'), errs); validateDuration(ka.interval, child(path, 'connectionPool.tcp.tcpKeepalive.interval'), errs); }
  }
  const http = asObj(asObj(o.connectionPool)?.http);
  if (http) validateDuration(http.idleTimeout, child(path, 'connectionPool.http.idleTimeout'), errs);
  const od = asObj(o.outlierDetection);
  if (od) {
    validateDuration(od.interval, child(path, 'outlierDetection.interval'), errs);
    validateDuration(od.baseEjectionTime, child(path, 'outlierDetection.baseEjectionTime'), errs);
    for (const k of ['maxEjectionPercent', 'minHealthPercent']) {
      const v = od[k];
      if (typeof v === 'number' && (v < 0 || v > 100)) errs.invalid(child(path, `outlierDetection.${k}`), v, 'must be in the range 0..100');
    }
  }
  const tls = asObj(o.tls);
  if (tls?.mode === 'MUTUAL' && !tls.credentialName && !(tls.clientCertificate && tls.privateKey)) {
    errs.required(child(path, 'tls'), 'MUTUAL mode requires credentialName, or clientCertificate and privateKey');
  }
  asArr(o.portLevelSettings).forEach((p, i) => {
    const pp = child(child(path, 'portLevelSettings'), i);
    const port = asObj(asObj(p)?.port)?.number;
    if (port === undefined) errs.required(child(pp, 'port'), 'port must be specified in a port-level setting');
    validatePort(port, child(pp, 'port.number'), errs);
    const { port: _ignored, ...rest } = asObj(p) ?? {};
    validateTrafficPolicy(rest, pp, errs);
  });
}

function validateDestinationRule(spec: Obj, errs: FieldErrors): void {
  if (typeof spec.host !== 'string' || spec.host === '') {
    if (!errs.has('spec.host')) errs.required('spec.host');
  }
  validateExportTo(spec.exportTo, 'spec.exportTo', errs);
  validateTrafficPolicy(spec.trafficPolicy, 'spec.trafficPolicy', errs);
  const names = new Set<string>();
  asArr(spec.subsets).forEach((s, i) => {
    const o = asObj(s);
    if (!o) return;
    const p = child('spec.subsets', i);
    if (typeof o.name === 'string') {
      if (o.name === '') errs.required(child(p, 'name'));
      else if (names.has(o.name)) errs.duplicate(child(p, 'name'), o.name);
      names.add(o.name);
    }
    validateTrafficPolicy(o.trafficPolicy, child(p, 'trafficPolicy'), errs);
  });
}

const gatewayProtocols = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'MONGO', 'TCP', 'TLS'];

function validateGateway(spec: Obj, errs: FieldErrors): void {
  const servers = asArr(spec.servers);
  if (servers.length === 0) errs.required('spec.servers', 'gateway must have at least one server');
  const portNames = new Set<string>();
  servers.forEach((s, i) => {
    const o = asObj(s);
    if (!o) return;
    const p = child('spec.servers', i);
    if (Array.isArray(o.hosts) && o.hosts.length === 0) errs.required(child(p, 'hosts'), 'server config must contain at least one host');
    const port = asObj(o.port);
    if (port) {
      validatePort(port.number, child(p, 'port.number'), errs);
      if (typeof port.protocol === 'string' && !gatewayProtocols.includes(port.protocol.toUpperCase())) errs.notSupported(child(p, 'port.protocol'), port.protocol, gatewayProtocols);
      if (typeof port.name === 'string' && port.name !== '') {
        if (portNames.has(port.name)) errs.duplicate(child(p, 'port.name'), port.name);
        portNames.add(port.name);
      }
    }
    const tls = asObj(o.tls);
    const proto = typeof port?.protocol === 'string' ? port.protocol.toUpperCase() : '';
    if ((proto === 'HTTPS' || proto === 'TLS') && !tls) errs.required(child(p, 'tls'), `server config must contain tls settings for ${proto} port`);
    if (tls && (tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL') && !tls.credentialName && !(tls.serverCertificate && tls.privateKey)) {
      errs.required(child(p, 'tls.credentialName'), `${tls.mode} TLS requires credentialName, or serverCertificate and privateKey`);
    }
  });
}

function validateSidecar(spec: Obj, errs: FieldErrors): void {
  asArr(spec.egress).forEach((e, i) => {
    const o = asObj(e);
    if (!o) return;
    const p = child('spec.egress', i);
    const hosts = asArr(o.hosts);
    if (hosts.length === 0) errs.required(child(p, 'hosts'), 'egress listener must contain at least one host');
    hosts.forEach((h, j) => {
      if (typeof h !== 'string') return;
      const slash = h.indexOf('/');
      if (slash <= 0 || slash === h.length - 1) errs.invalid(child(child(p, 'hosts'), j), h, 'host must be of form namespace/dnsName');
    });
    validatePort(asObj(o.port)?.number, child(p, 'port.number'), errs);
  });
  asArr(spec.ingress).forEach((e, i) => validatePort(asObj(asObj(e)?.port)?.number, child(child('spec.ingress', i), 'port.number'), errs));
}

export function validateIstioNetworking(obj: KubeObject, errs: FieldErrors): void {
  const spec = asObj(obj.spec) ?? {};
  switch (obj.kind) {
    case 'VirtualService': return validateVirtualService(spec, errs);
    case 'DestinationRule': return validateDestinationRule(spec, errs);
    case 'Gateway': return validateGateway(spec, errs);
    case 'Sidecar': return validateSidecar(spec, errs);
  }
}
