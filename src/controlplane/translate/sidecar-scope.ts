/**
 * What a namespace's proxies may see: the egress hosts of its Sidecar (`ns/host` with `.` = own
 * namespace, `*` = any, `~` = none; host `*`, `*.suffix` or exact), else the root namespace's
 * Sidecar, else the default (`./*`: the namespace only — the lesson "every sidecar received the
 * whole mesh"). Visible namespaces are enumerated so callers read per-namespace indexes only.
 */
import type { Sidecar } from '../../api/types/istio.ts';
import type { TranslateContext } from './context.ts';
import { hostMatches } from './hosts.ts';
import { compareObjects } from './mesh-state.ts';

export interface EgressHost { namespace: string; host: string }
export interface EgressScope {
  namespace: string;
  hosts: readonly EgressHost[];
  /** The Sidecar that defined the scope, if any. */
  sidecar?: Sidecar;
}

export function parseEgressHost(entry: string, ownNs: string): EgressHost | undefined {
  const slash = entry.indexOf('/');
  if (slash <= 0 || slash === entry.length - 1) return undefined;
  const ns = entry.slice(0, slash);
  return { namespace: ns === '.' ? ownNs : ns, host: entry.slice(slash + 1).toLowerCase() };
}

function checkSidecar(ctx: TranslateContext, sc: Sidecar): void {
  const p = ctx.problems;
  const spec = sc.spec ?? {};
  if (spec.ingress?.length) p.unsupported(sc, 'spec.ingress', 'Sidecar ingress listeners (the mesh proxy makes one inbound listener per pod)');
  if (spec.inboundConnectionPool) p.unsupported(sc, 'spec.inboundConnectionPool');
  if (spec.outboundTrafficPolicy?.mode === 'ALLOW_ANY') p.unsupported(sc, 'spec.outboundTrafficPolicy.mode', 'outboundTrafficPolicy ALLOW_ANY (sluice routes only known hosts)');
  if (spec.outboundTrafficPolicy?.egressProxy) p.unsupported(sc, 'spec.outboundTrafficPolicy.egressProxy');
  spec.egress?.forEach((e, i) => {
    if (e.port) p.unsupported(sc, `spec.egress[${i}].port`, 'egress listener ports (one egress listener per pod serves every port)');
    if (e.bind) p.unsupported(sc, `spec.egress[${i}].bind`);
    if (e.captureMode && e.captureMode !== 'DEFAULT') p.unsupported(sc, `spec.egress[${i}].captureMode`);
    e.hosts?.forEach((h, j) => {
      if (!parseEgressHost(h, '')) p.add(sc, `spec.egress[${i}].hosts[${j}]`, `"${h}" is not "namespace/host" (e.g. "./*", "istio-system/*", "*/api.example.com")`, 'error');
    });
  });
}

function pickSidecar(ctx: TranslateContext, ns: string, report: boolean): Sidecar | undefined {
  const list = [...(ctx.state.sidecarsByNamespace.get(ns) ?? [])].sort(compareObjects);
  if (report) for (const sc of list) {
    if (sc.spec?.workloadSelector) {
      ctx.problems.unsupported(sc, 'spec.workloadSelector', 'Sidecar workloadSelector (the mesh proxy scopes per namespace)');
    }
  }
  const general = list.filter((s) => !s.spec?.workloadSelector);
  if (report) for (const extra of general.slice(1)) {
    ctx.problems.add(extra, 'metadata.name', `namespace ${ns} already has Sidecar ${general[0].metadata.name} without workloadSelector, which applies; this one is ignored`, 'error');
  }
  return general[0];
}

/** The egress scope of namespace `ns`; `report` false: without reporting the Sidecars' problems. */
export function egressScope(ctx: TranslateContext, ns: string, report = true): EgressScope {
  const sc = pickSidecar(ctx, ns, report) ?? (ns !== ctx.opts.rootNamespace ? pickSidecar(ctx, ctx.opts.rootNamespace, report) : undefined);
  if (sc) {
    if (report) checkSidecar(ctx, sc);
    const hosts = (sc.spec?.egress ?? []).flatMap((e) => e.hosts ?? []).map((h) => parseEgressHost(h, ns)).filter((h): h is EgressHost => h !== undefined);
    return { namespace: ns, hosts, sidecar: sc };
  }
  return { namespace: ns, hosts: ctx.opts.defaultEgressHosts.map((h) => parseEgressHost(h, ns)).filter((h): h is EgressHost => h !== undefined) };
}

/** The namespaces whose objects may be visible in the scope (own namespace first). */
export function visibleNamespaces(ctx: TranslateContext, scope: EgressScope): string[] {
  const out = new Set<string>();
  const named = scope.hosts.map((h) => h.namespace);
  if (named.includes('*')) for (const ns of ctx.state.namespaces) out.add(ns);
  else for (const ns of named) if (ns !== '~') out.add(ns);
  const list = [...out].sort();
  const own = list.indexOf(scope.namespace);
  if (own > 0) { list.splice(own, 1); list.unshift(scope.namespace); }
  return list;
}

/** Whether `host` of an object in namespace `objNs` is visible in the scope. */
export function hostVisible(scope: EgressScope, objNs: string, host: string): boolean {
  return scope.hosts.some((h) => h.namespace !== '~' && (h.namespace === '*' || h.namespace === objNs) && hostMatches(h.host, host));
}
