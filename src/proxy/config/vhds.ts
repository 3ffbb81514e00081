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

  /**
   * Applies one VHDS response: removals first (a domain may move to another resource), then the
   * upserts in order. An upsert is refused when one of its domains is served by an accepted host
   * this response does not replace, or was claimed by an earlier host of the same response.
   * Returns the refused names with the reason. One pass over the domains: a first response of
   * 10,000 hosts costs 10,000 lookups, not 10,000².
   */
  apply(removals: readonly string[], upserts: ReadonlyMap<string, VirtualHost>): Map<string, string> {
    for (const n of removals) this.delete(n);
    const refused = new Map<string, string>();
    const claimed = new Map<string, string>(); // `rc|domain` → host of this response
    for (const [name, vh] of upserts) {
      const rc = routeConfigOf(name);
      const owners = this.byRoute.get(rc)?.owners;
      let why: string | undefined;
      for (const dom of vh.domains) {
        const d = dom.toLowerCase();
        const owner = owners?.get(d);
        if (owner !== undefined && owner !== name && !upserts.has(owner)) { why = `VirtualHost ${name}: domain ${JSON.stringify(dom)} is already served by VirtualHost ${owner}`; break; }
        const other = claimed.get(`${rc}|${d}`);
        if (other !== undefined) { why = `VirtualHost ${name}: domain ${JSON.stringify(dom)} is also in VirtualHost ${other} of the same update`; break; }
      }
      if (why) { refused.set(name, why); continue; }
      for (const dom of vh.domains) claimed.set(`${rc}|${dom.toLowerCase()}`, name);
    }
    for (const [name, vh] of upserts) if (!refused.has(name)) this.set(name, vh);
    return refused;
  }

  private set(name: string, vh: VirtualHost): void {
    const p = this.per(routeConfigOf(name));
    this.drop(p, name);
    p.hosts.set(name, vh);
    for (const d of vh.domains) p.owners.set(d.toLowerCase(), name);
    p.table = undefined;
  }

  private delete(name: string): void {
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
