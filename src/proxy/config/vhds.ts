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
import { compileVirtualHost, domainMatch, indexVirtualHosts } from './route-config.ts';
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

/**
 * One route configuration's VHDS hosts with their domain index, kept up to date host by host (a
 * new host adds its domains; nothing is re-sorted or re-indexed): assembling a table then copies
 * the index instead of indexing every host again — at 1,000 hosts, re-indexing on every new host
 * was most of what a gateway did to apply one new service.
 */
interface PerRoute {
  hosts: Map<string, VirtualHost>;
  /** Lower-cased domain → the host resource serving it. */
  owners: Map<string, string>;
  exact: Map<string, VirtualHost>;
  suffixes: Map<string, VirtualHost>;
  prefixes: Map<string, VirtualHost>;
  any?: VirtualHost;
  table?: { base: RouteTable; table: RouteTable };
}

function indexOf(p: PerRoute, kind: 'suffix' | 'prefix' | 'exact'): Map<string, VirtualHost> {
  return kind === 'suffix' ? p.suffixes : kind === 'prefix' ? p.prefixes : p.exact;
}

/** The accepted VirtualHost resources, by route configuration, with the tables assembled from them. */
export class VhdsHosts {
  private readonly byRoute = new Map<string, PerRoute>();
  /** fromScratch: every table indexes all its hosts again (the reference the incremental index is compared with in tests and bench). */
  constructor(private readonly opts: { fromScratch?: boolean } = {}) {}

  private per(rc: string): PerRoute {
    let p = this.byRoute.get(rc);
    if (!p) this.byRoute.set(rc, (p = { hosts: new Map(), owners: new Map(), exact: new Map(), suffixes: new Map(), prefixes: new Map() }));
    return p;
  }

  /**
   * Applies one VHDS response: removals first (a domain may move to another resource), then the
   * upserts in order. An upsert is refused when one of its domains is served by an accepted host
   * this response does not replace, or was claimed by an earlier host of the same response, or
   * has a wildcard in the middle. Returns the refused names with the reason. One pass over the
   * domains: a first response of 10,000 hosts costs 10,000 lookups, not 10,000².
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
        const m = domainMatch(dom);
        if (m.kind === 'invalid') { why = `VirtualHost ${name}: ${m.why}`; break; }
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
    for (const dom of vh.domains) {
      p.owners.set(dom.toLowerCase(), name);
      const m = domainMatch(dom);
      if (m.kind === 'any') p.any = vh;
      else if (m.kind !== 'invalid') indexOf(p, m.kind).set(m.key, vh);
    }
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
    for (const dom of old.domains) {
      const d = dom.toLowerCase();
      if (p.owners.get(d) !== name) continue;
      p.owners.delete(d);
      const m = domainMatch(dom);
      if (m.kind === 'any') { if (p.any === old) p.any = undefined; }
      else if (m.kind !== 'invalid' && indexOf(p, m.kind).get(m.key) === old) indexOf(p, m.kind).delete(m.key);
    }
    p.table = undefined;
  }

  /**
   * `base` (a route configuration with vhds) with its VHDS hosts after its own. A domain of the
   * base's own hosts that a VHDS host serves fails (conflicts among VHDS hosts were refused on
   * arrival). Each table is a new object with its own index maps, so a table already handed out
   * never changes under its users.
   */
  table(base: RouteTable): RouteTable {
    const p = this.per(base.name);
    if (p.table && p.table.base === base) return p.table.table;
    const ctx = new FieldCtx('RouteConfiguration', base.name);
    if (this.opts.fromScratch) {
      const hosts = [...base.virtualHosts.map((vh, i) => ({ vh, field: `virtual_hosts[${i}]` })),
        ...[...p.hosts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, vh]) => ({ vh, field: n }))];
      const t: RouteTable = { ...base, ...indexVirtualHosts(ctx, hosts) };
      p.table = { base, table: t };
      return t;
    }
    const own = indexVirtualHosts(ctx, base.virtualHosts.map((vh, i) => ({ vh, field: `virtual_hosts[${i}]` })));
    const exact = new Map(p.exact);
    const clash = (field: string, d: string): never => ctx.fail(field, `domain ${JSON.stringify(d)} appears in more than one virtual host (VirtualHost ${p.owners.get(d)})`);
    base.virtualHosts.forEach((vh, i) => vh.domains.forEach((dom, di) => { if (p.owners.has(dom.toLowerCase())) clash(`virtual_hosts[${i}].domains[${di}]`, dom.toLowerCase()); }));
    for (const [d, vh] of own.exact) exact.set(d, vh);
    const longestFirst = (a: readonly [string, VirtualHost], b: readonly [string, VirtualHost]): number => b[0].length - a[0].length;
    const table: RouteTable = {
      ...base,
      exact,
      suffixes: [...own.suffixes, ...p.suffixes].sort(longestFirst),
      prefixes: [...own.prefixes, ...p.prefixes].sort(longestFirst),
      any: own.any ?? p.any,
      virtualHosts: [...base.virtualHosts, ...p.hosts.values()],
    };
    p.table = { base, table };
    return table;
  }
}
