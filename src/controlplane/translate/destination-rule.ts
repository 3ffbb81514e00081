/**
 * DestinationRules: which rule applies to a destination (host, subset, port) seen from a
 * namespace, the effective TrafficPolicy (top level ← port level ← subset ← subset port level,
 * section by section as Istio merges), the route hash policy a consistentHash asks for, and a
 * report of every field sluice does not translate.
 */
import type { DestinationRule, LoadBalancerSettings, TrafficPolicy } from '../../api/types/istio.ts';
import type { TranslateContext } from './context.ts';
import { hostMatches } from './hosts.ts';
import { compareObjects } from './mesh-state.ts';
import type { ProblemSink } from './problems.ts';
import { parseDurationMs } from './istio-values.ts';

function exportedTo(dr: DestinationRule, ns: string): boolean {
  const exp = dr.spec?.exportTo;
  if (!exp || exp.length === 0) return true;
  return exp.some((e) => e === '*' || (e === '.' ? dr.metadata.namespace === ns : e === ns));
}

/** The DestinationRule for `fqdn` seen from `fromNs`: the client's namespace first, then the service's, then any other (oldest first). */
export function findDestinationRule(ctx: TranslateContext, fqdn: string, fromNs: string): DestinationRule | undefined {
  const exact = ctx.state.destinationRulesByHost.get(fqdn) ?? [];
  const wild = ctx.state.wildcardDestinationRules.filter((d) => hostMatches(d.spec!.host, fqdn));
  const candidates = [...exact, ...wild].filter((d) => exportedTo(d, fromNs));
  if (candidates.length === 0) return undefined;
  const svcNs = fqdn.split('.')[1];
  const rank = (d: DestinationRule) => (d.metadata.namespace === fromNs ? 0 : d.metadata.namespace === svcNs ? 1 : 2);
  candidates.sort((a, b) => rank(a) - rank(b) || (exact.includes(a) === exact.includes(b) ? 0 : exact.includes(a) ? -1 : 1) || compareObjects(a, b));
  const chosen = candidates[0];
  for (const other of candidates.slice(1)) {
    if (rank(other) === rank(chosen)) {
      ctx.problems.add(other, 'spec.host', `host ${fqdn} already has DestinationRule ${chosen.metadata.namespace}/${chosen.metadata.name}, which takes precedence; this rule is not applied to it`);
    }
  }
  return chosen;
}

const SECTIONS = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'] as const;
function overlay(base: TrafficPolicy, top: TrafficPolicy | undefined): TrafficPolicy {
  if (!top) return base;
  const out: TrafficPolicy = { ...base };
  for (const s of SECTIONS) if (top[s] !== undefined) (out as Record<string, unknown>)[s] = top[s];
  return out;
}
function portLevel(tp: TrafficPolicy | undefined, port: string): TrafficPolicy | undefined {
  return tp?.portLevelSettings?.find((p) => String(p.port?.number) === port);
}

/** The TrafficPolicy for one cluster of the rule. */
export function effectivePolicy(dr: DestinationRule, subset: string | undefined, port: string): TrafficPolicy {
  let tp: TrafficPolicy = overlay({}, dr.spec?.trafficPolicy);
  tp = overlay(tp, portLevel(dr.spec?.trafficPolicy, port));
  const ss = subset ? dr.spec?.subsets?.find((s) => s.name === subset) : undefined;
  if (ss?.trafficPolicy) {
    tp = overlay(tp, ss.trafficPolicy);
    tp = overlay(tp, portLevel(ss.trafficPolicy, port));
  }
  delete tp.portLevelSettings;
  return tp;
}

/**
 * Registers the cluster for a route destination and returns its name plus the route hash policy
 * the destination's consistentHash asks for. An unknown subset is reported through
 * `onUnknownSubset` and gives undefined (the destination is dropped; no cluster is made).
 */
export function useDestination(ctx: TranslateContext, fqdn: string, port: number | string, subset: string | undefined, fromNs: string,
  onUnknownSubset: (msg: string) => void): { cluster: string; hashPolicy?: object[] } | undefined {
  const dr = findDestinationRule(ctx, fqdn, fromNs);
  if (dr) checkDestinationRule(dr, ctx.problems);
  let subsetLabels: Record<string, string> | undefined;
  if (subset) {
    const ss = dr?.spec?.subsets?.find((s) => s.name === subset);
    if (!ss) {
      onUnknownSubset(dr ? `subset "${subset}" is not defined in DestinationRule ${dr.metadata.namespace}/${dr.metadata.name}` : `subset "${subset}" needs a DestinationRule for host ${fqdn}, and there is none`);
      return undefined;
    }
    subsetLabels = ss.labels ?? {};
  }
  const name = ctx.useCluster(fqdn, port, subset, fromNs, (u) => {
    if (dr) { u.rule = dr; u.policy = effectivePolicy(dr, subset, String(port)); }
    if (subsetLabels) u.subsetLabels = subsetLabels;
  });
  const lb = ctx.clusters.get(name)?.policy?.loadBalancer;
  const hashPolicy = lb?.consistentHash ? routeHashPolicy(lb) : undefined;
  return hashPolicy ? { cluster: name, hashPolicy } : { cluster: name };
}

/** consistentHash → route hash_policy (the key the ring-hash balancer hashes). */
export function routeHashPolicy(lb: LoadBalancerSettings): object[] | undefined {
  const ch = lb.consistentHash;
  if (!ch) return undefined;
  if (ch.httpHeaderName) return [{ header: { header_name: ch.httpHeaderName.toLowerCase() } }];
  if (ch.httpCookie) {
    const ttl = parseDurationMs(ch.httpCookie.ttl);
    return [{ cookie: { name: ch.httpCookie.name, ...(ch.httpCookie.path ? { path: ch.httpCookie.path } : {}), ...(ttl !== undefined ? { ttl: { seconds: Math.floor(ttl / 1000), nanos: (ttl % 1000) * 1e6 } } : {}) } }];
  }
  if (ch.useSourceIp) return [{ connection_properties: { source_ip: true } }];
  if (ch.httpQueryParameterName) return [{ query_parameter: { name: ch.httpQueryParameterName } }];
  return undefined;
}

const checked = new WeakMap<ProblemSink, WeakSet<DestinationRule>>();

/** Reports (once per translation) every field of the rule sluice does not translate, and bad values. */
export function checkDestinationRule(dr: DestinationRule, problems: ProblemSink): void {
  let set = checked.get(problems);
  if (!set) checked.set(problems, (set = new WeakSet()));
  if (set.has(dr)) return;
  set.add(dr);
  const spec = dr.spec ?? ({} as NonNullable<DestinationRule['spec']>);
  if (spec.workloadSelector) problems.unsupported(dr, 'spec.workloadSelector', 'workloadSelector (per-workload DestinationRules)');
  const checkTp = (tp: TrafficPolicy | undefined, path: string) => {
    if (!tp) return;
    if (tp.tunnel) problems.unsupported(dr, `${path}.tunnel`);
    if (tp.proxyProtocol) problems.unsupported(dr, `${path}.proxyProtocol`);
    const lb = tp.loadBalancer;
    if (lb) {
      if (lb.simple === 'PASSTHROUGH') problems.unsupported(dr, `${path}.loadBalancer.simple`, 'loadBalancer PASSTHROUGH');
      if (lb.warmupDurationSecs) problems.unsupported(dr, `${path}.loadBalancer.warmupDurationSecs`);
      if (lb.consistentHash?.maglev) problems.add(dr, `${path}.loadBalancer.consistentHash.maglev`, 'maglev is not supported by sluice; a ring hash is used instead');
      if (lb.consistentHash && !lb.consistentHash.httpHeaderName && !lb.consistentHash.httpCookie && !lb.consistentHash.useSourceIp && !lb.consistentHash.httpQueryParameterName) {
        problems.add(dr, `${path}.loadBalancer.consistentHash`, 'consistentHash needs one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName', 'error');
      }
      const loc = lb.localityLbSetting;
      if (loc?.distribute) problems.unsupported(dr, `${path}.loadBalancer.localityLbSetting.distribute`);
      if (loc?.failover) problems.unsupported(dr, `${path}.loadBalancer.localityLbSetting.failover`);
      if (loc?.failoverPriority) problems.unsupported(dr, `${path}.loadBalancer.localityLbSetting.failoverPriority`);
    }
    const cp = tp.connectionPool;
    if (cp?.tcp?.idleTimeout) problems.unsupported(dr, `${path}.connectionPool.tcp.idleTimeout`, 'tcp idleTimeout (sluice proxies HTTP only; use connectionPool.http.idleTimeout)');
    if (cp?.http?.h2UpgradePolicy && cp.http.h2UpgradePolicy !== 'DEFAULT') problems.unsupported(dr, `${path}.connectionPool.http.h2UpgradePolicy`);
    if (cp?.http?.useClientProtocol) problems.unsupported(dr, `${path}.connectionPool.http.useClientProtocol`);
    if (cp?.http?.maxConcurrentStreams !== undefined) problems.unsupported(dr, `${path}.connectionPool.http.maxConcurrentStreams`);
    for (const [f, v] of [['tcp.connectTimeout', cp?.tcp?.connectTimeout], ['tcp.maxConnectionDuration', cp?.tcp?.maxConnectionDuration], ['http.idleTimeout', cp?.http?.idleTimeout],
      ['tcp.tcpKeepalive.time', cp?.tcp?.tcpKeepalive?.time], ['tcp.tcpKeepalive.interval', cp?.tcp?.tcpKeepalive?.interval]] as const) {
      if (v !== undefined && parseDurationMs(v) === undefined) problems.add(dr, `${path}.connectionPool.${f}`, `"${v}" is not a duration (use e.g. "30s" or "500ms")`, 'error');
    }
    const od = tp.outlierDetection;
    for (const [f, v] of [['interval', od?.interval], ['baseEjectionTime', od?.baseEjectionTime]] as const) {
      if (v !== undefined && parseDurationMs(v) === undefined) problems.add(dr, `${path}.outlierDetection.${f}`, `"${v}" is not a duration (use e.g. "10s")`, 'error');
    }
    const tls = tp.tls;
    if (tls) {
      if (tls.mode === 'ISTIO_MUTUAL') problems.unsupported(dr, `${path}.tls.mode`, 'tls mode ISTIO_MUTUAL (mesh identities)');
      for (const f of ['clientCertificate', 'privateKey', 'caCertificates', 'caCrl'] as const) {
        if (tls[f]) problems.unsupported(dr, `${path}.tls.${f}`, `${f} (file paths; use credentialName)`);
      }
    }
    tp.portLevelSettings?.forEach((p, i) => checkTp({ ...p } as TrafficPolicy, `${path}.portLevelSettings[${i}]`));
  };
  checkTp(spec.trafficPolicy, 'spec.trafficPolicy');
  spec.subsets?.forEach((s, i) => checkTp(s.trafficPolicy, `spec.subsets[${i}].trafficPolicy`));
}
