/**
 * The mesh proxy's configuration for the namespaces it serves: per namespace an egress
 * RouteConfiguration (`egress|NS`) with the hosts the namespace's egress scope sees — mesh
 * VirtualServices, Knative routes (cluster-local and public hosts) and revision services — and
 * per pod an egress listener (the pod's HTTP proxy) and an inbound listener (queue-proxy role) to
 * a STATIC cluster `inbound|PORT|POD.NS` at 127.0.0.1:PORT. Proxyless gRPC clients get API
 * listeners that use the egress routes of their namespace.
 */
import type { Pod } from '../../api/types/core.ts';
import { TypeUrl } from '../../xds/protos.ts';
import { buildInboundCluster } from './clusters.ts';
import type { TranslateContext } from './context.ts';
import { useDestination } from './destination-rule.ts';
import { inboundClusterName, serviceDomains, serviceHost } from './hosts.ts';
import { addIngressVirtualHosts } from './ingress.ts';
import { ADS_SOURCE, duration } from './istio-values.ts';
import {
  buildListener, egressListenerName, egressRouteName, FAULT_FILTER, inboundListenerName, inboundRouteName, ROUTER_FILTER,
} from './listeners.ts';
import { RouteTableBuilder } from './route-table.ts';
import { egressScope, hostVisible, visibleNamespaces } from './sidecar-scope.ts';
import { addMeshVirtualServices } from './virtual-service.ts';
import { PodAnnotations } from './types.ts';

export interface MeshOutput { listeners: object[]; routes: object[]; staticClusters: object[] }

function portAnnotation(pod: Pod, key: string): number | undefined {
  const v = pod.metadata.annotations?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : NaN;
}

/** The port the pod's process listens on: annotation, else the first containerPort, else env PORT. */
export function podPort(pod: Pod): number | undefined {
  const a = portAnnotation(pod, PodAnnotations.podPort);
  if (a !== undefined && !Number.isNaN(a)) return a;
  for (const c of pod.spec?.containers ?? []) {
    const cp = c.ports?.[0]?.containerPort;
    if (cp) return cp;
    const env = c.env?.find((e) => e.name === 'PORT')?.value;
    if (env && Number.isInteger(Number(env))) return Number(env);
  }
  return undefined;
}

/** Builds `egress|ns`: what namespace `ns` may call. */
export function egressRoutes(ctx: TranslateContext, ns: string): object {
  const table = new RouteTableBuilder(egressRouteName(ns), ctx.problems);
  const scope = egressScope(ctx, ns);
  const nss = visibleNamespaces(ctx, scope);
  addMeshVirtualServices(ctx, scope, nss, table);
  for (const other of nss) {
    for (const ing of ctx.state.ingressesByNamespace.get(other) ?? []) {
      addIngressVirtualHosts(ctx, ing, table, () => true, false, (h) => hostVisible(scope, other, h));
    }
  }
  for (const other of nss) {
    for (const ep of ctx.state.endpointsByNamespace.get(other) ?? []) {
      ctx.stats.endpointsVisited++;
      const name = ep.metadata.name ?? '';
      const fqdn = serviceHost(name, other, ctx.opts.clusterDomain);
      if (!hostVisible(scope, other, fqdn)) continue;
      table.add(`${other}/${name}`, serviceDomains(name, other, ctx.opts.clusterDomain, ns), () => {
        const d = useDestination(ctx, fqdn, ctx.opts.defaultServicePort, undefined, ns, () => undefined)!;
        return [{ match: { prefix: '/' }, route: { cluster: d.cluster, timeout: duration(ctx.opts.routeTimeoutMs), ...(d.hashPolicy ? { hash_policy: d.hashPolicy } : {}) } }];
      }, ep, 'metadata.name', {}, true);
    }
  }
  return table.build();
}

/** A listener for a proxyless gRPC client (grpc-js-xds asks for the target's name). */
export function apiListener(name: string, routeConfigName: string): object {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': TypeUrl.HttpConnectionManager,
        stat_prefix: 'api',
        rds: { route_config_name: routeConfigName, config_source: ADS_SOURCE },
        http_filters: [
          { name: FAULT_FILTER, typed_config: { '@type': TypeUrl.Fault } },
          { name: ROUTER_FILTER, typed_config: { '@type': TypeUrl.Router } },
        ],
      },
    },
  };
}

export function translateMesh(ctx: TranslateContext, apiListenerNames: readonly string[]): MeshOutput {
  const out: MeshOutput = { listeners: [], routes: [], staticClusters: [] };
  const scoped = ctx.proxy.namespace;
  const namespaces = scoped ? [scoped] : [...ctx.state.podsByNamespace.keys()].sort();
  const egressNeeded = new Set<string>(scoped ? [scoped] : []);
  const addr = ctx.opts.meshAddress;
  for (const ns of namespaces) {
    for (const pod of ctx.state.podsByNamespace.get(ns) ?? []) {
      ctx.stats.podsVisited++;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || pod.metadata.deletionTimestamp) continue;
      const name = pod.metadata.name ?? '';
      const inbound = portAnnotation(pod, PodAnnotations.inboundPort);
      const egress = portAnnotation(pod, PodAnnotations.egressPort);
      if (Number.isNaN(inbound)) ctx.problems.add(pod, `metadata.annotations["${PodAnnotations.inboundPort}"]`, 'not a port number', 'error');
      if (Number.isNaN(egress)) ctx.problems.add(pod, `metadata.annotations["${PodAnnotations.egressPort}"]`, 'not a port number', 'error');
      if (inbound !== undefined && !Number.isNaN(inbound)) {
        const port = podPort(pod);
        if (port === undefined) {
          ctx.problems.add(pod, 'spec.containers[0].ports', `the pod has an inbound mesh port but no port of its own (annotation ${PodAnnotations.podPort}, a containerPort or env PORT)`, 'error');
        } else {
          const cluster = inboundClusterName(port, name, ns);
          const rname = inboundRouteName(name, ns);
          out.staticClusters.push(buildInboundCluster(ctx, cluster, port));
          out.routes.push({ name: rname, virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: duration(ctx.opts.routeTimeoutMs) } }] }], validate_clusters: { value: false } });
          out.listeners.push(buildListener({ name: inboundListenerName(name, ns), address: addr, port: inbound, chains: [{ hcm: { statPrefix: `inbound_${ns}_${name}`, routeConfigName: rname, useRemoteAddress: false } }] }));
        }
      }
      if (egress !== undefined && !Number.isNaN(egress)) {
        egressNeeded.add(ns);
        out.listeners.push(buildListener({ name: egressListenerName(name, ns), address: addr, port: egress, chains: [{ hcm: { statPrefix: `egress_${ns}`, routeConfigName: egressRouteName(ns), useRemoteAddress: false } }] }));
      }
    }
  }
  if (apiListenerNames.length) {
    const ns = scoped ?? 'default';
    egressNeeded.add(ns);
    for (const n of apiListenerNames) out.listeners.push(apiListener(n, egressRouteName(ns)));
  }
  for (const ns of [...egressNeeded].sort()) out.routes.push(egressRoutes(ctx, ns));
  return out;
}
