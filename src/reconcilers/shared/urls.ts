/** Host names and URLs of Routes and their tags, with Knative's default domain template. */
import type { KubeObject } from '../../api/meta.ts';
import { Labels } from '../../api/types/knative.ts';

export function isClusterLocal(o: KubeObject): boolean {
  return o.metadata.labels?.[Labels.visibility] === 'cluster-local';
}

/** `{name}.{ns}.{domain}` — Knative's default domain template. */
export function externalHost(name: string, ns: string, domain: string): string { return `${name}.${ns}.${domain}`; }
export function clusterLocalHost(name: string, ns: string): string { return `${name}.${ns}.svc.cluster.local`; }
/** Every host a cluster-local rule answers: short, `.svc` and fully qualified. */
export function clusterLocalHosts(name: string, ns: string): string[] { return [`${name}.${ns}`, `${name}.${ns}.svc`, clusterLocalHost(name, ns)]; }
/** Knative's tag template `{tag}-{name}`. */
export function tagHostName(tag: string, route: string): string { return `${tag}-${route}`; }

export function routeUrl(name: string, ns: string, domain: string, clusterLocal: boolean): string {
  return `http://${clusterLocal ? clusterLocalHost(name, ns) : externalHost(name, ns, domain)}`;
}
