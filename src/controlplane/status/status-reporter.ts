/**
 * Writes what the proxies did back onto resources: Ingress readiness from gateway ACKs, NACK
 * messages, and translation problems. Event-driven (no polling): an object is re-evaluated when
 * its spec changes, when a proxy applies/rejects a generation or (dis)connects while the object
 * is still unsettled, and when its translation problems change. Writes go one at a time through
 * the status subresource (conflict-retrying), computed from the latest cached object each time.
 */
import type { KubeObject } from '../../api/meta.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import type { Clock } from '../../lib/clock.ts';
import { errorMessage } from '../../lib/errors.ts';
import { log } from '../../lib/log.ts';
import type { Store } from '../../store/store.ts';
import { updateStatus } from '../../controller/status-update.ts';
import type { Lister } from '../../controller/lister.ts';
import type { ProxyConnection } from '../xds/proxy-connection.ts';
import type { Problem } from '../translate/types.ts';
import { verdictFor, type ProxyVote, type Verdict } from './readiness.ts';
import { ingressStatus, istioStatus } from './object-status.ts';

export const INGRESS_RESOURCE = 'networking.internal.knative.dev/ingresses';

/** Inclusion generation of a change still in the debounce. */
const NOT_FLUSHED = Number.POSITIVE_INFINITY;

/** Kinds whose status the control plane writes, with the proxies that must carry them. */
export const REPORTED_KINDS: Record<string, { kind: string; proxies: 'gateway' | 'all' }> = {
  [INGRESS_RESOURCE]: { kind: 'Ingress', proxies: 'gateway' },
  'networking.istio.io/virtualservices': { kind: 'VirtualService', proxies: 'all' },
  'networking.istio.io/destinationrules': { kind: 'DestinationRule', proxies: 'all' },
  'networking.istio.io/gateways': { kind: 'Gateway', proxies: 'all' },
  'networking.istio.io/sidecars': { kind: 'Sidecar', proxies: 'all' },
  'security.istio.io/peerauthentications': { kind: 'PeerAuthentication', proxies: 'all' },
  'security.istio.io/authorizationpolicies': { kind: 'AuthorizationPolicy', proxies: 'all' },
};

export interface StatusReporterOptions {
  store: Store;
  clock: Clock;
  listers: ReadonlyMap<string, Lister>;
  connections: () => ProxyConnection[];
  problems: () => Map<string, Problem[]>;
  loadBalancerDomain: string;
}

function vote(c: ProxyConnection): ProxyVote {
  const nacks = new Map<string, { message: string; version: string }>();
  for (const [t, n] of c.nacks()) nacks.set(t, { message: n.message, version: n.version });
  return { id: c.proxy.id, appliedGeneration: c.appliedGeneration, nacks };
}

export class StatusReporter {
  private readonly opts: StatusReporterOptions;
  /** id (`resource|ns/name`) → generation that first carries the object's current spec. */
  private readonly included = new Map<string, number>();
  /** Objects not yet ready, by the proxies they wait for. */
  private readonly unsettled = { gateway: new Set<string>(), all: new Set<string>() };
  private readonly dirty = new Set<string>();
  private lastProblems = new Map<string, string>();
  /** Every unsettled object needs a look (set by proxy events; cheaper than adding each id). */
  private unsettledDirty = false;
  /**
   * Per role, a counter bumped whenever a proxy of that role applied, rejected, connected or
   * disconnected, and its value at the last sweep of the role's unsettled objects: a sweep runs
   * only when a proxy of the role moved (10,000 Ingresses waiting for a gateway are not re-read
   * on every mesh proxy's ACK), and no per-proxy digest is computed on every burst of ACKs.
   */
  private readonly moved = { gateway: 0, all: 0 };
  private readonly sweptAt = { gateway: -1, all: -1 };
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Status writes done (tests, metrics). */
  writes = 0;

  constructor(opts: StatusReporterOptions) { this.opts = opts; }

  /**
   * The object's spec changed. `generation` is the first generation that carries it; absent, it
   * is not known yet (the change waits in the debounce) and `flushed` fills it in: until then the
   * object waits, whatever the proxies applied.
   */
  track(resource: string, key: string, generation: number = NOT_FLUSHED): void {
    if (!REPORTED_KINDS[resource]) return;
    const id = `${resource}|${key}`;
    this.included.set(id, generation);
    this.unsettled[REPORTED_KINDS[resource].proxies].add(id);
    this.mark(id);
  }

  /** Generation `generation` carries these changes (kind → keys, as the push pipeline merged them). */
  flushed(generation: number, changes: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [resource, keys] of changes) {
      if (!REPORTED_KINDS[resource]) continue;
      for (const key of keys) {
        const id = `${resource}|${key}`;
        if (this.included.get(id) !== NOT_FLUSHED) continue;
        this.included.set(id, generation);
        this.mark(id);
      }
    }
  }

  /**
   * The object is already reported ready for its current generation (found so at start-up): it is
   * carried from generation `generation` on, and needs no write. A restart of the control process
   * does not flip every Ingress to not-ready and back (thousands of status writes, and every
   * Route and Service with them) while the gateway, which kept serving, reconnects.
   */
  settled(resource: string, key: string, generation: number): void {
    if (!REPORTED_KINDS[resource]) return;
    this.included.set(`${resource}|${key}`, generation);
  }

  forget(resource: string, key: string): void {
    const id = `${resource}|${key}`;
    this.included.delete(id);
    this.unsettled.gateway.delete(id);
    this.unsettled.all.delete(id);
    this.dirty.delete(id);
  }

  /**
   * A proxy applied, rejected, connected or disconnected (`conn`; absent = any proxy may have
   * moved, e.g. a new generation was flushed): unsettled objects may have moved.
   */
  proxiesChanged(conn?: ProxyConnection): void {
    this.moved.all++;
    if (!conn || conn.proxy.role === 'gateway') this.moved.gateway++;
    this.unsettledDirty = true;
    this.kick();
  }

  /** Re-evaluates objects whose translation problems changed. */
  problemsChanged(): void {
    const now = new Map<string, string>();
    for (const [k, list] of this.opts.problems()) now.set(k, JSON.stringify(list.map((p) => [p.field, p.message])));
    const byKind = new Map(Object.entries(REPORTED_KINDS).map(([r, v]) => [v.kind, r]));
    const touch = (k: string): void => {
      const bar = k.indexOf('|');
      const resource = byKind.get(k.slice(0, bar));
      if (resource && this.included.has(`${resource}|${k.slice(bar + 1)}`)) this.mark(`${resource}|${k.slice(bar + 1)}`);
    };
    for (const [k, v] of now) if (this.lastProblems.get(k) !== v) touch(k);
    for (const k of this.lastProblems.keys()) if (!now.has(k)) touch(k);
    this.lastProblems = now;
  }

  /** Resolves when no write is pending. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void { this.stopped = true; }

  private mark(id: string): void {
    this.dirty.add(id);
    this.kick();
  }

  private kick(): void {
    if (this.running || this.stopped || (this.dirty.size === 0 && !this.unsettledDirty)) return;
    this.running = this.run().finally(() => { this.running = undefined; this.kick(); });
  }

  private async run(): Promise<void> {
    // Let the current burst of events land first (many ACKs arrive together).
    await new Promise((r) => setImmediate(r));
    const ids = new Set(this.dirty);
    this.dirty.clear();
    if (this.unsettledDirty) {
      for (const role of ['gateway', 'all'] as const) {
        if (this.moved[role] === this.sweptAt[role]) continue;
        this.sweptAt[role] = this.moved[role];
        for (const id of this.unsettled[role]) ids.add(id);
      }
    }
    this.unsettledDirty = false;
    if (ids.size === 0) return;
    const t0 = this.opts.clock.now();
    const w0 = this.writes;
    // Votes only when some object needs a verdict, and only of the roles those objects wait for.
    const roles = new Set<'gateway' | 'all'>();
    for (const id of ids) { const info = REPORTED_KINDS[id.slice(0, id.indexOf('|'))]; if (info) roles.add(info.proxies); }
    const votes = { gateway: [] as ProxyVote[], all: [] as ProxyVote[] };
    for (const c of this.opts.connections()) {
      const isGw = c.proxy.role === 'gateway';
      if (!roles.has('all') && !isGw) continue;
      const v = vote(c);
      if (roles.has('all')) votes.all.push(v);
      if (isGw) votes.gateway.push(v);
    }
    const problems = this.opts.problems();
    for (const id of ids) {
      if (this.stopped) return;
      const gen = this.included.get(id);
      if (gen === undefined) continue;
      const bar = id.indexOf('|');
      const resource = id.slice(0, bar);
      const key = id.slice(bar + 1);
      const slash = key.indexOf('/');
      const obj = this.opts.listers.get(resource)?.get(key.slice(0, slash), key.slice(slash + 1));
      if (!obj) continue;
      const info = REPORTED_KINDS[resource];
      const verdict: Verdict = verdictFor(gen, votes[info.proxies]);
      if (verdict.state === 'ready') this.unsettled[info.proxies].delete(id);
      const objProblems = (problems.get(`${info.kind}|${key}`) ?? []).map((p) => ({ field: p.field, message: p.message, severity: p.severity }));
      const now = this.opts.clock.now();
      const status = resource === INGRESS_RESOURCE
        ? ingressStatus(obj as KIngress, { verdict, problems: objProblems, loadBalancerDomain: this.opts.loadBalancerDomain }, now)
        : istioStatus(obj as KubeObject & { status?: Record<string, unknown> }, { verdict, problems: objProblems }, now);
      try {
        const before = obj.status;
        const written = await updateStatus(this.opts.store, resource, obj, status);
        if (written && written.status !== before) this.writes++;
      } catch (e) {
        log.warn({ resource, key, err: errorMessage(e) }, 'controlplane: status write failed; retried on the next change');
      }
    }
    log.debug({ objects: ids.size, writes: this.writes - w0, ms: this.opts.clock.now() - t0 }, 'controlplane: status pass');
  }
}
