/**
 * VHDS form of a proxy's routes: each RouteConfiguration keeps its own fields and names a VHDS
 * config source, and each of its virtual hosts becomes a VirtualHost resource called
 * `<route configuration>/<virtual host>` (Envoy's naming). A gateway with 10,000 hosts then gets
 * one small resource when one host changes, instead of the whole RouteConfiguration (2 MB at
 * 10,000 services), and it decodes and compiles only that host.
 *
 * Pure. The same source virtual host object (translation caches hand back the very object for an
 * unchanged host) yields the same VirtualHost object, so the snapshot reuses its encoding.
 */
import { TypeUrl } from '../../xds/protos.ts';
import type { ResourceSet } from './types.ts';

const VHDS_SOURCE = Object.freeze({ config_source: Object.freeze({ ads: Object.freeze({}), resource_api_version: 'V3' }) });

const cache = new WeakMap<object, { rc: string; vh: string | undefined; name: string; res: object }>();

/** `rc/vh` resource name of virtual host `vh` of route configuration `rc`. */
export function virtualHostResourceName(rc: string, vh: string): string {
  return `${rc}/${vh}`;
}

/** A RouteConfiguration in VHDS form: its own fields, no virtual hosts, a VHDS config source. */
export function vhdsRouteConfiguration(rc: object): object {
  const { virtual_hosts: _list, ...rest } = rc as { virtual_hosts?: unknown };
  return { ...rest, virtual_hosts: [], vhds: VHDS_SOURCE };
}

/**
 * The VirtualHost resource of virtual host `vh` (index `i`) of route configuration `rcName`,
 * named `rc/vh`; `taken` says whether that name is already used in this set (then `rc/vh#i`).
 */
export function virtualHostResource(rcName: string, vh: { name?: string }, i: number, taken?: (name: string) => boolean): object {
  // An unchanged host keeps its resource name string as well as its object (no string built
  // and hashed anew per host per translation: 10,000 of them on the gateway).
  const hit = cache.get(vh);
  let name = hit && hit.rc === rcName && hit.vh === vh.name && vh.name !== undefined ? hit.name : virtualHostResourceName(rcName, vh.name ?? String(i));
  if (taken?.(name)) name = virtualHostResourceName(rcName, `${vh.name ?? ''}#${i}`);
  if (hit && hit.name === name) return hit.res;
  const res = { ...vh, name };
  cache.set(vh, { rc: rcName, vh: vh.name, name, res });
  return res;
}

/** Returns `set` with its RouteConfigurations' virtual hosts moved to VirtualHost resources. */
export function toVhds(set: ResourceSet): ResourceSet {
  const routes = new Map<string, object>();
  const vhosts = new Map<string, object>();
  const taken = (name: string) => vhosts.has(name);
  for (const [rcName, rc] of set[TypeUrl.RouteConfiguration]) {
    routes.set(rcName, vhdsRouteConfiguration(rc));
    const hosts = (rc as { virtual_hosts?: { name?: string }[] }).virtual_hosts ?? [];
    for (let i = 0; i < hosts.length; i++) {
      const res = virtualHostResource(rcName, hosts[i], i, taken) as { name: string };
      vhosts.set(res.name, res);
    }
  }
  return { ...set, [TypeUrl.RouteConfiguration]: routes, [TypeUrl.VirtualHost]: vhosts };
}
