/**
 * Problems of the whole mesh state, independent of which proxies are connected: what the control
 * plane writes on resource statuses after a change. It translates every scope once — the gateway,
 * and each namespace's egress routes — and checks every DestinationRule, so an unsupported field
 * is reported even on a resource no connected proxy uses yet.
 */
import { buildOutboundCluster } from './clusters.ts';
import { TranslateContext } from './context.ts';
import { checkDestinationRule } from './destination-rule.ts';
import { translateGateway } from './gateway.ts';
import { egressRoutes } from './mesh.ts';
import { AP_NOT_ENFORCED, PA_NOT_ENFORCED } from './translate.ts';
import { resolveOptions, type MeshState, type Problem, type TranslateOptions } from './types.ts';

export function validateMeshState(state: MeshState, opts: TranslateOptions = {}): Problem[] {
  const ctx = new TranslateContext(state, resolveOptions(opts), { id: 'sluice-validate', role: 'gateway' });
  translateGateway(ctx);
  for (const ns of state.namespaces) egressRoutes(ctx, ns);
  for (const dr of state.destinationRules.values()) checkDestinationRule(dr, ctx.problems);
  for (const use of ctx.clusters.values()) buildOutboundCluster(ctx, use);
  for (const ns of state.namespaces) {
    for (const pa of state.peerAuthenticationsByNamespace.get(ns) ?? []) ctx.problems.add(pa, 'spec', PA_NOT_ENFORCED);
    for (const ap of state.authorizationPoliciesByNamespace.get(ns) ?? []) ctx.problems.add(ap, 'spec', AP_NOT_ENFORCED);
  }
  return ctx.problems.sorted();
}
