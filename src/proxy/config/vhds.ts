/**
 * VHDS on the proxy: a RouteConfiguration that names a `vhds` config source gets its virtual
 * hosts as VirtualHost resources called `<route configuration>/<virtual host>` (Envoy's naming).
 * Each is compiled once when it arrives; a route table is re-assembled (a domain index over
 * already-compiled hosts: map inserts, no compilation) only for the route configuration whose
 * hosts changed. So one changed host among 10,000 costs decoding and compiling one host.
 *
 * A VirtualHost whose domain another host of the same route configuration already serves is
 * refused (NACK naming both), as Envoy refuses duplicate domains in one route configuration.
 */
import { FieldCtx, type Obj } from './invalid-resource.ts';
import { compileVirtualHost, indexVirtualHosts } from './route-config.ts';
import type { RouteTable, TranslateDefaults, VirtualHost } from './model.ts';

/** Compiles one VirtualHost resource. */
export function translateVirtualHost(raw: Obj, d: TranslateDefaults, name: string): VirtualHost {
  return compileVirtualHost(new FieldCtx('VirtualHost', name), 'virtual_host', raw, 0, d);
}

/** The route configuration a VirtualHost resource belongs to (`rc/vh` → `rc`). */
export function routeConfigOf(resourceName: string): string {
  const slash = resourceName.indexOf('/');
  return slash < 0 ? resourceName : resourceName.slice(0, slash);
}

interface PerRoute { hosts: Map<string, VirtualHost>; owners: Map<string, string>; table?: { base: RouteTable; table: RouteTable } }

/** The accepted VirtualHost resources, by route configuration, with the tables assembled from them. */
export class VhdsHosts {
  private readonly byRoute = new Map<string, PerRoute>();

  private per(rc: string): PerRoute {
    let p = this.byRoute.get(rc);
    if (!p) this.byRoute.set(rc, (p = { hosts: new Map(), owners: new Map() }));
    return p;
  }

  /** Why `vh` cannot join its route configuration (a domain another host serves), or undefined. */
  conflict(name: string, vh: VirtualHost, staged: ReadonlyMap<string, VirtualHost> = new Map()): string | undefined {
    const p = this.byRoute.get(routeConfigOf(name));
    for (const dom of vh.domains) {
      const d = dom.toLowerCase();
      const owner = p?.owners.get(d);
      if (owner !== undefined && owner !== name && !staged.has(owner)) return `VirtualHost ${name}: domain ${JSON.stringify(dom)} is already served by VirtualHost ${owner}`;
      for (const [other, ovh] of staged) {
        if (other !== name && routeConfigOf(other) === routeConfigOf(name) && ovh.domains.some((x) => x.toLowerCase() === d)) return `VirtualHost ${name}: domain ${JSON.stringify(dom)} is also in VirtualHost ${other} of the same update`;
      }
    }
    return undefined;
  }

  set(name: string, vh: VirtualHost): void {
    const p = this.per(routeConfigOf(name));
    this.drop(p, name);
    p.hosts.set(name, vh);
    for (const d of vh.domains) p.owners.set(d.toLowerCase(), name);
    p.table = undefined;
  }

  delete(name: string): void {
    const p = this.byRoute.get(routeConfigOf(name));
    if (!p) return;
    this.drop(p, name);
    p.table = undefined;
  }

  private drop(p: PerRoute, name: string): void {
    const old = p.hosts.get(name);
    if (!old) return;
    p.hosts.delete(name);
    for (const d of old.domains) if (p.owners.get(d.toLowerCase()) === name) p.owners.delete(d.toLowerCase());
  }

  /** `base` (a route configuration with vhds) with its VHDS hosts, in name order after its own. */
  table(base: RouteTable): RouteTable {
    const p = this.per(base.name);
    if (p.table && p.table.base === base) return p.table.table;
    const hosts = [...base.virtualHosts.map((vh, i) => ({ vh, field: `virtual_hosts[${i}]` })),
      ...[...p.hosts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, vh]) => ({ vh, field: n }))];
    // Conflicts were refused on arrival; a base host claiming a VHDS host's domain is refused here.
    const table: RouteTable = { ...base, ...indexVirtualHosts(new FieldCtx('RouteConfiguration', base.name), hosts) };
    p.table = { base, table };
    return table;
  }
}
