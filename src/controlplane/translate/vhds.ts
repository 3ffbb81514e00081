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

/** Returns `set` with its RouteConfigurations' virtual hosts moved to VirtualHost resources. */
export function toVhds(set: ResourceSet): ResourceSet {
  const routes = new Map<string, object>();
  const vhosts = new Map<string, object>();
  for (const [rcName, rc] of set[TypeUrl.RouteConfiguration]) {
    const { virtual_hosts: list, ...rest } = rc as { virtual_hosts?: { name?: string }[] };
    routes.set(rcName, { ...rest, virtual_hosts: [], vhds: VHDS_SOURCE });
    const hosts = list ?? [];
    for (let i = 0; i < hosts.length; i++) {
      const vh = hosts[i];
      // An unchanged host keeps its resource name string as well as its object (no string built
      // and hashed anew per host per translation: 10,000 of them on the gateway).
      const hit = cache.get(vh);
      let name = hit && hit.rc === rcName && hit.vh === vh.name && vh.name !== undefined ? hit.name : virtualHostResourceName(rcName, vh.name ?? String(i));
      if (vhosts.has(name)) name = virtualHostResourceName(rcName, `${vh.name ?? ''}#${i}`);
      if (hit && hit.name === name) { vhosts.set(name, hit.res); continue; }
      const res = { ...vh, name };
      cache.set(vh, { rc: rcName, vh: vh.name, name, res });
      vhosts.set(name, res);
    }
  }
  return { ...set, [TypeUrl.RouteConfiguration]: routes, [TypeUrl.VirtualHost]: vhosts };
}
