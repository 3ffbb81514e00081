/**
 * Builds one RouteConfiguration from virtual hosts contributed by several inputs. Envoy refuses
 * a RouteConfiguration in which two virtual hosts share a domain, so a domain belongs to the
 * first input that claims it (inputs arrive in precedence order) and a later claim is reported
 * on the later input's status instead of being dropped silently.
 */
import type { KubeObject } from '../../api/meta.ts';
import type { ProblemSink } from './problems.ts';
import { sameElements } from '../../lib/same-elements.ts';

interface VHost { name: string; domains: string[]; routes: object[]; extra: Record<string, unknown> }

export class RouteTableBuilder {
  private readonly vhosts: VHost[] = [];
  private readonly byName = new Map<string, VHost>();
  private readonly claimed = new Map<string, KubeObject>();
  /** Domains some input asked for and did not get (another input holds them). */
  readonly contested = new Set<string>();
  /** When set, every add appends the domains it asked for and the ones it got (incremental translation's bookkeeping). */
  track?: { wanted: string[]; claimed: string[] };

  constructor(readonly name: string, private readonly problems: ProblemSink) {}

  /**
   * Adds a virtual host answering `domains` with `routes`. Domains already claimed by another
   * input are left out (and reported on `owner` at `field`); returns the domains actually added.
   * `routes` may be a function, called only when some domain is still free (so a shadowed
   * input registers no clusters). `quiet` adds default routes that anything may override
   * without a report (a service's own name, overridden by a VirtualService).
   */
  add(vhostName: string, domains: readonly string[], routes: object[] | (() => object[]), owner: KubeObject, field: string, extra: Record<string, unknown> = {},
    quiet = false): string[] {
    let mine: string[] = [];
    if (this.track) this.track.wanted.push(...domains);
    for (const d of domains) {
      const holder = this.claimed.get(d);
      if (holder === undefined) { this.claimed.set(d, owner); mine.push(d); continue; }
      this.contested.add(d);
      if (holder !== owner && !quiet && !d.endsWith(':*')) {
        this.problems.add(owner, field, `host ${d} is already routed by ${holder.kind} ${holder.metadata.namespace}/${holder.metadata.name} in ${this.name}; this one is not applied there`);
      }
    }
    if (mine.length === 0) return [];
    if (mine.length === domains.length) mine = domains as string[]; // all claimed: keep the caller's (possibly cached) array
    const list = typeof routes === 'function' ? routes() : routes;
    if (list.length === 0) { for (const d of mine) this.claimed.delete(d); return []; }
    let name = vhostName;
    for (let i = 2; this.byName.has(name); i++) name = `${vhostName}~${i}`;
    const vh: VHost = { name, domains: mine, routes: list, extra };
    this.vhosts.push(vh);
    this.byName.set(name, vh);
    if (this.track) this.track.claimed.push(...mine);
    return mine;
  }

  get size(): number { return this.vhosts.length; }

  /** Names of the virtual hosts added so far. */
  names(): IterableIterator<string> { return this.byName.keys(); }

  /** The virtual host objects, in the order they were added. */
  virtualHosts(): object[] { return this.vhosts.map(virtualHost); }

  build(): object {
    return routeConfiguration(this.name, this.virtualHosts());
  }
}

/** A RouteConfiguration as RouteTableBuilder.build makes it, from already built virtual hosts. */
export function routeConfiguration(name: string, virtualHosts: object[]): object {
  return { name, virtual_hosts: virtualHosts, validate_clusters: { value: false } };
}

// Virtual host objects are reused across translations while their routes are the same (cached)
// array and their name, domains and extra fields are equal: the snapshot then recognises an
// unchanged host by identity and encodes only the hosts that changed (xds/snapshot.ts).
interface CachedHost { domains: readonly string[]; extra: Record<string, unknown>; obj: object }
const vhostCache = new WeakMap<object[], Map<string, CachedHost[]>>();

function virtualHost(v: VHost): object {
  let m = vhostCache.get(v.routes);
  if (!m) vhostCache.set(v.routes, (m = new Map()));
  let list = m.get(v.name);
  if (!list) m.set(v.name, (list = []));
  for (const c of list) {
    if (sameElements(c.domains, v.domains) && (c.extra === v.extra || JSON.stringify(c.extra) === JSON.stringify(v.extra))) return c.obj;
  }
  const obj = { name: v.name, domains: v.domains, routes: v.routes, ...v.extra };
  list.unshift({ domains: v.domains, extra: v.extra, obj });
  if (list.length > 4) list.pop();
  return obj;
}
